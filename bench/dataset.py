"""The large data set of the side-by-side bench, built once and reused.

How to run (from the repository root; ``side_by_side.py`` calls it for you)::

    .venv/bin/python bench/dataset.py                      # SQLite file in bench/data/
    .venv/bin/python bench/dataset.py --sessions 5000      # a small one, for a quick run
    .venv/bin/python bench/dataset.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_harness

``coach_bench.py``'s seeding code fills the database: ``--coaches`` coaches,
``--clients`` clients and ``--sessions`` sessions (default 10, 1,000 and 100,000,
the figures of issue 15), plus a password for the first client so the client area
can be signed into, and the site's setup marked done (else the admin dashboard is
the setup wizard). Seeding 100,000 sessions takes a while, so the data set is kept:
SQLite in ``bench/data/`` (one file per size), PostgreSQL in the given database. It
is reused when it holds exactly that many coaches, clients and sessions (migrations
added since are applied to it), rebuilt otherwise or with ``--rebuild``. Sessions are
placed around the day of seeding: an old data set has fewer upcoming ones.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clientarea_bench import PASSWORD, bench_app, fresh_schema  # noqa: E402
from coach_bench import seed  # noqa: E402

from core.accounts.passwords import hash_password  # noqa: E402
from core.admin.setup import SETUP_COMPLETED  # noqa: E402
from core.db import db, get_database  # noqa: E402
from core.migrations.runner import upgrade  # noqa: E402
from core.settings import get_option, set_option  # noqa: E402

DATA_DIR = ROOT / "bench" / "data"
ADMIN, COACH, CLIENT = "admin@bench.test", "coach0@bench.test", "client0@bench.test"


@dataclass(frozen=True)
class Size:
    """How much data: the issue's figures by default."""

    coaches: int = 10
    clients: int = 1000
    sessions: int = 100_000


@dataclass(frozen=True)
class Facts:
    """What the pages of the bench need: who signs in, and ids to put in URLs."""

    url: str
    client_id: int  # the first client (of the first coach): client area and profile tabs
    coach_id: int  # the first coach: the admin's coach filter
    session_id: int  # one of the first coach's sessions: the session editor
    receipt_id: int  # a paid session of the first client: the receipt
    today: date


def database_url(size: Size, url: str | None) -> str:
    """The given URL, or this size's SQLite file in :data:`DATA_DIR`."""
    if url:
        return url
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    name = f"coachdesk-{size.coaches}-{size.clients}-{size.sessions}.sqlite3"
    return f"sqlite:///{DATA_DIR / name}"


def _holds(size: Size) -> bool:
    """Whether the open database already is a data set of ``size`` (counts, and our users)."""
    counts = db.execute(
        text(
            "SELECT (SELECT count(*) FROM users WHERE role = 'coach'),"
            " (SELECT count(*) FROM users WHERE role = 'client'),"
            " (SELECT count(*) FROM coaching_sessions),"
            " (SELECT count(*) FROM users WHERE email IN (:a, :c) AND password_hash IS NOT NULL)"
        ),
        {"a": ADMIN, "c": CLIENT},
    ).one()
    expected = (size.coaches, size.clients, size.sessions, 2)
    return tuple(counts) == expected and bool(get_option(SETUP_COMPLETED))


def _facts(url: str) -> Facts:
    """Read the ids the pages need (the same ones whether just seeded or reused)."""
    query = text("SELECT email, id FROM users WHERE email IN (:a, :b)")
    ids = dict(db.execute(query, {"a": COACH, "b": CLIENT}).all())
    coach_id, client_id = ids[COACH], ids[CLIENT]
    session_id = db.scalar(
        text("SELECT min(id) FROM coaching_sessions WHERE coach_id = :c"), {"c": coach_id}
    )
    receipt_id = db.scalar(
        text(
            "SELECT min(s.id) FROM coaching_sessions s JOIN payments p ON p.session_id = s.id"
            " WHERE s.client_id = :c"
        ),
        {"c": client_id},
    )
    assert session_id and receipt_id, "the data set has no session or no payment to show"
    return Facts(url, client_id, coach_id, session_id, receipt_id, date.today())


def build(size: Size, url: str | None, instance: str, rebuild: bool = False) -> tuple[Any, Facts]:
    """The bench app on the data set of ``size``, seeded now unless it already exists."""
    url = database_url(size, url)
    app = bench_app(instance, url)
    exists = get_database(app).has_schema() and not rebuild
    if exists:
        upgrade(app)  # migrations added since it was seeded
        with app.app_context():
            exists = _holds(size)
    if not exists:
        if url.startswith("sqlite:///"):
            get_database(app).engine.dispose()
            for suffix in ("", "-wal", "-shm"):
                Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
        fresh_schema(app)
        upgrade(app)
        started = time.perf_counter()
        with app.app_context():
            seed(size.coaches, size.clients, size.sessions)
            db.execute(
                text("UPDATE users SET password_hash = :h WHERE email = :e"),
                {"h": hash_password(PASSWORD), "e": CLIENT},
            )
            set_option(SETUP_COMPLETED, True)  # else the admin dashboard is the setup wizard
            db.commit()
        print(
            f"seeded {size.sessions} sessions in {time.perf_counter() - started:.0f} s",
            file=sys.stderr,
        )
    if get_database(app).dialect == "postgresql":
        # As autovacuum leaves a live site (it may be off on a test server, as it is on this
        # machine): planner statistics, and the visibility map index-only scans need.
        engine = get_database(app).engine
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    with app.app_context():
        return app, _facts(url)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The data-set options, shared with ``side_by_side.py``."""
    parser.add_argument("--database-url", help="PostgreSQL URL (reused or reseeded)")
    parser.add_argument("--coaches", type=int, default=Size.coaches)
    parser.add_argument("--clients", type=int, default=Size.clients)
    parser.add_argument("--sessions", type=int, default=Size.sessions)
    parser.add_argument("--rebuild", action="store_true", help="seed again even if it exists")


def size_of(args: argparse.Namespace) -> Size:
    return Size(args.coaches, args.clients, args.sessions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    args = parser.parse_args()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    app, facts = build(size_of(args), args.database_url, str(DATA_DIR), args.rebuild)
    get_database(app).engine.dispose()
    print(facts)


if __name__ == "__main__":
    main()
