"""``coachdesk backup FILE`` and ``coachdesk restore FILE``: the database and the instance's files.

The archive is a tar.gz holding ``manifest.json``, one JSON-lines file per table under
``data/`` and the instance's files (``secret_key``, ``storage/``: documents and logos).

The database dump is *portable* (rows as JSON, read through SQLAlchemy) rather than
``pg_dump``/a copy of the SQLite file: it needs no client tool matching the server's
version, reads in one snapshot transaction while the site runs and writes (REPEATABLE
READ on PostgreSQL, a WAL read transaction on SQLite),
and restores into either database, so a site can move from SQLite to PostgreSQL.
A restore migrates the empty target to the revisions recorded in the manifest, then
inserts the rows in foreign-key order and moves PostgreSQL's sequences past them.
"""

from __future__ import annotations

import base64
import io
import json
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from decimal import Decimal
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path, PurePosixPath
from typing import Any

import click
from alembic.script import ScriptDirectory
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import (
    Connection,
    MetaData,
    Table,
    create_engine,
    event,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.pool import NullPool

from core.config import SECRET_KEY_FILE_NAME
from core.db import expression_indexes_unreflected, get_database, utcnow

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
VERSION_TABLE = "alembic_version"
#: Rows inserted per statement on restore.
BATCH = 500


class BackupError(Exception):
    """A backup or restore that cannot go on; the message tells the operator why."""


def coachdesk_version() -> str:
    try:
        return version("coachdesk")
    except PackageNotFoundError:  # pragma: no cover (always installed, if only editable)
        return "unknown"


# -- values ------------------------------------------------------------------


def _encode(value: Any) -> Any:
    """A JSON-safe form of a column value; the types JSON lacks are tagged."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite stores UTC
        return {"$datetime": aware.astimezone(UTC).isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, time):
        return {"$time": value.isoformat()}
    if isinstance(value, bytes | memoryview):
        return {"$bytes": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, dict):  # a JSON column: wrapped so a tagged-looking key stays data
        return {"$json": value}
    return value


def _decode(value: Any, sqlite: bool) -> Any:
    if not isinstance(value, dict):
        return value
    ((tag, raw),) = value.items()
    if tag == "$datetime":
        instant = datetime.fromisoformat(raw)
        return instant.replace(tzinfo=None) if sqlite else instant
    decoders: dict[str, Any] = {
        "$date": date.fromisoformat,
        "$time": time.fromisoformat,
        "$bytes": base64.b64decode,
        "$decimal": Decimal,
        "$json": lambda v: v,
    }
    return decoders[tag](raw)


# -- backup ------------------------------------------------------------------


@contextmanager
def _snapshot(app: Flask) -> Iterator[Connection]:
    """A connection reading one consistent state of the database, without stopping writers.

    PostgreSQL: a REPEATABLE READ, read-only transaction. SQLite: a plain (deferred)
    transaction on an engine of its own: in WAL mode it reads one snapshot while others
    write (the application's engine begins every transaction IMMEDIATE, which would
    make every writer wait for the whole backup).
    """
    database = get_database(app)
    if database.dialect == "postgresql":
        snapshot = database.engine.connect().execution_options(isolation_level="REPEATABLE READ")
        with snapshot as conn, conn.begin():
            conn.execute(text("SET TRANSACTION READ ONLY"))
            yield conn
        return
    reader = create_engine(database.engine.url, poolclass=NullPool)

    @event.listens_for(reader, "connect")
    def _no_driver_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we say BEGIN ourselves

    try:
        with reader.connect() as conn:
            conn.exec_driver_sql("BEGIN")  # deferred: the snapshot starts at the first read
            try:
                yield conn
            finally:
                conn.exec_driver_sql("ROLLBACK")
    finally:
        reader.dispose()


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(utcnow().timestamp())
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


def _reflect(conn: Connection) -> MetaData:
    """The tables as the database has them (expression indexes, which SQLAlchemy cannot
    reflect, do not matter here: migrations create them)."""
    metadata = MetaData()
    with expression_indexes_unreflected():
        metadata.reflect(conn)
    return metadata


def _dump_tables(conn: Connection, tar: tarfile.TarFile) -> tuple[list[str], dict[str, int]]:
    metadata = _reflect(conn)
    heads = (
        sorted(conn.execute(select(metadata.tables[VERSION_TABLE].c.version_num)).scalars())
        if VERSION_TABLE in metadata.tables
        else []
    )
    if not heads:
        raise BackupError("the database has no schema yet: there is nothing to back up")
    counts: dict[str, int] = {}
    for table in metadata.sorted_tables:
        if table.name == VERSION_TABLE:
            continue
        with tempfile.TemporaryFile() as spool:
            count = 0
            order = list(table.primary_key.columns) or list(table.columns)
            for row in conn.execute(select(table).order_by(*order)).mappings():
                line = {key: _encode(value) for key, value in row.items()}
                spool.write(json.dumps(line, ensure_ascii=False).encode() + b"\n")
                count += 1
            info = tarfile.TarInfo(f"data/{table.name}.jsonl")
            info.size = spool.tell()
            info.mtime = int(utcnow().timestamp())
            info.mode = 0o600
            spool.seek(0)
            tar.addfile(info, spool)
        counts[table.name] = count
    return heads, counts


def backup(app: Flask, target: Path) -> dict[str, Any]:
    """Write the site's database and files to ``target`` (a .tar.gz); return the manifest."""
    database = get_database(app)
    partial = target.with_name(target.name + ".partial")
    try:
        with tarfile.open(partial, "w:gz") as tar:
            with _snapshot(app) as conn:
                heads, counts = _dump_tables(conn, tar)
            files = _add_files(app, tar)
            manifest = {
                "format": FORMAT_VERSION,
                "coachdesk_version": coachdesk_version(),
                "database": database.dialect,
                "alembic_heads": heads,
                "created_at": utcnow().isoformat(),
                "tables": counts,
                "files": files,
            }
            _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=2).encode())
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    target.chmod(0o600)
    return manifest


def _add_files(app: Flask, tar: tarfile.TarFile) -> int:
    """Add the secret key and the storage folder; return how many files went in."""
    count = 0
    key_file = Path(app.instance_path) / SECRET_KEY_FILE_NAME
    if key_file.is_file():
        tar.add(key_file, arcname=SECRET_KEY_FILE_NAME)
        count += 1
    storage = Path(app.config["STORAGE_PATH"])
    for path in sorted(storage.rglob("*")):
        if path.is_file() and not path.name.startswith(".probe-"):
            tar.add(path, arcname=f"storage/{path.relative_to(storage).as_posix()}")
            count += 1
    return count


# -- restore -----------------------------------------------------------------


def read_manifest(archive: Path) -> dict[str, Any]:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.extractfile(MANIFEST)
            manifest: dict[str, Any] = json.load(member)  # type: ignore[arg-type]
    except (OSError, KeyError, tarfile.TarError, ValueError) as exc:
        raise BackupError(f"{archive} is not a Coachdesk backup: {exc}") from None
    if manifest.get("format") != FORMAT_VERSION:
        raise BackupError(
            f"{archive} has backup format {manifest.get('format')!r}; "
            f"this Coachdesk reads format {FORMAT_VERSION}"
        )
    return manifest


def _check_revisions(app: Flask, heads: list[str]) -> None:
    from core.migrations.runner import alembic_config

    script = ScriptDirectory.from_config(alembic_config(app))
    known = {rev.revision for rev in script.walk_revisions()}
    unknown = [head for head in heads if head not in known]
    if unknown:
        raise BackupError(
            f"the backup's schema ({', '.join(unknown)}) is newer than this Coachdesk knows, "
            "or belongs to an add-on that is not installed: install that version first"
        )


def _clear_target(app: Flask, force: bool) -> None:
    from core.migrations.runner import downgrade

    engine = get_database(app).engine
    if not inspect(engine).get_table_names():
        return
    if not force:
        raise BackupError(
            "the target database is not empty: restore into a new database, "
            "or use --force to replace everything in it"
        )
    downgrade(app, "base")
    with engine.begin() as conn:
        _reflect(conn).drop_all(conn)


def _insert_rows(conn: Connection, tar: tarfile.TarFile, manifest: dict[str, Any]) -> None:
    metadata = _reflect(conn)
    sqlite = conn.dialect.name == "sqlite"
    tables = [t for t in metadata.sorted_tables if t.name != VERSION_TABLE]
    missing = sorted(set(manifest["tables"]) - {t.name for t in tables})
    if missing:
        raise BackupError(f"after migrating, these tables are missing: {', '.join(missing)}")
    for table in reversed(tables):  # rows the migrations themselves seeded
        conn.execute(table.delete())
    paid: list[Any] = []
    for table in tables:
        if table.name not in manifest["tables"]:
            continue
        member = tar.extractfile(f"data/{table.name}.jsonl")
        if member is None:
            raise BackupError(f"the archive lacks the rows of {table.name}")
        rows: list[dict[str, Any]] = []
        for line in member:
            row = {key: _decode(value, sqlite) for key, value in json.loads(line).items()}
            if table.name == "coaching_sessions" and row.get("payment_status") == "paid":
                # The database refuses a paid session without its payment, inserted later.
                row["payment_status"] = "pending"
                paid.append(row["id"])
            rows.append(row)
            if len(rows) >= BATCH:
                conn.execute(table.insert(), rows)
                rows = []
        if rows:
            conn.execute(table.insert(), rows)
    for start in range(0, len(paid), BATCH):
        sessions = metadata.tables["coaching_sessions"]
        conn.execute(
            sessions.update()
            .where(sessions.c.id.in_(paid[start : start + BATCH]))
            .values(payment_status="paid")
        )
    if not sqlite:
        _reset_sequences(conn, tables)


def _reset_sequences(conn: Connection, tables: list[Table]) -> None:
    """Move each serial column's sequence past the restored rows (PostgreSQL)."""
    for table in tables:
        for column in table.primary_key.columns:
            sequence = conn.execute(
                text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": column.name}
            ).scalar()
            if sequence:
                highest = select(func.max(column)).scalar_subquery()
                conn.execute(select(func.setval(sequence, func.coalesce(highest, 0) + 1, False)))


def _restore_files(app: Flask, tar: tarfile.TarFile) -> int:
    storage = Path(app.config["STORAGE_PATH"])
    count = 0
    for member in tar.getmembers():
        name = PurePosixPath(member.name)
        if not member.isfile() or ".." in name.parts or name.is_absolute():
            continue
        if name.parts[0] == "storage" and len(name.parts) > 1:
            destination = storage.joinpath(*name.parts[1:])
        elif str(name) == SECRET_KEY_FILE_NAME:
            destination = Path(app.instance_path) / SECRET_KEY_FILE_NAME
        else:
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        source = tar.extractfile(member)
        assert source is not None  # a regular file always has content
        destination.write_bytes(source.read())
        if destination.name == SECRET_KEY_FILE_NAME:
            destination.chmod(0o600)
        count += 1
    return count


def restore(app: Flask, archive: Path, *, force: bool = False) -> dict[str, Any]:
    """Restore ``archive`` into this instance's (empty) database and folders."""
    from core.migrations.runner import upgrade

    manifest = read_manifest(archive)
    _check_revisions(app, manifest["alembic_heads"])
    _clear_target(app, force)
    for head in manifest["alembic_heads"]:
        upgrade(app, head)
    engine = get_database(app).engine
    with tarfile.open(archive, "r:gz") as tar:
        with engine.connect() as conn:
            # As migrations do on SQLite: foreign keys off (outside the transaction), checked after.
            if conn.dialect.name == "sqlite":
                conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
            try:
                with conn.begin():
                    _insert_rows(conn, tar, manifest)
                    if conn.dialect.name == "sqlite":
                        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                        if broken:
                            raise BackupError(f"restored rows break foreign keys: {broken[:5]}")
            finally:
                if conn.dialect.name == "sqlite":
                    conn.connection.driver_connection.execute("PRAGMA foreign_keys=ON")
        manifest["restored_files"] = _restore_files(app, tar)
    return manifest


# -- commands ----------------------------------------------------------------


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(file: Path) -> None:
    """Write the database and the instance's files (secret key, documents, logos) to FILE.

    Safe while the site runs. Restore with `coachdesk restore FILE`.
    """
    from core.cli import _ensure_reachable

    _ensure_reachable()
    try:
        manifest = backup(current_app, file)
    except (BackupError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    rows = sum(manifest["tables"].values())
    click.echo(
        f"Backup written to {file}: {rows} rows in {len(manifest['tables'])} tables, "
        f"{manifest['files']} files, schema {', '.join(manifest['alembic_heads'])}."
    )


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace whatever the target database holds.")
@with_appcontext
def restore_command(file: Path, force: bool) -> None:
    """Restore a backup made by `coachdesk backup` into this instance's empty database.

    Then run `coachdesk db upgrade` if this Coachdesk is newer than the backup.
    """
    from core.cli import _ensure_reachable

    _ensure_reachable()
    try:
        manifest = restore(current_app, file, force=force)
    except (BackupError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"Restored {sum(manifest['tables'].values())} rows and {manifest['restored_files']} "
        f"files from {file} (made {manifest['created_at']} by Coachdesk "
        f"{manifest['coachdesk_version']} on {manifest['database']})."
    )
