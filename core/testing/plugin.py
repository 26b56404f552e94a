"""Coachdesk's pytest plugin: fixtures for testing an add-on against a real Coachdesk.

Installed with Coachdesk (entry point ``pytest11``), so an add-on's tests use these
fixtures without a ``conftest.py``. Every name starts with ``coachdesk_``.

``@pytest.mark.coachdesk_addons("NAME", ...)``
    The add-ons to activate (in this order) for the test, its class or its module.
``coachdesk_addons``
    Their names, from the marker; override this fixture to choose them in code.
``coachdesk_app``
    A Coachdesk app on a new SQLite database, migrated from empty (the core and every
    installed add-on's branch), with the chosen add-ons activated the way the site
    owner would (contract and requirement checks, ``addon_can_activate``, their
    migrations, ``addon_activated``). Emails go to ``coachdesk_outbox``'s server.
``coachdesk_users``
    Makes users: ``coachdesk_users.make("client", locale="fr")``; ``.admin``,
    ``.coach`` and ``.client`` are one user of each role, made on first use. All have
    the password ``coachdesk_users.password`` (the one ``coachdesk_client_for`` signs
    in with).
``coachdesk_client_for``
    ``coachdesk_client_for("coach")`` (a new user of that role, with any ``User``
    fields as keywords) or ``coachdesk_client_for(user)``: a Flask test client signed
    in through the real login form. ``client.user`` is its user;
    ``client.post_form(url, data)`` posts a form with a valid CSRF token.
``coachdesk_outbox``
    Emails as an SMTP server received them: ``coachdesk_outbox.deliver()`` runs one
    pass of the worker (``core.worker.run_once``: due reminders, outbox delivery,
    add-on jobs) and returns the messages received meanwhile; ``.messages`` has all
    of this test's.
``coachdesk_clock``
    Freezes time at :data:`CLOCK_START` (a Monday, 09:00 UTC) with ``time_machine``;
    move it with ``coachdesk_clock.move_to(datetime)`` or ``.shift(timedelta)``.

Passwords are hashed with cheap argon2 parameters in a test run.
"""

from __future__ import annotations

import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from functools import cached_property
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

if TYPE_CHECKING:  # the plugin loads in every pytest run: import the app only when used
    from core.accounts.models import User

PASSWORD = "correct horse battery staple"  # noqa: S105 (test users only)
CLOCK_START = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
SECRET_KEY = "coachdesk-plugin-test-secret-key-0123456789"  # noqa: S105 (test apps only)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "coachdesk_addons(*names): add-ons coachdesk_app activates, in this order"
    )
    from core.accounts.passwords import use_parameters

    use_parameters(time_cost=1, memory_cost=1024, parallelism=1)


# -- SMTP ---------------------------------------------------------------------


class Outbox:
    """Messages a local SMTP server received (an aiosmtpd handler), parsed.

    Each message gets an ``X-Envelope-To`` header: the recipients the server was given.
    """

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()
        self.app: Flask | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        with self._lock:
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 OK"

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()

    def to(self, address: str) -> list[EmailMessage]:
        """The messages whose ``To`` contains ``address`` (case-insensitive)."""
        return [m for m in self.messages if address.lower() in str(m["To"]).lower()]

    def deliver(self) -> list[EmailMessage]:
        """Run one pass of the worker; return what the SMTP server received meanwhile."""
        from core.worker import run_once

        if self.app is None:
            raise RuntimeError("coachdesk_outbox.deliver() needs the coachdesk_app fixture")
        before = len(self.messages)
        with self.app.app_context():
            run_once()
        return self.messages[before:]


class MessageIdCounter:
    """An aiosmtpd handler that only counts the messages by Message-ID: for thousands of
    emails, where parsing each (as :class:`Outbox` does) would cost more than sending it."""

    def __init__(self) -> None:
        self.message_ids: Counter[str] = Counter()
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content: bytes = envelope.content
        start = content.find(b"Message-ID: ")
        end = content.find(b"\r\n", start)
        with self._lock:
            self.message_ids[content[start + 12 : end].decode() if start >= 0 else ""] += 1
        return "250 OK"

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.message_ids.values())


def free_port() -> int:
    """A port free right now (aiosmtpd's Controller cannot be given port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def local_smtp_server(handler: Any) -> Iterator[int]:
    """A local SMTP server (aiosmtpd) giving what it receives to ``handler``; its port."""
    from aiosmtpd.controller import Controller

    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def coachdesk_smtp_server() -> Iterator[tuple[int, Outbox]]:
    """(port, outbox) of one SMTP server for the whole run."""
    outbox = Outbox()
    with local_smtp_server(outbox) as port:
        yield port, outbox


@pytest.fixture
def coachdesk_outbox(coachdesk_app: Flask, coachdesk_smtp_server: tuple[int, Outbox]) -> Outbox:
    outbox = coachdesk_smtp_server[1]
    outbox.clear()
    outbox.app = coachdesk_app
    return outbox


# -- the app ------------------------------------------------------------------


@pytest.fixture
def coachdesk_addons(request: pytest.FixtureRequest) -> tuple[str, ...]:
    marker = request.node.get_closest_marker("coachdesk_addons")
    return tuple(marker.args) if marker else ()


@pytest.fixture
def coachdesk_app(
    tmp_path_factory: pytest.TempPathFactory,
    coachdesk_addons: tuple[str, ...],
    coachdesk_smtp_server: tuple[int, Outbox],
) -> Iterator[Flask]:
    from core import create_app
    from core.db import db, get_database
    from core.migrations.runner import upgrade
    from core.plugins import get_host

    instance = tmp_path_factory.mktemp("coachdesk")
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{instance / 'coachdesk.sqlite3'}",
            "SECRET_KEY": SECRET_KEY,
            "BASE_URL": "http://localhost",
            "SMTP_URL": f"smtp://127.0.0.1:{coachdesk_smtp_server[0]}",
            "TESTING": True,
            "STORAGE_PATH": instance / "storage",
        },
        instance_path=str(instance),
    )
    try:
        upgrade(app)
        with app.app_context():
            for name in coachdesk_addons:
                get_host(app).activate(app, name)
            db.commit()
        yield app
    finally:
        get_database(app).engine.dispose()


# -- people -------------------------------------------------------------------


class Users:
    """Makes committed users; read their attributes freely (they are detached)."""

    password = PASSWORD

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._count = 0

    def make(self, role: str = "client", **fields: Any) -> User:
        from core.accounts.service import create_user
        from core.db import db

        self._count += 1
        values: dict[str, Any] = {
            "email": f"{role}{self._count}@example.test",
            "first_name": f"{role.title()}{self._count}",
            "last_name": "Tester",
            "password": self.password,
            **fields,
        }
        with self.app.app_context():
            user = create_user(role=role, **values)
            db.commit()
            db.expunge(user)
            return user

    @cached_property
    def admin(self) -> User:
        return self.make("admin")

    @cached_property
    def coach(self) -> User:
        return self.make("coach")

    @cached_property
    def client(self) -> User:
        return self.make("client")


@pytest.fixture
def coachdesk_users(coachdesk_app: Flask) -> Users:
    return Users(coachdesk_app)


class CoachdeskClient(FlaskClient):
    """A test client signed in as ``user``, able to post forms the way a browser does."""

    user: User

    def csrf_token(self) -> str:
        """A valid CSRF token for this client's session (made as Flask-WTF makes them)."""
        with self.session_transaction() as session:
            raw = session.setdefault("csrf_token", "coachdesk-test-raw-csrf-token-0123456789")
        return URLSafeTimedSerializer(self.application.secret_key, salt="wtf-csrf-token").dumps(raw)

    def post_form(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return self.post(url, data={**(data or {}), "csrf_token": self.csrf_token()}, **kwargs)


@pytest.fixture
def coachdesk_client_for(
    coachdesk_app: Flask, coachdesk_users: Users
) -> Callable[..., CoachdeskClient]:
    from core.accounts.models import User

    def sign_in(who: str | User = "client", **fields: Any) -> CoachdeskClient:
        user = who if isinstance(who, User) else coachdesk_users.make(who, **fields)
        client = CoachdeskClient(coachdesk_app, coachdesk_app.response_class, use_cookies=True)
        client.user = user
        login = "/" + coachdesk_app.config["SLUGS"]["login"]
        response = client.post_form(login, {"email": user.email, "password": PASSWORD})
        if response.status_code != 302:
            raise AssertionError(f"could not sign in {user.email}: {response.status_code}")
        return client

    return sign_in


# -- time ---------------------------------------------------------------------


@pytest.fixture
def coachdesk_clock() -> Iterator[Any]:
    import time_machine

    with time_machine.travel(CLOCK_START, tick=False) as traveller:
        yield traveller
