"""Database plumbing: the declarative base, the UTC type, and one ORM session per app context.

SQLite (the embedded default) runs in WAL mode with foreign keys on. Its writers
take turns: a transaction that writes starts with ``BEGIN IMMEDIATE``, so that it
waits for the write lock (busy timeout) when it starts. A deferred transaction that
has read and then writes could not wait: SQLite refuses the upgrade at once
("database is locked") when another connection holds the lock or wrote since.

Reads need no lock in WAL mode, so a request that should only read (GET, HEAD,
OPTIONS) runs its transactions deferred: any number of web workers serve pages at
once, while one connection writes. Such a request may still write:

- a transaction whose first statement writes (the login-session touch after the
  view, which rolls back first) takes the write lock as an immediate one would;
- a transaction that has read and is about to write is stopped before that write
  (nothing was written yet) and the whole request starts again, its transactions
  immediate this time (:class:`ReadRequests`): the first issue of a receipt, the
  audit record of a data export, the return from a payment page.

Everything else (POST and other methods, the CLI, the worker, tests' own app
contexts) begins immediate, as before.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, cast

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import DateTime, Engine, MetaData, TextClause, create_engine, event, inspect, text
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import SAWarning
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.sql.ddl import ExecutableDDLElement
from sqlalchemy.types import TypeDecorator
from werkzeug.local import LocalProxy

log = logging.getLogger(__name__)

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


#: Methods that only read (RFC 9110's safe methods): deferred transactions on SQLite.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: WSGI environ key: true while a safe request has written nothing and may start again.
READ_ONLY = "coachdesk.db.read_only"
#: ``Connection.info`` key: the SQLite transaction's state, "deferred" (began, nothing
#: run), "read" (a read snapshot is held: it cannot wait for the write lock) or "write".
_TRANSACTION = "coachdesk.sqlite_transaction"
_WRITE_VERBS = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER"})
_NEUTRAL_VERBS = frozenset({"BEGIN", "SAVEPOINT", "RELEASE", "ROLLBACK", "COMMIT"})


class WriteNeeded(BaseException):
    """A read request is about to write after reading: start it again, immediate.

    A BaseException, as SystemExit is: code that contains failures (``except
    Exception``) must not swallow it, and nothing has been written when it is raised.
    """


def _verb(sql: str) -> str:
    return sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""


def _writes(statement: Any) -> bool:
    """Whether a statement about to be executed (SQL text or construct) writes."""
    if isinstance(statement, ExecutableDDLElement) or getattr(statement, "is_dml", False):
        return True
    if isinstance(statement, TextClause):
        statement = statement.text
    return isinstance(statement, str) and _verb(statement) in _WRITE_VERBS


def _read_only_request() -> bool:
    return has_request_context() and bool(request.environ.get(READ_ONLY))


def _written() -> None:
    """This request wrote: its later transactions begin immediate, and it cannot restart."""
    if has_request_context():
        request.environ[READ_ONLY] = False


def writes_ahead() -> None:
    """Say that the rest of this request writes: its next transactions begin immediate.

    For a read request that changes something outside the database (memory, another
    system) before it writes, which starting it again would not undo. The transaction
    in progress is not changed: call it before ``db.commit()`` ends one.
    """
    _written()


def _sqlite_engine(url: str, **kwargs: Any) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        deferred = _read_only_request()
        connection.info[_TRANSACTION] = "deferred" if deferred else "write"
        connection.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")

    @event.listens_for(engine, "before_execute")
    def _stop_upgrade(connection: Connection, statement: Any, *_args: Any) -> None:
        """A read snapshot cannot wait for the write lock: restart the request instead.

        Here rather than at the cursor: SQLAlchemy treats a BaseException raised there
        as a lost connection.
        """
        if (
            connection.info.get(_TRANSACTION) == "read"
            and _writes(statement)
            and connection.in_transaction()
            and _read_only_request()
        ):
            raise WriteNeeded

    @event.listens_for(engine, "before_cursor_execute")
    def _track(connection: Connection, _cursor: Any, sql: str, *_args: Any) -> None:
        state, verb = connection.info.get(_TRANSACTION), _verb(sql)
        if verb in _WRITE_VERBS:
            if state != "write":
                _written()
            connection.info[_TRANSACTION] = "write"
        elif state == "deferred" and verb not in _NEUTRAL_VERBS:
            connection.info[_TRANSACTION] = "read"

    return engine


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with the per-backend settings the application relies on."""
    if url.startswith("sqlite"):
        return _sqlite_engine(url, **kwargs)
    return create_engine(url, pool_pre_ping=True, **kwargs)


class ReadRequests:
    """WSGI middleware (SQLite only): safe requests read without the write lock.

    Marks a GET, HEAD or OPTIONS request read-only, so that its transactions begin
    deferred, and starts it once more, immediate, if it stopped on :class:`WriteNeeded`.
    The response is held until the application has finished (teardown included), so
    that a restart never follows a response already started.
    """

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.wsgi_app = wsgi_app

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") not in SAFE_METHODS:
            return self.wsgi_app(environ, start_response)
        started: list[Any] = []

        def hold(*args: Any) -> Callable[[bytes], Any]:
            started[:] = args
            return _no_write

        environ[READ_ONLY] = True
        try:
            body = self.wsgi_app(environ, hold)
        except WriteNeeded:
            log.debug("read request %s writes: starting it again", environ.get("PATH_INFO"))
            environ[READ_ONLY] = False
            return self.wsgi_app(environ, start_response)
        environ[READ_ONLY] = False  # what runs while the body streams begins immediate
        start_response(*started)
        return body


def _no_write(_data: bytes) -> None:
    raise RuntimeError("a read request's response is sent when the application returns")


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
    if database.dialect == "sqlite":
        app.wsgi_app = ReadRequests(app.wsgi_app)  # type: ignore[method-assign]
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


@contextmanager
def expression_indexes_unreflected() -> Iterator[None]:
    """Reflect tables without SQLAlchemy's warning that it skips expression indexes
    (users' ``lower(email)``). Reflection here only copies, rebuilds or drops tables
    (backups, SQLite batch migrations, add-on purges); migrations create those indexes."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", "Skipped unsupported reflection of expression-based index", SAWarning
        )
        yield


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
