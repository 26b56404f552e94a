"""An add-on the tests install, activate, then uninstall while active (and reinstall)."""

from __future__ import annotations

from pathlib import Path

from core import api
from hooks import MenuItem, hookimpl

TITLE = "Ghost"
# No ORM model on purpose: the test process imports this module once, and a model would
# stay in the shared metadata after the test "uninstalls" the add-on.


@hookimpl
def migration_folders() -> list[Path]:
    return [Path(__file__).parent / "migrations"]


@hookimpl
def menu_items(user: api.User) -> list[MenuItem]:
    return [MenuItem("ghost", "Ghost", "/")]
