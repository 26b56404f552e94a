"""The client area: one page whose tabs come from the ``client_area_tabs`` hook."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from markupsafe import Markup
from werkzeug.wrappers import Response

from core.accounts.access import client_required
from core.plugins import collect

bp = Blueprint("clientarea", __name__)


def client_tabs() -> list:  # type: ignore[type-arg]
    return sorted(collect("client_area_tabs", client=current_user), key=lambda t: (t.order, t.key))


@client_required
def index() -> ResponseReturnValue:
    tabs = client_tabs()
    if tabs:
        return redirect(url_for("clientarea.tab", key=tabs[0].key))
    return render_template("clientarea/page.html", tabs=[], active=None, body=None)


@client_required
def tab(key: str) -> ResponseReturnValue:
    tabs = client_tabs()
    chosen = next((t for t in tabs if t.key == key), None)
    if chosen is None:
        abort(404)
    body = chosen.render()
    if isinstance(body, Response):
        return body
    return render_template("clientarea/page.html", tabs=tabs, active=key, body=Markup(body))  # noqa: S704 (tabs return HTML)


@bp.record_once
def _add_slug_routes(state) -> None:  # type: ignore[no-untyped-def]
    slug = "/" + state.app.config["SLUGS"]["client_area"]
    state.add_url_rule(slug, "index", index)
    state.add_url_rule(slug + "/<key>", "tab", tab, methods=["GET", "POST"])
