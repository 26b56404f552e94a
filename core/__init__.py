"""Coachdesk core: the application factory.

``create_app()`` reads the configuration, connects the database, wires the
extensions, registers every core area and then the installed add-ons.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask, flash, redirect, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from jinja2 import BaseLoader
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from core import config as config_module
from core.config import ConfigError

__all__ = ["ConfigError", "create_app"]

CORE_ROOT = Path(__file__).resolve().parent
log = logging.getLogger("coachdesk")


class CoachdeskFlask(Flask):
    """Flask whose template loader follows theme → add-ons → core."""

    core_template_folders: list[Path]

    def create_global_jinja_loader(self) -> BaseLoader:  # type: ignore[override]
        from core.themes import ThemeLoader

        return ThemeLoader(self, self.core_template_folders)


def _core_areas() -> dict[str, Any]:
    """Every core area, as (name → module with hook implementations)."""
    from core.admin import plugin as admin_plugin
    from core.clientarea import plugin as clientarea_plugin
    from core.coach import plugin as coach_plugin
    from core.emails import plugin as emails_plugin
    from core.privacy import plugin as privacy_plugin
    from core.programs import plugin as programs_plugin

    return {
        "clientarea": clientarea_plugin,
        "coach": coach_plugin,
        "admin": admin_plugin,
        "emails": emails_plugin,
        "programs": programs_plugin,
        "privacy": privacy_plugin,
    }


def _blueprints() -> list[Any]:
    from core.accounts.views import bp as accounts_bp
    from core.admin.views import bp as admin_bp
    from core.clientarea.views import bp as clientarea_bp
    from core.coach.views import bp as coach_bp
    from core.emails.views import bp as emails_bp
    from core.operations.views import bp as operations_bp
    from core.payments import refunds as _refunds  # noqa: F401 (its route joins payments_bp)
    from core.payments.views import bp as payments_bp
    from core.privacy.views import bp as privacy_bp
    from core.programs.views import bp as programs_bp
    from core.sessions.views import bp as sessions_bp

    return [
        accounts_bp,
        clientarea_bp,
        coach_bp,
        admin_bp,
        sessions_bp,
        payments_bp,
        emails_bp,
        programs_bp,
        privacy_bp,
        operations_bp,
    ]


def create_app(overrides: dict[str, Any] | None = None, instance_path: str | None = None) -> Flask:
    """Build the application. Raises :class:`ConfigError` with a one-line reason on bad config."""
    import os

    from core import db as db_module
    from core import i18n, plugins, themes, urls, validation
    from core.accounts import sessions as login_sessions
    from core.accounts.views import too_many_requests
    from core.extensions import babel, csrf, init_limiter, login_manager
    from core.operations import logs

    app = CoachdeskFlask(
        "core",
        instance_path=instance_path or os.environ.get("COACHDESK_INSTANCE_PATH") or None,
        static_folder="static",
    )
    app.config.update(config_module.load_config(Path(app.instance_path)))
    app.config.update(overrides or {})
    validation.init_app(app)  # before any route: bounded <int:…> and the request guard
    logs.configure_logging(app.config["LOG_LEVEL"], app.config["LOG_FORMAT"])
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if app.config["PROXY_FIX"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]

    app.core_template_folders = [
        CORE_ROOT / "templates",
        *sorted(p for p in CORE_ROOT.glob("*/templates") if p.is_dir()),
    ]
    db_module.init_app(app, db_module.Database(app.config["DATABASE_URL"]))

    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = None
    login_manager.session_protection = "strong"
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=i18n.select_locale,
        timezone_selector=i18n.select_timezone,
        default_translation_directories=";".join(i18n.translation_directories(CORE_ROOT)),
    )
    init_limiter(app)
    i18n.init_app(app)
    themes.init_app(app)
    urls.init_app(app)

    login_sessions.init_app(app)  # the user loader: one login session row joined with its user
    logs.init_app(app)

    for blueprint in _blueprints():
        app.register_blueprint(blueprint)
    host = plugins.init_app(app, _core_areas())
    config_module.check_slugs(
        app.config["SLUGS"], [(rule.rule, rule.endpoint) for rule in app.url_map.iter_rules()]
    )
    _register_error_pages(app, too_many_requests)
    _register_page_context(app)
    host.call("register_cli_commands", cli=app.cli)
    host.call("app_startup", app=app)
    return app


def _register_error_pages(app: Flask, too_many_requests: Any) -> None:
    """Error pages, each rendered after a rollback (a failed transaction must not fail them),
    and concurrent writes answered with a message instead of an error page."""
    from core.db import is_conflict, reset_session

    messages = {
        403: lambda: _("You do not have access to this page."),
        404: lambda: _("This page does not exist, or is not yours to see."),
        405: lambda: _("This action is not allowed here."),
        410: lambda: _("This link has expired."),
        413: lambda: _("The file is too large."),
        500: lambda: _("Something went wrong on our side. It has been logged."),
    }

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> ResponseReturnValue:
        reset_session()
        code = error.code or 500
        if code == 429:
            return too_many_requests(error)
        if code < 400 or request.path.startswith("/static/"):
            return error
        message = messages.get(code, lambda: error.description or "")()
        return render_template("errors/error.html", code=code, message=message), code

    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError) -> ResponseReturnValue:
        reset_session()
        message = _(
            "This form has expired or was sent from elsewhere. Reload the page and try again."
        )
        return render_template("errors/error.html", code=400, message=message), 400

    @app.errorhandler(500)
    def _server_error(error: Exception) -> ResponseReturnValue:
        reset_session()
        return render_template("errors/error.html", code=500, message=messages[500]()), 500

    @app.errorhandler(StaleDataError)
    @app.errorhandler(DBAPIError)
    def _concurrent_write(error: Exception) -> ResponseReturnValue:
        """Two requests wrote the same thing at once (a double click, two people): the
        first won; this one is rolled back and sent back with a message. Any other
        database error is a real failure: it goes on to the 500 page."""
        if not is_conflict(error):
            raise error
        reset_session()
        log.warning("%s %s lost a concurrent write: %s", request.method, request.path, error)
        flash(
            _(
                "This was changed at the same moment from elsewhere (someone else, or a "
                "second click). Your last action was not saved: check the page, then try "
                "again if needed."
            ),
            "warning",
        )
        return redirect(_page_to_return_to(), 303)


def _page_to_return_to() -> str:
    """After a refused write: the form's ``next`` or the page it was sent from (same site
    only), else the home page (which sends each role to its own)."""
    from core.coach.blueprint import local_target

    if request.method == "GET":  # never back to the same URL: no loop, whatever happens
        return "/"
    for candidate in (request.values.get("next"), request.referrer):
        if candidate and candidate.startswith(request.host_url):
            candidate = "/" + candidate.removeprefix(request.host_url)
        target = local_target(candidate)
        if target is not None:
            return target
    return "/"


def _register_page_context(app: Flask) -> None:
    from core.plugins import collect, content_security_policy, get_host
    from core.settings import derived, get_option

    @app.context_processor
    def _page_context() -> dict[str, Any]:
        """The menu, assets and site name: once per request, though a page that renders
        a tab first asks twice (see :func:`core.settings.derived`)."""
        user = current_user if current_user.is_authenticated else None

        def compute() -> dict[str, Any]:
            items = []
            if user is not None:
                items = sorted(collect("menu_items", user=user), key=lambda i: (i.order, i.key))
            assets = [a for a in collect("page_assets", user=user) if a.kind in ("css", "js")]
            return {"menu": items, "site_name": get_option("general.site_name"), "assets": assets}

        key = ("page_context", user.id if user else None, get_host().active_names(), get_locale())
        return derived(key, compute)

    @app.after_request
    def _security_headers(response: Any) -> Any:
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Content-Security-Policy", content_security_policy())
        if app.config["SESSION_COOKIE_SECURE"]:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
