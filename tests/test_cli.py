"""The coachdesk command line, run as a real subprocess against a throwaway SQLite database."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from urllib.request import urlopen

import pytest

from core.testing.plugin import free_port
from tests.test_config import CLI, cli_environment, run_cli


@pytest.fixture
def instance(tmp_path: Path) -> Path:
    return tmp_path


def test_help_lists_every_command(instance: Path) -> None:
    result = run_cli(instance, "--help")
    assert result.returncode == 0, result.stderr
    for command in ("run", "init", "db", "users", "demo", "addons", "themes"):
        assert f"  {command} " in result.stdout
    for group, subs in {
        "db": ["upgrade", "downgrade", "current", "revision"],
        "addons": ["list", "activate", "deactivate", "new", "doctor"],
        "themes": ["list", "activate"],
        "users": ["create"],
    }.items():
        out = run_cli(instance, group, "--help").stdout
        assert all(sub in out for sub in subs), out


def create_user(instance: Path, role: str, email: str, password: str = "Another-long-secret-4"):  # type: ignore[no-untyped-def]
    return run_cli(
        instance, "users", "create", "--role", role, "--email", email,
        "--password", password, "--first-name", "Wanda", "--last-name", "Kay",
    )  # fmt: skip


def test_init_demo_users_and_db_commands(instance: Path) -> None:
    result = run_cli(instance, "db", "current")
    assert "empty" in result.stdout

    admin = ["--email", "owner@example.org", "--password", "Very-long-secret-9"]
    names = ["--first-name", "Olga", "--last-name", "Owner"]
    result = run_cli(instance, "init", *admin, *names)
    assert result.returncode == 0, result.stderr
    assert "administrator owner@example.org created" in result.stdout
    assert "Warning" not in result.stderr, result.stderr  # SQLAlchemy's, from migrations
    assert "up to date" in run_cli(instance, "db", "current").stdout

    # init refuses a database that already has users
    again = run_cli(instance, "init", *admin, *names)
    assert again.returncode == 1 and "already has users" in again.stderr

    # demo refuses a non-empty database unless forced
    refused = run_cli(instance, "demo")
    assert refused.returncode == 1 and "--force" in refused.stderr

    created = create_user(instance, "coach", "Coach@Example.org")
    assert created.returncode == 0, created.stderr
    duplicate = create_user(instance, "client", "coach@example.ORG")
    assert duplicate.returncode == 1 and "already exists" in duplicate.stderr
    weak = create_user(instance, "client", "weak@example.org", password="short")
    assert weak.returncode == 1 and "at least" in weak.stderr
    bad_email = create_user(instance, "client", "not-an-email")
    assert bad_email.returncode == 1 and "invalid email" in bad_email.stderr

    down = run_cli(instance, "db", "downgrade", "base")
    assert down.returncode == 0, down.stderr
    assert "empty" in down.stdout


def test_demo_on_an_empty_database(instance: Path) -> None:
    assert run_cli(instance, "db", "upgrade").returncode == 0
    result = run_cli(instance, "demo")
    assert result.returncode == 0, result.stderr
    assert "admin@demo.coachdesk.test" in result.stdout


def test_themes_and_addons_commands(instance: Path) -> None:
    assert run_cli(instance, "db", "upgrade").returncode == 0
    listing = run_cli(instance, "themes", "list")
    assert "* default" in listing.stdout
    assert run_cli(instance, "themes", "activate", "night").returncode == 0
    assert "* night" in run_cli(instance, "themes", "list").stdout
    unknown = run_cli(instance, "themes", "activate", "nope")
    assert unknown.returncode == 1 and "no theme named 'nope'" in unknown.stderr
    missing = run_cli(instance, "addons", "activate", "nope")
    assert missing.returncode == 1 and "no add-on named 'nope'" in missing.stderr


def test_commands_refuse_a_database_that_was_never_migrated(instance: Path) -> None:
    result = run_cli(instance, "themes", "list")
    assert result.returncode == 1
    assert "coachdesk db upgrade" in result.stderr


def _serve_demo(instance: Path, port: int, within: float) -> float:
    """Start ``coachdesk run --demo``; return the seconds until the sign-in page answers; stop."""
    env = cli_environment(instance)
    log = instance / f"run-{port}.log"
    started = time.monotonic()
    with log.open("w") as output:
        process = subprocess.Popen(
            [*CLI, "run", "--demo", "--port", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        while time.monotonic() - started < within:
            if process.poll() is not None:
                pytest.fail(f"coachdesk run --demo exited:\n{log.read_text()}")
            try:
                with urlopen(f"http://127.0.0.1:{port}/connexion", timeout=2) as page:
                    assert page.status == 200
                    return time.monotonic() - started
            except OSError:
                time.sleep(0.2)
        pytest.fail(f"not serving after {within} s:\n{log.read_text()}")
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_run_demo_starts_again_at_once_on_a_filled_database(instance: Path) -> None:
    """The second start finds the demo already there and serves at once (no lock wait)."""
    _serve_demo(instance, free_port(), within=120)
    assert _serve_demo(instance, free_port(), within=15) < 15
