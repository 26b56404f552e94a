"""Shared test fixtures: one app, one SMTP server, one live server and one browser per run.

Database: ``COACHDESK_TEST_DATABASE_URL`` (default: a fresh SQLite file). The
schema is built with the real migrations once; every test then starts from
empty tables.

Rule for tests that touch the database directly: do it inside a short
``with app.app_context():`` block that commits and ends before the next
request. SQLite transactions take the write lock (BEGIN IMMEDIATE), so an open
transaction in the test would make the server wait.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import text

TESTS = Path(__file__).resolve().parent
#: Where the test add-on is installed for this run (a real, non-editable pip install): a
#: folder of this run's own, so that two runs (SQLite and PostgreSQL in CI) can go side by side.
SITE = Path(tempfile.mkdtemp(prefix="coachdesk-test-site-"))
atexit.register(shutil.rmtree, SITE, ignore_errors=True)


def pip_install(project: Path, site: Path) -> None:
    """A normal (non-editable) install into ``site``, as a site owner's pip would do it."""
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         "--upgrade", "--target", str(site), str(project)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip


def install_test_addon() -> None:
    """Build and install tests/addons/testaddon afresh, then put it on the path.

    Built from a copy: setuptools writes its build folders into the project it builds.
    """
    source = SITE / "source"
    shutil.copytree(
        TESTS / "addons" / "testaddon", source, ignore=shutil.ignore_patterns("build", "*.egg-info")
    )
    pip_install(source, SITE)
    shutil.rmtree(source)
    sys.path.insert(0, str(SITE))


install_test_addon()

from core import create_app  # noqa: E402
from core.accounts.models import Role, User  # noqa: E402
from core.accounts.passwords import use_parameters  # noqa: E402
from core.db import Base, db, get_database  # noqa: E402
from core.migrations.runner import upgrade  # noqa: E402
from core.models import import_all_models  # noqa: E402
from core.testing.plugin import Outbox as Mailbox  # noqa: E402
from core.testing.plugin import free_port, local_smtp_server  # noqa: E402

PASSWORD = "correct horse battery"
# Still argon2id, at a cost fit for thousands of sign-ins per run (production keeps the default).
use_parameters(time_cost=1, memory_cost=1024, parallelism=1)
DEFAULT_DB = "sqlite:///{tmp}/test.sqlite3"


def database_url_for(tmp: Path) -> str:
    return os.environ.get("COACHDESK_TEST_DATABASE_URL") or DEFAULT_DB.format(tmp=tmp)


def drop_everything(app: Flask) -> None:
    """Leave the test database empty (PostgreSQL keeps tables between runs)."""
    engine = get_database(app).engine
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))


# -- SMTP ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[str, int, Mailbox]]:
    mailbox = Mailbox()
    with local_smtp_server(mailbox) as port:
        yield "127.0.0.1", port, mailbox


@pytest.fixture
def mailbox(smtp_server: tuple[str, int, Mailbox]) -> Mailbox:
    smtp_server[2].clear()
    return smtp_server[2]


# -- the app ------------------------------------------------------------------


@pytest.fixture(scope="session")
def live_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def app(
    tmp_path_factory: pytest.TempPathFactory, smtp_server: tuple[str, int, Mailbox], live_port: int
) -> Iterator[Flask]:
    tmp = tmp_path_factory.mktemp("instance")
    host, port, _ = smtp_server
    application = create_app(
        {
            "DATABASE_URL": database_url_for(tmp),
            "SECRET_KEY": "test-secret-key-that-is-long-enough-for-tests",
            "BASE_URL": f"http://127.0.0.1:{live_port}",
            "SMTP_URL": f"smtp://{host}:{port}",
            "TESTING": True,
            "STORAGE_PATH": tmp / "storage",
        },
        instance_path=str(tmp),
    )
    drop_everything(application)
    upgrade(application)
    import_all_models()
    yield application
    get_database(application).engine.dispose()


def clean_database(application: Flask) -> None:
    """Empty every table and start ids at 1 again.

    Row by row rather than PostgreSQL's TRUNCATE: a test leaves a handful of rows, and
    TRUNCATE replaces every table's files (about 50 ms a test, a minute of the suite).
    """
    engine = get_database(application).engine
    with engine.begin() as conn:
        # Unpay first: the database refuses to drop the payment of a paid session.
        conn.execute(
            text(
                "UPDATE coaching_sessions SET payment_status = 'pending'"
                " WHERE payment_status <> 'pending'"
            )
        )
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
        if engine.dialect.name == "postgresql":  # SQLite's empty tables count from 1 again
            conn.execute(
                text(
                    "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, 1, false)"
                    " FROM pg_sequences"
                    " WHERE schemaname = current_schema() AND last_value IS NOT NULL"
                )
            )


@pytest.fixture(autouse=True)
def _fresh_state(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test starts with empty tables, no rate-limit counts and no add-on errors."""
    yield
    if "app" in request.fixturenames:
        application: Flask = request.getfixturevalue("app")
        clean_database(application)
        application.extensions["coachdesk.limiter"].reset()
        application.extensions["coachdesk.plugins"]._pending_errors.clear()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


# -- people -------------------------------------------------------------------


@pytest.fixture
def make_user(app: Flask) -> Callable[..., User]:
    """Create and commit a user; returns it detached (read its attributes freely)."""
    counter = iter(range(1, 10_000))

    def factory(role: Role | str = Role.CLIENT, **fields: Any) -> User:
        from core.accounts.service import create_user

        n = next(counter)
        values = {
            "email": f"{role}{n}@example.test",
            "first_name": f"{str(role).title()}{n}",
            "last_name": "Tester",
            "password": PASSWORD,
        }
        values.update(fields)
        extra = {k: values.pop(k) for k in ("is_active", "display_name") if k in values}
        with app.app_context():
            user = create_user(role=role, **values)
            for key, value in extra.items():
                setattr(user, key, value)
            db.commit()
            return user

    return factory


def csrf_token(app: Flask, client: FlaskClient) -> str:
    """A valid CSRF token for this client's session (as Flask-WTF makes them)."""
    raw = "test-raw-csrf-token-0123456789abcdef"
    with client.session_transaction() as session:
        raw = session.setdefault("csrf_token", raw)
    return URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)


def login(app: Flask, client: FlaskClient, user: User, password: str = PASSWORD) -> Any:
    """Sign in through the real login form."""
    return client.post(
        "/" + app.config["SLUGS"]["login"],
        data={"email": user.email, "password": password, "csrf_token": csrf_token(app, client)},
    )


def post(
    app: Flask, client: FlaskClient, url: str, data: dict[str, Any] | None = None, **kw: Any
) -> Any:
    """POST a form with a valid CSRF token."""
    return client.post(url, data={**(data or {}), "csrf_token": csrf_token(app, client)}, **kw)


@pytest.fixture
def as_role(
    app: Flask, make_user: Callable[..., User]
) -> Callable[[str], tuple[FlaskClient, User]]:
    """A signed-in test client for a new user of the given role."""

    def factory(role: str, **fields: Any) -> tuple[FlaskClient, User]:
        user = make_user(role, **fields)
        test_client = app.test_client()
        response = login(app, test_client, user)
        assert response.status_code == 302, response.data[:500]
        return test_client, user

    return factory


def links_in(message: EmailMessage) -> list[str]:
    body = message.get_body(("plain",))
    return re.findall(r"https?://\S+", body.get_content() if body else "")


# -- live server and browser --------------------------------------------------


@pytest.fixture(scope="session")
def live_server(app: Flask, live_port: int) -> Iterator[str]:
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", live_port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{live_port}"
    server.shutdown()


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright: use Debian's Chromium (Playwright cannot download its own here)."""
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": CHROMIUM_ARGS,
    }


SCREENSHOTS = Path(os.environ.get("COACHDESK_SCREENSHOTS", TESTS.parent / "test-artifacts"))
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}


def screenshot(page: Any, name: str) -> None:
    """Save full-page screenshots at phone and desktop widths (for people to look at)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in VIEWPORTS.items():
        page.set_viewport_size(size)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(VIEWPORTS["desktop"])


def browser_login(page: Any, base_url: str, app: Flask, email: str, password: str) -> None:
    page.goto(f"{base_url}/{app.config['SLUGS']['login']}")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
