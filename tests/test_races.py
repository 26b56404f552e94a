"""Double clicks and races: one request wins, the other gets a clear message, never an error page.

The races run against the real thing: the app under gunicorn with several worker
processes, on PostgreSQL (SQLite runs one writer at a time, so these races cannot happen
there). To make each race certain rather than lucky, the test holds a lock on the row
(or the email) both requests need, waits until PostgreSQL shows both requests waiting
for it, then lets go: both have started, neither has finished.

Also here: the error page itself renders after a failed transaction, and a write that
loses a race anywhere (the generic safety net) answers with a message.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from core.accounts.models import User
from core.db import db, get_database, utcnow
from core.emails.models import OutboxEmail
from core.operations.health import HEARTBEAT, last_heartbeat, record_heartbeat
from core.payments.models import Payment
from core.sessions.models import CoachingSession
from core.testing.plugin import free_port
from tests.conftest import PASSWORD, database_url_for, post
from tests.test_coach_support import add_session, coach_with_client

ERROR_PAGE = 'class="card error-page"'


def needs_postgresql(app: Flask) -> None:
    if get_database(app).dialect != "postgresql":
        pytest.skip(
            "needs PostgreSQL (set COACHDESK_TEST_DATABASE_URL): SQLite runs one writer at a "
            "time, so two requests never interleave"
        )


# -- the app under gunicorn -----------------------------------------------------------------


@pytest.fixture
def server(app: Flask, tmp_path: Path, smtp_server: Any) -> Iterator[str]:
    """The application under gunicorn, three worker processes, on the test database."""
    needs_postgresql(app)
    port = free_port()
    host, smtp_port, _mailbox = smtp_server
    env = {k: v for k, v in os.environ.items() if not k.startswith("COACHDESK_")} | {
        "COACHDESK_INSTANCE_PATH": str(tmp_path),
        "COACHDESK_DATABASE_URL": database_url_for(tmp_path),
        "COACHDESK_SECRET_KEY": "races-secret-key-that-is-long-enough-for-tests",
        "COACHDESK_BASE_URL": f"http://127.0.0.1:{port}",
        "COACHDESK_SMTP_URL": f"smtp://{host}:{smtp_port}",
        "COACHDESK_LOGIN_RATE_LIMIT": "1000 per minute",
        "COACHDESK_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "gunicorn", "-w", "3", "-b", f"127.0.0.1:{port}"]
    command += ["--no-control-socket", "--timeout", "120"]
    process = subprocess.Popen(
        [*command, "core:create_app()"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(base + "/connexion", timeout=30)
                break
            except requests.RequestException:
                assert process.poll() is None, process.communicate()[0]
                time.sleep(0.2)
        else:
            pytest.fail("gunicorn did not start")
        yield base
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
        print(output)  # shown when a test fails: the workers' own logs
        assert "Traceback" not in output


class Browser:
    """One person's browser: its cookies, and how it reads pages and sends forms."""

    def __init__(self, base: str, email: str) -> None:
        self.base = base
        self.web = requests.Session()
        page = self.web.get(base + "/connexion", timeout=30)
        response = self.web.post(
            base + "/connexion",
            data={"email": email, "password": PASSWORD, "csrf_token": csrf_in(page.text)},
            allow_redirects=False,
            timeout=30,
        )
        assert response.status_code == 302, response.text[:500]
        self.token = csrf_in(self.web.get(base + "/", timeout=30).text)

    def twin(self) -> Browser:
        """The same browser again (same cookies): a second click of the same person."""
        other = object.__new__(Browser)
        other.base, other.token = self.base, self.token
        other.web = requests.Session()
        other.web.cookies.update(self.web.cookies)
        return other

    def send(self, path: str, data: dict[str, Any]) -> requests.Response:
        """POST a form and follow where it leads, as a browser does."""
        return self.web.post(self.base + path, data={**data, "csrf_token": self.token}, timeout=60)


def csrf_in(html: str) -> str:
    tag = re.search(r'<input[^>]*name="csrf_token"[^>]*>', html)
    value = re.search(r'value="([^"]+)"', tag.group(0)) if tag else None
    assert value is not None, html[:500]
    return value.group(1)


# -- making a race certain ---------------------------------------------------------------------


@contextmanager
def held(app: Flask, statement: str, **params: Any) -> Iterator[None]:
    """Run ``statement`` (a lock, an uncommitted insert) in a transaction kept open."""
    with get_database(app).engine.connect() as conn:
        conn.execute(text(statement), params)
        try:
            yield
        finally:
            conn.rollback()


def waiting_for_locks(app: Flask) -> int:
    with get_database(app).engine.connect() as conn:
        return int(
            conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
            or 0
        )


def race(app: Flask, lock: tuple[str, dict[str, Any]], *clicks: Callable[[], Any]) -> list[Any]:
    """Start every click while ``lock`` is held; let go once all of them wait for it."""
    answers: list[Any] = [None] * len(clicks)

    def run(index: int) -> None:
        answers[index] = clicks[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(clicks))]
    with held(app, lock[0], **lock[1]):
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while waiting_for_locks(app) < len(clicks):
            assert time.monotonic() < deadline, "the requests never met at the lock"
            time.sleep(0.05)
    for thread in threads:
        thread.join(timeout=60)
    return answers


def assert_clear_answers(answers: list[requests.Response], *expected: str) -> None:
    """Every click ends on a normal page with a message; together they say ``expected``."""
    for answer in answers:
        assert answer.status_code == 200, (answer.status_code, answer.url, answer.text[:800])
        assert ERROR_PAGE not in answer.text, answer.text[:800]
        assert 'class="flash ' in answer.text, answer.text[:800]
    pages = " ".join(a.text for a in answers)
    for message in expected:
        assert message in pages


def double_click(
    app: Flask, sid: int, browser: Browser, path: str, form: dict[str, Any]
) -> list[requests.Response]:
    """The same form sent twice by the same browser, both while session ``sid`` is locked."""
    lock = ("SELECT id FROM coaching_sessions WHERE id = :sid FOR UPDATE", {"sid": sid})
    return race(
        app, lock, lambda: browser.send(path, form), lambda: browser.twin().send(path, form)
    )


def count(app: Flask, model: Any, *where: Any) -> int:
    with app.app_context():
        return int(db.scalar(select(func.count()).select_from(model).where(*where)) or 0)


@pytest.fixture
def desk(app: Flask, as_role: Callable[..., Any], make_user: Callable[..., Any]) -> Any:
    _browser, coach, client = coach_with_client(app, as_role, make_user)
    return coach, client


# -- the races -------------------------------------------------------------------------------


@pytest.mark.postgres_only
def test_mark_paid_twice_at_once_records_one_payment(app: Flask, server: str, desk: Any) -> None:
    coach, client = desk
    sid = add_session(app, coach.id, client.id)
    click = Browser(server, coach.email)
    form = {"payment_status": "paid", "payment_method": "cash", "next": "/accueil-coach"}
    answers = double_click(app, sid, click, f"/coach/sessions/{sid}/payment", form)
    assert_clear_answers(answers, "Payment of", "Nothing to change")
    assert count(app, Payment, Payment.session_id == sid) == 1


@pytest.mark.postgres_only
def test_cancel_twice_at_once_cancels_once(app: Flask, server: str, desk: Any) -> None:
    coach, client = desk
    by_coach = add_session(app, coach.id, client.id, title="Coach cancels")
    click = Browser(server, coach.email)
    form = {"status": "cancelled", "next": "/accueil-coach"}
    answers = double_click(app, by_coach, click, f"/coach/sessions/{by_coach}/status", form)
    assert_clear_answers(answers, "Status of", "Nothing to change")

    in_a_month = utcnow().replace(microsecond=0) + timedelta(days=30)
    by_client = add_session(app, coach.id, client.id, title="Client cancels", starts_at=in_a_month)
    with app.app_context():
        version = db.get(CoachingSession, by_client).version  # type: ignore[union-attr]
    tap = Browser(server, client.email)
    path = f"/accueil-client/sessions/{by_client}/cancel"
    answers = double_click(app, by_client, tap, path, {"version": version})
    assert_clear_answers(answers, "is cancelled", "already cancelled")
    with app.app_context():
        for sid in (by_coach, by_client):
            assert db.get(CoachingSession, sid).status == "cancelled"  # type: ignore[union-attr]
        twice = db.execute(  # the cancellation emails went out once, not once per click
            select(OutboxEmail.session_id, OutboxEmail.email_type)
            .group_by(OutboxEmail.session_id, OutboxEmail.email_type)
            .having(func.count() > 1)
        ).all()
    assert twice == []


@pytest.mark.postgres_only
def test_delete_twice_at_once_deletes_once_and_says_so(app: Flask, server: str, desk: Any) -> None:
    coach, client = desk
    sid = add_session(app, coach.id, client.id, title="Doomed")
    click = Browser(server, coach.email)
    form = {"confirm": "yes", "next": "/accueil-coach"}
    answers = double_click(app, sid, click, f"/coach/sessions/{sid}/delete", form)
    assert_clear_answers(answers, "“Doomed” was deleted.", "This session no longer exists")
    assert count(app, CoachingSession, CoachingSession.id == sid) == 0


@pytest.mark.postgres_only
def test_two_people_adding_a_client_with_the_same_email(
    app: Flask, server: str, desk: Any, make_user: Callable[..., Any]
) -> None:
    coach, _client = desk
    colleague = make_user("coach")
    first, second = Browser(server, coach.email), Browser(server, colleague.email)
    form = {"first_name": "Nora", "last_name": "Petit", "email": "nora@example.test"}
    lock = (
        "INSERT INTO users (email, first_name, last_name, role, is_active, session_token, "
        "created_at) VALUES ('NORA@example.test', 'x', 'y', 'client', true, 'held-token', now())",
        {},
    )
    answers = race(
        app,
        lock,
        lambda: first.send("/mes-clients/new", {**form, "action": "add"}),
        lambda: second.send("/mes-clients/new", {**form, "action": "add"}),
    )
    for answer in answers:
        assert answer.status_code == 200 and ERROR_PAGE not in answer.text
    pages = " ".join(a.text for a in answers)
    assert "Nora Petit was added." in pages
    assert "An account with this email already exists." in pages
    assert count(app, User, func.lower(User.email) == "nora@example.test") == 1


@pytest.mark.postgres_only
def test_a_burst_of_clicks_without_help_still_pays_once(app: Flask, server: str, desk: Any) -> None:
    """No lock held by the test: six clicks at the same instant, as they come."""
    coach, client = desk
    click = Browser(server, coach.email)
    form = {"payment_status": "paid", "payment_method": "cash", "next": "/accueil-coach"}
    for _round in range(3):
        sid = add_session(app, coach.id, client.id)
        answers = burst([click.twin() for _ in range(6)], f"/coach/sessions/{sid}/payment", form)
        assert_clear_answers(answers, "Payment of")
        assert count(app, Payment, Payment.session_id == sid) == 1


def burst(browsers: list[Browser], path: str, form: dict[str, Any]) -> list[requests.Response]:
    """Every browser sends the form at the same instant."""
    barrier = threading.Barrier(len(browsers))
    answers: list[requests.Response] = []

    def fire(browser: Browser) -> None:
        barrier.wait()
        answers.append(browser.send(path, form))

    threads = [threading.Thread(target=fire, args=(b,)) for b in browsers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def test_two_workers_first_heartbeat_at_once_both_land(app: Flask) -> None:
    """Two workers start on a new site: both write the heartbeat option, which has no row.

    The first worker's insert is held uncommitted; the second, which saw no row, must
    wait for it and then update it, not fail on the duplicate key (as it did when
    set_option read, then inserted).
    """
    needs_postgresql(app)
    first, second = utcnow() - timedelta(seconds=5), utcnow()
    failures: list[BaseException] = []

    def second_worker() -> None:
        with app.app_context():
            try:
                record_heartbeat(now=second)
            except BaseException as error:  # reported below, in the test's own thread
                failures.append(error)

    worker = threading.Thread(target=second_worker)
    with get_database(app).engine.connect() as conn:
        conn.execute(
            text(
                "INSERT INTO site_options (key, value, updated_at) "
                "VALUES (:key, CAST(:value AS JSON), now())"
            ),
            {"key": HEARTBEAT, "value": f'{{"at": "{first.isoformat()}", "pid": 1}}'},
        )
        worker.start()
        deadline = time.monotonic() + 30
        while waiting_for_locks(app) < 1:
            assert time.monotonic() < deadline, "the second worker never waited for the first"
            time.sleep(0.05)
        conn.commit()
    worker.join(timeout=30)
    assert not failures, failures
    with app.app_context():
        assert last_heartbeat() == second


# -- the error page and the safety net (in process, both databases) -------------------------


def test_the_error_page_renders_after_a_failed_transaction(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A view swallows a database error and then fails: on PostgreSQL its transaction is
    aborted, and the error page (which reads site options) must still render."""
    import core.accounts.views as views

    def broken(email: str) -> None:
        with suppress(Exception):  # the broken view this test imitates
            db.execute(text("SELECT * FROM no_such_table"))
        raise RuntimeError("failed halfway")

    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    monkeypatch.setattr(views, "find_by_email", broken)
    web = app.test_client()
    response = post(app, web, "/connexion", {"email": "a@example.test", "password": "x"})
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.get_data(as_text=True)
    monkeypatch.undo()
    assert web.get("/connexion").status_code == 200


def test_a_write_that_lost_a_race_anywhere_answers_with_a_message(
    app: Flask, as_role: Callable[..., Any], make_user: Callable[..., Any], monkeypatch: Any
) -> None:
    """The safety net under every view: a stale version, a unique value taken meanwhile."""
    import core.coach.actions as actions

    browser, coach, client = coach_with_client(app, as_role, make_user)
    sid = add_session(app, coach.id, client.id)

    def lost(*_args: Any) -> None:
        raise StaleDataError("UPDATE statement on table 'coaching_sessions' matched 0 rows")

    monkeypatch.setattr(actions, "change_status", lost)
    data = {"status": "confirmed", "next": "/calendrier-seances"}
    response = post(app, browser, f"/coach/sessions/{sid}/status", data)
    assert response.status_code == 303 and response.headers["Location"] == "/calendrier-seances"
    page = browser.get("/calendrier-seances").get_data(as_text=True)
    assert "This was changed at the same moment from elsewhere" in page
    with app.app_context():
        assert db.get(CoachingSession, sid).status == "booked"  # type: ignore[union-attr]


def test_only_lost_races_count_as_conflicts(app: Flask, make_user: Callable[..., Any]) -> None:
    from core.db import is_conflict

    taken = make_user("client")
    with app.app_context():
        with pytest.raises(IntegrityError) as unique:
            db.execute(
                text(
                    "INSERT INTO users (email, first_name, last_name, role, is_active, "
                    "session_token, created_at) VALUES (:e, 'a', 'b', 'client', true, 't', "
                    "CURRENT_TIMESTAMP)"
                ),
                {"e": taken.email.upper()},
            )
        db.rollback()
        with pytest.raises(IntegrityError) as check:
            db.execute(text("UPDATE users SET role = 'wizard' WHERE id = :id"), {"id": taken.id})
        db.rollback()
    assert is_conflict(unique.value) and not is_conflict(check.value)
    assert is_conflict(StaleDataError("x")) and not is_conflict(RuntimeError("x"))
