"""Physical's blueprint (``/physical/…``: the CSV exports, its stylesheet), its templates
and its migrations. While Physical is inactive the host answers 404 for every URL of ``bp``."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, url_for

from core import api
from hooks import Asset, hookimpl

HERE = Path(__file__).resolve().parent

bp = Blueprint(
    "physical", __name__, url_prefix="/physical", static_folder="static", static_url_path="/static"
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
    if user is None:
        return []
    return [Asset("css", url_for("physical.static", filename="physical.css"))]
