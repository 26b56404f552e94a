"""Premium's blueprint (``/premium/…``), its templates and its migrations.

The views live in ``checkout``, ``webhooks`` and ``refunds``; they attach to ``bp``
when those modules are imported (``addons/premium/__init__.py`` imports them all).
While Premium is inactive the host answers 404 for every URL of ``bp``.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, url_for

from core import api
from hooks import Asset, hookimpl

HERE = Path(__file__).resolve().parent

bp = Blueprint(
    "premium", __name__, url_prefix="/premium", static_folder="static", static_url_path="/static"
)


@hookimpl
def register_blueprints() -> list[Blueprint]:
    return [bp]


@hookimpl
def template_folders() -> list[Path]:
    return [HERE / "templates"]


@hookimpl
def migration_folders() -> list[Path]:
    return [HERE / "migrations"]


@hookimpl
def page_assets(user: api.User | None) -> list[Asset]:
    return [Asset("css", url_for("premium.static", filename="premium.css"))]
