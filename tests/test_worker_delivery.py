"""Delivery: SMTP outages lose nothing, failures back off then die, leases recover dead workers."""

from __future__ import annotations

import asyncio
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.policy import compat32
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy import select, update

from core.accounts.models import User
from core.db import db, utcnow
from core.emails import queue_email
from core.emails.accounts import send_password_reset
from core.emails.models import OutboxEmail
from core.sessions.models import CoachingSession
from core.worker import delivery, smtp
from core.worker.cli import worker_command
from core.worker.delivery import LEASE, SmtpConnection, backoff, claim, claim_rows, drain
from core.worker.scheduler import build_scheduler
from tests.conftest import SITE, Mailbox, free_port
from tests.helpers import set_options
from tests.test_emails_support import add_session, outbox, smtp_url, work


def _queue(app: Flask, make_user, n: int = 1) -> list[User]:
    users = [make_user("client") for _ in range(n)]
    with app.app_context():
        for user in users:
            send_password_reset(db.get(User, user.id))
        db.commit()
    return users


def test_backoff_doubles_up_to_an_hour() -> None:
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff(50) == timedelta(hours=1)


def test_smtp_down_then_up_loses_nothing(app: Flask, make_user, mailbox) -> None:
    _queue(app, make_user, 3)
    now = utcnow()
    with smtp_url(app, f"smtp://127.0.0.1:{free_port()}"):  # nothing listens there
        result = work(app, now)
    assert result.delivery.outage and result.delivery.sent == 0
    emails = outbox(app)
    assert {(e.status, e.attempts) for e in emails} == {("pending", 1)}
    assert all("cannot reach the SMTP server" in e.last_error for e in emails)
    assert all(e.display_status == "failed" and e.claimed_by is None for e in emails)
    assert mailbox.messages == []
    assert work(app, now + timedelta(seconds=10)).delivery.sent == 0  # still backing off
    assert work(app, now + timedelta(seconds=31)).delivery.sent == 3
    assert len(mailbox.messages) == 3
    assert {e.status for e in outbox(app)} == {"sent"}


def test_long_outage_never_kills_an_email(app: Flask, make_user) -> None:
    set_options(app, emails__max_attempts=2)
    _queue(app, make_user)
    now = utcnow()
    with smtp_url(app, f"smtp://127.0.0.1:{free_port()}"):
        for hour in range(4):
            work(app, now + timedelta(hours=hour))
    (email,) = outbox(app)
    assert email.status == "pending" and email.attempts == 4


class Refusing:
    """An SMTP handler refusing every recipient with a fixed reply."""

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.attempts = 0

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        self.attempts += 1
        return self.reply


@pytest.fixture
def refusing_server() -> Iterator[tuple[int, Refusing]]:
    handler = Refusing("451 4.3.0 try again later")
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, handler
    controller.stop()


def test_temporary_refusals_retry_then_die(app: Flask, make_user, refusing_server) -> None:
    port, handler = refusing_server
    set_options(app, emails__max_attempts=3)
    _queue(app, make_user)
    now = utcnow()
    with smtp_url(app, f"smtp://127.0.0.1:{port}"):
        for step in range(3):
            work(app, now + timedelta(minutes=10 * step))
    (email,) = outbox(app)
    assert handler.attempts == 3
    assert email.status == "dead" and email.attempts == 3
    assert "451" in email.last_error


def test_permanent_refusal_is_dead_at_once(app: Flask, make_user, refusing_server) -> None:
    port, handler = refusing_server
    handler.reply = "550 5.1.1 no such user"
    _queue(app, make_user)
    with smtp_url(app, f"smtp://127.0.0.1:{port}"):
        result = work(app)
    assert result.delivery.dead == 1
    (email,) = outbox(app)
    assert email.status == "dead" and "550" in email.last_error


def test_killed_worker_is_recovered_after_its_lease(app: Flask, make_user, mailbox) -> None:
    _queue(app, make_user, 2)
    now = utcnow()
    with app.app_context():
        claimed = claim("worker-that-dies", now)  # ... and then the process is killed
    assert len(claimed) == 2
    assert work(app, now + timedelta(minutes=1)).delivery.sent == 0  # lease still held
    assert mailbox.messages == []
    result = work(app, now + LEASE + timedelta(seconds=1))
    assert result.delivery.sent == 2
    assert len(mailbox.messages) == 2
    assert all(e.status == "sent" and e.claimed_by is None for e in outbox(app))
    assert work(app, now + LEASE * 3).delivery.sent == 0
    assert len(mailbox.messages) == 2


def test_cli_worker_once_and_scheduler(app: Flask, make_user, mailbox) -> None:
    _queue(app, make_user)
    # set_debug_flag=False: otherwise Flask resets app.debug, which turns off template reloading.
    info = ScriptInfo(create_app=lambda: app, set_debug_flag=False)
    result = app.test_cli_runner().invoke(worker_command, ["--once"], obj=info)
    assert result.exit_code == 0, result.output
    assert "sent: 1" in result.output
    assert len(mailbox.messages) == 1

    from apscheduler.schedulers.background import BackgroundScheduler

    _queue(app, make_user)
    scheduler = build_scheduler(app, 1, 1, scheduler_class=BackgroundScheduler)
    scheduler.start()
    try:
        for _ in range(100):
            if len(mailbox.messages) == 2:
                break
            time.sleep(0.05)
    finally:
        scheduler.shutdown(wait=True)
    assert len(mailbox.messages) == 2
    assert {job.id for job in scheduler.get_jobs()} <= {"reminders", "outbox"}


# -- TLS and login -----------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def _authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == b"coach"
        and auth_data.password == b"s3cret pass"
    )
    return AuthResult(success=ok, handled=False)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("scheme", ["smtp+starttls", "smtps"])
def test_tls_and_login(app: Flask, make_user, certificate, monkeypatch, scheme: str) -> None:
    cert, key = certificate
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    monkeypatch.setattr(smtp, "tls_context", lambda: ssl.create_default_context(cafile=str(cert)))
    received = Mailbox()
    port = free_port()
    options: dict[str, Any] = {"authenticator": _authenticator, "auth_required": True}
    if scheme == "smtps":
        # Implicit TLS: aiosmtpd does not see it, so allow AUTH on what it thinks is plain.
        options.update(ssl_context=server_context, auth_require_tls=False)
    else:
        options.update(tls_context=server_context, require_starttls=True)
    controller = Controller(received, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        _queue(app, make_user)
        with smtp_url(app, f"{scheme}://coach:s3cret%20pass@127.0.0.1:{port}"):
            assert work(app).delivery.sent == 1
        _queue(app, make_user)
        with smtp_url(app, f"{scheme}://coach:wrong@127.0.0.1:{port}"):
            result = work(app)
        assert result.delivery.sent == 0
    finally:
        controller.stop()
    assert len(received.messages) == 1
    assert outbox(app)[-1].status == "pending" and outbox(app)[-1].last_error


def test_drain_limit_is_respected(app: Flask, make_user, mailbox) -> None:
    _queue(app, make_user, 3)
    with app.app_context():
        assert drain(limit=2).sent == 2
    assert len(mailbox.messages) == 2
    with app.app_context():
        assert db.query(OutboxEmail).filter_by(status="pending").count() == 1


def _worker_process(app: Flask, smtp: str) -> subprocess.Popen[str]:
    """Start the real `coachdesk worker` command on the test database, as an operator would."""
    env = {
        **os.environ,
        "COACHDESK_DATABASE_URL": app.config["DATABASE_URL"],
        "COACHDESK_SECRET_KEY": app.config["SECRET_KEY"],
        "COACHDESK_SMTP_URL": smtp,
        "COACHDESK_BASE_URL": app.config["BASE_URL"],
        "COACHDESK_INSTANCE_PATH": app.instance_path,
        # The test add-on is "installed" for the test process only (its migration is applied).
        "PYTHONPATH": os.pathsep.join([str(SITE), *sys.path]),
    }
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("coachdesk")), "worker", "--outbox-every", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for(condition: Any, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)
    return bool(condition())


def test_worker_process_delivers_and_stops_on_sigterm(app: Flask, make_user, mailbox) -> None:
    process = _worker_process(app, app.config["SMTP_URL"])
    try:
        _queue(app, make_user)
        _wait_for(lambda: mailbox.messages)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert len(mailbox.messages) == 1, output
    assert process.returncode == 0, output
    assert "Worker started" in output and "Worker stopped." in output


class Hanging(Mailbox):
    """An SMTP server that never answers the message data (the worker waits in send)."""

    def __init__(self) -> None:
        super().__init__()
        self.reached = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.reached.set()
        await asyncio.sleep(3600)
        return "250 OK"


def test_worker_killed_between_claim_and_send_is_recovered(app: Flask, make_user, mailbox) -> None:
    hanging = Hanging()
    port = free_port()
    controller = Controller(hanging, hostname="127.0.0.1", port=port)
    controller.start()
    process = _worker_process(app, f"smtp://127.0.0.1:{port}")
    try:
        _queue(app, make_user)
        if not hanging.reached.wait(30):
            process.kill()
            pytest.fail(f"the worker never started sending:\n{process.communicate()[0]}")
        process.kill()  # SIGKILL: no cleanup, the claim stays in the database
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
        controller.stop()
    (email,) = outbox(app)
    assert email.status == "pending" and email.claimed_by is not None
    assert hanging.messages == [] and mailbox.messages == []
    assert work(app).delivery.sent == 0  # the dead worker's lease still holds
    assert work(app, email.claimed_until + timedelta(seconds=1)).delivery.sent == 1
    assert len(mailbox.messages) == 1
    assert work(app, email.claimed_until + LEASE).delivery.sent == 0


class Slow(Mailbox):
    """An SMTP server that takes its time over every message."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(0.3)
        return await super().handle_DATA(server, session, envelope)


def test_slow_server_never_outlives_the_lease(
    app: Flask, make_user, caplog: pytest.LogCaptureFixture
) -> None:
    received = Slow()
    port = free_port()
    controller = Controller(received, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        _queue(app, make_user, 4)
        with smtp_url(app, f"smtp://127.0.0.1:{port}"), app.app_context():
            result = drain(lease=timedelta(seconds=1))
    finally:
        controller.stop()
    assert "releasing" in caplog.text  # stopped at half the lease, gave the rest back
    assert result.sent == 4
    assert Counter(m["Message-ID"] for m in received.messages).most_common(1)[0][1] == 1
    assert len(received.messages) == 4


# -- batches: one connection, outcomes written in groups, the lease setting -------


def test_the_lease_is_the_worker_lease_seconds_setting(
    app: Flask, make_user, mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "WORKER_LEASE_SECONDS", 10)
    _queue(app, make_user, 2)
    now = utcnow()
    with app.app_context():
        rows = claim_rows("worker-that-dies", now)  # ... and is killed (SIGKILL) at once
    assert {row.claimed_until for row in rows} == {now + timedelta(seconds=10)}
    assert work(app, now + timedelta(seconds=9)).delivery.sent == 0  # still its lease
    assert work(app, now + timedelta(seconds=11)).delivery.sent == 2  # taken after it
    assert len(mailbox.messages) == 2


def test_one_connection_serves_every_batch_of_a_drain(
    app: Flask, make_user, mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []

    def counting_connect(url: str) -> Any:
        opened.append(url)
        return smtp.connect(url)

    monkeypatch.setattr(delivery, "connect", counting_connect)
    monkeypatch.setattr(delivery, "BATCH_SIZE", 2)
    _queue(app, make_user, 5)
    assert work(app).delivery.sent == 5
    assert len(opened) == 1  # three batches
    assert len(mailbox.messages) == 5
    assert {e.status for e in outbox(app)} == {"sent"}


def test_a_connection_the_server_closed_between_batches_is_opened_again(
    app: Flask, mailbox
) -> None:
    with app.app_context(), SmtpConnection(app.config["SMTP_URL"]) as connection:
        first = connection.open()
        first.close()  # as a server does after its idle timeout
        again = connection.open()
        assert again is not first
        assert again.noop()[0] == 250
        assert connection.open() is again


def test_outcomes_are_written_in_groups_and_a_crash_loses_none(
    app: Flask, make_user, mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outcomes are committed together; a worker that dies mid-batch has committed what
    it sent (here: before the error), and what it had not sent waits for its lease."""
    commits: list[int] = []
    write = delivery.Outcomes.write

    def counted(self: delivery.Outcomes) -> None:
        commits.append(len(self.waiting))
        write(self)

    def broken(row: OutboxEmail) -> Any:
        if len(mailbox.messages) == 3:
            raise RuntimeError("the worker dies here")
        return smtp.build_message(row)

    monkeypatch.setattr(delivery.Outcomes, "write", counted)
    monkeypatch.setattr(delivery, "build_message", broken)
    monkeypatch.setattr(delivery, "RECORD_EVERY", 2)
    _queue(app, make_user, 6)
    now = utcnow()
    with pytest.raises(RuntimeError), app.app_context():
        drain(now)
    assert [n for n in commits if n] == [2, 1]  # groups of two; the last one on the way out
    emails = outbox(app)
    assert [e.status for e in emails] == ["sent"] * 3 + ["pending"] * 3
    assert all(e.claimed_by for e in emails[3:])  # claimed by the worker that died
    monkeypatch.setattr(delivery, "build_message", smtp.build_message)
    assert work(app, now + timedelta(seconds=1)).delivery.sent == 0
    assert work(app, now + LEASE + timedelta(seconds=1)).delivery.sent == 3
    assert Counter(m["Message-ID"] for m in mailbox.messages).most_common(1)[0][1] == 1
    assert len(mailbox.messages) == 6


def test_an_outcome_is_written_only_while_the_claim_is_held(app: Flask, make_user) -> None:
    _queue(app, make_user, 2)
    now = utcnow()
    with app.app_context():
        rows = claim_rows("slow-worker", now)
        db.execute(  # its lease ran out and another worker took the second email
            update(OutboxEmail)
            .where(OutboxEmail.id == rows[1].id)
            .values(claimed_by="other-worker")
        )
        db.commit()
        outcomes = delivery.Outcomes("slow-worker", LEASE)
        for row in rows:
            outcomes.add(row, status="sent", attempts=1)
        outcomes.write()
    first, second = outbox(app)
    assert (first.status, first.claimed_by) == ("sent", None)
    assert (second.status, second.claimed_by) == ("pending", "other-worker")


def test_messages_are_written_as_compat32_writes_them(app: Flask, make_user) -> None:
    """The fast path for short ASCII headers changes nothing in what is sent."""
    coach = make_user("coach", first_name="Zoé", last_name="Lefèvre-Dupont")
    client = make_user("client", first_name="Chloé", last_name="Martin", locale="fr")
    long_ascii = make_user(  # a To header longer than a line
        "client",
        first_name="Maximilian Alexander",
        last_name="Worthington Fairbanks",
        email="maximilian.alexander.worthington@fairbanks-and-partners.example.test",
    )
    session_id = add_session(app, coach.id, client.id, title="Séance " + "très " * 30)
    with app.app_context():
        session = db.get(CoachingSession, session_id)
        for person in (client, long_ascii):
            queue_email("reminder", to=db.get(User, person.id), context={}, session=session)
        send_password_reset(db.get(User, coach.id))
        db.commit()
        for row in db.scalars(select(OutboxEmail)):
            message = smtp.build_message(row)
            assert smtp.as_bytes(message) == message.as_bytes(policy=compat32.clone(linesep="\r\n"))


@pytest.mark.parametrize(
    "subject",
    [
        "Your session on Monday",
        "Rappel : votre séance du lundi 14 juillet à 14:30",
        "Literal =?utf-8?q?not_an_encoded_word?= typed by the owner",
        "A long plain subject " + "that goes on and on " * 10,
        "Ünïcödé " * 30,
    ],
)
def test_subjects_arrive_as_written(subject: str) -> None:
    row = OutboxEmail(
        id=1,
        email_type="reminder",
        to_address="client@example.test",
        from_address="Studio <hello@studio.example>",
        subject=subject,
        body_text="Hello\n",
        body_html=None,
        attachments=[],
        created_at=utcnow(),
    )
    raw = smtp.as_bytes(smtp.build_message(row))
    assert all(len(line) <= 78 for line in raw.split(b"\r\n\r\n")[0].split(b"\r\n"))
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["Subject"] == subject
