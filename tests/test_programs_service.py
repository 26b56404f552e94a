"""Programs, below the pages: price spreading, generated dates, clashes, atomic creation,
completion and paying a bundle as a whole."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from core.accounts.models import User
from core.db import db
from core.emails.models import OutboxEmail
from core.payments.models import Payment
from core.programs import service
from core.programs.models import Bundle, BundleStatus
from core.programs.pricing import spread_price
from core.programs.schedule import Slot, busy_intervals, generate_slots
from core.programs.service import BundleError, Offer, create_bundle, pay_bundle
from core.sessions.models import CoachingSession, SessionDocument
from core.sessions.service import change_status
from tests.test_coach_support import PDF
from tests.test_emails_support import add_session

PARIS = ZoneInfo("Europe/Paris")


# --------------------------------------------------------------------------
# Spreading the price
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "count", "shares"),
    [
        (10000, 3, [3334, 3333, 3333]),  # 100.00 over 3: one cent goes to the first session
        (50000, 10, [5000] * 10),
        (1, 3, [1, 0, 0]),
        (0, 4, [0, 0, 0, 0]),
        (99999, 7, [14286, 14286, 14286, 14286, 14285, 14285, 14285]),
    ],
)
def test_price_is_spread_to_the_cent(total: int, count: int, shares: list[int]) -> None:
    assert spread_price(total, count) == shares
    assert sum(shares) == total


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=1, max_value=60))
def test_shares_always_add_up_and_differ_by_at_most_a_cent(total: int, count: int) -> None:
    shares = spread_price(total, count)
    assert len(shares) == count
    assert sum(shares) == total
    assert max(shares) - min(shares) <= 1


def test_spreading_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        spread_price(100, 0)
    with pytest.raises(ValueError):
        spread_price(-1, 2)


# --------------------------------------------------------------------------
# Generating dates
# --------------------------------------------------------------------------


def weekly(start: date, count: int, busy: list[Any] | None = None, **kw: Any) -> Any:
    values: dict[str, Any] = {
        "start": start,
        "weekdays": {start.weekday()},
        "at": time(9, 0),
        "every_weeks": 1,
        "count": count,
        "duration_minutes": 60,
        "tz": PARIS,
        "busy": busy or [],
    }
    values.update(kw)
    return generate_slots(**values)


def test_weekly_dates_keep_nine_oclock_across_the_spring_change() -> None:
    # Mondays from 16 March 2026; Paris moves to summer time on Sunday 29 March.
    found = weekly(date(2026, 3, 16), 4)
    assert [s.day for s in found.slots] == [
        date(2026, 3, 16),
        date(2026, 3, 23),
        date(2026, 3, 30),
        date(2026, 4, 6),
    ]
    assert {s.starts_at.astimezone(PARIS).time() for s in found.slots} == {time(9, 0)}
    assert [s.starts_at.hour for s in found.slots] == [8, 8, 7, 7]  # UTC moves instead
    assert all(s.starts_at.tzinfo is not None for s in found.slots)


def test_weekly_dates_keep_nine_oclock_across_the_autumn_change() -> None:
    # Thursdays from 15 October 2026; winter time comes back on Sunday 25 October.
    found = weekly(date(2026, 10, 15), 3)
    assert [s.day for s in found.slots] == [
        date(2026, 10, 15),
        date(2026, 10, 22),
        date(2026, 10, 29),
    ]
    assert [s.starts_at for s in found.slots] == [
        datetime(2026, 10, 15, 7, 0, tzinfo=UTC),
        datetime(2026, 10, 22, 7, 0, tzinfo=UTC),
        datetime(2026, 10, 29, 8, 0, tzinfo=UTC),
    ]


def test_a_time_the_clocks_skip_is_passed_over() -> None:
    # Sundays at 2:30: on 29 March 2026 Paris jumps from 2:00 to 3:00.
    found = weekly(date(2026, 3, 22), 2, at=time(2, 30))
    assert found.skipped_times == [date(2026, 3, 29)]
    assert [s.day for s in found.slots] == [date(2026, 3, 22), date(2026, 4, 5)]


def test_clashing_dates_are_skipped_and_reported() -> None:
    clash = datetime(2026, 3, 23, 8, 30, tzinfo=UTC)  # 9:30 Paris, inside 9:00–10:00
    touching = datetime(2026, 3, 30, 8, 0, tzinfo=UTC)  # 10:00 Paris summer time: only touches
    busy = [
        (clash, clash + timedelta(minutes=45)),
        (touching, touching + timedelta(minutes=60)),
    ]
    found = weekly(date(2026, 3, 16), 3, busy)
    assert found.clashes == [date(2026, 3, 23)]
    assert [s.day for s in found.slots] == [date(2026, 3, 16), date(2026, 3, 30), date(2026, 4, 6)]


def test_several_weekdays_every_other_week() -> None:
    # Tuesdays and Fridays, one week in two, from Wednesday 1 April 2026.
    found = weekly(date(2026, 4, 1), 5, weekdays={1, 4}, every_weeks=2)
    assert [s.day for s in found.slots] == [
        date(2026, 4, 3),  # Friday of the first week (the Tuesday was before the start)
        date(2026, 4, 14),
        date(2026, 4, 17),
        date(2026, 4, 28),
        date(2026, 5, 1),
    ]


def test_busy_intervals_are_the_coachs_live_sessions(
    app: Flask, make_user: Callable[..., User]
) -> None:
    coach, other = make_user("coach"), make_user("coach")
    client = make_user("client")
    start = datetime(2030, 5, 6, 8, 0, tzinfo=UTC)
    add_session(app, coach.id, client.id, starts_at=start)
    add_session(app, coach.id, None, status="available", starts_at=start + timedelta(days=1))
    add_session(app, coach.id, client.id, status="cancelled", starts_at=start + timedelta(days=2))
    add_session(app, other.id, client.id, starts_at=start + timedelta(days=3))
    add_session(
        app, coach.id, client.id, starts_at=start - timedelta(hours=2), duration_minutes=180
    )
    with app.app_context():
        busy = busy_intervals(coach.id, start, start + timedelta(days=7))
    assert sorted(s for s, _e in busy) == [
        start - timedelta(hours=2),  # still running at the start
        start,
        start + timedelta(days=1),  # an open slot is time taken too
    ]


# --------------------------------------------------------------------------
# Creating a bundle
# --------------------------------------------------------------------------


def stored_pdf(app: Flask, name: str = "plan.pdf") -> dict[str, Any]:
    """A document as the wizard keeps it: a file already in the storage folder."""
    from io import BytesIO

    from core.programs.documents import entry_of
    from core.sessions.documents import store_pdf

    with app.test_request_context():
        return entry_of(store_pdf(BytesIO(PDF), name))


def offer_for(coach: User, client: User, **fields: Any) -> Offer:
    values: dict[str, Any] = {
        "coach_id": coach.id,
        "client_id": client.id,
        "title": "Ten to ten",
        "planned_count": 3,
        "total_price": 10000,
        "currency": "EUR",
        "duration_minutes": 45,
        "location": "Parc Monceau",
        "video_url": "https://meet.example/ten",
    }
    values.update(fields)
    return Offer(**values)


def mondays(count: int, start: date = date(2030, 3, 4)) -> list[Slot]:
    return [Slot.local(start + timedelta(weeks=i), time(9, 0), PARIS) for i in range(count)]


def files_in(app: Flask) -> set[str]:
    folder = Path(app.config["STORAGE_PATH"]) / "documents"
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


@pytest.fixture
def people(make_user: Callable[..., User]) -> tuple[User, User]:
    return make_user("coach", first_name="Hélène"), make_user("client", first_name="Alice")


def test_creation_makes_every_session_with_its_share_and_materials(
    app: Flask, people: tuple[User, User]
) -> None:
    coach, client = people
    offer = offer_for(coach, client, documents=[stored_pdf(app)])
    with app.test_request_context():
        written: list[Path] = []
        bundle = create_bundle(
            offer, mondays(3), db.get(User, client.id), db.get(User, coach.id), written
        )
        db.commit()
        sessions = db.scalars(
            select(CoachingSession)
            .where(CoachingSession.bundle_id == bundle.id)
            .order_by(CoachingSession.starts_at)
        ).all()
        assert [s.price_amount for s in sessions] == [3334, 3333, 3333]
        assert bundle.total_price == 10000 and bundle.status == BundleStatus.ACTIVE
        assert [s.title for s in sessions] == [
            "Ten to ten (1/3)",
            "Ten to ten (2/3)",
            "Ten to ten (3/3)",
        ]
        assert {
            (s.location, s.video_url, s.duration_minutes, s.client_id, s.coach_id) for s in sessions
        } == {("Parc Monceau", "https://meet.example/ten", 45, client.id, coach.id)}
        documents = db.scalars(select(SessionDocument)).all()
        assert sorted(d.session_id for d in documents) == sorted(s.id for s in sessions)
        assert len({d.storage_name for d in documents}) == 3  # each session has its own file
        assert db.scalar(select(func.count()).select_from(OutboxEmail)) == 0
        # Changing one session's price leaves the bundle as agreed.
        sessions[0].price_amount = 9000
        db.commit()
        assert db.get(Bundle, bundle.id).total_price == 10000  # type: ignore[union-attr]
    assert len(written) == 3 and all(p.name in files_in(app) for p in written)


def test_a_failure_midway_creates_nothing(
    app: Flask, people: tuple[User, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    coach, client = people
    offer = offer_for(coach, client, documents=[stored_pdf(app)])
    before = files_in(app)
    real = service.attach_copies
    calls = []

    def failing(*args: Any) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full")
        real(*args)

    monkeypatch.setattr(service, "attach_copies", failing)
    with app.test_request_context():
        written: list[Path] = []
        with pytest.raises(OSError):
            create_bundle(
                offer, mondays(3), db.get(User, client.id), db.get(User, coach.id), written
            )
        db.rollback()
        for path in written:
            path.unlink()
    with app.app_context():
        assert db.scalar(select(func.count()).select_from(Bundle)) == 0
        assert db.scalar(select(func.count()).select_from(CoachingSession)) == 0
        assert db.scalar(select(func.count()).select_from(SessionDocument)) == 0
    assert files_in(app) == before


def test_creation_refuses_clashes_and_a_wrong_number_of_dates(
    app: Flask, people: tuple[User, User]
) -> None:
    coach, client = people
    slots = mondays(3)
    add_session(app, coach.id, client.id, starts_at=slots[1].starts_at + timedelta(minutes=30))
    with app.test_request_context():
        args = (db.get(User, client.id), db.get(User, coach.id), [])
        with pytest.raises(BundleError, match="overlap"):
            create_bundle(offer_for(coach, client), slots, *args)  # type: ignore[arg-type]
        with pytest.raises(BundleError, match="all 3 sessions"):
            create_bundle(offer_for(coach, client), slots[:2], *args)  # type: ignore[arg-type]
        db.rollback()
        assert db.scalar(select(func.count()).select_from(Bundle)) == 0


def test_an_admin_booking_for_a_coach_emails_nobody(
    app: Flask, people: tuple[User, User], make_user: Callable[..., User]
) -> None:
    coach, client = people
    admin = make_user("admin")
    with app.test_request_context():
        create_bundle(
            offer_for(coach, client),
            mondays(3),
            db.get(User, client.id),
            db.get(User, admin.id),
            [],
        )
        db.commit()
        assert db.scalar(select(func.count()).select_from(OutboxEmail)) == 0
        # Outside a bundle, the same booking tells the coach (the veto is that narrow).
        from core.sessions.service import SessionData, create_session

        data = SessionData(
            coach_id=coach.id, client_id=client.id, starts_at=datetime(2031, 1, 6, 9, tzinfo=UTC)
        )
        create_session(data, db.get(User, client.id), db.get(User, admin.id))
        db.commit()
        assert db.scalars(select(OutboxEmail.email_type)).all() == ["new_booking"]


# --------------------------------------------------------------------------
# Completion and money
# --------------------------------------------------------------------------


def make_bundle(app: Flask, coach: User, client: User, **fields: Any) -> int:
    with app.test_request_context():
        bundle = create_bundle(
            offer_for(coach, client, **fields),
            mondays(fields.get("planned_count", 3)),
            db.get(User, client.id),  # type: ignore[arg-type]
            db.get(User, coach.id),  # type: ignore[arg-type]
            [],
        )
        db.commit()
        return bundle.id


def bundle_and_sessions(app: Flask, bundle_id: int) -> tuple[Bundle, list[CoachingSession]]:
    bundle = db.get(Bundle, bundle_id)
    assert bundle is not None
    sessions = db.scalars(
        select(CoachingSession)
        .where(CoachingSession.bundle_id == bundle_id)
        .order_by(CoachingSession.starts_at)
    ).all()
    return bundle, list(sessions)


def test_completing_the_last_session_completes_the_bundle(
    app: Flask, people: tuple[User, User]
) -> None:
    coach, client = people
    bundle_id = make_bundle(app, coach, client)
    with app.test_request_context():
        actor = db.get(User, coach.id)
        bundle, sessions = bundle_and_sessions(app, bundle_id)
        for session in sessions[:2]:
            change_status(session, "completed", actor)  # type: ignore[arg-type]
        db.commit()
        assert bundle.status == "active"
        change_status(sessions[2], "completed", actor)  # type: ignore[arg-type]
        db.commit()
        assert bundle.status == "completed" and bundle.completed_at is not None
        # Reopening one brings it back to active.
        change_status(sessions[2], "booked", actor)  # type: ignore[arg-type]
        db.commit()
        assert bundle.status == "active" and bundle.completed_at is None
        # A session taken out of the bundle no longer counts.
        change_status(sessions[2], "completed", actor)  # type: ignore[arg-type]
        db.commit()
        assert bundle.status == "completed"
        service.remove_session(bundle, sessions[2])
        db.commit()
        assert bundle.status == "active"


def test_paying_the_bundle_pays_each_unpaid_session_once(
    app: Flask, people: tuple[User, User]
) -> None:
    coach, client = people
    bundle_id = make_bundle(app, coach, client)
    with app.test_request_context():
        actor = db.get(User, coach.id)
        bundle, sessions = bundle_and_sessions(app, bundle_id)
        change_status(sessions[1], "cancelled", actor)  # type: ignore[arg-type]
        db.commit()
        paid_at = datetime(2030, 3, 1, 11, tzinfo=UTC)
        assert pay_bundle(bundle, method="transfer", paid_at=paid_at, actor=actor) == 2  # type: ignore[arg-type]
        db.commit()
        payments = db.scalars(select(Payment).order_by(Payment.session_id)).all()
        assert [(p.session_id, p.amount, p.method) for p in payments] == [
            (sessions[0].id, 3334, "transfer"),
            (sessions[2].id, 3333, "transfer"),
        ]
        assert [s.payment_status for s in sessions] == ["paid", "cancelled", "paid"]
        # A second click records nothing more.
        assert pay_bundle(bundle, method="transfer", paid_at=paid_at, actor=actor) == 0  # type: ignore[arg-type]
        db.commit()
        assert db.scalar(select(func.count()).select_from(Payment)) == 2


def test_a_free_bundle_has_sessions_without_a_price(app: Flask, people: tuple[User, User]) -> None:
    coach, client = people
    bundle_id = make_bundle(app, coach, client, total_price=0)
    with app.app_context():
        _bundle, sessions = bundle_and_sessions(app, bundle_id)
        assert {s.price_amount for s in sessions} == {None}
