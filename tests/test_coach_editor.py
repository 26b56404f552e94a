"""The session editor: create and edit, DST-safe times, links, PDFs, optimistic locking."""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from core.db import db
from core.emails.models import OutboxEmail
from core.payments.models import Payment
from core.sessions.models import CoachingSession, SessionDocument
from tests.conftest import post
from tests.helpers import set_options
from tests.test_coach_support import PDF, add_session, coach_with_client


def form_data(client_id: int | None, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "client_id": str(client_id) if client_id else "",
        "day": "2030-03-20",
        "start": "09:00",
        "duration_minutes": "60",
        "title": "",
        "location": "Studio",
        "video_url": "",
        "price": "60",
        "currency": "EUR",
        "status": "booked",
        "payment_status": "pending",
        "payment_method": "transfer",
        "paid_on": "",
        "notes": "",
        "action": "save",
    }
    data.update(overrides)
    return data


def load(app: Flask, session_id: int) -> CoachingSession:
    with app.app_context():
        return db.scalars(
            select(CoachingSession)
            .where(CoachingSession.id == session_id)
            .options(
                selectinload(CoachingSession.links),
                selectinload(CoachingSession.documents),
            )
        ).one()


def count(app: Flask, model: Any) -> int:
    with app.app_context():
        return int(db.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def coach_and_client(
    app: Flask, as_role: Callable[..., Any], make_user: Callable[..., Any]
) -> tuple[Any, Any, Any]:
    return coach_with_client(app, as_role, make_user)


def test_new_session_with_generated_title_links_and_no_email(
    app: Flask, coach_and_client: tuple[Any, Any, Any]
) -> None:
    browser, coach, client = coach_and_client
    data = form_data(
        client.id,
        link_label=["Plan", ""],
        link_url=["https://example.com/plan", ""],
    )
    response = post(app, browser, "/coach/sessions/new", data)
    assert response.status_code == 302, response.data[-2000:]
    with app.app_context():
        session = db.scalars(select(CoachingSession)).one()
        assert session.title == "Session with Alice Martin"
        assert session.coach_id == coach.id and session.created_by_id == coach.id
        assert session.price_amount == 6000
        assert db.scalar(select(func.count()).select_from(OutboxEmail)) == 0
    assert [(link.label, link.url) for link in load(app, session.id).links] == [
        ("Plan", "https://example.com/plan")
    ]
    page = browser.get(response.headers["Location"])
    assert b"Saved. No email was sent." in page.data


@pytest.mark.parametrize(
    ("day", "utc_hour"),
    [("2030-03-30", 8), ("2030-03-31", 7), ("2030-10-26", 7), ("2030-10-27", 8)],
)
def test_nine_in_paris_is_nine_in_paris_either_side_of_dst(
    app: Flask, coach_and_client: tuple[Any, Any, Any], day: str, utc_hour: int
) -> None:
    browser, _coach, client = coach_and_client
    response = post(app, browser, "/coach/sessions/new", form_data(client.id, day=day))
    assert response.status_code == 302
    with app.app_context():
        session = db.scalars(select(CoachingSession)).one()
        assert session.starts_at == datetime.fromisoformat(day).replace(hour=utc_hour, tzinfo=UTC)
    page = browser.get(f"/coach/sessions/{session.id}")
    assert b'value="09:00"' in page.data


def test_a_time_skipped_by_the_clock_change_is_refused(
    app: Flask, coach_and_client: tuple[Any, Any, Any]
) -> None:
    browser, _coach, client = coach_and_client
    response = post(
        app, browser, "/coach/sessions/new", form_data(client.id, day="2030-03-31", start="02:30")
    )
    assert response.status_code == 200
    assert "does not exist on that day" in response.get_data(as_text=True)
    assert count(app, CoachingSession) == 0


def test_validation_errors_keep_what_was_typed(
    app: Flask, coach_and_client: tuple[Any, Any, Any]
) -> None:
    browser, _coach, client = coach_and_client
    data = form_data(client.id, video_url="javascript:alert(1)", location="Parc Monceau")
    response = post(app, browser, "/coach/sessions/new", data)
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "must start with http:// or https://" in text
    assert 'value="Parc Monceau"' in text and "javascript:alert(1)" in text
    assert count(app, CoachingSession) == 0
    # With another field wrong too, both are said at once (not the link after a resubmit).
    data |= {"duration_minutes": "0"}
    text = post(app, browser, "/coach/sessions/new", data).get_data(as_text=True)
    assert "must start with http:// or https://" in text and "between 1 and 1440" in text
    assert count(app, CoachingSession) == 0


def test_moving_bumps_the_schedule_revision_but_notes_do_not(
    app: Flask, coach_and_client: tuple[Any, Any, Any]
) -> None:
    browser, coach, client = coach_and_client
    sid = add_session(app, coach.id, client.id, title="Kick-off")
    url = f"/coach/sessions/{sid}"
    before = load(app, sid)
    local = before.starts_at.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Paris"))
    same = form_data(
        client.id,
        day=local.date().isoformat(),
        start=local.strftime("%H:%M"),
        title="Kick-off",
        location="",
        version=str(before.version),
        notes="Bring shoes",
    )
    assert post(app, browser, url, same).status_code == 302
    after_notes = load(app, sid)
    assert after_notes.schedule_revision == 1 and after_notes.notes == "Bring shoes"
    moved = {**same, "start": "18:30", "version": str(after_notes.version)}
    assert post(app, browser, url, moved).status_code == 302
    assert load(app, sid).schedule_revision == 2


def test_a_stale_save_is_refused_and_overwrites_nothing(
    app: Flask, coach_and_client: tuple[Any, Any, Any]
) -> None:
    browser, coach, client = coach_and_client
    sid = add_session(app, coach.id, client.id, title="Original")
    version = load(app, sid).version
    first = form_data(client.id, title="First edit", version=str(version))
    assert post(app, browser, f"/coach/sessions/{sid}", first).status_code == 302
    second = form_data(client.id, title="Second edit", version=str(version))
    response = post(app, browser, f"/coach/sessions/{sid}", second)
    assert response.status_code == 200
    assert "Someone else changed this session" in response.get_data(as_text=True)
    assert load(app, sid).title == "First edit"


def test_marking_paid_records_a_payment_with_method_and_date(
    app: Flask, coach_and_client: tuple[Any, Any, Any]
) -> None:
    browser, coach, client = coach_and_client
    sid = add_session(app, coach.id, client.id, title="Paid one")
    data = form_data(
        client.id,
        title="Paid one",
        version=str(load(app, sid).version),
        payment_status="paid",
        payment_method="cash",
        paid_on="2030-03-02",
    )
    assert post(app, browser, f"/coach/sessions/{sid}", data).status_code == 302
    with app.app_context():
        payment = db.scalars(select(Payment)).one()
        assert (payment.method, payment.amount, payment.session_id) == ("cash", 6000, sid)
        assert payment.paid_at.date().isoformat() == "2030-03-02"
    assert load(app, sid).payment_status == "paid"


def upload(app: Flask, browser: Any, session_id: int, data: dict[str, Any]) -> Any:
    """Post the editor as a multipart form (files included)."""
    url = f"/coach/sessions/{session_id}"
    return post(app, browser, url, data, content_type="multipart/form-data")


def storage(app: Flask) -> Path:
    return Path(app.config["STORAGE_PATH"]) / "documents"


def files_on_disk(app: Flask) -> set[str]:
    folder = storage(app)
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def session_with_two_pdfs(
    app: Flask, coach_and_client: tuple[Any, Any, Any]
) -> tuple[int, set[str]]:
    """A session "Docs" whose editor received plan.pdf and menu.pdf; its id, and the files
    stored before."""
    browser, coach, client = coach_and_client
    sid = add_session(app, coach.id, client.id, title="Docs")
    before = files_on_disk(app)
    data = form_data(client.id, title="Docs", version=str(load(app, sid).version))
    data["documents"] = [(io.BytesIO(PDF), "plan.pdf"), (io.BytesIO(PDF), "menu.pdf")]
    response = upload(app, browser, sid, data)
    assert response.status_code == 302, response.data[-1500:]
    return sid, before


def test_several_pdfs_upload_replace_and_remove(
    app: Flask, coach_and_client: tuple[Any, Any, Any]
) -> None:
    browser, _coach, client = coach_and_client
    sid, before = session_with_two_pdfs(app, coach_and_client)
    docs = load(app, sid).documents
    assert sorted(d.filename for d in docs) == ["menu.pdf", "plan.pdf"]
    plan = next(d for d in docs if d.filename == "plan.pdf")
    menu = next(d for d in docs if d.filename == "menu.pdf")
    data = form_data(client.id, title="Docs", version=str(load(app, sid).version))
    data[f"replace_{plan.id}"] = (io.BytesIO(PDF + b"v2"), "plan-v2.pdf")
    data["remove_document"] = [str(menu.id)]
    response = upload(app, browser, sid, data)
    assert response.status_code == 302
    docs = load(app, sid).documents
    assert [d.filename for d in docs] == ["plan-v2.pdf"]
    assert files_on_disk(app) == before | {docs[0].storage_name}


def test_deleting_a_session_removes_its_documents_rows_and_files(
    app: Flask, coach_and_client: tuple[Any, Any, Any]
) -> None:
    browser = coach_and_client[0]
    sid, before = session_with_two_pdfs(app, coach_and_client)
    assert len(files_on_disk(app) - before) == 2
    with warnings.catch_warnings():  # SQLAlchemy's "expected to delete 1 row" among them
        warnings.simplefilter("error")
        response = post(app, browser, f"/coach/sessions/{sid}/delete", {"confirm": "yes"})
    assert response.status_code == 302
    assert count(app, SessionDocument) == 0 and count(app, CoachingSession) == 0
    assert files_on_disk(app) == before


@pytest.mark.parametrize(
    ("bad_file", "message"),
    [
        ((b"MZ\x90\x00 not a pdf", "report.pdf"), "is not a PDF document"),
        ((PDF + b"x" * (1024 * 1024 + 10), "big.pdf"), "larger than 1 MB"),
        ((PDF, "../../etc/passwd.pdf"), "is not a plain file name"),
    ],
)
def test_refused_uploads_leave_nothing_on_disk_nor_in_the_database(
    app: Flask, coach_and_client: tuple[Any, Any, Any], bad_file: tuple[bytes, str], message: str
) -> None:
    set_options(app, uploads__max_mb=1)
    browser, coach, client = coach_and_client
    sid = add_session(app, coach.id, client.id, title="Docs")
    before = files_on_disk(app)
    data = form_data(client.id, title="Changed", version=str(load(app, sid).version))
    # A good file first: it must be removed again when the second one is refused.
    data["documents"] = [(io.BytesIO(PDF), "good.pdf"), (io.BytesIO(bad_file[0]), bad_file[1])]
    response = upload(app, browser, sid, data)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert "Nothing was uploaded: choose the files again." in response.get_data(as_text=True)
    assert files_on_disk(app) == before
    assert count(app, SessionDocument) == 0
    assert load(app, sid).title == "Docs"


def test_open_session_parameter_opens_the_editor(
    app: Flask, coach_and_client: tuple[Any, Any, Any]
) -> None:
    browser, coach, client = coach_and_client
    sid = add_session(app, coach.id, client.id)
    for page in ("/accueil-coach", "/calendrier-seances", f"/customer/{client.id}"):
        response = browser.get(f"{page}?open_session={sid}")
        assert response.status_code == 302
        assert response.headers["Location"].startswith(f"/coach/sessions/{sid}?next=")


def test_new_session_from_a_profile_prefills_the_client(
    app: Flask, coach_and_client: tuple[Any, Any, Any]
) -> None:
    browser, _coach, client = coach_and_client
    page = browser.get(f"/coach/sessions/new?client={client.id}&date=2030-05-04")
    text = page.get_data(as_text=True)
    assert f'<option selected value="{client.id}">' in text or (
        f'value="{client.id}" selected' in text
    )
    assert 'value="2030-05-04"' in text


@pytest.mark.skipif(
    "postgresql" not in os.environ.get("COACHDESK_TEST_DATABASE_URL", ""),
    reason="needs PostgreSQL: SQLite serialises whole transactions, so this race cannot happen",
)
def test_an_edit_committed_during_the_save_wins_and_ours_is_refused(
    app: Flask, coach_and_client: tuple[Any, Any, Any]
) -> None:
    """Another coach saves between our read and our write: the version check at flush refuses."""
    from sqlalchemy import event, text
    from sqlalchemy.orm import Session

    from core.db import get_database

    browser, coach, client = coach_and_client
    sid = add_session(app, coach.id, client.id, title="Original")
    engine = get_database(app).engine
    raced: list[bool] = []

    def other_coach_saves(*_args: Any) -> None:
        if raced:
            return
        raced.append(True)
        with engine.connect() as other:
            other.execute(
                text(
                    "UPDATE coaching_sessions SET title = 'Theirs', version = version + 1"
                    " WHERE id = :id"
                ),
                {"id": sid},
            )
            other.commit()

    data = form_data(client.id, title="Ours", version=str(load(app, sid).version))
    event.listen(Session, "before_flush", other_coach_saves)
    try:
        response = post(app, browser, f"/coach/sessions/{sid}", data)
    finally:
        event.remove(Session, "before_flush", other_coach_saves)
    assert raced and response.status_code == 200
    assert "Someone else changed this session" in response.get_data(as_text=True)
    assert load(app, sid).title == "Theirs"


def test_a_paid_session_given_to_another_coach_takes_its_revenue_along(
    app: Flask, as_role: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    """Payments copy their session's coach (Statistics reads revenue by it): an admin who
    gives a session to another coach, paid before or in the same save, moves its money."""
    from core.accounts.models import User
    from core.coach.stats import summary
    from core.db import utcnow
    from core.payments.service import record_payment

    admin_browser, _admin = as_role("admin")
    first, second = make_user("coach"), make_user("coach")
    client = make_user("client")
    paid_before = add_session(app, first.id, client.id, title="Paid before")
    paid_now = add_session(app, first.id, client.id, title="Paid in the move")
    with app.app_context():
        record_payment(db.get(CoachingSession, paid_before), method="cash")  # type: ignore[arg-type]
        db.commit()

    def give(sid: int, **changes: str) -> None:
        data = form_data(client.id, version=str(load(app, sid).version), **changes)
        data["coach_id"] = str(second.id)
        assert post(app, admin_browser, f"/coach/sessions/{sid}", data).status_code == 302

    def revenues() -> list[int]:
        with app.test_request_context():
            return [summary(db.get(User, c.id), utcnow()).revenue for c in (first, second)]  # type: ignore[arg-type]

    assert revenues() == [6000, 0]
    give(paid_before, payment_status="paid")
    assert revenues() == [0, 6000]
    give(paid_now, payment_status="paid", payment_method="cash", paid_on="2030-03-02")
    assert revenues() == [0, 12000]
    with app.app_context():
        assert set(db.scalars(select(Payment.coach_id))) == {second.id}
