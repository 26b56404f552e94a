"""Server time of each client-area tab and of a receipt PDF, for a client with a long history.

How to run (from the repository root; takes about a minute)::

    /work/venv/bin/python bench/clientarea_bench.py            # 2,000 past + 50 upcoming
    /work/venv/bin/python bench/clientarea_bench.py --past 5000 --runs 50

It builds a throw-away SQLite database with the real migrations, seeds one client
with ``--past`` past sessions (every other one paid, with links and a document) and
``--upcoming`` upcoming ones, signs in through the login form, then requests every
tab ``--runs`` times. Times are measured inside the WSGI call (the server's work,
not the HTTP client's) and reported as median and 95th percentile, with the number
of SQL statements each request ran. Targets on SQLite: < 50 ms per tab, < 30 ms per
receipt PDF.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import event, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core import create_app  # noqa: E402
from core.accounts.models import Role  # noqa: E402
from core.accounts.service import create_user  # noqa: E402
from core.db import db, get_database, utcnow  # noqa: E402
from core.migrations.runner import upgrade  # noqa: E402
from core.payments.models import Payment  # noqa: E402
from core.sessions.models import CoachingSession, SessionDocument, SessionLink  # noqa: E402

PASSWORD = "bench password 2026"
TABS = ("sessions", "payments", "history", "history?page=50", "profile")


class Timed:
    """WSGI middleware remembering how long the last request took inside the app.

    ``last`` is wall time; ``last_cpu`` is the CPU time of the serving thread, which a
    busy machine (other processes competing for the cores) does not inflate.
    """

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.wsgi_app = wsgi_app
        self.last = self.last_cpu = 0.0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        started, cpu = time.perf_counter(), time.thread_time()
        body = list(self.wsgi_app(environ, start_response))  # drain: rendering is work too
        self.last = time.perf_counter() - started
        self.last_cpu = time.thread_time() - cpu
        return body


def add_sessions(client_id: int, coach_ids: list[int], past: int, upcoming: int) -> list[int]:
    """Sessions of every kind for one client; returns the ids of the paid ones (the caller commits).

    Upcoming: booked, every fifth cancelled by the coach. Past: completed, every other
    one paid. Every seventh has no price, every fourth is in CHF; each has a link and
    a document. The query-count test seeds with this too.
    """
    now = utcnow().replace(second=0, microsecond=0)
    paid_ids = []
    for n in range(past + upcoming):
        ahead = n < upcoming
        cancelled = ahead and n % 5 == 4
        day = timedelta(days=n + 2) if ahead else -timedelta(days=n - upcoming + 1)
        session = CoachingSession(
            coach_id=coach_ids[n % len(coach_ids)],
            client_id=client_id,
            title=f"Session {n}",
            starts_at=now + day,
            location="Studio 4",
            price_amount=None if n % 7 == 6 else 5000,
            currency="CHF" if n % 4 == 3 else "EUR",
            status="cancelled" if cancelled else "booked" if ahead else "completed",
            payment_status="cancelled" if cancelled else "pending",
            cancelled_by_id=coach_ids[0] if cancelled else None,
            cancelled_at=now if cancelled else None,
        )
        db.add(session)
        db.flush()
        db.add(SessionLink(session_id=session.id, label="Plan", url="https://example.com/plan"))
        db.add(
            SessionDocument(
                session_id=session.id,
                filename="plan.pdf",
                storage_name=f"{session.id:032d}",
                size_bytes=1,
                sha256="0" * 64,
            )
        )
        if not ahead and n % 2 and session.price_amount is not None:
            db.add(
                Payment(
                    session_id=session.id,
                    coach_id=session.coach_id,
                    amount=session.price_amount,
                    currency=session.currency,
                    method="transfer",
                    paid_at=now,
                )
            )
            db.flush()
            session.payment_status = "paid"
            paid_ids.append(session.id)
    return paid_ids


def seed(past: int, upcoming: int) -> tuple[str, list[int]]:
    """One coach, one client, their sessions; returns the client's email and paid session ids."""
    coach = create_user(
        email="coach@bench.test", first_name="Hélène", last_name="Durand", role=Role.COACH
    )
    client = create_user(
        email="client@bench.test",
        first_name="Chloé",
        last_name="Martin",
        role=Role.CLIENT,
        password=PASSWORD,
    )
    paid_ids = add_sessions(client.id, [coach.id], past, upcoming)
    db.commit()
    return client.email, paid_ids


def bench_app(tmp: str, database_url: str | None = None) -> Any:
    """The app every bench measures: quiet logs, no rate limit, SQLite in ``tmp`` by default."""
    return create_app(
        {
            "DATABASE_URL": database_url or f"sqlite:///{tmp}/bench.sqlite3",
            "SECRET_KEY": "bench-secret-key-long-enough-for-the-app",
            "LOG_LEVEL": "WARNING",
            "RATELIMIT_ENABLED": False,
        },
        instance_path=tmp,
    )


def large_data_arguments(doc: str) -> argparse.Namespace:
    """The options of the benches that seed the large data set afresh (coach, admin)."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--coaches", type=int, default=10)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--database-url", help="PostgreSQL URL (emptied first); default SQLite")
    return parser.parse_args()


def fresh_schema(app: Any) -> None:
    """Empty a PostgreSQL bench database (SQLite benches start from a new file)."""
    engine = get_database(app).engine
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))


def sign_in(app: Any, email: str) -> Any:
    """A test client signed in through the real login form (password :data:`PASSWORD`)."""
    browser = app.test_client()
    with browser.session_transaction() as session:
        session["csrf_token"] = "bench"
    token = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps("bench")
    response = browser.post(
        "/" + app.config["SLUGS"]["login"],
        data={"email": email, "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302, f"login failed for {email}"
    return browser


def percentiles(values: list[float]) -> tuple[float, float]:
    """(median, 95th percentile)."""
    ordered = sorted(values)
    return statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))]


def measure(app: Any, timed: Timed, browser: Any, url: str, runs: int) -> list[float]:
    """[median ms, p95 ms, median CPU ms, SQL statements] of ``runs`` GETs after a warm-up."""
    statements: list[str] = []
    engine = get_database(app).engine

    def count(*_args: Any) -> None:
        statements.append("")

    browser.get(url)
    times, cpu = [], []
    event.listen(engine, "before_cursor_execute", count)
    try:
        for _ in range(runs):
            statements.clear()
            response = browser.get(url)
            assert response.status_code == 200, (url, response.status_code)
            times.append(timed.last * 1000)
            cpu.append(timed.last_cpu * 1000)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return [*percentiles(times), statistics.median(cpu), len(statements)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--past", type=int, default=2000)
    parser.add_argument("--upcoming", type=int, default=50)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        app = bench_app(tmp)
        upgrade(app)
        with app.app_context():
            email, paid_ids = seed(args.past, args.upcoming)
        timed = Timed(app.wsgi_app)
        app.wsgi_app = timed  # type: ignore[method-assign]
        browser = sign_in(app, email)
        area = "/" + app.config["SLUGS"]["client_area"]

        print(
            f"client with {args.past} past and {args.upcoming} upcoming sessions,"
            f" {args.runs} runs each"
        )
        print(f"{'request':<28}{'median ms':>10}{'p95 ms':>8}{'CPU ms':>8}{'SQL':>5}")
        rows = [(f"{area}/{tab}", f"tab {tab}") for tab in TABS]
        rows.append((f"/receipts/{paid_ids[0]}.pdf", "receipt PDF"))
        rows.append((f"/receipts/{paid_ids[0]}", "receipt page"))
        for url, label in rows:
            median, p95, cpu, sql = measure(app, timed, browser, url, args.runs)
            print(f"{label:<28}{median:>10.1f}{p95:>8.1f}{cpu:>8.1f}{sql:>5}")
        # First issue of a receipt (numbering + freezing + PDF), once per paid session.
        first, first_cpu = [], []
        for sid in paid_ids[1 : 1 + args.runs]:
            browser.get(f"/receipts/{sid}.pdf")
            first.append(timed.last * 1000)
            first_cpu.append(timed.last_cpu * 1000)
        median, p95 = percentiles(first)
        cpu = statistics.median(first_cpu)
        print(f"{'receipt PDF, first issue':<28}{median:>10.1f}{p95:>8.1f}{cpu:>8.1f}")


if __name__ == "__main__":
    main()
