"""Save and notify routing, the session email panel, automatic cancellation and booking emails."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask, render_template
from flask_login import login_user

from core.accounts.models import User
from core.db import db, utcnow
from core.emails.accounts import send_login_details
from core.emails.log import client_timeline, session_email_log
from core.emails.notify import notify_session, send_confirmation
from core.plugins import call
from core.sessions.models import CoachingSession, SessionDocument
from core.sessions.service import cancel_session
from tests.conftest import post
from tests.helpers import set_options
from tests.test_emails_support import add_session, outbox, work


def _add_document(session_id: int) -> None:
    db.add(
        SessionDocument(
            session_id=session_id,
            filename="plan.pdf",
            storage_name=secrets.token_hex(16),
            size_bytes=10,
            sha256="0" * 64,
        )
    )


def _change(session: CoachingSession, what: str) -> None:
    """What the coach editor does for each kind of edit (it bumps the revision on moves)."""
    if what == "start":
        session.starts_at += timedelta(hours=2)
    elif what == "location":
        session.location = "Park entrance"
    elif what == "video":
        session.video_url = "https://meet.example/new"
    elif what == "documents":
        _add_document(session.id)
    elif what == "notes":
        session.notes = "Knee is better."
    elif what == "price":
        session.price_amount = 7000
    if what in {"start", "location", "video"}:
        session.schedule_revision += 1


def _notify(app: Flask, session_id: int, actor_id: int) -> str | None:
    with app.app_context():
        session = db.get(CoachingSession, session_id)
        result = notify_session(session, db.get(User, actor_id))
        db.commit()
        return result


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("start", "session_update"),
        ("location", "session_update"),
        ("video", "session_update"),
        ("documents", "new_documents"),
        ("notes", None),
        ("price", None),
        (None, None),
    ],
)
def test_save_and_notify_routing_table(
    app: Flask, make_user, change: str | None, expected: str | None
) -> None:
    coach, client = make_user("coach"), make_user("client")
    session_id = add_session(app, coach.id, client.id)
    assert _notify(app, session_id, coach.id) == "booking_confirmation"
    if change:
        with app.app_context():
            _change(db.get(CoachingSession, session_id), change)
            db.commit()
    assert _notify(app, session_id, coach.id) == expected
    # Telling the client twice about the same change is never needed.
    assert _notify(app, session_id, coach.id) is None
    types = [e.email_type for e in outbox(app)]
    assert types == ["booking_confirmation"] + ([expected] if expected else [])


def test_notify_never_emails_for_closed_sessions_or_open_slots(app: Flask, make_user) -> None:
    coach, client = make_user("coach"), make_user("client")
    done = add_session(app, coach.id, client.id, status="completed")
    slot = add_session(app, coach.id, None, status="available")
    assert _notify(app, done, coach.id) is None
    assert _notify(app, slot, coach.id) is None
    assert outbox(app) == []


def test_update_email_tells_old_and_new_time(app: Flask, make_user, mailbox) -> None:
    coach, client = make_user("coach"), make_user("client", timezone="Europe/Paris")
    starts = (utcnow() + timedelta(days=5)).replace(hour=9, minute=0, second=0, microsecond=0)
    session_id = add_session(app, coach.id, client.id, starts_at=starts)
    _notify(app, session_id, coach.id)
    with app.app_context():
        _change(db.get(CoachingSession, session_id), "start")
        db.commit()
    assert _notify(app, session_id, coach.id) == "session_update"
    work(app)
    update = mailbox.messages[-1]
    text = update.get_body(("plain",)).get_content()
    assert "has been updated" in text and "It was planned for" in text
    with app.app_context():
        session = db.get(CoachingSession, session_id)
        assert session.confirmation_sent_at is not None
        assert session.notified_state["revision"] == 2


def test_send_confirmation_once(app: Flask, make_user) -> None:
    coach, client = make_user("coach"), make_user("client")
    session_id = add_session(app, coach.id, client.id)
    with app.app_context():
        session = db.get(CoachingSession, session_id)
        assert send_confirmation(session, db.get(User, coach.id)) is True
        assert send_confirmation(session, db.get(User, coach.id)) is False
        db.commit()
    assert [e.email_type for e in outbox(app)] == ["booking_confirmation"]


def test_send_confirmation_button_is_staff_only_and_ownership_checked(
    app: Flask, as_role, make_user
) -> None:
    coach_client, coach = as_role("coach")
    other_client, _other = as_role("coach")
    client_client, client = as_role("client")
    session_id = add_session(app, coach.id, client.id)
    url = f"/sessions/{session_id}/emails/confirmation"
    assert post(app, other_client, url).status_code == 404
    assert post(app, client_client, url).status_code == 403
    assert outbox(app) == []
    response = post(app, coach_client, url, {"next": "/somewhere?open_session=1"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/somewhere?open_session=1"
    assert [e.email_type for e in outbox(app)] == ["booking_confirmation"]
    response = post(app, coach_client, url, {"next": "https://evil.example/"})
    assert "evil" not in response.headers["Location"]
    assert len(outbox(app)) == 1
    set_options(app, permissions__coach=["view_clients", "view_sessions"])
    assert post(app, coach_client, url).status_code == 403  # may not edit sessions


def test_session_panel_shows_log_and_button(app: Flask, make_user) -> None:
    coach, client = make_user("coach"), make_user("client")
    session_id = add_session(app, coach.id, client.id)

    def panel() -> str:
        with app.test_request_context("/coach"):
            login_user(db.get(User, coach.id))
            session = db.get(CoachingSession, session_id)
            return render_template(
                "emails/_session_panel.html",
                session=session,
                email_log=session_email_log(session_id),
            )

    before = panel()
    assert "Send confirmation" in before and "Not confirmed yet" in before
    _notify(app, session_id, coach.id)
    with app.app_context():
        db.get(User, client.id)
    after = panel()
    assert "Send confirmation" not in after
    assert "Booking confirmation" in after and client.email in after
    assert "badge-pending" in after  # not delivered yet
    work(app)
    assert "badge-sent" in panel()


def test_cancellation_by_the_client_emails_both(app: Flask, make_user, mailbox) -> None:
    coach, client = make_user("coach"), make_user("client")
    session_id = add_session(app, coach.id, client.id)
    with app.app_context():
        cancel_session(db.get(CoachingSession, session_id), db.get(User, client.id))
        db.commit()
    work(app)
    to_client = mailbox.to(client.email)[0].get_body(("plain",)).get_content()
    to_coach = mailbox.to(coach.email)[0].get_body(("plain",)).get_content()
    assert "As you asked" in to_client
    assert f"{client.first_name} Tester cancelled this session" in to_coach
    assert len(mailbox.messages) == 2


def test_cancellation_by_the_coach_emails_the_client_only(app: Flask, make_user) -> None:
    coach, client = make_user("coach"), make_user("client")
    future = add_session(app, coach.id, client.id)
    past = add_session(app, coach.id, client.id, starts_at=utcnow() - timedelta(days=1))
    with app.app_context():
        for session_id in (future, past):
            cancel_session(db.get(CoachingSession, session_id), db.get(User, coach.id))
        db.commit()
    emails = outbox(app)
    assert [(e.email_type, e.to_address, e.session_id) for e in emails] == [
        ("cancellation", client.email, future)
    ]


def _booked_by(app: Flask, actor: User, coach: User, client: User) -> None:
    session_id = add_session(app, coach.id, client.id)
    with app.app_context():
        call(
            "session_created",
            session=db.get(CoachingSession, session_id),
            actor=db.get(User, actor.id),
        )
        db.commit()


def test_new_booking_emails_the_coach_when_someone_else_booked(app: Flask, make_user) -> None:
    coach, client, admin = make_user("coach"), make_user("client"), make_user("admin")
    _booked_by(app, coach, coach, client)
    assert outbox(app) == []
    _booked_by(app, admin, coach, client)
    (email,) = outbox(app)
    assert (email.email_type, email.to_address) == ("new_booking", coach.email)
    assert client.first_name in email.subject


def test_client_timeline_merges_account_and_session_emails(app: Flask, make_user) -> None:
    coach, client, other = make_user("coach"), make_user("client"), make_user("client")
    mine = add_session(app, coach.id, client.id)
    theirs = add_session(app, coach.id, other.id)
    with app.app_context():
        send_login_details(db.get(User, client.id))
        db.commit()
    _notify(app, mine, coach.id)
    _notify(app, theirs, coach.id)
    with app.app_context():
        cancel_session(db.get(CoachingSession, mine), db.get(User, client.id))
        db.commit()
        timeline: list[Any] = client_timeline(client.id)
        kinds = [e.email_type for e in timeline]
        assert kinds == ["cancellation_coach", "cancellation", "booking_confirmation", "welcome"]
        assert all(e.session_id != theirs for e in timeline)
        assert [e.email_type for e in session_email_log(theirs)] == ["booking_confirmation"]
