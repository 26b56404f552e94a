"""Flask extensions, created unbound and initialised by the app factory."""

from __future__ import annotations

from flask import Flask, current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf import CSRFProtect
from limits.errors import ConfigurationError

from core.config import ConfigError, without_password

login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


def init_limiter(app: Flask) -> Limiter:
    """One limiter per app (Flask-Limiter keeps its storage on the instance).

    It fails closed: a storage error during a request is an error, never a request
    let through unlimited (no swallowing, no in-memory fallback), and a Redis that
    cannot be reached stops the start with :class:`ConfigError`.
    """
    uri = app.config["RATELIMIT_STORAGE_URI"]
    redis = not uri.startswith("memory:")
    limiter = Limiter(
        key_func=get_remote_address,
        default_limits=[],
        headers_enabled=True,
        storage_uri=uri,
        # A dead Redis answers within seconds, not never (redis-py waits forever by default).
        storage_options={"socket_connect_timeout": 2, "socket_timeout": 5} if redis else {},
        swallow_errors=False,
        in_memory_fallback_enabled=False,
    )
    try:
        limiter.init_app(app)
    except ConfigurationError as exc:  # e.g. the redis package is not installed
        raise ConfigError(f"ratelimit_storage_url {without_password(uri)!r}: {exc}") from None
    if redis and not limiter.storage.check():
        raise ConfigError(f"ratelimit_storage_url: cannot reach Redis at {without_password(uri)}")
    app.extensions["coachdesk.limiter"] = limiter
    return limiter


def get_limiter(app: Flask | None = None) -> Limiter:
    return (app or current_app).extensions["coachdesk.limiter"]  # type: ignore[no-any-return]
