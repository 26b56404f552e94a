"""Upgrades: a site saved at an earlier release's schema comes through the README's steps.

Each ``tests/fixtures/release-*.tar.gz`` is a backup of a demo site made by
``tests/fixtures/make_release_fixture.py`` at that release's schema. The steps are the
README's: restore the backup (here: into a new instance), ``coachdesk db upgrade``,
restart; then the data must all be there.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from core import create_app
from core.accounts.models import User
from core.cli import db_upgrade
from core.db import db, get_database
from core.demo import DEMO_PASSWORD, demo_logins
from core.migrations.runner import is_up_to_date
from core.operations.backup import restore_command
from core.payments.models import Receipt
from core.sessions.models import SessionDocument
from tests.conftest import login
from tests.fixtures.make_release_fixture import DOCUMENT
from tests.helpers import fresh_database_url

FIXTURES = sorted((Path(__file__).parent / "fixtures").glob("release-*.tar.gz"))


def manifest_of(archive: Path) -> dict[str, object]:
    with tarfile.open(archive) as tar:
        return json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type,no-any-return]


def test_there_is_a_fixture_of_a_released_schema() -> None:
    assert FIXTURES, "tests/fixtures/release-*.tar.gz is missing"


@pytest.mark.parametrize("archive", FIXTURES, ids=[a.name for a in FIXTURES])
def test_a_previous_release_upgrades_with_its_data(archive: Path, tmp_path: Path) -> None:
    manifest = manifest_of(archive)
    counts: dict[str, int] = manifest["tables"]  # type: ignore[assignment]
    with fresh_database_url(tmp_path) as url:
        instance = tmp_path / "instance"
        app = create_app({"DATABASE_URL": url, "TESTING": True}, instance_path=str(instance))
        runner = app.test_cli_runner()
        result = runner.invoke(restore_command, [str(archive)])
        assert result.exit_code == 0, result.output
        result = runner.invoke(db_upgrade, [])
        assert result.exit_code == 0, result.output
        get_database(app).engine.dispose()

        restarted: Flask = create_app(
            {"DATABASE_URL": url, "TESTING": True}, instance_path=str(instance)
        )
        try:
            assert is_up_to_date(restarted)
            with restarted.app_context():
                assert db.scalar(select(func.count()).select_from(User)) == counts["users"]
                numbers = sorted(db.scalars(select(Receipt.number)))
                document = db.scalars(select(SessionDocument)).one()
                first_receipt = db.scalars(select(Receipt).order_by(Receipt.number)).first()
            assert numbers == list(range(1, counts["receipts"] + 1)) and numbers
            assert first_receipt is not None
            for role, email in demo_logins():
                browser = restarted.test_client()
                with restarted.app_context():
                    user = db.scalars(select(User).where(User.email == email)).one()
                assert login(restarted, browser, user, DEMO_PASSWORD).status_code == 302, role
                if role == "admin":
                    admin = browser
            assert admin.get(f"/documents/{document.id}").data == DOCUMENT
            page = admin.get(f"/receipts/{first_receipt.session_id}").get_data(as_text=True)
            assert f"Receipt no. {first_receipt.number:06d}" in page
        finally:
            get_database(restarted).engine.dispose()
