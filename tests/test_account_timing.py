"""No account discovery by timing: signing in and "forgot password" do the same work whether
or not an account uses the address.

Two kinds of proof: structural ones (the same SQL statements and one password
verification on every path: deterministic), and a stopwatch (interleaved runs, medians
compared as a ratio, so that a loaded two-core machine slows both sides alike).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from core.accounts import passwords, views
from core.accounts.models import Role
from core.db import get_database
from tests.conftest import csrf_token
from tests.test_emails_support import outbox, work

LOGIN = "/connexion"
FORGOT = "/password/forgot"
ROUNDS = 30
#: Slower medians / faster medians. Skipping the work (a password hash, an email rendered
#: and written) makes one side several times slower; noise stays well under this.
MAX_RATIO = 2.0


@pytest.fixture
def unlimited(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rate limits off: these tests repeat one form many times on purpose."""
    monkeypatch.setattr(app.extensions["coachdesk.limiter"], "enabled", False)


@contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    """The SQL statements run inside the block (their text, parameters aside)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        seen.append(sql)

    engine = get_database(app).engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def sign_in(app: Flask, browser: FlaskClient, email: str) -> Any:
    data = {
        "email": email,
        "password": "not the password 1",
        "csrf_token": csrf_token(app, browser),
    }
    response = browser.post(LOGIN, data=data)
    assert response.status_code == 200 and b"Email or password is incorrect." in response.data
    return response


def forgot(app: Flask, browser: FlaskClient, email: str) -> Any:
    response = browser.post(FORGOT, data={"email": email, "csrf_token": csrf_token(app, browser)})
    assert response.status_code == 302
    return response


# -- structure --------------------------------------------------------------------------


def test_login_verifies_one_password_and_runs_the_same_queries_on_every_path(
    app: Flask, make_user: Callable[..., Any], unlimited: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    known = make_user(Role.CLIENT)
    disabled = make_user(Role.CLIENT, is_active=False)
    no_password = make_user(Role.CLIENT, password=None)
    calls: list[str | None] = []
    real_verify = passwords.verify_password

    def spy(stored_hash: str | None, password: str) -> bool:
        calls.append(stored_hash)
        return real_verify(stored_hash, password)

    monkeypatch.setattr(views, "verify_password", spy)
    browser = app.test_client()
    runs: dict[str, list[str]] = {}
    for label, email in (
        ("known", known.email),
        ("unknown", "nobody@example.test"),
        ("disabled", disabled.email),
        ("no password yet", no_password.email),
    ):
        calls.clear()
        with statements(app) as seen:
            sign_in(app, browser, email)
        assert len(calls) == 1, f"{label}: {len(calls)} password verifications"
        runs[label] = seen
    assert all(run == runs["known"] for run in runs.values()), runs


def test_forgot_password_runs_the_same_queries_for_known_and_unknown_addresses(
    app: Flask, make_user: Callable[..., Any], unlimited: None
) -> None:
    known = make_user(Role.CLIENT)
    browser = app.test_client()
    with statements(app) as for_known:
        forgot(app, browser, known.email)
    with statements(app) as for_unknown:
        forgot(app, browser, "nobody@example.test")
    assert for_known == for_unknown
    assert outbox(app) == []  # the worker decides, not the request
    work(app)
    assert [(e.email_type, e.to_address) for e in outbox(app)] == [("password_reset", known.email)]


# -- stopwatch --------------------------------------------------------------------------


def ratio_of_medians(first: Callable[[int], object], second: Callable[[int], object]) -> float:
    """Time both callables ROUNDS times each, interleaved (the order flips every round)."""
    timings: tuple[list[float], list[float]] = ([], [])
    for i in range(3):  # warm-up: caches, first connections
        first(i)
        second(i)
    for i in range(ROUNDS):
        order = [(0, first), (1, second)]
        if i % 2:
            order.reverse()
        for side, run in order:
            start = time.perf_counter()
            run(i)
            timings[side].append(time.perf_counter() - start)
    medians = sorted(statistics.median(t) for t in timings)
    return medians[1] / medians[0]


@pytest.fixture
def real_hashing() -> Iterator[None]:
    """A hash cost well above the request's own (a few ms), as in production, so that a path
    skipping the verification would stand out; the suite's cheap cost comes back after."""
    passwords.use_parameters(time_cost=2, memory_cost=16 * 1024, parallelism=1)
    yield
    passwords.use_parameters(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.mark.parametrize("attempt", [sign_in, forgot], ids=["sign in", "forgot password"])
def test_an_unknown_email_takes_as_long_as_a_known_one(
    app: Flask,
    make_user: Callable[..., Any],
    unlimited: None,
    real_hashing: None,
    attempt: Callable[[Flask, FlaskClient, str], Any],
) -> None:
    known = make_user(Role.CLIENT)
    browser = app.test_client()
    ratio = ratio_of_medians(
        lambda i: attempt(app, browser, known.email),
        lambda i: attempt(app, browser, f"nobody{i}@example.test"),
    )
    assert ratio < MAX_RATIO


def test_the_written_out_dummy_hash_costs_what_a_default_hash_costs() -> None:
    """The dummy hash an unknown address is checked against is written out (hashing it at
    every process start is as slow as a sign-in); it must carry argon2's default cost, or
    unknown addresses would answer faster than known ones."""
    default = PasswordHasher()
    assert default.verify(passwords._DEFAULT_DUMMY_HASH, passwords._DUMMY_PASSWORD)
    assert not default.check_needs_rehash(passwords._DEFAULT_DUMMY_HASH)
