"""A small add-on that uses every hook family, so the tests can exercise the host."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Blueprint, render_template, request
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from core.accounts.access import public, signed_in
from core.db import Base, db
from hooks import MenuItem, StatCard, Tab, hookimpl

TITLE = "Test add-on"
DESCRIPTION = "Exercises every hook family."
HERE = Path(__file__).parent
#: Names of hooks that should raise (set by tests to check isolation).
FAIL_IN: set[str] = set()
#: Lifecycle calls received, in order.
EVENTS: list[str] = []


class TestaddonNote(Base):
    __tablename__ = "testaddon_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(200))


bp = Blueprint("testaddon", __name__, url_prefix="/testaddon", static_folder="static")


@bp.route("/hello")
@public
def hello() -> str:
    return render_template("testaddon/hello.html", notes=db.query(TestaddonNote).count())


@bp.route("/notes", methods=["POST"])
@signed_in
def add_note() -> tuple[str, int]:
    db.add(TestaddonNote(text=request.form.get("text", "")))
    db.commit()
    return "created", 201


def _maybe_fail(hook: str) -> None:
    if hook in FAIL_IN:
        raise RuntimeError(f"testaddon fails in {hook} on purpose")


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
def register_cli_commands(cli: click.Group) -> None:
    @cli.command("testaddon-hello")
    def hello_command() -> None:
        """Say hello from the test add-on."""
        from core.plugins import is_active

        if not is_active("testaddon"):
            raise click.ClickException("the testaddon add-on is not active")
        click.echo("hello from testaddon")


@hookimpl
def menu_items(user) -> list[MenuItem]:  # type: ignore[no-untyped-def]
    _maybe_fail("menu_items")
    return [MenuItem("testaddon", "Test add-on", "/testaddon/hello", order=99)]


@hookimpl
def client_area_tabs(client) -> list[Tab]:  # type: ignore[no-untyped-def]
    _maybe_fail("client_area_tabs")
    return [Tab("extra", "Extra", lambda: "<p id='testaddon-tab'>Extra tab body</p>", order=90)]


@hookimpl
def client_statistics_cards(client) -> list[StatCard]:  # type: ignore[no-untyped-def]
    _maybe_fail("client_statistics_cards")
    return [StatCard("testaddon-card", "Test card", "42")]


@hookimpl
def settings_sections(user) -> list[Tab]:  # type: ignore[no-untyped-def]
    return [Tab("testaddon", "Test add-on", lambda: "<p id='testaddon-settings'>Settings</p>")]


@hookimpl
def addon_activated(app) -> None:  # type: ignore[no-untyped-def]
    EVENTS.append("activated")


@hookimpl
def addon_deactivated(app) -> None:  # type: ignore[no-untyped-def]
    EVENTS.append("deactivated")
