"""The add-on host, as the rest of the application uses it."""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Flask, abort, current_app, request
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.wrappers import Response

from core.db import close_session
from core.plugins.host import AddonError, PluginHost, get_host
from hooks import Tab

log = logging.getLogger(__name__)

__all__ = [
    "AddonError",
    "PluginHost",
    "call",
    "call_each",
    "collect",
    "content_security_policy",
    "get_host",
    "init_app",
    "is_active",
    "render_tab",
    "tabs_from",
]


def is_active(name: str) -> bool:
    """Whether add-on ``name`` is active for the current request."""
    return get_host().is_active(name)


def call(hook_name: str, **kwargs: Any) -> list[Any]:
    return get_host().call(hook_name, **kwargs)


def call_each(hook_name: str, **kwargs: Any) -> tuple[dict[str, Any], list[str]]:
    return get_host().call_each(hook_name, **kwargs)


def collect(hook_name: str, **kwargs: Any) -> list[Any]:
    return get_host().collect(hook_name, **kwargs)


def tabs_from(hook_name: str, **kwargs: Any) -> list[Tab]:
    """The tabs a hook returns, in display order."""
    return sorted(collect(hook_name, **kwargs), key=lambda t: (t.order, t.key))


def render_tab(tabs: list[Tab], key: str | None) -> tuple[Tab, Markup | Response]:
    """The tab ``key`` (the first when None) and what it rendered; 404 for an unknown key.

    A tab returns the HTML it rendered itself (the hook's contract), or a response.
    """
    chosen = next((t for t in tabs if t.key == key), None) if key else next(iter(tabs), None)
    if chosen is None:
        abort(404)
    body = chosen.render()
    if isinstance(body, Response):
        return chosen, body
    return chosen, Markup(body)  # noqa: S704 (trusted: rendered by the tab's own code)


#: The core's own policy: nothing but this site, no inline script.
BASE_POLICY: dict[str, list[str]] = {
    "default-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "script-src": ["'self'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
    "base-uri": ["'self'"],
}
#: Directives an add-on may extend (never frame-ancestors or base-uri).
EXTENSIBLE_DIRECTIVES = frozenset(
    {"connect-src", "font-src", "form-action", "frame-src", "img-src", "script-src", "style-src"}
)
_SOURCE = re.compile(
    r"^(https?://[A-Za-z0-9.*-]+(:[0-9]+)?(/[^\s;,']*)?|'sha(256|384|512)-[A-Za-z0-9+/=]+')$"
)


def content_security_policy() -> str:
    """The core's policy plus what active add-ons add through ``content_security_policy``.

    A source that is not an origin (or a script hash) is refused and reported, so that no
    add-on can open the page to inline or evaluated script.
    """
    policy = {k: list(v) for k, v in BASE_POLICY.items()}
    try:
        host = get_host()
        additions = host.call("content_security_policy")
    except SQLAlchemyError:  # e.g. the error page of a failed transaction: stay strict
        additions = []
    for addition in additions:
        for directive, sources in addition.items():
            for source in sources:
                if directive not in EXTENSIBLE_DIRECTIVES or not _SOURCE.match(source):
                    log.error("refused CSP source %r for %r from an add-on", source, directive)
                    continue
                current = policy.setdefault(directive, ["'self'"])
                if source not in current:
                    current.append(source)
    return "; ".join(f"{k} {' '.join(v)}" for k, v in policy.items())


def _blueprints_of_refused_method() -> list[str]:
    """The blueprint of a URL that exists for other methods (a GET on a POST-only view).

    Flask matched no rule, so ``request.blueprints`` is empty; without this, an inactive
    add-on's webhook would answer 405 and so reveal that it is installed.
    """
    error = request.routing_exception
    if not isinstance(error, MethodNotAllowed) or not error.valid_methods:
        return []
    adapter = current_app.create_url_adapter(request)
    if adapter is None:
        return []
    try:
        endpoint, _args = adapter.match(method=next(iter(error.valid_methods)))
    except HTTPException:
        return []
    return [str(endpoint).rpartition(".")[0]] if "." in str(endpoint) else []


def init_app(app: Flask, core_plugins: dict[str, Any]) -> PluginHost:
    """Build the host: core areas first, then installed add-ons and their blueprints."""
    host = PluginHost()
    app.extensions["coachdesk.plugins"] = host
    for area, module in core_plugins.items():
        host.register_core(module, area)
    host.discover()

    for addon in host.addons.values():
        for blueprints in host.call("register_blueprints", only=[addon.name]):
            for blueprint in blueprints:
                app.register_blueprint(blueprint)
                addon.blueprints.append(blueprint.name)
    owners = {bp: a.name for a in host.addons.values() for bp in a.blueprints}

    @app.before_request
    def _hide_inactive_addons() -> None:
        """An inactive add-on's URLs do not exist; an active one is migrated before it serves.

        Not for ``/healthz``: it must answer (503) even when the database is unmigrated
        or unreachable, which is what it reports.
        """
        if request.endpoint == "operations.healthz":
            return
        host.ensure_migrated(app)
        for blueprint in request.blueprints or _blueprints_of_refused_method():
            owner = owners.get(blueprint)
            if owner is not None and not host.is_active(owner):
                abort(404)

    @app.teardown_appcontext
    def _flush_addon_errors(exc: BaseException | None) -> None:
        close_session(exc)  # SQLite: the request's transaction must end before another writes
        host.flush_errors()

    return host
