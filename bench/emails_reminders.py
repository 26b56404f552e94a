"""Benchmark: 10,000 sessions due for a reminder, queued and delivered to a local SMTP server.

How to run (from the repository root, with the project's virtualenv)::

    python bench/emails_reminders.py                      # SQLite in a temporary folder
    python bench/emails_reminders.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/emails_bench
    python bench/emails_reminders.py --sessions 2000 --workers 1 2 4

The PostgreSQL database must exist (``createdb -h 127.0.0.1 -U postgres emails_bench``);
its public schema is dropped and rebuilt. Each scenario starts from the same 10,000
due sessions, runs N worker processes (each with its own app and database
connections, exactly what ``coachdesk worker`` runs: the reminder sweep and the
outbox drain side by side) and measures the time until every email has reached the local aiosmtpd
server. It then checks that every session got exactly one reminder (by outbox row,
by Message-ID and by session) and prints a table.
"""

from __future__ import annotations

import argparse
import multiprocessing
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiosmtpd.controller import Controller  # noqa: E402
from sqlalchemy import delete, func, insert, select, text, update  # noqa: E402

from core import create_app  # noqa: E402
from core.db import db, get_database, utcnow  # noqa: E402
from core.emails.models import OutboxEmail  # noqa: E402
from core.migrations.runner import upgrade  # noqa: E402
from core.sessions.models import CoachingSession  # noqa: E402

CLIENTS = 200


class Counting:
    """SMTP handler that only counts: by Message-ID and by reminder dedupe (session)."""

    def __init__(self) -> None:
        self.message_ids: Counter[str] = Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content: bytes = envelope.content
        start = content.find(b"Message-ID: ")
        message_id = (
            content[start + 12 : content.find(b"\r\n", start)].decode() if start >= 0 else ""
        )
        with self.lock:
            self.message_ids[message_id] += 1
        return "250 OK"

    @property
    def total(self) -> int:
        with self.lock:
            return sum(self.message_ids.values())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_app(database_url: str, smtp_port: int, instance: str) -> Any:
    return create_app(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "benchmark-secret-key-long-enough-0123456789",
            "SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
            "LOG_LEVEL": "WARNING",
        },
        instance_path=instance,
    )


def prepare(app: Any, sessions: int) -> None:
    """A fresh schema, one coach, CLIENTS clients and ``sessions`` sessions due within 20 h."""
    from core.accounts.service import create_user

    engine = get_database(app).engine
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
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
    """Forget the previous scenario's reminders so that every session is due again."""
    with app.app_context():
        db.execute(delete(OutboxEmail))
        db.execute(update(CoachingSession).values(reminded_revision=None))
        db.commit()


def worker_process(database_url: str, smtp_port: int, instance: str, timings: Any) -> None:
    """One worker as ``coachdesk worker`` runs it: the reminder sweep and the outbox drain
    side by side in two threads (two scheduler jobs), each with its own app context."""
    from core.worker.delivery import drain
    from core.worker.reminders import sweep

    app = make_app(database_url, smtp_port, instance)
    swept = threading.Event()
    result: dict[str, float] = {}
    began = time.perf_counter()

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

    threads = [threading.Thread(target=reminders), threading.Thread(target=outbox)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    timings.append((result["queued"], result["sent"], result["queue_s"], result["deliver_s"]))


def run_scenario(
    args: argparse.Namespace, workers: int, port: int, handler: Counting
) -> dict[str, Any]:
    handler.message_ids.clear()
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        timings = manager.list()
        processes = [
            context.Process(
                target=worker_process, args=(args.database_url, port, args.instance, timings)
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
        "queued": sum(r[0] for r in results),
        "sent": sum(r[1] for r in results),
    }


def verify(app: Any, handler: Counting, sessions: int) -> str:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: SQLite in a temporary folder")
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="coachdesk-bench-")
    args.instance = tmp
    args.database_url = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"

    handler = Counting()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        app = make_app(args.database_url, port, tmp)
        backend = get_database(app).dialect
        print(f"Preparing {args.sessions} due sessions on {backend}…", flush=True)
        prepare(app, args.sessions)
        rows = []
        for workers in args.workers:
            reset(app)
            result = run_scenario(args, workers, port, handler)
            result["no_duplicates"] = verify(app, handler, args.sessions)
            rows.append(result)
            print(f"  {workers} worker(s): {result['elapsed']:.1f} s", flush=True)
    finally:
        controller.stop()

    print()
    print(f"Reminders for {args.sessions} sessions, {backend}, local aiosmtpd")
    header = " | ".join(
        ["workers", "queue (s)", "deliver (s)", "total (s)", "emails/s", "exactly once"]
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['workers']:>7} | {r['queue_s']:>9.1f} | {r['deliver_s']:>11.1f} | "
            f"{r['elapsed']:>9.1f} | {args.sessions / r['elapsed']:>8.0f} | {r['no_duplicates']}"
        )
    print("(queue: until every reminder is in the outbox; deliver: until the last one was")
    print(" accepted by the SMTP server, sending starts while queueing goes on; total: wall")
    print(" clock including each worker process's start-up)")


if __name__ == "__main__":
    main()
