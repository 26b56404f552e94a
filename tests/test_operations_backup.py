"""Backups: a running site written to one archive, restored into an empty instance that works."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from core import create_app
from core.accounts.models import Role, User
from core.accounts.service import create_user
from core.db import db, get_database
from core.operations.backup import backup_command, restore_command
from core.payments.receipts import receipt_for_session
from core.sessions.documents import save_document
from core.sessions.models import CoachingSession, SessionDocument
from tests.conftest import PASSWORD, login
from tests.helpers import fresh_database_url
from tests.test_clientarea_pages import add_session
from tests.test_coach_support import PDF

PAST = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)


def run(app: Flask, command: Any, *args: str) -> Any:
    return app.test_cli_runner().invoke(command, list(args))


@pytest.fixture
def site(app: Flask, make_user) -> dict[str, Any]:
    """A coach, a client with a signed-in login session, two paid sessions with receipts,
    and a document."""
    coach = make_user(Role.COACH, first_name="Élodie")
    client = make_user(Role.CLIENT)
    ids = [add_session(app, client, coach, starts_at=PAST, paid=True) for _ in range(2)]
    with app.app_context():
        numbers = [receipt_for_session(db.get(CoachingSession, sid)).number for sid in ids]
        document = save_document(
            db.get(CoachingSession, ids[1]), io.BytesIO(PDF + b"plan"), "plan.pdf", coach.id
        )
        db.commit()
        document_id = document.id
    browser = app.test_client()
    assert login(app, browser, client).status_code == 302
    return {
        "coach": coach,
        "client": client,
        "session": ids[1],
        "number": numbers[1],
        "document": document_id,
    }


@pytest.fixture
def target(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A fresh database URL and a new instance folder for it."""
    with fresh_database_url(tmp_path) as url:
        yield url, tmp_path / "restored"


def instance_app(url: str, instance: Path) -> Flask:
    """The app of a restored instance, as a restart would build it (key read from its file)."""
    return create_app({"DATABASE_URL": url, "TESTING": True}, instance_path=str(instance))


def add_user(email: str) -> User:
    """Commit one more client in the current app context."""
    user = create_user(email=email, password=PASSWORD, first_name="N", last_name="W", role="client")
    db.commit()
    return user


def test_a_restored_site_has_the_same_logins_documents_and_receipts(
    app: Flask, site: dict[str, Any], target: tuple[str, Path], tmp_path: Path
) -> None:
    archive = tmp_path / "site.tar.gz"
    result = run(app, backup_command, str(archive))
    assert result.exit_code == 0, result.output
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert manifest["database"] == get_database(app).dialect
    assert manifest["tables"]["users"] == 2 and manifest["tables"]["receipts"] == 2
    assert manifest["alembic_heads"] and manifest["format"] == 1 and manifest["created_at"]
    assert "secret_key" in names and any(n.startswith("storage/documents/") for n in names)
    assert not any(n.endswith((".sqlite3", "-wal")) for n in names)

    url, instance = target
    fresh = instance_app(url, instance)
    result = run(fresh, restore_command, str(archive))
    assert result.exit_code == 0, result.output
    get_database(fresh).engine.dispose()
    assert (instance / "secret_key").read_text() == (
        Path(app.instance_path) / "secret_key"
    ).read_text()

    restored = instance_app(url, instance)
    try:
        browser = restored.test_client()
        assert login(restored, browser, site["client"], PASSWORD).status_code == 302
        download = browser.get(f"/documents/{site['document']}")
        assert download.status_code == 200 and download.data == PDF + b"plan"
        page = browser.get(f"/receipts/{site['session']}")
        assert page.status_code == 200
        assert f"Receipt no. {site['number']:06d}" in page.get_data(as_text=True)
        with restored.app_context():
            paid = db.scalar(
                select(CoachingSession.payment_status).where(CoachingSession.id == site["session"])
            )
            assert paid == "paid"
            # New rows get new ids (PostgreSQL's sequences were moved past the restored rows).
            user = add_user("new@example.test")
            assert user.id > max(site["coach"].id, site["client"].id)
            assert db.scalar(select(func.count()).select_from(SessionDocument)) == 1
    finally:
        get_database(restored).engine.dispose()


def test_restore_refuses_a_database_that_is_not_empty(
    app: Flask, site: dict[str, Any], tmp_path: Path
) -> None:
    archive = tmp_path / "site.tar.gz"
    assert run(app, backup_command, str(archive)).exit_code == 0
    result = run(app, restore_command, str(archive))
    assert result.exit_code == 1
    assert "not empty" in result.output and "--force" in result.output
    with app.app_context():
        assert db.scalar(select(func.count()).select_from(User)) == 2


def test_restore_refuses_an_archive_of_a_newer_schema(
    app: Flask, site: dict[str, Any], target: tuple[str, Path], tmp_path: Path
) -> None:
    archive = tmp_path / "site.tar.gz"
    assert run(app, backup_command, str(archive)).exit_code == 0
    newer = tmp_path / "newer.tar.gz"
    with tarfile.open(archive) as source, tarfile.open(newer, "w:gz") as copy:
        for member in source.getmembers():
            data = source.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "manifest.json":
                manifest = json.loads(data)
                manifest["alembic_heads"] = ["9999_from_the_future"]
                data = json.dumps(manifest).encode()
                member.size = len(data)
            copy.addfile(member, io.BytesIO(data))
    url, instance = target
    fresh = instance_app(url, instance)
    try:
        result = run(fresh, restore_command, str(newer))
        assert result.exit_code == 1 and "newer than this Coachdesk" in result.output
        with fresh.app_context():
            assert not get_database(fresh).has_schema()
    finally:
        get_database(fresh).engine.dispose()


def test_force_replaces_what_the_target_held(
    app: Flask, site: dict[str, Any], target: tuple[str, Path], tmp_path: Path
) -> None:
    archive = tmp_path / "site.tar.gz"
    assert run(app, backup_command, str(archive)).exit_code == 0
    url, instance = target
    fresh = instance_app(url, instance)
    try:
        assert run(fresh, restore_command, str(archive)).exit_code == 0
        with fresh.app_context():
            add_user("x@example.test")
        assert run(fresh, restore_command, str(archive)).exit_code == 1
        result = run(fresh, restore_command, "--force", str(archive))
        assert result.exit_code == 0, result.output
        with fresh.app_context():
            emails = set(db.scalars(select(User.email)))
        assert emails == {site["coach"].email, site["client"].email}
    finally:
        get_database(fresh).engine.dispose()


def test_the_backup_reads_one_snapshot_and_writers_do_not_wait(
    app: Flask, site: dict[str, Any]
) -> None:
    import time

    from core.operations.backup import _snapshot

    count = select(func.count()).select_from(User)
    with _snapshot(app) as conn:
        before = conn.execute(count).scalar()
        started = time.monotonic()
        with app.app_context():
            add_user("during@example.test")  # another process writing meanwhile
        assert time.monotonic() - started < 5
        assert conn.execute(count).scalar() == before == 2
    with app.app_context():
        assert db.scalar(count) == 3
