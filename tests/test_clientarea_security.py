"""Changing ids in URLs or forms never reaches another client's session, document or receipt."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from core.accounts.models import Role
from core.db import db, utcnow
from core.sessions.models import SessionDocument
from tests.conftest import post
from tests.test_clientarea_pages import AREA, add_session, load


def test_another_clients_things_are_404_and_unchanged(app: Flask, as_role, make_user) -> None:
    browser, _me = as_role(Role.CLIENT)
    victim, coach = make_user(Role.CLIENT), make_user(Role.COACH)
    theirs = add_session(app, victim, coach, title="Theirs")
    paid = add_session(
        app, victim, coach, starts_at=utcnow() - timedelta(days=3), status="completed", paid=True
    )
    with app.app_context():
        doc = SessionDocument(
            session_id=theirs,
            filename="plan.pdf",
            storage_name="x" * 32,
            size_bytes=10,
            sha256="0" * 64,
        )
        db.add(doc)
        db.commit()
        doc_id = doc.id
    version = load(app, theirs).version
    for url in (
        f"{AREA}/sessions/{theirs}/cancel",
        f"{AREA}/sessions/{theirs}.ics",
        f"/documents/{doc_id}",
        f"/receipts/{paid}",
        f"/receipts/{paid}.pdf",
        f"{AREA}/sessions/999999/cancel",
        f"{AREA}/sessions/999999.ics",
    ):
        assert browser.get(url).status_code == 404, url
    assert (
        post(app, browser, f"{AREA}/sessions/{theirs}/cancel", {"version": version}).status_code
        == 404
    )
    session = load(app, theirs)
    assert session.status == "booked" and session.cancelled_by_id is None
    from sqlalchemy import func, select

    from core.payments.models import Receipt

    with app.app_context():
        assert db.scalar(select(func.count()).select_from(Receipt)) == 0  # probing issued nothing


def test_an_open_slot_without_a_client_is_not_reachable(app: Flask, as_role, make_user) -> None:
    browser, _me = as_role(Role.CLIENT)
    coach = make_user(Role.COACH)
    from core.sessions.models import CoachingSession

    with app.app_context():
        slot = CoachingSession(
            coach_id=coach.id,
            client_id=None,
            title="Open",
            status="available",
            starts_at=utcnow() + timedelta(days=2),
        )
        db.add(slot)
        db.commit()
        slot_id = slot.id
    assert browser.get(f"{AREA}/sessions/{slot_id}/cancel").status_code == 404
    assert browser.get(f"{AREA}/sessions/{slot_id}.ics").status_code == 404


def test_feed_token_of_a_coach_or_a_disabled_client_opens_nothing(
    app: Flask, make_user, client
) -> None:
    from core.accounts.models import User

    coach = make_user(Role.COACH)
    disabled = make_user(Role.CLIENT, is_active=False)
    with app.app_context():
        db.get(User, coach.id).calendar_token = "coach-token-" + "a" * 20
        db.get(User, disabled.id).calendar_token = "off-token-" + "b" * 20
        db.commit()
    assert client.get("/calendar/coach-token-" + "a" * 20 + ".ics").status_code == 404
    assert client.get("/calendar/off-token-" + "b" * 20 + ".ics").status_code == 404
