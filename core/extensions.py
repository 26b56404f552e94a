"""Flask extensions, created unbound and initialised by the app factory."""

from __future__ import annotations

from flask import Flask, current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf import CSRFProtect

login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


def init_limiter(app: Flask) -> Limiter:
    """One limiter per app (Flask-Limiter keeps its storage on the instance)."""
    limiter = Limiter(
        key_func=get_remote_address,
        default_limits=[],
        headers_enabled=True,
        storage_uri=app.config["RATELIMIT_STORAGE_URI"],
    )
    limiter.init_app(app)
    app.extensions["coachdesk.limiter"] = limiter
    return limiter


def get_limiter(app: Flask | None = None) -> Limiter:
    return (app or current_app).extensions["coachdesk.limiter"]  # type: ignore[no-any-return]
