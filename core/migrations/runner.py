"""Run Alembic from inside the application: the core branch plus every installed add-on's.

Each add-on's revisions form an independent branch (``down_revision = None``, its
name as branch label). The core branch is always brought to its head first, so an
add-on's tables may refer to the core's. An add-on that was uninstalled while its
revisions were applied leaves rows in ``alembic_version`` that no script explains;
every run sets those rows aside and puts them back in the same transaction, so the
site keeps migrating, and reinstalling the add-on picks up where it was.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from flask import Flask, has_app_context
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import SQLAlchemyError

from core.db import expression_indexes_unreflected, get_database

#: Serialises migrations between processes on PostgreSQL (any constant would do).
ADVISORY_LOCK = 0x436F6163  # "Coac"


class MigrationError(Exception):
    """A migration failed; nothing of that run was applied. The message says what failed."""


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
                if not sqlite:
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK}
                    )
                cfg.attributes["connection"] = connection
                orphans = _set_aside_orphans(connection, cfg)
                fn(cfg, *args)
                _put_back(connection, orphans)
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migration left broken foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


def _set_aside_orphans(connection: Connection, cfg: Config) -> list[str]:
    """Remove (inside the run's transaction) version rows of add-ons no longer installed."""
    if not inspect(connection).has_table("alembic_version"):
        return []
    script = ScriptDirectory.from_config(cfg)
    known = {rev.revision for rev in script.walk_revisions()}
    rows = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    orphans = [row for row in rows if row not in known]
    for row in orphans:
        connection.execute(text("DELETE FROM alembic_version WHERE version_num = :v"), {"v": row})
    return orphans


def _put_back(connection: Connection, orphans: list[str]) -> None:
    for row in orphans:
        connection.execute(
            text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": row}
        )


def _upgrade_core_then(cfg: Config, target: str) -> None:
    command.upgrade(cfg, "core@head")
    command.upgrade(cfg, target)


def _reason(exc: BaseException) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]


def upgrade(app: Flask, target: str | None = None) -> dict[str, str]:
    """Upgrade to ``target``; by default the core, then each installed add-on's branch.

    Each add-on's branch runs in its own transaction after the core's: one whose
    migration fails is left as it was and reported in the returned mapping
    (add-on → reason), and the others go on. A failure of the core raises.
    """
    from core.plugins import get_host

    if target not in (None, "heads"):
        _run(app, command.upgrade, target)
        return {}
    _run(app, command.upgrade, "core@head")
    host = get_host(app)
    failures: dict[str, str] = {}
    for name in sorted(n for n, a in host.addons.items() if a.loaded):
        if host.migration_folders(name):
            try:
                host.record_migration(app, name, upgrade_addon(app, name))
            except MigrationError as exc:
                failures[name] = str(exc)
    return failures


def upgrade_addon(app: Flask, name: str) -> list[str]:
    """Bring the core and add-on ``name`` to their heads; return the tables this created.

    One transaction (DDL is transactional on both databases here): a failure raises
    :class:`MigrationError` with the reason and leaves nothing applied.
    """
    from core.plugins import get_host

    if not get_host(app).migration_folders(name):
        return []
    engine = get_database(app).engine
    before = set(inspect(engine).get_table_names())
    try:
        _run(app, _upgrade_core_then, f"{name}@head")
    except (CommandError, SQLAlchemyError, RuntimeError) as exc:
        raise MigrationError(_reason(exc)) from exc
    return sorted(set(inspect(engine).get_table_names()) - before)


def branch_revisions(app: Flask, name: str) -> list[str]:
    """Every revision of add-on ``name``'s branch (empty if it has none)."""
    from core.plugins import get_host

    if not get_host(app).migration_folders(name):
        return []
    script = ScriptDirectory.from_config(alembic_config(app))
    return [rev.revision for rev in script.walk_revisions() if name in rev.branch_labels]


def drop_tables(app: Flask, tables: list[str], revisions: list[str]) -> None:
    """Drop ``tables`` (in foreign-key order) and forget ``revisions``, in one transaction."""
    from sqlalchemy import MetaData

    with get_database(app).engine.begin() as connection:
        existing = set(inspect(connection).get_table_names())
        metadata = MetaData()
        with expression_indexes_unreflected():  # the tables they refer to come along
            metadata.reflect(connection, only=[t for t in tables if t in existing])
        metadata.drop_all(connection)
        if revisions and "alembic_version" in existing:
            for revision in revisions:
                connection.execute(
                    text("DELETE FROM alembic_version WHERE version_num = :v"), {"v": revision}
                )


def downgrade(app: Flask, target: str) -> None:
    """Downgrade to ``target``; ``base`` takes the add-ons' branches down before the core's.

    (The branches are independent for Alembic, but add-on tables refer to core ones.)
    """
    if target != "base":
        _run(app, command.downgrade, target)
        return
    from core.plugins import get_host

    host = get_host(app)
    done = applied(app)
    addons = [
        name
        for name in sorted(host.addons)
        if host.addons[name].loaded and set(branch_revisions(app, name)) & done
    ]

    def all_down(cfg: Config) -> None:
        for name in addons:
            command.downgrade(cfg, f"{name}@base")
        command.downgrade(cfg, "base")

    _run(app, all_down)


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
    stands for the core revision too.) Rows of an uninstalled add-on, which no script
    explains, are left out.
    """
    script = ScriptDirectory.from_config(alembic_config(app))
    known = {rev.revision for rev in script.walk_revisions()}
    seen: set[str] = set()
    todo = [rev for rev in current(app) if rev in known]
    while todo:
        revision = script.get_revision(todo.pop())
        if revision is None or revision.revision in seen:
            continue
        seen.add(revision.revision)
        for parent in (revision.down_revision, revision.dependencies):
            if parent:
                todo.extend([parent] if isinstance(parent, str) else parent)
    return seen


def is_up_to_date(app: Flask, addons: Iterable[str] | None = None) -> bool:
    """Whether the core, and the add-ons named (default: the active ones), are at their heads.

    An inactive add-on's pending migrations do not count: activation runs them.
    """
    from core.plugins import get_host

    script = ScriptDirectory.from_config(alembic_config(app))
    done = applied(app)

    def at_head(branches: set[str]) -> bool:
        return all(
            head in done
            for head in script.get_heads()
            if script.get_revision(head).branch_labels & branches  # type: ignore[union-attr]
        )

    if not at_head({"core"}):
        return False
    if addons is None:
        if not has_app_context():
            with app.app_context():
                return at_head(set(get_host(app).active_names()))
        addons = get_host(app).active_names()
    return at_head(set(addons))


def branch_heads(app: Flask, label: str) -> list[str]:
    """The head revisions of branch ``label`` (``core`` or an add-on's name)."""
    script = ScriptDirectory.from_config(alembic_config(app))
    return [rev.revision for rev in script.get_revisions(f"{label}@head") if rev is not None]


def new_revision(
    app: Flask, message: str, *, addon: str | None = None, autogenerate: bool = False
) -> Path:
    """Write a new revision file at the head of the core's branch or of add-on ``addon``'s.

    An add-on's first revision starts its branch (``down_revision = None``, its name as
    branch label) in its first migration folder. Revision ids count up per branch
    (``0003``, ``feedback_0002``) so that files sort in order. With ``autogenerate``
    the file holds what the models differ from the database by (compare it to the
    upgraded database: every model of the process counts, so review it).
    """
    from core.plugins import get_host

    label = addon or "core"
    script = ScriptDirectory.from_config(alembic_config(app))
    existing = [r for r in script.walk_revisions() if label in r.branch_labels]
    if addon is None:
        folder, rev_id = MIGRATIONS_DIR / "versions", f"{len(existing) + 1:04d}"
    else:
        folders = get_host(app).migration_folders(addon)
        if not folders:
            raise MigrationError(f"add-on {addon} has no migration folder (migration_folders)")
        folder, rev_id = Path(folders[0]), f"{addon}_{len(existing) + 1:04d}"
        folder.mkdir(parents=True, exist_ok=True)
    where = {"version_path": str(folder)}
    if existing:
        where["head"] = f"{label}@head"
    else:
        where.update(head="base", branch_label=label)

    written: list[Path] = []

    def write(cfg: Config) -> None:
        revision = command.revision(cfg, message, autogenerate=autogenerate, rev_id=rev_id, **where)
        written.append(Path(revision.path))  # type: ignore[union-attr]

    if autogenerate:
        _run(app, write)
    else:
        write(alembic_config(app))
    return written[0]
