"""One page of ``side_by_side.py`` requested in a loop in this process: for profiling.

How to run (from the repository root)::

    .venv/bin/python bench/page_loop.py "coach: profile overview"          # ms per request
    .venv/bin/python bench/page_loop.py "coach: statistics" --sql          # time per statement
    .venv/bin/python bench/page_loop.py "admin: sessions" --sql --explain 1   # plans > 1 ms
    py-spy record -r 500 -f raw -o overview.txt -- \\
        .venv/bin/python bench/page_loop.py "coach: profile overview" -n 1500

The page is named as in the side-by-side tables; the data set is ``dataset.py``'s (built
on first use; ``--database-url`` for PostgreSQL). The role signs in through the login
form, the page is requested ten times to warm up, then ``-n`` times by Flask's test
client (its own cost is in the figure: about 0.6 ms for a bare route). ``--sql`` prints
each statement's time per request (SQLAlchemy cursor events) and ``--explain MS`` the plan
of those slower than MS. py-spy (``pip install py-spy``) samples without slowing small
functions down as cProfile does; its raw output is one stack per line, with a count.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clientarea_bench import sign_in  # noqa: E402
from dataset import add_arguments, build, size_of  # noqa: E402
from side_by_side import ROLES, main_pages  # noqa: E402
from sqlalchemy import event  # noqa: E402

from core.db import get_database  # noqa: E402


def statement_timer(engine: Any) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """Seconds spent in each statement (by its SQL), and the parameters it last ran with."""
    spent: dict[str, list[float]] = {}
    params_of: dict[str, Any] = {}

    @event.listens_for(engine, "before_cursor_execute")
    def _start(conn: Any, _cursor: Any, _sql: str, *_args: Any) -> None:
        conn.info["bench_started"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _stop(conn: Any, _cursor: Any, sql: str, params: Any, *_args: Any) -> None:
        spent.setdefault(sql, []).append(time.perf_counter() - conn.info["bench_started"])
        params_of[sql] = params

    return spent, params_of


def explain(engine: Any, sql: str, params: Any) -> list[tuple[Any, ...]]:
    """The plan of one statement, as the database would run it now."""
    prefix = "EXPLAIN ANALYZE " if engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(prefix + sql, params)
        return list(cursor.fetchall())
    finally:
        raw.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    parser.add_argument("page", help='a page of the side-by-side tables, e.g. "coach: home"')
    parser.add_argument("-n", type=int, default=300, help="requests to time")
    parser.add_argument("--sql", action="store_true", help="time each statement")
    parser.add_argument("--explain", type=float, metavar="MS", help="plans of slower statements")
    parser.add_argument(
        "--counted",
        action="store_true",
        help="run the loop inside itertools.starmap, for instructions.py's callgrind count",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as instance:
        app, facts = build(size_of(args), args.database_url, instance, args.rebuild)
        pages = {p.name.lower(): p for p in main_pages(facts, app.config["SLUGS"])}
        page = pages.get(args.page.lower())
        if page is None:
            raise SystemExit(f"no page {args.page!r}; pages: {', '.join(pages)}")
        browser = sign_in(app, ROLES[page.role])
        for _ in range(10):
            answer = browser.get(page.path)
            if answer.status_code != 200:
                raise SystemExit(f"{page.name} answered {answer.status_code}, not 200")
        engine = get_database(app).engine
        spent, params_of = statement_timer(engine) if args.sql or args.explain else ({}, {})
        started = time.perf_counter()
        if args.counted:  # callgrind counts inside starmap's next() only: the requests
            calls = itertools.repeat((), args.n)
            for _ in itertools.starmap(lambda: browser.get(page.path), calls):
                pass
        for _ in range(0 if args.counted else args.n):
            browser.get(page.path)
        print(f"{page.name}: {(time.perf_counter() - started) / args.n * 1000:.2f} ms/request")
        for sql, times in sorted(spent.items(), key=lambda item: -sum(item[1])):
            per_request = sum(times) / args.n * 1000
            print(f"{per_request:7.3f} ms  x{len(times) // args.n}  {' '.join(sql.split())[:160]}")
            if args.explain is not None and per_request >= args.explain:
                for row in explain(engine, sql, params_of[sql]):
                    print("           ", *row)
        if spent:
            print(f"SQL: {sum(map(sum, spent.values())) / args.n * 1000:.2f} ms/request")


if __name__ == "__main__":
    main()
