"""Online payments and refunds in the core's money model, and every money view showing them."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from core.accounts.models import Role, User
from core.db import db, get_database, utcnow
from core.payments.models import Payment, Refund
from core.payments.service import (
    PaymentError,
    ensure_payable,
    record_online_payment,
    record_refund,
    refundable_amount,
)
from core.plugins import get_host
from core.sessions.models import CoachingSession
from core.sessions.service import change_status, set_payment_status
from hooks import hookimpl
from tests.test_admin_dashboard import mark_setup_done
from tests.test_clientarea_pages import AREA, add_session, load
from tests.test_clientarea_queries import counting
from tests.test_receipts_issue import article, pdf_text

PAST = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)


class Recorder:
    """Counts the money hooks, as an add-on would see them."""

    def __init__(self) -> None:
        self.paid: list[tuple[int, int]] = []
        self.refunded: list[tuple[int, int, int]] = []

    @hookimpl
    def session_paid(self, session: CoachingSession, payment_id: int) -> None:
        self.paid.append((session.id, payment_id))

    @hookimpl
    def payment_refunded(self, session: CoachingSession, payment_id: int, refund_id: int) -> None:
        self.refunded.append((session.id, payment_id, refund_id))


@pytest.fixture
def hooks_seen(app: Flask) -> Iterator[Recorder]:
    recorder = Recorder()
    manager = get_host(app).pm
    manager.register(recorder, name="core:test-money-hooks")
    yield recorder
    manager.unregister(name="core:test-money-hooks")


@pytest.fixture
def pair(make_user: Callable[..., User]) -> tuple[User, User]:
    return make_user(Role.CLIENT), make_user(Role.COACH)


def sessions(ids: list[int]) -> list[CoachingSession]:
    return [db.get(CoachingSession, sid) for sid in ids]  # type: ignore[misc]


def rows(app: Flask, model: type[Any]) -> int:
    with app.app_context():
        return db.scalar(select(func.count()).select_from(model)) or 0


def pay_online(app: Flask, ids: list[int], reference: str = "cs_1", **kw: Any) -> list[int]:
    """Record a provider payment for the sessions (sum of prices, EUR) and commit."""
    with app.app_context():
        chosen = sessions(ids)
        values: dict[str, Any] = {
            "provider": "stripe",
            "reference": reference,
            "amount": sum(s.price_amount or 0 for s in chosen),
            "currency": "EUR",
        }
        values.update(kw)
        payments = record_online_payment(chosen, **values)
        db.commit()
        return [p.id for p in payments]


def refund(app: Flask, payment_id: int, amount: int, **kw: Any) -> int:
    with app.app_context():
        found = record_refund(db.get(Payment, payment_id), amount=amount, **kw)  # type: ignore[arg-type]
        db.commit()
        return found.id


# -- ensure_payable ----------------------------------------------------------------


def test_ensure_payable_totals_sessions_of_one_currency(app: Flask, pair) -> None:
    client, coach = pair
    ids = [add_session(app, client, coach), add_session(app, client, coach, price_amount=2500)]
    with app.app_context():
        assert ensure_payable(sessions(ids)) == (7500, "EUR")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"paid": True}, "is already paid"),
        ({"status": "cancelled"}, "was cancelled"),
        ({"payment_status": "refunded"}, "was cancelled"),
        ({"payment_status": "cancelled"}, "was cancelled"),
        ({"price_amount": None}, "has no price"),
        ({"price_amount": 0}, "has no price"),
    ],
)
def test_ensure_payable_refuses_a_session_that_cannot_be_paid(
    app: Flask, pair, fields: dict[str, Any], message: str
) -> None:
    client, coach = pair
    sid = add_session(app, client, coach, title="Yoga", **fields)
    with app.app_context(), pytest.raises(PaymentError, match=f"“Yoga” {message}"):
        ensure_payable(sessions([sid]))


def test_ensure_payable_refuses_an_open_slot_and_mixed_currencies(app: Flask, pair) -> None:
    client, coach = pair
    slot = add_session(app, client, coach, title="Slot")
    usd = add_session(app, client, coach, currency="USD")
    eur = add_session(app, client, coach)
    with app.app_context():
        session = db.get(CoachingSession, slot)
        session.client_id, session.status = None, "available"
        db.commit()
        with pytest.raises(PaymentError, match="“Slot” has no client"):
            ensure_payable(sessions([slot]))
        with pytest.raises(PaymentError, match="different currencies"):
            ensure_payable(sessions([eur, usd]))
        with pytest.raises(PaymentError):
            ensure_payable([])


def test_ensure_payable_speaks_the_users_language(app: Flask, pair) -> None:
    client, coach = pair
    sid = add_session(app, client, coach, title="Yoga", paid=True)
    with app.test_request_context(headers={"Accept-Language": "fr"}):
        from flask_babel import force_locale

        with force_locale("fr"), pytest.raises(PaymentError, match="déjà payée"):
            ensure_payable(sessions([sid]))


# -- record_online_payment -----------------------------------------------------------


def test_online_payment_covers_several_sessions_once(app: Flask, pair, hooks_seen) -> None:
    client, coach = pair
    ids = [add_session(app, client, coach), add_session(app, client, coach, price_amount=3000)]
    first = pay_online(app, ids)
    assert len(first) == 2 and len(hooks_seen.paid) == 2
    with app.app_context():
        paid = db.scalars(select(Payment).order_by(Payment.session_id)).all()
        assert [(p.session_id, p.amount, p.attention) for p in paid] == [
            (ids[0], 5000, None),
            (ids[1], 3000, None),
        ]
        assert {p.provider_reference for p in paid} == {"cs_1"}
    assert {load(app, sid).payment_status for sid in ids} == {"paid"}

    assert pay_online(app, ids) == first  # the provider told us twice
    assert rows(app, Payment) == 2
    assert len(hooks_seen.paid) == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [({"amount": 4999}, "amount does not match"), ({"currency": "USD"}, "currency")],
)
def test_online_payment_of_the_wrong_amount_writes_nothing(
    app: Flask, pair, hooks_seen, change: dict[str, Any], message: str
) -> None:
    client, coach = pair
    sid = add_session(app, client, coach)
    with pytest.raises(PaymentError, match=message):
        pay_online(app, [sid], **change)
    assert rows(app, Payment) == 0
    assert load(app, sid).payment_status == "pending" and hooks_seen.paid == []


def test_payment_for_a_cancelled_session_is_kept_and_flagged(app: Flask, pair, hooks_seen) -> None:
    client, coach = pair
    cancelled = add_session(app, client, coach, status="cancelled", payment_status="cancelled")
    paid = add_session(app, client, coach, paid=True)
    open_ = add_session(app, client, coach)
    hooks_seen.paid.clear()  # the manual payment above
    pay_online(app, [cancelled, paid, open_], reference="cs_late")
    with app.app_context():
        flags = dict(db.execute(select(Payment.session_id, Payment.attention)).all())
    assert flags[cancelled] == "session_cancelled"
    assert flags[open_] is None
    assert [p.attention for p in _payments_of(app, paid)] == [None, "already_paid"]
    assert load(app, cancelled).payment_status == "cancelled"
    assert load(app, open_).payment_status == "paid"
    assert [sid for sid, _pid in hooks_seen.paid] == [open_]


def test_reinstating_a_cancelled_session_counts_its_late_payment(
    app: Flask, pair, hooks_seen
) -> None:
    client, coach = pair
    sid = add_session(app, client, coach, status="cancelled", payment_status="cancelled")
    pay_online(app, [sid])
    with app.app_context():
        change_status(db.get(CoachingSession, sid), "booked", db.get(User, coach.id))
        db.commit()
    assert load(app, sid).payment_status == "paid"
    assert [p.attention for p in _payments_of(app, sid)] == [None]
    assert [s for s, _p in hooks_seen.paid] == [sid]


def _payments_of(app: Flask, sid: int) -> list[Payment]:
    with app.app_context():
        return list(
            db.scalars(select(Payment).where(Payment.session_id == sid).order_by(Payment.id))
        )


def postgres_only(app: Flask) -> None:
    if get_database(app).dialect != "postgresql":
        pytest.skip("needs PostgreSQL (set COACHDESK_TEST_DATABASE_URL): SQLite has no row locks")


def race(app: Flask, webhook: Callable[[], list[int]]) -> list[list[int]]:
    """Run ``webhook`` in two threads at once, each in its own app context and transaction;
    return what each returned (committed)."""
    start = threading.Barrier(2)
    results: list[list[int]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with app.app_context():
                start.wait(10)
                results.append(webhook())
                db.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    return results


def test_same_reference_racing_on_postgresql_records_one_set(app: Flask, pair, hooks_seen) -> None:
    postgres_only(app)
    client, coach = pair
    ids = [add_session(app, client, coach), add_session(app, client, coach)]

    def webhook() -> list[int]:
        payments = record_online_payment(
            sessions(ids), provider="stripe", reference="cs_race", amount=10000, currency="EUR"
        )
        return sorted(p.id for p in payments)

    results = race(app, webhook)
    assert len(results) == 2 and results[0] == results[1]
    assert rows(app, Payment) == 2
    assert len(hooks_seen.paid) == 2  # the loser raised nothing


def test_same_refund_racing_on_postgresql_records_one(app: Flask, pair, hooks_seen) -> None:
    postgres_only(app)
    client, coach = pair
    (pid,) = pay_online(app, [add_session(app, client, coach)])

    def webhook() -> list[int]:
        payment = db.get(Payment, pid)
        assert payment is not None
        found = record_refund(payment, amount=5000, provider="stripe", provider_reference="re_r")
        return [found.id]

    results = race(app, webhook)
    assert len(results) == 2 and results[0] == results[1]
    assert rows(app, Refund) == 1 and len(hooks_seen.refunded) == 1


# -- refunds ----------------------------------------------------------------------


def test_partial_then_full_refund(app: Flask, pair, hooks_seen) -> None:
    client, coach = pair
    sid = add_session(app, client, coach)
    (pid,) = pay_online(app, [sid])
    first = refund(app, pid, 2000, provider="stripe", provider_reference="re_1")
    assert load(app, sid).payment_status == "paid"
    with app.app_context():
        assert refundable_amount(db.get(Payment, pid)) == 3000  # type: ignore[arg-type]
    second = refund(app, pid, 3000, note="goodwill")
    assert load(app, sid).payment_status == "refunded"
    assert hooks_seen.refunded == [(sid, pid, first), (sid, pid, second)]
    with app.app_context():
        payment = db.scalars(select(Payment).where(Payment.id == pid).options(_refunds())).one()
        assert payment.refunded_amount == 5000


def _refunds() -> Any:
    from sqlalchemy.orm import selectinload

    return selectinload(Payment.refunds)


def test_a_session_stays_paid_until_every_payment_is_refunded(app: Flask, pair) -> None:
    client, coach = pair
    sid = add_session(app, client, coach, paid=True)
    (duplicate,) = pay_online(app, [sid], reference="cs_dup")
    refund(app, duplicate, 5000, provider="stripe", provider_reference="re_dup")
    assert load(app, sid).payment_status == "paid"
    assert [p.attention for p in _payments_of(app, sid)] == [None, None]  # settled by the refund


@pytest.mark.parametrize("amount", [0, -1, 5001])
def test_refund_of_nothing_or_too_much_is_refused(app: Flask, pair, amount: int) -> None:
    client, coach = pair
    sid = add_session(app, client, coach)
    (pid,) = pay_online(app, [sid])
    with pytest.raises(PaymentError):
        refund(app, pid, amount)
    assert rows(app, Refund) == 0 and load(app, sid).payment_status == "paid"


def test_over_refund_after_a_partial_one_is_refused(app: Flask, pair) -> None:
    client, coach = pair
    sid = add_session(app, client, coach)
    (pid,) = pay_online(app, [sid])
    refund(app, pid, 4000)
    with pytest.raises(PaymentError, match=r"At most €10\.00"):
        refund(app, pid, 1001)
    assert rows(app, Refund) == 1


def test_refund_is_idempotent_by_reference(app: Flask, pair, hooks_seen) -> None:
    client, coach = pair
    sid = add_session(app, client, coach)
    (pid,) = pay_online(app, [sid])
    first = refund(app, pid, 5000, provider="stripe", provider_reference="re_9")
    assert refund(app, pid, 5000, provider="stripe", provider_reference="re_9") == first
    assert rows(app, Refund) == 1 and len(hooks_seen.refunded) == 1


def test_manual_refunded_status_records_a_refund_of_what_is_left(app: Flask, pair) -> None:
    client, coach = pair
    sid = add_session(app, client, coach, paid=True)
    with app.app_context():
        payment = db.scalars(select(Payment)).one()
        record_refund(payment, amount=1500)
        set_payment_status(db.get(CoachingSession, sid), "refunded", db.get(User, coach.id))
        db.commit()
        amounts = db.execute(select(Refund.amount, Refund.recorded_by_id).order_by(Refund.id)).all()
    assert [tuple(r) for r in amounts] == [(1500, None), (3500, coach.id)]
    assert load(app, sid).payment_status == "refunded"


# -- money views ----------------------------------------------------------------------


def stat_value(html: str, label: str) -> str:
    found = re.search(
        rf'<dt class="stat-label">{label}</dt>\s*<dd class="stat-value[^"]*">([^<]+)</dd>', html
    )
    assert found, f"no {label!r} card"
    return found.group(1)


@pytest.fixture
def paid_past(app: Flask, as_role, make_user) -> tuple[Any, User, User, int, int]:
    """A signed-in client with one past €50 session paid online (reference cs_view)."""
    browser, client = as_role(Role.CLIENT)
    coach = make_user(Role.COACH)
    sid = add_session(app, client, coach, title="Past run", starts_at=PAST, status="completed")
    (pid,) = pay_online(app, [sid], reference="cs_view")
    return browser, client, coach, sid, pid


def test_client_area_shows_partial_then_full_refunds(app: Flask, paid_past) -> None:
    browser, _client, _coach, _sid, pid = paid_past
    assert "refund" not in browser.get(AREA + "/history").get_data(as_text=True).lower()
    refund(app, pid, 2000)
    history = browser.get(AREA + "/history").get_data(as_text=True)
    payments = browser.get(AREA + "/payments").get_data(as_text=True)
    assert "Partly refunded: €20.00" in history and "Partly refunded: €20.00" in payments
    assert "Paid €50.00" in payments and "Past run" in payments
    assert stat_value(history, "Total spent") == "€30.00"
    refund(app, pid, 3000)
    history = browser.get(AREA + "/history").get_data(as_text=True)
    assert "Refunded €50.00" in history and "Partly" not in history
    assert "Refunded €50.00" in browser.get(AREA + "/payments").get_data(as_text=True)
    assert stat_value(history, "Total spent") == "€0.00"
    assert 'href="/receipts/' in history  # the receipt of a refunded session stays available


def test_coach_finances_and_revenue_are_net_of_refunds(
    app: Flask, paid_past, as_role, make_user
) -> None:
    _browser, client, coach, _sid, pid = paid_past
    staff, _admin = as_role(Role.ADMIN)
    refund(app, pid, 2000)
    html = staff.get(f"/customer/{client.id}/finances").get_data(as_text=True)
    assert stat_value(html, "Paid") == "€30.00"
    assert stat_value(html, "Refunded") == "€20.00"
    assert "Partly refunded: €20.00" in html
    with app.test_request_context():
        from core.coach.stats import revenue_by_month, summary
        from core.i18n import site_timezone

        viewer = db.get(User, coach.id)
        assert summary(viewer, utcnow()).revenue == 3000
        tz = site_timezone()  # "this month" is the site's: in Paris, 23:30 UTC is tomorrow
        months = revenue_by_month(viewer, utcnow().astimezone(tz).date(), tz, "EUR")
        assert sum(m.amount for m in months) == 3000


def test_receipt_prints_reference_and_refunds_in_html_and_pdf(app: Flask, paid_past) -> None:
    browser, _client, _coach, sid, pid = paid_past
    before = article(browser.get(f"/receipts/{sid}").get_data(as_text=True))
    assert "cs_view" in before and "Card (stripe)" in before and "Refunded on" not in before
    refund(app, pid, 2000, provider="stripe", provider_reference="re_view")
    after = article(browser.get(f"/receipts/{sid}").get_data(as_text=True))
    assert "Receipt no. 000001" in after  # the same receipt, not a new one
    assert "Refunded on" in after and "-€20.00" in after
    assert re.search(r"Net paid after refunds</span>\s*<strong>€30.00", after)
    text = pdf_text(browser.get(f"/receipts/{sid}.pdf").data)
    assert "cs_view" in text and "Refunded on" in text and "-€20.00" in text
    assert "Net paid after refunds" in text and "€30.00" in text


def test_staff_see_a_payment_that_arrived_after_a_cancellation(
    app: Flask, as_role, make_user
) -> None:
    staff, _admin = as_role(Role.ADMIN)
    mark_setup_done(app)
    client, coach = make_user(Role.CLIENT), make_user(Role.COACH)
    sid = add_session(
        app, client, coach, title="Late yoga", status="cancelled", payment_status="cancelled"
    )
    (pid,) = pay_online(app, [sid])
    notice = "Paid online after it was cancelled: refund or reinstate."
    assert notice in staff.get(f"/coach/sessions/{sid}").get_data(as_text=True)
    dashboard = staff.get("/admin/").get_data(as_text=True)
    assert f"Late yoga: {notice}" in dashboard and f'href="/coach/sessions/{sid}"' in dashboard
    assert stat_value(dashboard, "Refunded today") == "€0.00"
    refund(app, pid, 5000)
    assert notice not in staff.get(f"/coach/sessions/{sid}").get_data(as_text=True)
    dashboard = staff.get("/admin/").get_data(as_text=True)
    assert notice not in dashboard
    assert stat_value(dashboard, "Refunded today") == "€50.00"
    assert load(app, sid).payment_status == "refunded"


def test_refunds_add_no_statement_per_session(app: Flask, as_role, make_user) -> None:
    """Pages that show refunds cost the same with 2 refunded sessions as with 12."""
    coach = make_user(Role.COACH)
    staff, _admin = as_role(Role.ADMIN)
    counts = []
    for n in (2, 12):
        browser, client = as_role(Role.CLIENT)
        for i in range(n):
            sid = add_session(app, client, coach, starts_at=PAST, status="completed")
            (pid,) = pay_online(app, [sid], reference=f"cs_{n}_{i}")
            refund(app, pid, 1000 + 4000 * (i % 2))  # partial and full refunds
        urls = [(browser, f"{AREA}/{tab}") for tab in ("payments", "history")]
        urls.append((staff, f"/customer/{client.id}/finances"))
        per_page = []
        for web, url in urls:
            web.get(url)  # warm caches like a live site
            with counting(app) as statements:
                assert web.get(url).status_code == 200
            per_page.append(len(statements))
        counts.append(per_page)
    assert counts[0] == counts[1]
