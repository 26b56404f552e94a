"""Several processes on one PostgreSQL and one Redis, proven with docs/deploy.md's commands.

Two web processes (two gunicorn masters, as two machines behind a load balancer) and
two workers share a PostgreSQL database and a Redis server:

- an add-on switched on through one web process is on in the other at its next request
  (and off again the other way round);
- sign-in attempts are counted across both web processes (the limit lives in Redis);
- three thousand due reminders go out, each once, although one worker is killed
  (SIGKILL) while it holds emails: the other takes them over when the lease ends.

What "once" means when a worker dies: the emails it had handed to the server but whose
outcome it had not yet written (outcomes are written in groups) are sent again after the
lease (SMTP offers no way to know). The test reads which emails the dead
worker held at its death and allows a second copy of those only; every other email
arrives exactly once, and nothing is lost.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import Engine

from core.accounts.models import Role, User
from core.db import utcnow
from core.emails.models import EmailStatus, OutboxEmail
from core.emails.types import REMINDER
from core.sessions.models import CoachingSession
from core.testing.plugin import MessageIdCounter, free_port, local_smtp_server
from core.worker.smtp import message_id
from tests.conftest import PASSWORD, SITE, database_url_for
from tests.helpers import REDIS_URL, empty_redis, fresh_database_url
from tests.test_config import cli_environment, run_cli
from tests.test_operations_deploy import runnable, unit_commands
from tests.test_races import Browser, csrf_in

REMINDERS = 3_000  # bench/emails_reminders.py times 10,000
CLIENTS = 100
LEASE_SECONDS = 10

pytestmark = pytest.mark.skipif(
    "postgresql" not in database_url_for(Path("unused")),
    reason="needs PostgreSQL: SQLite has one writer, and docs/deploy.md says one worker there",
)


@pytest.fixture
def counting_smtp() -> Iterator[tuple[int, MessageIdCounter]]:
    handler = MessageIdCounter()
    with local_smtp_server(handler) as port:
        yield port, handler


@pytest.fixture
def shared_redis() -> Iterator[str]:
    store = empty_redis()
    yield REDIS_URL
    store.flushdb()


class Processes:
    """Started processes with their logs; all stopped (and their logs checked) at the end."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.folder, self.env = folder, env
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        log = (self.folder / f"{name}.log").open("wb")
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=self.env)
        log.close()
        self.running[name] = process
        return process

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def check_alive(self) -> None:
        for name, process in self.running.items():
            if process.poll() is not None and process.returncode != -signal.SIGKILL:
                pytest.fail(f"{name} exited ({process.returncode}):\n{self.log(name)}")

    def stop(self) -> None:
        for process in self.running.values():
            if process.poll() is None:
                process.terminate()
        for process in self.running.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def wait_for(condition: Any, processes: Processes, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        processes.check_alive()
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {seconds} s waiting for {what}")
        time.sleep(0.05)


def serving(base: str) -> bool:
    try:
        requests.get(base + "/healthz", timeout=5)
    except requests.RequestException:
        return False
    return True


def seed_due_sessions(engine: Engine) -> None:
    """One coach, CLIENTS clients and REMINDERS open sessions starting within the next day
    (the default reminder delay is 24 hours), written in bulk."""
    start = utcnow() + timedelta(hours=1)
    with engine.begin() as conn:
        people = [
            {
                "email": f"client{n}@processes.example",
                "first_name": f"Client{n}",
                "last_name": "Processes",
                "role": Role.CLIENT.value,
                "locale": "fr" if n % 2 else "en",
            }
            for n in range(CLIENTS)
        ]
        coach = {"email": "coach@processes.example", "first_name": "Cora", "last_name": "Coach"}
        coach_id = conn.execute(
            insert(User).values(**coach, role=Role.COACH.value).returning(User.id)
        ).scalar_one()
        client_ids = list(conn.execute(insert(User).returning(User.id), people).scalars())
        conn.execute(
            insert(CoachingSession),
            [
                {
                    "coach_id": coach_id,
                    "client_id": client_ids[n % CLIENTS],
                    "client_role": Role.CLIENT.value,
                    "title": f"Session {n}",
                    "starts_at": start + timedelta(seconds=8 * n),
                    "duration_minutes": 5,
                    "currency": "EUR",
                    "status": "booked",
                    "payment_status": "pending",
                    "version": 1,
                    "schedule_revision": 1,
                }
                for n in range(REMINDERS)
            ],
        )


def sign_in_fails(base: str, email: str, password: str) -> int:
    """One sign-in attempt from a new browser; its status code (302 signed in, 200 refused,
    429 too many attempts)."""
    web = requests.Session()
    page = web.get(base + "/connexion", timeout=30)
    response = web.post(
        base + "/connexion",
        data={"email": email, "password": password, "csrf_token": csrf_in(page.text)},
        allow_redirects=False,
        timeout=30,
    )
    return response.status_code


def test_two_web_processes_and_two_workers_share_the_work(
    tmp_path: Path, counting_smtp: tuple[int, MessageIdCounter], shared_redis: str
) -> None:
    began = time.monotonic()
    smtp_port, smtp = counting_smtp
    web_ports = free_port(), free_port()
    bases = [f"http://127.0.0.1:{port}" for port in web_ports]
    commands = unit_commands()
    with fresh_database_url(tmp_path) as url:
        env = cli_environment(
            tmp_path,
            {
                "COACHDESK_DATABASE_URL": url,
                "COACHDESK_BASE_URL": bases[0],
                "COACHDESK_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
                "COACHDESK_RATELIMIT_STORAGE_URL": shared_redis,
                "COACHDESK_WORKER_LEASE_SECONDS": str(LEASE_SECONDS),
                "COACHDESK_LOG_LEVEL": "WARNING",
                "PYTHONPATH": str(SITE),  # the test add-on, pip-installed for this run
            },
        )
        init = run_cli(
            tmp_path,
            "init",
            "--email=admin@processes.example",
            f"--password={PASSWORD}",
            "--first-name=Ada",
            "--last-name=Admin",
            env=env,
        )
        assert init.returncode == 0, init.stderr
        engine = create_engine(url)
        seed_due_sessions(engine)
        client_email = "client0@processes.example"
        with engine.begin() as conn:  # the admin's password, for the client too
            admin_hash = conn.scalar(text("SELECT password_hash FROM users WHERE role = 'admin'"))
            conn.execute(
                text("UPDATE users SET password_hash = :h WHERE email = :e"),
                {"h": admin_hash, "e": client_email},
            )

        processes = Processes(tmp_path, env)
        try:
            # -- two web processes, each its own gunicorn (one worker each: which
            # process answers is then certain)
            web = runnable(commands["coachdesk-web.service"], 0)
            workers_at = web.index("--workers")
            for name, port in zip(("web-a", "web-b"), web_ports, strict=True):
                command = [f"127.0.0.1:{port}" if arg == "127.0.0.1:0" else arg for arg in web]
                command[workers_at + 1] = "1"
                processes.start(name, command)
            for base in bases:
                wait_for(lambda b=base: serving(b), processes, 60, f"gunicorn at {base}")

            # -- an add-on switched on through A is on in B, and off through B is off in A
            assert requests.get(bases[1] + "/testaddon/hello", timeout=30).status_code == 404
            admin_a = Browser(bases[0], "admin@processes.example")
            admin_a.send("/admin/addons/testaddon", {"action": "activate"})
            assert requests.get(bases[1] + "/testaddon/hello", timeout=30).status_code == 200
            admin_b = Browser(bases[1], "admin@processes.example")
            admin_b.send("/admin/addons/testaddon", {"action": "deactivate"})
            assert requests.get(bases[0] + "/testaddon/hello", timeout=30).status_code == 404

            # -- five wrong passwords, three through A and two through B: the right one
            # is then refused by both (5 attempts per address and minute)
            for base in (bases[0], bases[1], bases[0], bases[1], bases[0]):
                assert sign_in_fails(base, client_email, "not the password") == 200
            assert sign_in_fails(bases[0], client_email, PASSWORD) == 429
            assert sign_in_fails(bases[1], client_email, PASSWORD) == 429

            # -- two workers; the first is killed while it holds emails
            worker = runnable(commands["coachdesk-worker@.service"], 0)
            worker += ["--outbox-every", "1", "--reminders-every", "2"]
            doomed = processes.start("worker-1", worker)
            processes.start("worker-2", worker)
            held_by_doomed = (
                select(OutboxEmail.id)
                .where(OutboxEmail.claimed_by.like(f"{socket.gethostname()}:{doomed.pid}:%"))
                .order_by(OutboxEmail.id)
            )
            in_flight: list[int] = []

            def doomed_holds_emails() -> bool:
                with engine.connect() as conn:
                    return conn.execute(held_by_doomed.limit(1)).first() is not None

            wait_for(doomed_holds_emails, processes, 60, "the first worker to claim emails")
            doomed.send_signal(signal.SIGKILL)
            doomed.wait(timeout=10)
            with engine.connect() as conn:
                in_flight = list(conn.execute(held_by_doomed).scalars())
            assert in_flight, "the worker died holding nothing: nothing was proven"
            killed_at = time.monotonic()

            def all_sent() -> bool:
                with engine.connect() as conn:
                    sent = conn.scalar(
                        select(func.count())
                        .select_from(OutboxEmail)
                        .where(OutboxEmail.status == EmailStatus.SENT.value)
                    )
                return sent == REMINDERS

            wait_for(all_sent, processes, 90, f"{REMINDERS} reminders sent by the other worker")
            assert time.monotonic() - killed_at >= LEASE_SECONDS - 1  # taken over after the lease
        finally:
            processes.stop()
            engine.dispose()

        with create_engine(url).connect() as conn:
            rows = conn.execute(
                select(OutboxEmail.id, OutboxEmail.created_at, OutboxEmail.from_address)
            ).all()
            kinds = conn.execute(
                select(OutboxEmail.email_type, func.count()).group_by(OutboxEmail.email_type)
            ).all()
            unreminded = conn.scalar(
                select(func.count())
                .select_from(CoachingSession)
                .where(CoachingSession.reminded_revision.is_distinct_from(1))
            )
        assert dict(kinds) == {REMINDER: REMINDERS}  # one per session, none twice
        assert unreminded == 0
        ids = {message_id(row): row.id for row in rows}  # type: ignore[arg-type]
        expected = set(ids)
        assert set(smtp.message_ids) == expected  # nothing lost, nothing unknown
        twice = {key for key, count in smtp.message_ids.items() if count > 1}
        assert all(count <= 2 for count in smtp.message_ids.values())
        died_holding = {key for key, row_id in ids.items() if row_id in in_flight}
        assert twice <= died_holding, "sent twice though no worker died holding it"
        assert smtp.total == REMINDERS + len(twice)
        for name in ("web-a", "web-b", "worker-2"):
            assert "Traceback" not in processes.log(name), processes.log(name)
        assert time.monotonic() - began < 120, "the multi-process test must stay under 2 minutes"
