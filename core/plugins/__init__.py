"""The add-on host, as the rest of the application uses it."""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, request
from markupsafe import Markup
from werkzeug.wrappers import Response

from core.db import close_session
from core.plugins.host import AddonError, PluginHost, get_host
from hooks import Tab

__all__ = [
    "AddonError",
    "PluginHost",
    "call",
    "collect",
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
        """An inactive add-on's URLs do not exist."""
        for blueprint in request.blueprints:
            owner = owners.get(blueprint)
            if owner is not None and not host.is_active(owner):
                abort(404)

    @app.teardown_appcontext
    def _flush_addon_errors(exc: BaseException | None) -> None:
        close_session(exc)  # SQLite: the request's transaction must end before another writes
        host.flush_errors()

    return host
