"""The coach's front area: coach home."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from core.accounts.access import staff_required

bp = Blueprint("coach", __name__)


@staff_required
def home() -> ResponseReturnValue:
    return render_template("coach/home.html")


@bp.record_once
def _add_slug_routes(state) -> None:  # type: ignore[no-untyped-def]
    state.add_url_rule("/" + state.app.config["SLUGS"]["coach_home"], "home", home)
