"""Reminders: exactly once per session and revision, across DST, crashes and racing workers."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import update

from core.accounts.models import User
from core.db import db, get_database
from core.sessions.models import CoachingSession, SessionDocument
from core.worker.reminders import _claim_due, remind, sweep
from hooks import OutgoingEmail, hookimpl
from tests.helpers import set_options
from tests.test_emails_support import add_session, hook_plugin, outbox, work

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2030, 5, 6, 8, 0, tzinfo=UTC)


def _sweep(app: Flask, now: datetime) -> int:
    with app.app_context():
        return sweep(now)


def _postgres_only(app: Flask) -> None:
    if get_database(app).dialect != "postgresql":
        pytest.skip("needs PostgreSQL (set COACHDESK_TEST_DATABASE_URL): SQLite has no row locks")


def test_due_reminder_is_queued_once(app: Flask, make_user, mailbox) -> None:
    coach, client = make_user("coach"), make_user("client")
    due = add_session(app, coach.id, client.id, starts_at=NOW + timedelta(hours=23))
    add_session(app, coach.id, client.id, starts_at=NOW + timedelta(hours=25))  # not yet
    add_session(app, coach.id, client.id, starts_at=NOW - timedelta(hours=1))  # started
    add_session(app, coach.id, client.id, starts_at=NOW + timedelta(hours=2), status="cancelled")
    add_session(app, coach.id, None, starts_at=NOW + timedelta(hours=2), status="available")
    with app.app_context():
        db.add(
            SessionDocument(
                session_id=due,
                filename="warm-up.pdf",
                storage_name="x" * 32,
                size_bytes=1,
                sha256="0" * 64,
            )
        )
        db.commit()
    assert _sweep(app, NOW) == 1
    assert _sweep(app, NOW + timedelta(minutes=5)) == 0
    (email,) = outbox(app)
    assert "warm-up.pdf" in email.body_text and "/documents/" in email.body_text
    assert (email.email_type, email.session_id, email.dedupe_key) == (
        "reminder",
        due,
        f"reminder:{due}:1",
    )
    assert work(app, NOW).delivery.sent == 1
    assert len(mailbox.messages) == 1
    with app.app_context():
        session = db.get(CoachingSession, due)
        assert session.reminded_revision == 1 and session.version == 1  # not an edit


def test_reminders_follow_the_delay_setting_and_switch(app: Flask, make_user) -> None:
    coach, client = make_user("coach"), make_user("client")
    add_session(app, coach.id, client.id, starts_at=NOW + timedelta(hours=40))
    assert _sweep(app, NOW) == 0
    set_options(app, emails__reminder_delay_hours=48, emails__reminders_enabled=False)
    assert _sweep(app, NOW) == 0
    set_options(app, emails__reminders_enabled=True)
    assert _sweep(app, NOW) == 1


def test_moved_session_gets_a_new_reminder(app: Flask, make_user) -> None:
    coach, client = make_user("coach"), make_user("client")
    session_id = add_session(app, coach.id, client.id, starts_at=NOW + timedelta(hours=10))
    assert _sweep(app, NOW) == 1

    def move(hours: int) -> None:
        with app.app_context():
            session = db.get(CoachingSession, session_id)
            session.starts_at += timedelta(hours=hours)
            session.schedule_revision += 1  # as the coach editor does
            db.commit()

    move(2)  # still within the reminder window: a new reminder at once
    assert _sweep(app, NOW) == 1
    move(72)  # moved days ahead: reminded again, but only when due
    assert _sweep(app, NOW) == 0
    with app.app_context():
        starts = db.get(CoachingSession, session_id).starts_at
    assert _sweep(app, starts - timedelta(hours=24)) == 1
    assert [e.dedupe_key for e in outbox(app)] == [f"reminder:{session_id}:{n}" for n in (1, 2, 3)]


@pytest.mark.parametrize(
    ("day", "due_utc"),
    [
        # Last Sunday of March 2027: clocks go forward at 02:00; 10:00 CEST = 08:00 UTC.
        (date(2027, 3, 28), datetime(2027, 3, 27, 8, 0, tzinfo=UTC)),
        # Last Sunday of October 2027: clocks go back at 03:00; 10:00 CET = 09:00 UTC.
        (date(2027, 10, 31), datetime(2027, 10, 30, 9, 0, tzinfo=UTC)),
    ],
)
def test_reminder_across_daylight_saving_change(
    app: Flask, make_user, mailbox, day: date, due_utc: datetime
) -> None:
    coach, client = make_user("coach"), make_user("client")  # client: the site's zone, Paris
    starts = datetime.combine(day, time(10, 0), PARIS).astimezone(UTC)
    add_session(app, coach.id, client.id, starts_at=starts)
    assert _sweep(app, due_utc - timedelta(minutes=1)) == 0
    assert _sweep(app, due_utc) == 1  # exactly 24 real hours before
    work(app, due_utc)
    text = mailbox.messages[0].get_body(("plain",)).get_content().replace("\u202f", " ")
    assert "10:00 AM – 11:00 AM" in text and f"{day.day}, {day.year}" in text


def test_worker_killed_mid_sweep_loses_and_duplicates_nothing(app: Flask, make_user) -> None:
    coach, client = make_user("coach"), make_user("client")
    for hours in range(1, 6):
        add_session(app, coach.id, client.id, starts_at=NOW + timedelta(hours=hours))
    calls: list[str] = []

    class Crash:
        @hookimpl
        def before_email_queued(self, email: OutgoingEmail) -> None:
            calls.append(email.email_type)
            if len(calls) == 3:
                raise RuntimeError("worker killed")

    with hook_plugin(app, Crash()), pytest.raises(RuntimeError):
        _sweep(app, NOW)
    assert outbox(app) == []
    assert _sweep(app, NOW) == 5
    assert _sweep(app, NOW) == 0
    assert len({e.dedupe_key for e in outbox(app)}) == 5


def _race(app: Flask, workers: int, now: datetime) -> list[int]:
    barrier = threading.Barrier(workers)
    results: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(work(app, now).delivery.sent)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    return results


def test_two_workers_racing_send_each_reminder_once(app: Flask, make_user, mailbox) -> None:
    coach = make_user("coach")
    clients = [make_user("client") for _ in range(20)]
    with app.app_context():
        for n in range(240):
            db.add(
                CoachingSession(
                    coach_id=coach.id,
                    client_id=clients[n % 20].id,
                    title=f"Session {n}",
                    starts_at=NOW + timedelta(minutes=30 + n),
                )
            )
        db.commit()
    sent = _race(app, 2, NOW)
    assert sum(sent) == 240
    assert len(mailbox.messages) == 240
    ids = Counter(m["Message-ID"] for m in mailbox.messages)
    assert max(ids.values()) == 1
    emails = outbox(app)
    assert len(emails) == 240 and len({e.session_id for e in emails}) == 240


def test_skip_locked_claims_are_disjoint_on_postgresql(app: Flask, make_user) -> None:
    _postgres_only(app)
    coach, client = make_user("coach"), make_user("client")
    for hours in range(1, 11):
        add_session(app, coach.id, client.id, starts_at=NOW + timedelta(hours=hours))
    with app.app_context():
        held, _people = _claim_due(NOW, 4)  # worker A holds 4 rows locked, mid-batch
        other: list[int] = []
        thread = threading.Thread(target=lambda: other.append(_sweep(app, NOW)))
        thread.start()
        thread.join(30)
        assert not thread.is_alive(), "worker B waited for worker A's rows"
        assert other == [6]
        assert remind(held) == 4
        db.commit()
        assert db.get(User, client.id) is not None
    assert Counter(e.session_id for e in outbox(app)).most_common(1)[0][1] == 1
    assert len(outbox(app)) == 10


def _bad_address(app: Flask, user_id: int) -> None:
    """Store an address the outbox refuses (as an old row or an import could hold)."""
    with app.app_context():
        db.execute(update(User).where(User.id == user_id).values(email="not an address"))
        db.commit()


def test_a_batch_leaves_out_a_bad_address_and_a_vetoed_email(
    app: Flask, make_user, mailbox, caplog: pytest.LogCaptureFixture
) -> None:
    coach = make_user("coach")
    clients = [make_user("client") for _ in range(4)]
    _bad_address(app, clients[1].id)
    ids = [
        add_session(app, coach.id, c.id, starts_at=NOW + timedelta(hours=n + 1))
        for n, c in enumerate(clients)
    ]
    before: list[int] = []
    queued: list[int] = []

    class Addon:
        @hookimpl
        def before_email_queued(self, email: OutgoingEmail) -> None:
            before.append(email.session_id)
            if email.session_id == ids[2]:
                email.veto("the client asked for no reminders")

        @hookimpl
        def email_queued(self, email: OutgoingEmail) -> None:
            queued.append(email.session_id)

    with hook_plugin(app, Addon()), caplog.at_level(logging.ERROR):
        assert _sweep(app, NOW) == 2  # one batch
    assert before == [ids[0], ids[2], ids[3]]  # each email, in order; none for the bad address
    assert queued == [ids[0], ids[3]]
    assert f"reminder of session {ids[1]} not queued" in caplog.text
    assert "not a valid email address" in caplog.text
    assert [e.session_id for e in outbox(app)] == [ids[0], ids[3]]
    with app.app_context():  # every session of the batch is done: none blocks the next sweeps
        assert [db.get(CoachingSession, i).reminded_revision for i in ids] == [1, 1, 1, 1]
    assert _sweep(app, NOW) == 0
    assert work(app, NOW).delivery.sent == 2
    assert sorted(m["X-Envelope-To"] for m in mailbox.messages) == sorted(
        [clients[0].email, clients[3].email]
    )


def test_batches_follow_each_other_without_losing_or_repeating_a_session(
    app: Flask, make_user
) -> None:
    coach, client = make_user("coach"), make_user("client")
    starts = NOW + timedelta(hours=2)
    # Several sessions at the same instant straddle two batches of 3.
    ids = [add_session(app, coach.id, client.id, starts_at=starts) for _ in range(5)]
    ids += [add_session(app, coach.id, client.id, starts_at=starts + timedelta(hours=1))]
    with app.app_context():
        assert sweep(NOW, batch_size=3) == 6
    assert sorted(e.session_id for e in outbox(app)) == sorted(ids)
    assert _sweep(app, NOW) == 0
