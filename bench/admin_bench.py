"""Server time of the admin dashboard and the admin sessions list (each filter), with
10 coaches, 1,000 clients and 100,000 sessions.

How to run (from the repository root; seeding takes about half a minute)::

    .venv/bin/python bench/admin_bench.py                        # SQLite, 30 runs per page
    .venv/bin/python bench/admin_bench.py --clients 50 --sessions 2000 --runs 10
    .venv/bin/python bench/admin_bench.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/admin_bench

It seeds the same data as ``coach_bench.py`` (its ``seed``: sessions spread over 18
months back and 6 ahead, about 140 a day), marks the first-run setup done, signs in
as the administrator and requests each page ``--runs`` times after a warm-up. It prints
the median and 95th percentile (inside the WSGI call), the CPU time, the SQL statements
and the size of the response: neither of the last two may grow with the data (compare
with a smaller ``--sessions``). On PostgreSQL it runs ``VACUUM ANALYZE`` after seeding, as
autovacuum would have on a live site (planner statistics, index-only scans).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from clientarea_bench import (  # noqa: E402
    Timed,
    bench_app,
    fresh_schema,
    large_data_arguments,
    measure,
    sign_in,
)
from coach_bench import seed  # noqa: E402

from core.admin.setup import SETUP_COMPLETED  # noqa: E402
from core.db import db, get_database, utcnow  # noqa: E402
from core.migrations.runner import upgrade  # noqa: E402
from core.settings import set_option  # noqa: E402


def pages(coach_id: int) -> list[tuple[str, str]]:
    """(URL, label): the dashboard, then the sessions list unfiltered and with each filter."""
    today = utcnow().date()
    month = f"start={today.replace(day=1).isoformat()}&end={today.isoformat()}"
    return [
        ("/admin/", "dashboard"),
        ("/admin/sessions", "sessions"),
        ("/admin/sessions?page=200", "sessions, page 200"),
        ("/admin/sessions?status=completed", "status completed"),
        ("/admin/sessions?status=no_show", "status no-show"),
        (f"/admin/sessions?coach={coach_id}", "coach"),
        ("/admin/sessions?client=martin", "client (search)"),
        (f"/admin/sessions?{month}", "dates (this month)"),
        ("/admin/sessions?payment=paid", "payment paid"),
        ("/admin/sessions?pending_confirmation=y", "never confirmed"),
        (f"/admin/sessions?status=booked&coach={coach_id}&payment=pending", "three filters"),
    ]


def main() -> None:
    args = large_data_arguments(__doc__)

    with tempfile.TemporaryDirectory() as tmp:
        app = bench_app(tmp, args.database_url)
        fresh_schema(app)
        upgrade(app)
        started = time.perf_counter()
        with app.app_context():
            facts: dict[str, Any] = seed(args.coaches, args.clients, args.sessions)
            set_option(SETUP_COMPLETED, True)
            db.commit()
            coach_id = db.scalar(
                text("SELECT id FROM users WHERE email = :e"), {"e": facts["coach"]}
            )
        if args.database_url:  # as autovacuum leaves a live database: statistics, visibility map
            engine = get_database(app).engine
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        seconds = time.perf_counter() - started
        timed = Timed(app.wsgi_app)
        app.wsgi_app = timed  # type: ignore[method-assign]
        print(
            f"{get_database(app).dialect}: {args.clients} clients, {args.sessions} sessions,"
            f" {args.coaches} coaches (seeded in {seconds:.1f} s); {args.runs} runs per page"
        )
        browser = sign_in(app, facts["admin"])
        print(f"{'page':<22}{'median ms':>10}{'p95 ms':>8}{'CPU ms':>8}{'SQL':>5}{'KB':>7}")
        for url, label in pages(coach_id):
            size = len(browser.get(url).data) / 1024
            median, p95, cpu, sql = measure(app, timed, browser, url, args.runs)
            print(f"{label:<22}{median:>10.1f}{p95:>8.1f}{cpu:>8.1f}{sql:>5}{size:>7.1f}")
        get_database(app).engine.dispose()


if __name__ == "__main__":
    main()
