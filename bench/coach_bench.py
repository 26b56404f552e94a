"""Server time of the coach workspace pages with 1,000 clients and 100,000 sessions.

How to run (from the repository root; seeding takes about half a minute)::

    /work/venv/bin/python bench/coach_bench.py                     # SQLite, 30 runs per page
    /work/venv/bin/python bench/coach_bench.py --clients 100 --sessions 10000 --runs 10
    /work/venv/bin/python bench/coach_bench.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/coach_bench

It builds a throw-away database with the real migrations (SQLite in a temporary
folder, or the given PostgreSQL database, which it empties first), bulk-inserts
``--coaches`` coaches, ``--clients`` clients (each assigned to one coach) and
``--sessions`` sessions spread over 18 months back and 6 months ahead (past ones
mostly completed, two in three of those paid), with core SQL for speed. It then
signs in through the login form as the first coach (a tenth of the data) and as an
administrator (all of it) and requests each page ``--runs`` times after a warm-up.
Times are measured inside the WSGI call and reported as median and 95th percentile,
with CPU time and the number of SQL statements per request (which must not depend
on the amount of data: compare with a smaller ``--sessions``).
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clientarea_bench import (  # noqa: E402
    PASSWORD,
    Timed,
    bench_app,
    fresh_schema,
    large_data_arguments,
    measure,
    sign_in,
)

from core.accounts.models import CoachClient, Role, User, new_token  # noqa: E402
from core.accounts.passwords import hash_password  # noqa: E402
from core.db import db, get_database, utcnow  # noqa: E402
from core.migrations.runner import upgrade  # noqa: E402
from core.sessions.models import CoachingSession  # noqa: E402

FIRST = ["Chloé", "Lucas", "Emma", "Hugo", "Léa", "Louis", "Manon", "Jules", "Camille", "Noah"]
LAST = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy"]


def seed(coaches: int, clients: int, sessions: int) -> dict[str, Any]:
    """Bulk-insert people and sessions; return the emails to sign in with and sample ids."""
    rng = random.Random(2026)
    now = utcnow().replace(second=0, microsecond=0)
    password = hash_password(PASSWORD)

    def person(n: int, role: Role, email: str) -> dict[str, Any]:
        return {
            "email": email,
            "first_name": FIRST[n % len(FIRST)],
            "last_name": f"{LAST[n % len(LAST)]}-{n}",
            "phone": f"06 {n:08d}"[:14],
            "role": role.value,
            "password_hash": password if role != Role.CLIENT else None,
            "session_token": new_token(),
            "is_active": True,
            "created_at": now - timedelta(days=n % 700),
        }

    people = [person(0, Role.ADMIN, "admin@bench.test")]
    people += [person(n, Role.COACH, f"coach{n}@bench.test") for n in range(coaches)]
    people += [person(n, Role.CLIENT, f"client{n}@bench.test") for n in range(clients)]
    db.execute(insert(User), people)
    ids = dict(db.execute(text("SELECT email, id FROM users")).all())
    coach_ids = [ids[f"coach{n}@bench.test"] for n in range(coaches)]
    client_ids = [ids[f"client{n}@bench.test"] for n in range(clients)]
    db.execute(
        insert(CoachClient),
        [{"coach_id": coach_ids[i % coaches], "client_id": c} for i, c in enumerate(client_ids)],
    )
    rows = []
    for n in range(sessions):
        index = n % clients
        start = now + timedelta(days=rng.randint(-540, 180), hours=rng.randint(-6, 6))
        past = start < now
        roll = rng.random()
        status = (
            ("completed" if roll < 0.9 else "cancelled" if roll < 0.95 else "no_show")
            if past
            else ("booked" if roll < 0.7 else "confirmed" if roll < 0.95 else "cancelled")
        )
        rows.append(
            {
                "coach_id": coach_ids[index % coaches],
                "client_id": client_ids[index],
                "client_role": "client",
                "title": f"Session {n}",
                "starts_at": start.replace(minute=0),
                "duration_minutes": 60,
                "location": "Studio 4",
                "price_amount": 5000 if n % 7 else None,
                "currency": "EUR",
                "status": status,
                "payment_status": "cancelled" if status == "cancelled" else "pending",
                "created_by_id": coach_ids[index % coaches],
                "created_at": now,
                "updated_at": now,
                "version": 1,
                "schedule_revision": 1,
            }
        )
    for chunk in range(0, len(rows), 10_000):
        db.execute(insert(CoachingSession), rows[chunk : chunk + 10_000])
    db.execute(
        text(
            "INSERT INTO payments (session_id, coach_id, amount, currency, method, paid_at,"
            " provider, created_at) SELECT id, coach_id, price_amount, currency, 'transfer',"
            " starts_at, 'manual',"
            " starts_at FROM coaching_sessions WHERE status = 'completed'"
            " AND price_amount IS NOT NULL AND id % 3 <> 0"
        )
    )
    db.execute(
        text(
            "UPDATE coaching_sessions SET payment_status = 'paid'"
            " WHERE id IN (SELECT session_id FROM payments)"
        )
    )
    db.commit()
    if db.get_bind().dialect.name == "postgresql":
        # The statistics autovacuum gathers in production (it may be off on a test server):
        # without them the planner picks plans meant for empty tables (seq scans, no index).
        db.execute(text("ANALYZE"))
        db.commit()
    return {
        "coach": "coach0@bench.test",
        "admin": "admin@bench.test",
        "client_id": client_ids[0],
        "session_id": int(
            db.scalar(
                text("SELECT min(id) FROM coaching_sessions WHERE coach_id = :c"),
                {"c": coach_ids[0]},
            )
        ),
    }


def pages(facts: dict[str, Any]) -> list[tuple[str, str]]:
    client, session = facts["client_id"], facts["session_id"]
    return [
        ("/accueil-coach", "coach home"),
        ("/accueil-coach?page=5", "coach home, page 5"),
        ("/accueil-coach?tab=statistics", "statistics"),
        ("/calendrier-seances", "calendar month"),
        ("/calendrier-seances?view=week", "calendar week"),
        ("/mes-clients", "my clients"),
        ("/mes-clients?sort=next&page=3", "my clients, by next"),
        ("/mes-clients?q=martin", "my clients, search"),
        (f"/customer/{client}", "profile overview"),
        (f"/customer/{client}/finances", "profile finances"),
        (f"/coach/sessions/{session}", "session editor"),
    ]


def main() -> None:
    args = large_data_arguments(__doc__)

    with tempfile.TemporaryDirectory() as tmp:
        app = bench_app(tmp, args.database_url)
        fresh_schema(app)
        upgrade(app)
        started = time.perf_counter()
        with app.app_context():
            facts = seed(args.coaches, args.clients, args.sessions)
        seconds = time.perf_counter() - started
        timed = Timed(app.wsgi_app)
        app.wsgi_app = timed  # type: ignore[method-assign]
        dialect = get_database(app).dialect
        print(
            f"{dialect}: {args.clients} clients, {args.sessions} sessions, {args.coaches} coaches"
            f" (seeded in {seconds:.1f} s); {args.runs} runs per page"
        )
        for role in ("coach", "admin"):
            browser = sign_in(app, facts[role])
            share = "a tenth of the data" if role == "coach" else "all of it"
            print(f"\nas {role} ({share})")
            print(f"{'page':<24}{'median ms':>10}{'p95 ms':>8}{'CPU ms':>8}{'SQL':>5}")
            for url, label in pages(facts):
                median, p95, cpu, sql = measure(app, timed, browser, url, args.runs)
                print(f"{label:<24}{median:>10.1f}{p95:>8.1f}{cpu:>8.1f}{sql:>5}")
        get_database(app).engine.dispose()


if __name__ == "__main__":
    main()
