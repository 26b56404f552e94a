"""An add-on uninstalled while active, with applied migrations: nothing else stops.

The site, the CLI and the worker keep working and sending emails; the Add-ons page lists
it as missing with its data kept; reinstalling it runs what it needs before it serves a
page; ``coachdesk addons purge`` removes its tables for good. Runs on a fresh database
of the suite's kind (SQLite, or PostgreSQL in CI).
"""

from __future__ import annotations

import importlib
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import inspect, text

from core import create_app
from core.db import db, get_database
from core.migrations.runner import current, upgrade
from core.plugins import get_host
from core.plugins.models import AddonState
from tests.conftest import TESTS, login
from tests.helpers import fresh_database_url
from tests.test_config import run_cli

GHOST = TESTS / "addons" / "ghost"
SECOND_REVISION = """
import sqlalchemy as sa
from alembic import op

revision = "g002"
down_revision = "g001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("ghost_extras", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade() -> None:
    op.drop_table("ghost_extras")
"""


def install(site: Path, *, with_second_revision: bool = False) -> None:
    """Copy the ghost distribution into ``site`` and put it on the path, as pip would."""
    shutil.copytree(GHOST, site)
    if with_second_revision:
        (site / "coachdesk_ghost" / "migrations" / "g002_extras.py").write_text(SECOND_REVISION)
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()


def uninstall(site: Path) -> None:
    sys.path.remove(str(site))
    for name in [m for m in sys.modules if m.startswith("coachdesk_ghost")]:
        del sys.modules[name]
    shutil.rmtree(site)
    importlib.invalidate_caches()


@pytest.fixture
def database(tmp_path: Path) -> Iterator[str]:
    with fresh_database_url(tmp_path) as url:
        yield url


def make_app(url: str, tmp_path: Path) -> Flask:
    return create_app({"DATABASE_URL": url, "SECRET_KEY": "k" * 40}, instance_path=str(tmp_path))


def tables(app: Flask) -> set[str]:
    return set(inspect(get_database(app).engine).get_table_names())


def test_uninstalled_while_active_then_reinstalled_then_purged(
    database: str, tmp_path: Path, smtp_server: Any
) -> None:
    site = tmp_path / "site"
    install(site)
    first = make_app(database, tmp_path)
    try:
        upgrade(first)
        with first.app_context():
            from core.accounts.service import create_user
            from core.emails.accounts import send_login_details

            get_host(first).activate(first, "ghost")
            db.execute(text("INSERT INTO ghost_items (name) VALUES ('kept')"))
            admin = create_user(
                email="root@example.test",
                first_name="R",
                last_name="T",
                role="admin",
                password="correct horse battery",
            )
            db.commit()
            assert db.get(AddonState, "ghost").tables == ["ghost_items"]
        assert "g001" in current(first)
    finally:
        get_database(first).engine.dispose()
    uninstall(site)

    # The site keeps working and lists the add-on as missing, with its data.
    second = make_app(database, tmp_path)
    try:
        web = second.test_client()
        assert web.get("/connexion").status_code == 200
        login(second, web, admin)
        page = web.get("/admin/addons").get_data(as_text=True)
        assert "Missing add-ons" in page and "ghost_items" in page
        assert "coachdesk addons purge ghost" in page
        with second.app_context():
            send_login_details(db.get(type(admin), admin.id))  # an email for the worker
            db.commit()
        assert "ghost_items" in tables(second)
    finally:
        get_database(second).engine.dispose()

    # The CLI and the worker keep working.
    host, port, mailbox = smtp_server
    mailbox.clear()
    env = {"COACHDESK_DATABASE_URL": database, "COACHDESK_SMTP_URL": f"smtp://{host}:{port}"}
    listing = run_cli(tmp_path, "addons", "list", env=env)
    assert listing.returncode == 0 and "ghost" in listing.stdout and "missing" in listing.stdout
    upgraded = run_cli(tmp_path, "db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "g001" in upgraded.stdout  # its version row is kept for a reinstall
    worker = run_cli(tmp_path, "worker", "--once", env=env)
    assert worker.returncode == 0 and "sent: 1" in worker.stdout, worker.stderr
    assert mailbox.to("root@example.test")

    # Reinstalled, in a newer version: its new migration runs before it serves a page.
    install(site, with_second_revision=True)
    third = make_app(database, tmp_path)
    try:
        assert third.test_client().get("/connexion").status_code == 200
        assert {"ghost_items", "ghost_extras"} <= tables(third)
        with third.app_context():
            assert get_host(third).is_active("ghost")
            assert db.execute(text("SELECT name FROM ghost_items")).scalars().all() == ["kept"]
    finally:
        get_database(third).engine.dispose()
    uninstall(site)

    # Gone for good: deactivated, then purged while uninstalled.
    assert run_cli(tmp_path, "addons", "deactivate", "ghost", env=env).returncode == 0
    purged = run_cli(tmp_path, "addons", "purge", "ghost", "--yes", env=env)
    assert purged.returncode == 0, purged.stderr
    assert "ghost_extras" in purged.stdout and "ghost_items" in purged.stdout
    fourth = make_app(database, tmp_path)
    try:
        assert not {"ghost_items", "ghost_extras"} & tables(fourth)
        assert not {"g001", "g002"} & set(current(fourth))
        with fourth.app_context():
            assert db.get(AddonState, "ghost") is None
    finally:
        get_database(fourth).engine.dispose()
    assert run_cli(tmp_path, "db", "upgrade", env=env).returncode == 0


def test_purge_refuses_an_active_addon(app: Flask, tmp_path: Path) -> None:
    from core.plugins import AddonError

    with app.app_context():
        host = get_host(app)
        host.activate(app, "testaddon")
        with pytest.raises(AddonError, match="deactivate it before"):
            host.purge(app, "testaddon")
        with pytest.raises(AddonError, match="no add-on named 'nothing'"):
            host.purge(app, "nothing")
