"""Database plumbing: the declarative base, the UTC type, and one ORM session per app context.

SQLite (the embedded default) runs in WAL mode with foreign keys on, and every
transaction starts with ``BEGIN IMMEDIATE``: concurrent writers then wait for
each other (busy timeout) instead of failing with "database is locked" when a
read turns into a write.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from flask import Flask, current_app, g
from sqlalchemy import DateTime, Engine, MetaData, create_engine, event, inspect, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator
from werkzeug.local import LocalProxy

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """An instant: stored in UTC, always returned timezone-aware; naive values are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column; attach a time zone first")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every core and add-on model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


def utcnow() -> datetime:
    """The current instant, timezone-aware (the only 'now' the application uses)."""
    return datetime.now(UTC)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with the per-backend settings the application relies on."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


class Database:
    """Engine and session factory of one application."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def has_schema(self) -> bool:
        """Whether migrations were run at least once on this database."""
        return inspect(self.engine).has_table("alembic_version")

    def ping(self) -> None:
        """Open a connection (raises ``sqlalchemy.exc.OperationalError`` when unreachable)."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))


def init_app(app: Flask, database: Database) -> None:
    app.extensions["coachdesk.db"] = database

    app.teardown_appcontext(close_session)


def close_session(exc: BaseException | None = None) -> None:
    """End the app context's ORM session (rolling back what was not committed)."""
    session: Session | None = g.pop("_db_session", None)
    if session is not None:
        if exc is not None:
            session.rollback()
        session.close()


def reset_session() -> None:
    """Roll back the request's ORM session, whatever state a failure left it in.

    Error pages call it before rendering: their own queries (the menu, site options) must
    not run inside a transaction PostgreSQL has already aborted.
    """
    session: Session | None = g.get("_db_session")
    if session is None:
        return
    try:
        session.rollback()
    except Exception:  # a dead connection: start over with a new session
        session.close()
        g.pop("_db_session", None)


#: SQLSTATEs of a write that lost a race: unique violation, serialization failure, deadlock.
CONFLICT_SQLSTATES = {"23505", "40001", "40P01"}


def is_conflict(error: BaseException) -> bool:
    """Whether a database error means "someone else wrote this first" (so: try again).

    A version check that matched no row (``StaleDataError``), a unique constraint taken
    meanwhile, or PostgreSQL giving up one of two transactions that crossed.
    """
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.orm.exc import StaleDataError

    if isinstance(error, StaleDataError):
        return True
    if not isinstance(error, DBAPIError):
        return False
    original = error.orig
    if getattr(original, "sqlstate", None) in CONFLICT_SQLSTATES:
        return True
    return "UNIQUE constraint failed" in str(original)  # SQLite


def get_database(app: Flask | None = None) -> Database:
    return cast(Database, (app or current_app).extensions["coachdesk.db"])


def _current_session() -> Session:
    session: Session | None = g.get("_db_session")
    if session is None:
        session = get_database().sessionmaker()
        g._db_session = session
    return session


#: The ORM session of the current app context (request, CLI command or worker pass).
db: Session = cast(Session, LocalProxy(_current_session))
