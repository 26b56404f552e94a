"""SQLite: pages read without the write lock, and a read request that writes still works.

Each test holds the database's write lock on a second connection (``BEGIN
IMMEDIATE``), as a busy writer would, while the application serves a GET. A page that
only reads answers at once. A GET that writes after reading (the first issue of a
receipt) is stopped before its write and served again with the write lock, which it
waits for; a GET whose only write is the login-session touch waits for the lock for
that write alone. Neither ends with "database is locked".
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select, update

from core.accounts.models import Role, User, UserSession
from core.db import db, get_database
from core.payments.models import Receipt
from tests.conftest import post
from tests.test_account_timing import statements
from tests.test_clientarea_pages import add_session

PAST = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _sqlite_only(app: Flask) -> None:
    if get_database(app).dialect != "sqlite":
        pytest.skip("SQLite's single write lock; PostgreSQL readers never wait for writers")


@contextmanager
def write_lock(app: Flask) -> Iterator[sqlite3.Connection]:
    """Hold the write lock on a connection of our own until the block ends (then commit)."""
    other = sqlite3.connect(get_database(app).engine.url.database or "", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield other
    finally:
        other.execute("COMMIT")
        other.close()


def in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """Run ``call`` in a thread; its result (or exception) lands in the list."""
    result: list[Any] = []

    def run() -> None:
        try:
            result.append(call())
        except BaseException as exc:
            result.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


@contextmanager
def when_run(app: Flask, prefix: str) -> Iterator[threading.Event]:
    """An event set when the application is about to run SQL starting with ``prefix``."""
    reached = threading.Event()

    def check(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if sql.startswith(prefix):
            reached.set()

    engine = get_database(app).engine
    event.listen(engine, "before_cursor_execute", check)
    try:
        yield reached
    finally:
        event.remove(engine, "before_cursor_execute", check)


def test_a_page_is_served_while_another_connection_holds_the_write_lock(
    app: Flask, as_role: Callable[..., tuple[FlaskClient, User]]
) -> None:
    browser, _coach = as_role(Role.COACH)
    with statements(app) as seen, write_lock(app):
        response = browser.get("/" + app.config["SLUGS"]["coach_home"])
    assert response.status_code == 200
    assert "BEGIN" in seen and "BEGIN IMMEDIATE" not in seen


def test_a_post_still_takes_the_write_lock_when_it_begins(
    app: Flask, as_role: Callable[..., tuple[FlaskClient, User]]
) -> None:
    browser, _client = as_role(Role.CLIENT)
    with statements(app) as seen:
        assert post(app, browser, "/logout").status_code == 302
    assert "BEGIN IMMEDIATE" in seen and "BEGIN" not in seen


def test_a_get_that_writes_after_reading_waits_for_the_lock_and_issues_once(
    app: Flask, as_role: Callable[..., tuple[FlaskClient, User]], make_user: Callable[..., User]
) -> None:
    browser, client = as_role(Role.CLIENT)
    sid = add_session(app, client, make_user(Role.COACH), starts_at=PAST, paid=True)
    with statements(app) as seen, when_run(app, "BEGIN IMMEDIATE") as restarted:
        with write_lock(app) as other:
            thread, result = in_thread(lambda: browser.get(f"/receipts/{sid}"))
            assert restarted.wait(timeout=30), result  # it read, stopped, and asks for the lock
            other.execute("UPDATE users SET phone = phone")  # the writer commits a change
        thread.join(timeout=60)
    assert result[0].status_code == 200, result
    assert seen.index("BEGIN") < seen.index("BEGIN IMMEDIATE")  # deferred first, then again
    with app.app_context():
        assert db.scalar(select(func.count()).select_from(Receipt)) == 1
        assert db.scalar(select(Receipt.session_id)) == sid


def test_a_page_whose_only_write_is_the_session_touch_waits_for_the_lock_for_it(
    app: Flask, as_role: Callable[..., tuple[FlaskClient, User]]
) -> None:
    browser, user = as_role(Role.CLIENT)
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    with app.app_context():
        db.execute(update(UserSession).values(last_seen_at=long_ago))
        db.commit()
    area = "/" + app.config["SLUGS"]["client_area"] + "/history"
    with statements(app) as seen, when_run(app, "UPDATE user_sessions") as touching:
        with write_lock(app):
            thread, result = in_thread(lambda: browser.get(area))
            assert touching.wait(timeout=30), result  # the page is done: only the touch waits
        thread.join(timeout=60)
    assert result[0].status_code == 200, result
    assert "BEGIN IMMEDIATE" not in seen
    with app.app_context():
        seen_at = db.scalar(select(UserSession.last_seen_at).where(UserSession.user_id == user.id))
    assert seen_at is not None and seen_at > long_ago
