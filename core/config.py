"""Configuration: built-in defaults < instance config file < ``COACHDESK_*`` environment.

Every value is checked once, at start-up, so that a typo gives one clear line
instead of a traceback halfway through a request.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import tempfile
import tomllib
from collections.abc import Iterable, Mapping
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from limits import parse_many
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

CONFIG_FILE_NAME = "coachdesk.toml"
SECRET_KEY_FILE_NAME = "secret_key"  # noqa: S105 (a file name)

# Front-page slugs, as in the reference product (French defaults, configurable).
DEFAULT_SLUGS: dict[str, str] = {
    "login": "connexion",
    "client_area": "accueil-client",
    "coach_home": "accueil-coach",
    "my_clients": "mes-clients",
    "calendar": "calendrier-seances",
}
#: The blueprint serving each slug's pages: any other page under a slug collides with it.
SLUG_BLUEPRINTS: dict[str, str] = {
    "login": "accounts",
    "client_area": "clientarea",
    "coach_home": "coach",
    "my_clients": "coach",
    "calendar": "coach",
}
#: One URL path segment that needs no escaping (letters of any script, digits, - _ . ~).
SLUG = re.compile(r"[\w-][\w.~-]*")

# name -> (default, kind). Kinds drive parsing of environment strings.
OPTIONS: dict[str, tuple[Any, str]] = {
    "database_url": (None, "str"),  # default: SQLite file in the instance folder
    "secret_key": (None, "str"),  # default: generated into the instance folder
    "base_url": ("http://127.0.0.1:5000", "url"),
    "smtp_url": ("smtp://127.0.0.1:25", "smtp"),
    "mail_from": ("Coachdesk <no-reply@localhost>", "address"),
    "ratelimit_storage_url": ("memory://", "ratelimit_storage"),
    "login_rate_limit": ("10 per minute;50 per hour", "rate_limits"),
    "storage_path": (None, "str"),  # default: <instance>/storage
    "themes_path": (None, "folder"),  # extra folder of themes, searched before the bundled ones
    "proxy_fix": (False, "bool"),  # trust X-Forwarded-* from one reverse proxy
    "default_locale": ("en", "locale"),
    "max_upload_mb": (10, "integer"),
    "log_level": ("INFO", "log_level"),
    "log_format": ("text", "log_format"),  # text, or json: one object per line
    "worker_lease_seconds": (300, "integer"),  # how long a worker's claim on an email lasts
}
LOG_FORMATS = ("text", "json")

SMTP_SCHEMES = {"smtp", "smtp+starttls", "smtps"}
#: Rate-limit counters: in this process, or in Redis (shared by every process).
RATELIMIT_SCHEMES = {"memory", "redis", "rediss", "redis+unix", "redis+sentinel", "redis+cluster"}
#: Whole-number options: (lowest, highest, unit).
INTEGER_RANGES: dict[str, tuple[int, int, str]] = {
    "max_upload_mb": (1, 1024, "megabytes"),
    "worker_lease_seconds": (5, 3600, "seconds"),
}


class ConfigError(Exception):
    """A configuration problem, reported to the operator as one line."""


def _parse(name: str, raw: Any, kind: str, option: str) -> Any:
    """``raw`` (a string from the environment, or a TOML value) as option ``option`` holds it;
    ``name`` is how the operator wrote it, for the error line."""
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in {"1", "true", "yes", "on"}:
            return True
        if text in {"0", "false", "no", "off", ""}:
            return False
        raise ConfigError(f"{name} must be true or false, not {raw!r}")
    if kind == "integer":
        if isinstance(raw, bool) or not re.fullmatch(r"\s*-?\d+\s*", str(raw)):
            raise ConfigError(f"{name} must be a whole number, not {raw!r}")
        return _check_range(name, int(raw), option)
    if raw is None:
        return None
    text = str(raw).strip()
    if not text:
        raise ConfigError(f"{name} is set but empty")
    if kind == "url":
        parts = urlsplit(text)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ConfigError(f"{name} must be an http:// or https:// address, not {text!r}")
        return text.rstrip("/")
    if kind == "smtp":
        parts = urlsplit(text)
        if parts.scheme not in SMTP_SCHEMES or not parts.hostname:
            raise ConfigError(
                f"{name} must look like smtp://host:25, smtp+starttls://user:pass@host:587 "
                f"or smtps://user:pass@host:465, not {text!r}"
            )
        return text
    checks = {
        "address": _address,
        "ratelimit_storage": _ratelimit_storage,
        "rate_limits": _rate_limits,
        "folder": _folder,
        "locale": _locale,
        "log_level": _log_level,
        "log_format": _log_format,
    }
    return checks[kind](name, text) if kind in checks else text


def _address(name: str, text: str) -> str:
    if "@" not in parseaddr(text)[1]:
        raise ConfigError(f"{name} must be an address such as Name <sender@example.org>")
    return text


def without_password(url: str) -> str:
    """``url`` as it may be printed: any password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(":" + parts.password + "@", ":***@")).geturl()


def _ratelimit_storage(name: str, text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in RATELIMIT_SCHEMES or (
        parts.scheme != "memory" and not (parts.netloc or parts.path.strip("/"))
    ):
        raise ConfigError(
            f"{name} must be memory:// or a Redis URL such as redis://host:6379/0 "
            f"(rediss://, redis+unix://, redis+sentinel://), not {without_password(text)!r}"
        )
    return text


def _rate_limits(name: str, text: str) -> str:
    """Limits such as ``10 per minute;50 per hour`` (Flask-Limiter would skip a bad one)."""
    try:
        items = parse_many(text)
    except ValueError:
        items = []
    if not items or any(item.amount < 1 for item in items):
        raise ConfigError(
            f"{name} must be limits such as '10 per minute;50 per hour', not {text!r}"
        )
    return text


def _folder(name: str, text: str) -> str:
    if not Path(text).is_dir():
        raise ConfigError(f"{name} {text!r} is not a folder")
    return text


def _locale(name: str, text: str) -> str:
    from core.i18n import LANGUAGES  # imported late: it needs the app's modules

    if text not in LANGUAGES:
        raise ConfigError(f"{name} must be one of {', '.join(LANGUAGES)}, not {text!r}")
    return text


def _log_level(name: str, text: str) -> str:
    levels = [n for n in logging.getLevelNamesMapping() if n not in ("WARN", "FATAL")]
    if text.upper() not in levels:
        raise ConfigError(f"{name} must be one of {', '.join(levels)}, not {text!r}")
    return text.upper()


def _log_format(name: str, text: str) -> str:
    if text.lower() not in LOG_FORMATS:
        raise ConfigError(f"{name} must be one of {', '.join(LOG_FORMATS)}, not {text!r}")
    return text.lower()


def _check_range(name: str, value: int, option: str) -> int:
    low, high, unit = INTEGER_RANGES[option]
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high} ({unit}), not {value}")
    return value


def _writable_folder(name: str, path: Path) -> Path:
    """Create ``path`` if needed and prove the process can write files there."""
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{name} {str(path)!r} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".probe-"):
            pass
    except OSError as exc:
        raise ConfigError(f"{name} {str(path)!r} cannot be used: {exc.strerror or exc}") from None
    return path


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from None
    unknown = sorted(set(data) - set(OPTIONS) - {"slugs"})
    if unknown:
        raise ConfigError(f"config file {path} has unknown setting(s): {', '.join(unknown)}")
    return data


def _slugs(table: Any, env: Mapping[str, str]) -> dict[str, str]:
    """The front-page slugs: defaults < ``[slugs]`` table < ``COACHDESK_SLUG_*``; all distinct."""
    if not isinstance(table, dict):
        raise ConfigError('slugs must be a table: [slugs] then lines such as login = "sign-in"')
    slugs = dict(DEFAULT_SLUGS)
    for key, value in table.items():
        if key not in DEFAULT_SLUGS:
            raise ConfigError(f"unknown slug {key!r}; known: {', '.join(DEFAULT_SLUGS)}")
        if not isinstance(value, str):
            raise ConfigError(f"slug {key} must be a string, not {value!r}")
        slugs[key] = value.strip("/")
    for key in DEFAULT_SLUGS:
        env_name = f"COACHDESK_SLUG_{key.upper()}"
        if env_name in env:
            slugs[key] = env[env_name].strip("/")
    owners: dict[str, str] = {}
    for key, slug in slugs.items():
        if not SLUG.fullmatch(slug) or slug in (".", ".."):
            raise ConfigError(
                f"slug {key} must be one non-empty path segment of letters, digits, - _ . ~ "
                f"(no / or spaces), not {slug!r}"
            )
        if slug in owners:
            raise ConfigError(f"slugs {owners[slug]} and {key} are both {slug!r}")
        owners[slug] = key
    return slugs


def check_slugs(slugs: Mapping[str, str], rules: Iterable[tuple[str, str]]) -> None:
    """Refuse a slug that another page already starts with (``rules``: (path, endpoint) pairs)."""
    pages = [(path.lstrip("/").split("/", 1)[0], path, endpoint) for path, endpoint in rules]
    for key, slug in slugs.items():
        for segment, path, endpoint in pages:
            blueprint = endpoint.split(".", 1)[0] if "." in endpoint else None
            if segment == slug and blueprint != SLUG_BLUEPRINTS[key]:
                raise ConfigError(f"slug {key} {slug!r} is taken by the page {path}")


def _secret_key(instance_path: Path) -> str:
    """Read the instance's secret key, creating it (mode 0600) on first start."""
    key_file = instance_path / SECRET_KEY_FILE_NAME
    try:
        if key_file.exists():
            key = key_file.read_text().strip()
            if len(key) < 32:
                raise ConfigError(f"{key_file} holds a key shorter than 32 characters")
            return key
        key = secrets.token_urlsafe(48)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key + "\n")
        return key
    except OSError as exc:
        raise ConfigError(
            f"cannot read or create the secret key in {key_file}: {exc.strerror}"
        ) from None


def load_config(instance_path: Path, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Return Flask config keys (upper case) from defaults, the config file and the environment."""
    env = os.environ if environ is None else environ
    try:
        instance_path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"instance folder {instance_path} cannot be created: {exc.strerror}"
        ) from None

    file_path = Path(env.get("COACHDESK_CONFIG") or instance_path / CONFIG_FILE_NAME)
    from_file: dict[str, Any] = {}
    if "COACHDESK_CONFIG" in env or file_path.exists():
        from_file = _read_file(file_path)

    values: dict[str, Any] = {}
    labels: dict[str, str] = {}  # the name the operator wrote, for error lines
    for name, (default, kind) in OPTIONS.items():
        env_name = f"COACHDESK_{name.upper()}"
        if env_name in env:
            values[name] = _parse(env_name, env[env_name], kind, name)
            labels[name] = env_name
        elif name in from_file:
            values[name] = _parse(name, from_file[name], kind, name)
            labels[name] = name
        else:
            values[name] = default
            labels[name] = name

    slugs = _slugs(from_file.get("slugs", {}), env)

    database_url = values["database_url"] or f"sqlite:///{instance_path / 'coachdesk.sqlite3'}"
    try:
        parsed = make_url(database_url)
    except ArgumentError:
        raise ConfigError(f"database URL {database_url!r} is not a valid URL") from None
    if parsed.get_backend_name() not in {"sqlite", "postgresql"}:
        raise ConfigError(
            f"database URL {database_url!r}: "
            "only sqlite:/// and postgresql+psycopg:// are supported"
        )
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() != "psycopg":
        raise ConfigError(
            f"database URL must use postgresql+psycopg://, not {parsed.drivername}://"
        )

    storage = _writable_folder(
        labels["storage_path"], Path(values["storage_path"] or instance_path / "storage")
    )
    base_url = values["base_url"]
    return {
        "DATABASE_URL": database_url,
        "SECRET_KEY": values["secret_key"] or _secret_key(instance_path),
        "BASE_URL": base_url,
        "SMTP_URL": values["smtp_url"],
        "MAIL_FROM": values["mail_from"],
        "RATELIMIT_STORAGE_URI": values["ratelimit_storage_url"],
        "LOGIN_RATE_LIMIT": values["login_rate_limit"],
        "STORAGE_PATH": storage,
        "THEMES_PATH": Path(values["themes_path"]) if values["themes_path"] else None,
        "PROXY_FIX": values["proxy_fix"],
        "BABEL_DEFAULT_LOCALE": values["default_locale"],
        "MAX_UPLOAD_MB": values["max_upload_mb"],
        "MAX_CONTENT_LENGTH": (values["max_upload_mb"] * 5 + 1) * 1024 * 1024,
        "LOG_LEVEL": values["log_level"],
        "LOG_FORMAT": values["log_format"],
        "WORKER_LEASE_SECONDS": values["worker_lease_seconds"],
        "SLUGS": slugs,
        "PREFERRED_URL_SCHEME": urlsplit(base_url).scheme,
        # Cookies: never readable from scripts, not sent cross-site, HTTPS-only when served so.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": base_url.startswith("https://"),
        "SESSION_COOKIE_NAME": "coachdesk_session",
        "REMEMBER_COOKIE_SECURE": base_url.startswith("https://"),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "WTF_CSRF_TIME_LIMIT": None,  # token lives as long as the login session
    }
