"""Benchmark: 10,000 sessions due for a reminder, queued and delivered to a local SMTP server.

How to run (from the repository root, with the project's virtualenv)::

    python bench/emails_reminders.py          # SQLite with 1 worker, PostgreSQL with 1 and 2
    python bench/emails_reminders.py --postgres-url ''               # SQLite only
    python bench/emails_reminders.py --sessions 2000 --postgres-workers 1 2 4
    python bench/emails_reminders.py --profile /tmp/prof             # cProfile per worker thread

SQLite lives in a temporary folder. The PostgreSQL database (``--postgres-url``,
default ``postgresql+psycopg://postgres@127.0.0.1:5432/emails_bench``) must exist
(``createdb -h 127.0.0.1 -U postgres emails_bench``); its public schema is dropped and
rebuilt. Each scenario starts from the same due sessions, runs N worker processes (each
with its own app and database connections, exactly what ``coachdesk worker`` runs: the
reminder sweep and the outbox drain side by side) and measures the time until every
email has reached the local aiosmtpd server, and the CPU time the workers spent. It
then checks that every session got exactly one reminder (by outbox row, by Message-ID
and by session), prints a table with the load average, and exits with status 1 if a
check failed.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import delete, func, insert, select, text, update  # noqa: E402

from bench.clientarea_bench import bench_app, fresh_schema  # noqa: E402
from core.db import db, get_database, utcnow  # noqa: E402
from core.emails.models import OutboxEmail  # noqa: E402
from core.migrations.runner import upgrade  # noqa: E402
from core.sessions.models import CoachingSession  # noqa: E402
from core.testing.plugin import MessageIdCounter, local_smtp_server  # noqa: E402

CLIENTS = 200
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/emails_bench"


def make_app(database_url: str, smtp_port: int, instance: str) -> Any:
    app = bench_app(instance, database_url)
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{smtp_port}"
    return app


def prepare(app: Any, sessions: int) -> None:
    """A fresh schema, one coach, CLIENTS clients and ``sessions`` sessions due within 20 h."""
    from core.accounts.service import create_user

    fresh_schema(app)
    upgrade(app)
    with app.app_context():
        coach = create_user(
            email="coach@bench.example", first_name="Anna", last_name="Coach", role="coach"
        )
        clients = [
            create_user(
                email=f"client{n}@bench.example",
                first_name=f"Client{n}",
                last_name="Bench",
                role="client",
                locale="fr" if n % 2 else "en",
                timezone="Europe/Paris" if n % 3 else "America/New_York",
            )
            for n in range(CLIENTS)
        ]
        start = utcnow() + timedelta(hours=1)
        db.execute(
            insert(CoachingSession),
            [
                {
                    "coach_id": coach.id,
                    "client_id": clients[n % CLIENTS].id,
                    "client_role": "client",
                    "title": f"Session {n}",
                    "starts_at": start + timedelta(seconds=7 * n),
                    "location": "Studio 4",
                    "duration_minutes": 60,
                    "currency": "EUR",
                    "status": "booked",
                    "payment_status": "pending",
                    "version": 1,
                    "schedule_revision": 1,
                }
                for n in range(sessions)
            ],
        )
        db.commit()


def reset(app: Any) -> None:
    """Forget the previous scenario's reminders so that every session is due again; on
    PostgreSQL, vacuum and analyze as autovacuum would on a live site (it is off here)."""
    with app.app_context():
        db.execute(delete(OutboxEmail))
        db.execute(update(CoachingSession).values(reminded_revision=None))
        db.commit()
    engine = get_database(app).engine
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))


def profiled(profile_dir: str | None, name: str, job: Any) -> Any:
    """Run ``job()``; with ``--profile``, under cProfile, its stats written to DIR/NAME-PID.prof."""
    if not profile_dir:
        return job()
    import cProfile

    profiler = cProfile.Profile()
    try:
        return profiler.runcall(job)
    finally:
        profiler.dump_stats(f"{profile_dir}/{name}-{os.getpid()}.prof")


def worker_process(
    database_url: str, smtp_port: int, instance: str, timings: Any, profile_dir: str | None
) -> None:
    """One worker as ``coachdesk worker`` runs it: the reminder sweep and the outbox drain
    side by side in two threads (two scheduler jobs), each with its own app context."""
    from core.worker.delivery import drain
    from core.worker.reminders import sweep

    app = make_app(database_url, smtp_port, instance)
    swept = threading.Event()
    result: dict[str, float] = {}
    began = time.perf_counter()
    cpu_began = time.process_time()

    def reminders() -> None:
        with app.app_context():
            result["queued"] = sweep()
        result["queue_s"] = time.perf_counter() - began
        swept.set()

    def outbox() -> None:
        sent = 0
        while True:
            last_round = swept.is_set()  # read before draining: nothing is left behind
            with app.app_context():
                done = drain()
            sent += done.sent
            if not done:
                if last_round:
                    break
                time.sleep(0.05)
        result["sent"] = sent
        result["deliver_s"] = time.perf_counter() - began

    threads = [
        threading.Thread(target=profiled, args=(profile_dir, "queue", reminders)),
        threading.Thread(target=profiled, args=(profile_dir, "deliver", outbox)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    timings.append(
        (
            result["queued"],
            result["sent"],
            result["queue_s"],
            result["deliver_s"],
            time.process_time() - cpu_began,
        )
    )


def run_scenario(
    args: argparse.Namespace, database_url: str, workers: int, port: int, handler: MessageIdCounter
) -> dict[str, Any]:
    handler.message_ids.clear()
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        timings = manager.list()
        processes = [
            context.Process(
                target=worker_process,
                args=(database_url, port, args.instance, timings, args.profile),
            )
            for _ in range(workers)
        ]
        began = time.perf_counter()
        for process in processes:
            process.start()
        for process in processes:
            process.join()
        elapsed = time.perf_counter() - began
        results = list(timings)
    return {
        "workers": workers,
        "elapsed": elapsed,
        "queue_s": max(r[2] for r in results),
        "deliver_s": max(r[3] for r in results),
        "cpu_s": sum(r[4] for r in results),
        "queued": sum(r[0] for r in results),
        "sent": sum(r[1] for r in results),
    }


def verify(app: Any, handler: MessageIdCounter, sessions: int) -> str:
    with app.app_context():
        rows = db.scalar(select(func.count()).select_from(OutboxEmail))
        distinct = db.scalar(select(func.count(func.distinct(OutboxEmail.session_id))))
        not_sent = db.scalar(
            select(func.count()).select_from(OutboxEmail).where(OutboxEmail.status != "sent")
        )
    duplicates = sum(c - 1 for c in handler.message_ids.values() if c > 1)
    ok = rows == distinct == handler.total == sessions and duplicates == 0 and not_sent == 0
    return (
        "yes"
        if ok
        else f"NO (rows {rows}, sessions {distinct}, received {handler.total}, dup {duplicates})"
    )


def run_database(
    args: argparse.Namespace,
    database_url: str,
    workers: list[int],
    port: int,
    handler: MessageIdCounter,
) -> list[dict[str, Any]]:
    """Prepare one database, then run each worker count on it."""
    app = make_app(database_url, port, args.instance)
    backend = get_database(app).dialect
    print(f"Preparing {args.sessions} due sessions on {backend}…", flush=True)
    prepare(app, args.sessions)
    rows = []
    for count in workers:
        reset(app)
        result = run_scenario(args, database_url, count, port, handler)
        result["backend"] = backend
        result["exactly_once"] = verify(app, handler, args.sessions)
        rows.append(result)
        print(f"  {count} worker(s): {result['elapsed']:.1f} s", flush=True)
    return rows


def load_average() -> str:
    return " ".join(f"{n:.1f}" for n in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--sqlite-workers", type=int, nargs="*", default=[1])
    parser.add_argument(
        "--postgres-url", default=POSTGRES_URL, help="an existing database; '' to skip"
    )
    parser.add_argument("--postgres-workers", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--profile", metavar="DIR", help="write cProfile stats per worker thread")
    args = parser.parse_args()
    args.instance = tempfile.mkdtemp(prefix="coachdesk-bench-")
    databases = [(f"sqlite:///{args.instance}/bench.sqlite3", args.sqlite_workers)]
    if args.postgres_url:
        databases.append((args.postgres_url, args.postgres_workers))

    handler = MessageIdCounter()
    load_before = load_average()
    with local_smtp_server(handler) as port:
        rows = [
            row
            for url, workers in databases
            if workers
            for row in run_database(args, url, workers, port, handler)
        ]

    print()
    print(f"Reminders for {args.sessions} sessions, local aiosmtpd")
    print(f"load average (1, 5, 15 min): {load_before} before, {load_average()} after")
    header = " | ".join(
        [
            "database",
            "workers",
            "queue (s)",
            "deliver (s)",
            "total (s)",
            "emails/s",
            "worker CPU (s)",
            "exactly once",
        ]
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['backend']:>8} | {r['workers']:>7} | {r['queue_s']:>9.1f} | "
            f"{r['deliver_s']:>11.1f} | {r['elapsed']:>9.1f} | "
            f"{args.sessions / r['elapsed']:>8.0f} | {r['cpu_s']:>14.1f} | {r['exactly_once']}"
        )
    print("(queue: until every reminder is in the outbox; deliver: until the last one was")
    print(" accepted by the SMTP server, sending starts while queueing goes on; total: wall")
    print(" clock including each worker process's start-up; worker CPU: user + system time")
    print(" of the worker processes from the start of their work, all threads)")
    if any(r["exactly_once"] != "yes" for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
