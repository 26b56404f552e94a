"""The outbox: queued in the caller's transaction, checked, hookable, and what arrives by SMTP."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from core.accounts.models import User
from core.db import db
from core.emails import InvalidAddress, queue_email
from core.emails.accounts import send_login_details, send_password_reset
from core.emails.models import OutboxEmail
from core.emails.outbox import EmailRequest, queue_emails
from core.emails.types import UnknownEmailType
from core.sessions.models import CoachingSession
from core.themes import Theme, themes
from hooks import OutgoingEmail, hookimpl
from tests.conftest import links_in
from tests.helpers import set_options
from tests.test_clientarea_queries import counting
from tests.test_emails_support import add_session, hook_plugin, outbox, work


def _queue_reminder(app: Flask, session_id: int, **kw: object) -> OutboxEmail | None:
    with app.app_context():
        session = db.get(CoachingSession, session_id)
        client = db.get(User, session.client_id)
        row = queue_email("reminder", to=client, context={}, session=session, **kw)
        db.commit()
        return row


def test_rolled_back_change_sends_nothing(app: Flask, make_user, mailbox) -> None:
    coach, client = make_user("coach"), make_user("client")
    session_id = add_session(app, coach.id, client.id)
    with app.app_context():
        session = db.get(CoachingSession, session_id)
        session.location = "Elsewhere"
        queue_email("reminder", to=db.get(User, client.id), context={}, session=session)
        db.rollback()
    assert outbox(app) == []
    assert work(app).delivery.sent == 0
    assert mailbox.messages == []


def test_invalid_address_is_refused_at_entry(app: Flask, make_user) -> None:
    client = make_user("client")
    with app.app_context():
        user = db.get(User, client.id)
        user.email = "not an address"
        with pytest.raises(InvalidAddress, match="not a valid email address"):
            queue_email("welcome", to=user, context={})
        with pytest.raises(UnknownEmailType):
            queue_email("no_such_type", to=db.get(User, client.id), context={})
        db.rollback()
    assert outbox(app) == []


def test_switched_off_type_is_not_queued(app: Flask, make_user) -> None:
    coach, client = make_user("coach"), make_user("client")
    session_id = add_session(app, coach.id, client.id)
    set_options(app, emails__types={"reminder": {"enabled": False, "subject": ""}})
    assert _queue_reminder(app, session_id) is None
    assert outbox(app) == []


def test_dedupe_key_queues_the_same_email_once(app: Flask, make_user) -> None:
    coach, client = make_user("coach"), make_user("client")
    session_id = add_session(app, coach.id, client.id)
    assert _queue_reminder(app, session_id, dedupe_key="reminder:x:1") is not None
    assert _queue_reminder(app, session_id, dedupe_key="reminder:x:1") is None
    assert len(outbox(app)) == 1


def test_email_arrives_with_headers_both_bodies_and_working_link(
    app: Flask, client: FlaskClient, make_user, mailbox
) -> None:
    set_options(
        app,
        emails__sender_name="Studio Zen",
        emails__sender_address="hello@studio.example",
        emails__signature="Anna, Studio Zen",
        emails__types={"welcome": {"enabled": True, "subject": "Welcome to {site_name}!"}},
    )
    user = make_user("client", password=None, email="new.client@example.test")
    with app.app_context():
        send_login_details(db.get(User, user.id))
        db.commit()
    assert work(app).delivery.sent == 1
    (message,) = mailbox.messages
    assert message["From"] == "Studio Zen <hello@studio.example>"
    assert "new.client@example.test" in message["To"]
    assert message["Subject"] == "Welcome to Coachdesk!"
    assert message["Message-ID"].startswith("<coachdesk.")
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Anna, Studio Zen" in text and "Anna, Studio Zen" in html
    (link,) = [u for u in links_in(message) if "/password/" in u]
    assert link in html
    page = client.get(link.removeprefix(app.config["BASE_URL"]))
    assert page.status_code == 200
    assert b"password" in page.data.lower()
    assert outbox(app)[0].status == "sent"


def test_password_reset_link_is_a_reset_token(
    app: Flask, client: FlaskClient, make_user, mailbox
) -> None:
    user = make_user("coach")
    with app.app_context():
        send_password_reset(db.get(User, user.id))
        db.commit()
    work(app)
    (message,) = mailbox.messages
    (link,) = [u for u in links_in(message) if "/password/" in u]
    assert client.get(link.removeprefix(app.config["BASE_URL"])).status_code == 200
    assert "2" in message.get_body(("plain",)).get_content()  # valid two hours


def test_language_and_local_time_of_the_recipient(app: Flask, make_user, mailbox) -> None:
    coach = make_user("coach", display_name="Coach Anna")
    client = make_user("client", locale="fr", timezone="America/New_York")
    starts = datetime(2031, 7, 14, 18, 30, tzinfo=UTC)  # 14:30 in New York (summer time)
    session_id = add_session(app, coach.id, client.id, starts_at=starts)
    _queue_reminder(app, session_id)
    work(app)
    (message,) = mailbox.messages
    text = message.get_body(("plain",)).get_content()
    assert "Rappel" in message["Subject"]
    assert "14:30" in text and "18:30" not in text
    assert "lundi 14 juillet 2031" in text
    assert "Bonjour" in text
    assert "Coach Anna" in text
    assert message["Reply-To"].endswith(f"<{coach.email}>")


def test_hooks_observe_modify_and_veto(app: Flask, make_user, mailbox) -> None:
    coach, client = make_user("coach"), make_user("client")
    session_id = add_session(app, coach.id, client.id)
    seen: list[str] = []

    class Addon:
        @hookimpl
        def before_email_queued(self, email: OutgoingEmail) -> None:
            seen.append(f"before:{email.email_type}")
            if email.email_type == "welcome":
                email.veto("welcome emails are sent by our CRM")
                return
            email.append_line("Bring a towel.")
            email.add_attachment("plan.txt", "text/plain", b"warm-up, stretch")

        @hookimpl
        def email_queued(self, email: OutgoingEmail) -> None:
            seen.append(f"queued:{email.email_type}:{email.to_address}")

    with hook_plugin(app, Addon()):
        assert _queue_reminder(app, session_id) is not None
        with app.app_context():
            assert send_login_details(db.get(User, client.id)) is None
            db.commit()
    assert seen == [
        "before:reminder",
        f"queued:reminder:{client.email}",
        "before:welcome",
    ]
    work(app)
    (message,) = mailbox.messages
    assert "Bring a towel." in message.get_body(("plain",)).get_content()
    assert "Bring a towel." in message.get_body(("html",)).get_content()
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "plan.txt"
    assert attachment.get_content() == "warm-up, stretch"


def test_broken_theme_template_falls_back_to_the_core(
    app: Flask, make_user, mailbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "broken"
    (folder / "templates" / "emails").mkdir(parents=True)
    (folder / "templates" / "emails" / "reminder.txt").write_text("{{ missing.attribute.boom }}")
    (folder / "templates" / "emails" / "reminder.html").write_text(
        "<p>THEMED {{ session_title }}</p>"
    )
    registry = themes(app)
    registry["broken"] = Theme("broken", folder, "Broken", "")
    coach, client = make_user("coach"), make_user("client")
    session_id = add_session(app, coach.id, client.id)
    set_options(app, theme__active="broken")
    try:
        with caplog.at_level(logging.ERROR, logger="core.emails.render"):
            _queue_reminder(app, session_id)
    finally:
        set_options(app, theme__active="default")
        del registry["broken"]
    work(app)
    (message,) = mailbox.messages
    assert "Breathing basics" in message.get_body(("plain",)).get_content()
    assert "THEMED Breathing basics" in message.get_body(("html",)).get_content()
    assert "falling back to the core template" in caplog.text


def test_hook_may_redirect_an_email_but_not_to_a_bad_address(
    app: Flask, make_user, mailbox
) -> None:
    coach, client = make_user("coach"), make_user("client")
    session_id = add_session(app, coach.id, client.id)
    target = {"address": "front-desk@studio.example"}

    class Redirect:
        @hookimpl
        def before_email_queued(self, email: OutgoingEmail) -> None:
            email.to_address = target["address"]

    with hook_plugin(app, Redirect()):
        _queue_reminder(app, session_id, dedupe_key="first")
        target["address"] = "front desk@@studio"
        with pytest.raises(InvalidAddress):
            _queue_reminder(app, session_id, dedupe_key="second")
    work(app)
    (message,) = mailbox.messages
    assert "front-desk@studio.example" in message["To"]
    assert len(outbox(app)) == 1


def _batch(
    app: Flask, make_user, keys: list[str | None]
) -> tuple[int, list[tuple[int, str | None]]]:
    """A session, and a (client id, dedupe key) per key: one reminder request each."""
    coach = make_user("coach")
    clients = [make_user("client") for _ in keys]
    session_id = add_session(app, coach.id, clients[0].id)
    return session_id, [(c.id, key) for c, key in zip(clients, keys, strict=True)]


def _queue_batch(session_id: int, batch: list[tuple[int, str | None]]) -> list[str]:
    """Queue the batch in one call and commit; what each request gave."""
    session = db.get(CoachingSession, session_id)
    requests = [EmailRequest(db.get(User, c), session=session, dedupe_key=k) for c, k in batch]
    results = queue_emails("reminder", requests)
    db.commit()
    return [type(result).__name__ for result in results]


def test_a_batch_gives_each_email_what_queue_email_would_in_turn(app: Flask, make_user) -> None:
    session_id, batch = _batch(app, make_user, ["old", "new", "new", "again", "again", None])
    with app.app_context():
        assert _queue_batch(session_id, batch[:1]) == ["OutgoingEmail"]
    refuses = batch[3][0]

    class Addon:
        @hookimpl
        def before_email_queued(self, email: OutgoingEmail) -> None:
            if email.user_id == refuses:
                email.veto("this client asked for none")

    with hook_plugin(app, Addon()), app.app_context():
        assert _queue_batch(session_id, batch) == [
            "NoneType",  # already in the outbox
            "OutgoingEmail",
            "NoneType",  # the same key, earlier in the batch
            "NoneType",  # vetoed: the key stays free ...
            "OutgoingEmail",  # ... for the next email that has it
            "OutgoingEmail",  # no key, no dedupe
        ]
    assert [(e.dedupe_key, e.user_id) for e in outbox(app)] == [
        (key, client_id) for client_id, key in (batch[0], batch[1], batch[4], batch[5])
    ]


def test_a_key_taken_meanwhile_leaves_out_only_that_email(
    app: Flask, make_user, caplog: pytest.LogCaptureFixture
) -> None:
    session_id, batch = _batch(app, make_user, ["taken", "a", "b", "c"])
    with app.app_context():
        _queue_batch(session_id, batch[:1])
    queued: list[str | None] = []

    class Addon:
        @hookimpl
        def before_email_queued(self, email: OutgoingEmail) -> None:
            if email.dedupe_key == "b":
                email.dedupe_key = "taken"  # the one-INSERT batch fails on it

        @hookimpl
        def email_queued(self, email: OutgoingEmail) -> None:
            queued.append(email.dedupe_key)

    with hook_plugin(app, Addon()), caplog.at_level(logging.INFO), app.app_context():
        assert _queue_batch(session_id, batch[1:]) == ["OutgoingEmail", "NoneType", "OutgoingEmail"]
    assert queued == ["a", "c"]
    assert "taken is already in the outbox" in caplog.text
    assert [e.dedupe_key for e in outbox(app)] == ["taken", "a", "c"]


def test_a_batch_costs_the_same_statements_whatever_its_size(app: Flask, make_user) -> None:
    """Lookups and dedupe are per batch, and the rows go in with one executemany INSERT."""
    counts = []
    for size in (2, 12):
        session_id, batch = _batch(app, make_user, [f"{size}:{n}" for n in range(size)])
        with app.app_context():
            people = [db.get(User, client_id) for client_id, _key in batch]  # as a sweep has them
            with counting(app) as statements:
                assert _queue_batch(session_id, batch) == ["OutgoingEmail"] * size
            inserts = [s for s in statements if s.startswith("INSERT INTO outbox_emails")]
            counts.append((len(statements), len(inserts)))
            del people
    assert counts[0] == counts[1] and counts[0][1] == 1, counts
