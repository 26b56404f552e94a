"""Run Alembic from inside the application: the core branch plus every installed add-on's."""

from __future__ import annotations

import io
import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from flask import Flask

from core.db import get_database

MIGRATIONS_DIR = Path(__file__).resolve().parent


def alembic_config(app: Flask, stdout: io.TextIOBase | None = None) -> Config:
    from core.plugins import get_host

    cfg = Config(stdout=stdout) if stdout is not None else Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    locations = [str(MIGRATIONS_DIR / "versions"), *get_host(app).migration_folders()]
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", os.pathsep.join(locations))
    cfg.attributes["app"] = app
    return cfg


def _run(app: Flask, fn, *args: object) -> None:  # type: ignore[no-untyped-def]
    """Run an Alembic command in one transaction.

    On SQLite, foreign keys are switched off meanwhile (batch migrations rebuild
    tables, and dropping the old copy would cascade) and checked afterwards.
    """
    cfg = alembic_config(app)
    with get_database(app).engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:  # must happen outside a transaction: straight on the driver connection
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                cfg.attributes["connection"] = connection
                fn(cfg, *args)
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migration left broken foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


def upgrade(app: Flask, target: str | None = None) -> None:
    """Upgrade to ``target`` (default: the head of every branch)."""
    _run(app, command.upgrade, target or "heads")


def downgrade(app: Flask, target: str) -> None:
    _run(app, command.downgrade, target)


def current(app: Flask) -> list[str]:
    """Revisions the database is at (empty before the first upgrade)."""
    from alembic.runtime.migration import MigrationContext

    with get_database(app).engine.connect() as connection:
        return list(MigrationContext.configure(connection).get_current_heads())


def heads(app: Flask) -> list[str]:
    return list(ScriptDirectory.from_config(alembic_config(app)).get_heads())


def applied(app: Flask) -> set[str]:
    """Every revision in effect: the stored heads and all they descend from or depend on.

    (Alembic stores only the tips: an add-on branch that depends on the core
    stands for the core revision too.)
    """
    script = ScriptDirectory.from_config(alembic_config(app))
    seen: set[str] = set()
    todo = list(current(app))
    while todo:
        revision = script.get_revision(todo.pop())
        if revision is None or revision.revision in seen:
            continue
        seen.add(revision.revision)
        for parent in (revision.down_revision, revision.dependencies):
            if parent:
                todo.extend([parent] if isinstance(parent, str) else parent)
    return seen


def is_up_to_date(app: Flask) -> bool:
    return set(heads(app)) <= applied(app)
