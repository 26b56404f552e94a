"""Configuration: environment beats file beats defaults; every mistake is one clear line."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import ConfigError, load_config


def test_defaults_use_sqlite_in_the_instance_folder_and_generate_a_secret(tmp_path: Path) -> None:
    config = load_config(tmp_path, environ={})
    assert config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'coachdesk.sqlite3'}"
    key_file = tmp_path / "secret_key"
    assert config["SECRET_KEY"] == key_file.read_text().strip()
    assert len(config["SECRET_KEY"]) >= 48
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    # The key is stable across starts.
    assert load_config(tmp_path, environ={})["SECRET_KEY"] == config["SECRET_KEY"]
    assert config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert config["SESSION_COOKIE_HTTPONLY"] and config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_file_then_environment_override(tmp_path: Path) -> None:
    (tmp_path / "coachdesk.toml").write_text(
        'base_url = "https://coach.example.org/"\n'
        'smtp_url = "smtp+starttls://u:p@mail.example.org:587"\n'
        '[slugs]\nlogin = "sign-in"\n'
    )
    config = load_config(
        tmp_path,
        environ={
            "COACHDESK_DATABASE_URL": "postgresql+psycopg://u@db/coachdesk",
            "COACHDESK_RATELIMIT_STORAGE_URL": "redis://127.0.0.1:6379/0",
            "COACHDESK_SECRET_KEY": "k" * 40,
        },
    )
    assert config["BASE_URL"] == "https://coach.example.org"
    assert config["SESSION_COOKIE_SECURE"] is True  # https base URL: cookies are HTTPS-only
    assert config["SMTP_URL"].startswith("smtp+starttls://")
    assert config["SLUGS"]["login"] == "sign-in"
    assert config["DATABASE_URL"] == "postgresql+psycopg://u@db/coachdesk"
    assert config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0"
    assert config["SECRET_KEY"] == "k" * 40
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"COACHDESK_DATABASE_URL": "mysql://x/y"}, "only sqlite"),
        ({"COACHDESK_DATABASE_URL": "not a url"}, "not a valid URL"),
        (
            {"COACHDESK_DATABASE_URL": "postgresql+psycopg2://u@h/db"},
            "must use postgresql.psycopg://",
        ),
        ({"COACHDESK_BASE_URL": "coach.example.org"}, "http:// or https://"),
        ({"COACHDESK_SMTP_URL": "mail.example.org"}, "smtp://host"),
        ({"COACHDESK_BASE_URL": "  "}, "empty"),
        ({"COACHDESK_MAX_UPLOAD_MB": "ten"}, "whole number"),
        ({"COACHDESK_PROXY_FIX": "maybe"}, "true or false"),
        ({"COACHDESK_SLUG_LOGIN": "a/b"}, "one non-empty path segment"),
    ],
)
def test_bad_values_raise_one_clear_error(
    tmp_path: Path, environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(tmp_path, environ=environ)


def test_bad_config_files(tmp_path: Path) -> None:
    (tmp_path / "coachdesk.toml").write_text("base_url = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(tmp_path, environ={})
    (tmp_path / "coachdesk.toml").write_text('databse_url = "sqlite://"\n')
    with pytest.raises(ConfigError, match=r"unknown setting.*databse_url"):
        load_config(tmp_path, environ={})
    with pytest.raises(ConfigError, match="cannot be read"):
        load_config(tmp_path, environ={"COACHDESK_CONFIG": str(tmp_path / "missing.toml")})


#: The ``coachdesk`` command, run from this checkout with the test's interpreter.
CLI = [sys.executable, "-c", "from core.cli import main; main()"]


def cli_environment(tmp_path: Path, env: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without its COACHDESK_* settings, on instance ``tmp_path``."""
    return (
        {k: v for k, v in os.environ.items() if not k.startswith("COACHDESK_")}
        | {"COACHDESK_INSTANCE_PATH": str(tmp_path)}
        | (env or {})
    )


def run_cli(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        env=cli_environment(tmp_path, env),
        input=input,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"COACHDESK_DATABASE_URL": "mysql://x/y"}, "configuration error: database URL"),
        (
            {"COACHDESK_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/nothing"},
            "cannot use the database postgresql+psycopg://nobody@127.0.0.1:1/nothing",
        ),
        ({"COACHDESK_CONFIG": "/nonexistent/coachdesk.toml"}, "cannot be read"),
    ],
)
def test_cli_reports_configuration_problems_in_one_line(
    tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    result = run_cli(tmp_path, "db", "upgrade", env=env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert expected in lines[0]
    assert "Traceback" not in result.stderr
