"""Configuration: environment beats file beats defaults; every mistake is one clear line."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import ConfigError, check_slugs, load_config
from core.testing.plugin import free_port


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
        ({"COACHDESK_SLUG_LOGIN": "sign in"}, "slug login must be one non-empty path segment"),
        ({"COACHDESK_SLUG_LOGIN": "<int:x>"}, "slug login must be one non-empty path segment"),
        ({"COACHDESK_SLUG_CALENDAR": "mes-clients"}, "slugs my_clients and calendar are both"),
        ({"COACHDESK_LOG_LEVEL": "LOUD"}, "COACHDESK_LOG_LEVEL must be one of CRITICAL, ERROR"),
        ({"COACHDESK_MAX_UPLOAD_MB": "-1"}, "COACHDESK_MAX_UPLOAD_MB must be between 1 and"),
        ({"COACHDESK_MAX_UPLOAD_MB": "0"}, "between 1 and 1024"),
        ({"COACHDESK_MAX_UPLOAD_MB": "2.5"}, "whole number"),
        ({"COACHDESK_RATELIMIT_STORAGE_URL": "memcached://h:11211"}, "memory:// or a Redis URL"),
        ({"COACHDESK_RATELIMIT_STORAGE_URL": "127.0.0.1:6379"}, "memory:// or a Redis URL"),
        ({"COACHDESK_RATELIMIT_STORAGE_URL": "reds://:hunter2@h/0"}, r"not 'reds://:\*\*\*@h/0'"),
        ({"COACHDESK_LOGIN_RATE_LIMIT": "10 per fortnight"}, "COACHDESK_LOGIN_RATE_LIMIT must be"),
        ({"COACHDESK_LOGIN_RATE_LIMIT": "0 per minute"}, "limits such as"),
        ({"COACHDESK_DEFAULT_LOCALE": "de"}, "COACHDESK_DEFAULT_LOCALE must be one of en, fr"),
        ({"COACHDESK_THEMES_PATH": "/nonexistent/themes"}, "is not a folder"),
        ({"COACHDESK_MAIL_FROM": "no-reply"}, "COACHDESK_MAIL_FROM must be an address"),
        (
            {"COACHDESK_WORKER_LEASE_SECONDS": "4"},
            r"COACHDESK_WORKER_LEASE_SECONDS must be between 5 and 3600 \(seconds\), not 4",
        ),
        ({"COACHDESK_WORKER_LEASE_SECONDS": "3601"}, "between 5 and 3600"),
        ({"COACHDESK_WORKER_LEASE_SECONDS": "5 min"}, "must be a whole number, not '5 min'"),
        ({"COACHDESK_WORKER_LEASE_SECONDS": ""}, "WORKER_LEASE_SECONDS must be a whole number"),
    ],
)
def test_bad_values_raise_one_clear_error(
    tmp_path: Path, environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(tmp_path, environ=environ)


def test_log_level_and_limits_are_normalised(tmp_path: Path) -> None:
    config = load_config(
        tmp_path,
        environ={"COACHDESK_LOG_LEVEL": "debug", "COACHDESK_LOGIN_RATE_LIMIT": "3/minute"},
    )
    assert config["LOG_LEVEL"] == "DEBUG"
    assert config["LOGIN_RATE_LIMIT"] == "3/minute"


def test_worker_lease_seconds(tmp_path: Path) -> None:
    """How long a worker's claim on an email lasts before another worker may take it."""
    assert load_config(tmp_path, environ={})["WORKER_LEASE_SECONDS"] == 300
    (tmp_path / "coachdesk.toml").write_text("worker_lease_seconds = 60\n")
    assert load_config(tmp_path, environ={})["WORKER_LEASE_SECONDS"] == 60
    environ = {"COACHDESK_WORKER_LEASE_SECONDS": " 10 "}
    assert load_config(tmp_path, environ=environ)["WORKER_LEASE_SECONDS"] == 10
    for edge in ("5", "3600"):
        environ = {"COACHDESK_WORKER_LEASE_SECONDS": edge}
        assert load_config(tmp_path, environ=environ)["WORKER_LEASE_SECONDS"] == int(edge)


def test_storage_path_is_created_and_must_be_writable(tmp_path: Path) -> None:
    storage = tmp_path / "deep" / "storage"
    config = load_config(tmp_path, environ={"COACHDESK_STORAGE_PATH": str(storage)})
    assert config["STORAGE_PATH"] == storage and storage.is_dir()
    assert list(storage.iterdir()) == []  # the write probe is gone
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    with pytest.raises(ConfigError, match=r"COACHDESK_STORAGE_PATH .*a-file' is a file"):
        load_config(tmp_path, environ={"COACHDESK_STORAGE_PATH": str(a_file)})
    with pytest.raises(ConfigError, match=r"storage_path .*cannot be used: Not a directory"):
        (tmp_path / "coachdesk.toml").write_text(f'storage_path = "{a_file}/storage"\n')
        load_config(tmp_path, environ={})


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('slugs = "sign-in"\n', "slugs must be a table"),
        ("[slugs]\nlogin = 3\n", "slug login must be a string"),
        ('[slugs]\nsignin = "x"\n', "unknown slug 'signin'"),
        ('[slugs]\nlogin = "a?b"\n', "slug login must be one non-empty path segment"),
        ('[slugs]\nlogin = ".."\n', "slug login must be one non-empty path segment"),
        ('[slugs]\nlogin = "calendrier-seances"\n', "slugs login and calendar are both"),
        ('log_level = "verbose"\n', "log_level must be one of"),
        ("max_upload_mb = -5\n", "max_upload_mb must be between 1 and 1024"),
        ("max_upload_mb = true\n", "max_upload_mb must be a whole number"),
        ('login_rate_limit = "many"\n', "login_rate_limit must be limits"),
        ("worker_lease_seconds = 0\n", "worker_lease_seconds must be between 5 and 3600"),
        ("worker_lease_seconds = 30.5\n", "worker_lease_seconds must be a whole number"),
    ],
)
def test_bad_values_in_the_config_file(tmp_path: Path, toml: str, message: str) -> None:
    (tmp_path / "coachdesk.toml").write_text(toml)
    with pytest.raises(ConfigError, match=message):
        load_config(tmp_path, environ={})


def test_a_slug_may_not_take_another_pages_path() -> None:
    rules = [("/admin/", "admin.dashboard"), ("/static/<path:f>", "static"), ("/x", "coach.x")]
    check_slugs({"my_clients": "x", "login": "connexion"}, rules)  # coach's own page: fine
    with pytest.raises(ConfigError, match="slug login 'admin' is taken by the page /admin/"):
        check_slugs({"login": "admin"}, rules)
    with pytest.raises(ConfigError, match="slug calendar 'static' is taken"):
        check_slugs({"calendar": "static"}, rules)
    with pytest.raises(ConfigError, match="slug login 'x' is taken by the page /x"):
        check_slugs({"login": "x"}, rules)


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


#: (environment, what the one line says). Each stops a start at once; between them they
#: go through the three long-running commands (a process start costs seconds).
BAD_SETTINGS = [
    ({"COACHDESK_LOG_LEVEL": "LOUD"}, "COACHDESK_LOG_LEVEL must be one of"),
    ({"COACHDESK_SLUG_LOGIN": "mes-clients"}, "slugs login and my_clients are both"),
    ({"COACHDESK_SLUG_CLIENT_AREA": "admin"}, "slug client_area 'admin' is taken by the page"),
    ({"COACHDESK_SLUG_CALENDAR": "premium"}, "slug calendar 'premium' is taken by the page"),
    ({"COACHDESK_RATELIMIT_STORAGE_URL": "memcached://127.0.0.1"}, "memory:// or a Redis URL"),
    ({"COACHDESK_LOGIN_RATE_LIMIT": "10 per fortnight"}, "COACHDESK_LOGIN_RATE_LIMIT must be"),
    ({"COACHDESK_MAX_UPLOAD_MB": "-10"}, "COACHDESK_MAX_UPLOAD_MB must be between 1 and 1024"),
    ({"COACHDESK_STORAGE_PATH": "/dev/null/storage"}, "COACHDESK_STORAGE_PATH '/dev/null/storage'"),
    ({"COACHDESK_RATELIMIT_STORAGE_URL": "redis://"}, "cannot reach Redis at redis://127.0.0.1:"),
    ({"COACHDESK_WORKER_LEASE_SECONDS": "2"}, "COACHDESK_WORKER_LEASE_SECONDS must be between 5"),
]


@pytest.mark.parametrize(
    ("command", "env", "expected"),
    [(("run", "init", "worker")[i % 3], *case) for i, case in enumerate(BAD_SETTINGS)],
)
def test_a_bad_setting_stops_run_init_and_worker_in_one_line(
    tmp_path: Path, command: str, env: dict[str, str], expected: str
) -> None:
    if env.get("COACHDESK_RATELIMIT_STORAGE_URL") == "redis://":  # nothing listens there
        env = {"COACHDESK_RATELIMIT_STORAGE_URL": f"redis://127.0.0.1:{free_port()}/0"}
    result = run_cli(tmp_path, command, env=env, input="")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("coachdesk: configuration error: ")
    assert expected in lines[0]


def test_a_failing_rate_limit_store_refuses_the_sign_in(app, make_user, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Attempts that cannot be counted are refused, never let through unlimited."""
    from core.accounts.models import Role
    from core.extensions import get_limiter
    from tests.conftest import login

    user = make_user(Role.CLIENT)

    def store_down(*_args: object, **_kwargs: object) -> int:
        raise ConnectionError("rate-limit store down")

    monkeypatch.setattr(get_limiter(app).storage, "incr", store_down)
    with pytest.raises(ConnectionError):
        login(app, app.test_client(), user)
