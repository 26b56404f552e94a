"""Server time of the email log (Admin → Outbox and a coach's log) with 100,000 emails.

How to run (from the repository root; takes about a minute)::

    .venv/bin/python bench/emails_log_bench.py                  # 100,000 emails
    .venv/bin/python bench/emails_log_bench.py --emails 2000    # compare the SQL column

It builds a throw-away SQLite database with the real migrations, an administrator, a
coach with 50 of the 500 clients, and bulk-inserts ``--emails`` outbox rows (core SQL)
spread over the clients, the last year, five types and the four statuses. It signs both
in through the login form, then requests each page ``--runs`` times. Times are measured
inside the WSGI call (median and 95th percentile) with the number of SQL statements,
which does not depend on the number of emails (``tests/test_emails_log.py`` checks it).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select  # noqa: E402

from bench.clientarea_bench import PASSWORD, Timed, bench_app, measure, sign_in  # noqa: E402
from core.accounts.models import CoachClient, Role, User  # noqa: E402
from core.accounts.service import create_user  # noqa: E402
from core.db import db, utcnow  # noqa: E402
from core.emails.models import OutboxEmail  # noqa: E402
from core.migrations.runner import upgrade  # noqa: E402

TYPES = ("reminder", "booking_confirmation", "session_update", "welcome", "password_reset")
STATUSES = ("sent",) * 17 + ("pending", "dead")


def seed(emails: int, clients: int = 500, coached: int = 50) -> tuple[int, int]:
    """The people and ``emails`` outbox rows; returns (a coached client's id, an email id)."""
    for role in (Role.ADMIN, Role.COACH):
        create_user(
            email=f"{role}@bench.test",
            first_name=str(role).title(),
            last_name="Bench",
            role=role,
            password=PASSWORD,
        )
    people = [
        create_user(
            email=f"client{n}@bench.test",
            first_name=f"Client{n}",
            last_name="Martin",
            role=Role.CLIENT,
        )
        for n in range(clients)
    ]
    db.flush()
    coach_id = db.scalar(select(User.id).where(User.email == "coach@bench.test"))
    db.add_all(CoachClient(coach_id=coach_id, client_id=c.id) for c in people[:coached])
    now = utcnow()
    step = timedelta(days=365) / max(emails, 1)
    batch: list[dict[str, object]] = []
    for i in range(emails):
        to = people[i % clients]
        status = STATUSES[i % len(STATUSES)]
        batch.append(
            {
                "email_type": TYPES[i % len(TYPES)],
                "to_address": to.email,
                "to_name": to.full_name,
                "from_address": "Coachdesk <desk@bench.test>",
                "subject": f"Your session #{i}",
                "body_text": "See you soon.\n" * 20,
                "body_html": "<p>See you soon.</p>" * 20,
                "attachments": [],
                "user_id": to.id,
                "status": status,
                "attempts": 1,
                "last_error": "550 mailbox unavailable" if status == "dead" else None,
                "created_at": now - step * (emails - i),
                "next_attempt_at": now,
                "sent_at": now - step * (emails - i) if status == "sent" else None,
            }
        )
        if len(batch) == 5000:
            db.execute(insert(OutboxEmail), batch)
            batch.clear()
    if batch:
        db.execute(insert(OutboxEmail), batch)
    db.commit()
    return people[0].id, db.scalar(select(OutboxEmail.id).order_by(OutboxEmail.id.desc()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--emails", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        app = bench_app(tmp)
        upgrade(app)
        with app.app_context():
            client_id, email_id = seed(args.emails)
        timed = Timed(app.wsgi_app)
        app.wsgi_app = timed  # type: ignore[method-assign]
        admin, coach = sign_in(app, "admin@bench.test"), sign_in(app, "coach@bench.test")

        print(f"{args.emails} emails, {args.runs} runs each")
        print(f"{'request':<36}{'median ms':>10}{'p95 ms':>8}{'CPU ms':>8}{'SQL':>5}")
        rows = [
            (admin, "/admin/outbox", "admin: log, page 1"),
            (admin, "/admin/outbox?page=200", "admin: log, page 200"),
            (admin, "/admin/outbox?status=dead", "admin: status dead"),
            (admin, "/admin/outbox?type=welcome&status=sent", "admin: type + status"),
            (admin, "/admin/outbox?q=client42%40", "admin: search recipient"),
            (admin, "/admin/outbox?q=client7+martin", "admin: search client name"),
            (admin, f"/emails/log/{email_id}", "admin: one email"),
            (coach, "/emails/log", "coach: log (50 clients)"),
            (coach, f"/emails/log?client={client_id}", "coach: one client"),
        ]
        for browser, url, label in rows:
            median, p95, cpu, sql = measure(app, timed, browser, url, args.runs)
            print(f"{label:<36}{median:>10.1f}{p95:>8.1f}{cpu:>8.1f}{sql:>5}")


if __name__ == "__main__":
    main()
