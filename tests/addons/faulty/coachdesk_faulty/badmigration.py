"""Its migration creates a table, then fails: activation must leave nothing behind."""

from __future__ import annotations

from pathlib import Path

from hooks import hookimpl

TITLE = "Bad migration"


@hookimpl
def migration_folders() -> list[Path]:
    return [Path(__file__).parent / "badmigration_versions"]
