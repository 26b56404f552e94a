"""`coachdesk addons doctor`: one report per add-on, exit 1 when one has a problem."""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import SITE as INSTALLED
from tests.conftest import TESTS
from tests.test_config import run_cli

SITE = str(INSTALLED)
BROKEN = str(TESTS / "addons" / "broken")


def test_healthy_addons_exit_0_and_pending_migrations_of_an_active_one_exit_1(
    tmp_path: Path,
) -> None:
    env = {"PYTHONPATH": SITE}
    assert run_cli(tmp_path, "db", "upgrade", env=env).returncode == 0
    assert run_cli(tmp_path, "addons", "activate", "testaddon", env=env).returncode == 0
    healthy = run_cli(tmp_path, "addons", "doctor", env=env)
    assert healthy.returncode == 0, healthy.stderr
    out = healthy.stdout
    assert "testaddon 1.0 (Test add-on): active" in out
    assert "dependent 1.0 (Dependent add-on): off" in out
    assert "contract    >=1.0,<2 (fits 1.0)" in out
    assert "requires    testaddon (active)" in out
    assert "client_area_tabs" in out and "migration_folders" in out
    assert "migrations  applied" in out and "No problem found." in out

    assert run_cli(tmp_path, "db", "downgrade", "testaddon@base", env=env).returncode == 0
    pending = run_cli(tmp_path, "addons", "doctor", env=env)
    assert pending.returncode == 1
    assert "migrations  pending: t001" in pending.stdout
    assert "testaddon is active with pending migrations" in pending.stderr


def test_an_addon_that_fails_to_load_exits_1(tmp_path: Path) -> None:
    env = {"PYTHONPATH": os.pathsep.join([SITE, BROKEN])}
    assert run_cli(tmp_path, "db", "upgrade", env=env).returncode == 0
    result = run_cli(tmp_path, "addons", "doctor", env=env)
    assert result.returncode == 1
    assert "load        FAILED: ImportError: this add-on needs a library" in result.stdout
    assert "broken failed to load" in result.stderr


def test_an_active_addon_that_is_no_longer_installed_exits_1(tmp_path: Path) -> None:
    env = {"PYTHONPATH": SITE}
    assert run_cli(tmp_path, "db", "upgrade", env=env).returncode == 0
    assert run_cli(tmp_path, "addons", "activate", "testaddon", env=env).returncode == 0
    result = run_cli(tmp_path, "addons", "doctor")  # uninstalled: not on the path any more
    assert result.returncode == 1
    assert "testaddon: NOT INSTALLED (active)" in result.stdout
    assert "testaddon is active but not installed" in result.stderr
