"""Server time of the Physical tabs for a client with five years of weekly measurements.

How to run (from the repository root; takes about a minute)::

    .venv/bin/python bench/physical_bench.py                 # 260 weekly entries, 12 measures
    .venv/bin/python bench/physical_bench.py --weeks 520 --runs 50

It builds a throw-away SQLite database with the real migrations, activates Premium and
Physical, adds a custom measure to the eleven built-in ones, seeds one client with
``--weeks`` weekly entries that each have a value of every measure (and a target), signs
in the client and their coach through the login form, then requests the client's tab,
the coach's tab and the CSV export ``--runs`` times each. Times are measured inside the
WSGI call, reported as median and 95th percentile with the number of SQL statements.
The statement count does not depend on the number of entries (the test
``tests/test_physical_queries.py`` checks it with 5 and 260).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from bench.clientarea_bench import PASSWORD, Timed, bench_app, measure, sign_in  # noqa: E402
from core.accounts.models import CoachClient, Role  # noqa: E402
from core.accounts.service import create_user  # noqa: E402
from core.db import db  # noqa: E402
from core.migrations.runner import upgrade  # noqa: E402
from core.plugins import get_host  # noqa: E402

#: Plausible values (canonical unit) at the start, and a weekly drift.
START = {
    "weight": (92.0, -0.05),
    "body_fat": (28.0, -0.02),
    "muscle_mass": (34.0, 0.01),
    "waist": (98.0, -0.04),
    "hips": (104.0, -0.02),
    "chest": (102.0, -0.01),
    "arm": (33.0, 0.005),
    "thigh": (58.0, -0.01),
    "calf": (38.0, 0.0),
    "neck": (39.0, -0.005),
    "resting_hr": (72.0, -0.03),
}
CUSTOM_LABEL = "Grip strength"


def add_custom_measure() -> None:
    """A twelfth measure (mass), as the site owner would add it (the caller commits)."""
    from addons.physical.models import PhysicalMeasure

    db.add(PhysicalMeasure(key="custom_grip", label=CUSTOM_LABEL, kind="mass", position=99))


def add_history(client_id: int, coach_id: int, weeks: int) -> None:
    """``weeks`` weekly entries ending today, each with every measure, and a weight target."""
    from addons.physical.models import PhysicalEntry, PhysicalMeasure, PhysicalTarget, PhysicalValue

    measures = {m.key: m for m in db.scalars(select(PhysicalMeasure))}
    first = date.today() - timedelta(weeks=weeks - 1)
    for week in range(weeks):
        entry = PhysicalEntry(
            client_id=client_id,
            measured_on=first + timedelta(weeks=week),
            created_by_id=coach_id if week % 2 else client_id,
            note="Weekly check-in" if week % 4 == 0 else None,
        )
        db.add(entry)
        db.flush()
        for key, row in measures.items():
            start, drift = START.get(key, (45.0, 0.01))
            value = start + drift * week + (week % 3) * 0.1
            scale = 1000 if row.kind != "count" else 1
            stored = round(value * 10) * 100 if scale == 1000 else round(value) * 1000
            db.add(PhysicalValue(entry_id=entry.id, measure_id=row.id, value=stored))
    db.add(
        PhysicalTarget(
            client_id=client_id, measure_id=measures["weight"].id, value=75000, set_by_id=coach_id
        )
    )


def seed(app: object, weeks: int) -> tuple[str, str, int]:
    """A coach and their client with ``weeks`` of history; returns both emails, client id."""
    coach = create_user(
        email="coach@bench.test",
        first_name="Hélène",
        last_name="Durand",
        role=Role.COACH,
        password=PASSWORD,
    )
    client = create_user(
        email="client@bench.test",
        first_name="Chloé",
        last_name="Martin",
        role=Role.CLIENT,
        password=PASSWORD,
    )
    db.flush()
    db.add(CoachClient(coach_id=coach.id, client_id=client.id))
    add_custom_measure()
    db.flush()
    add_history(client.id, coach.id, weeks)
    db.commit()
    return client.email, coach.email, client.id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weeks", type=int, default=260)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        app = bench_app(tmp)
        upgrade(app)
        with app.app_context():
            get_host(app).activate(app, "premium")
            get_host(app).activate(app, "physical")
            client_email, coach_email, client_id = seed(app, args.weeks)
        timed = Timed(app.wsgi_app)
        app.wsgi_app = timed  # type: ignore[method-assign]
        client, coach = sign_in(app, client_email), sign_in(app, coach_email)
        area = "/" + app.config["SLUGS"]["client_area"]

        print(f"client with {args.weeks} weekly entries of 12 measures, {args.runs} runs each")
        print(f"{'request':<28}{'median ms':>10}{'p95 ms':>8}{'CPU ms':>8}{'SQL':>5}")
        rows = [
            (client, f"{area}/physical", "client tab"),
            (client, f"{area}/physical?period=all", "client tab, all 5 years"),
            (coach, f"/customer/{client_id}/physical", "coach tab"),
            (client, f"{area}/sessions", "other client tab (card)"),
            (client, "/physical/export.csv", "CSV export"),
        ]
        for browser, url, label in rows:
            median, p95, cpu, sql = measure(app, timed, browser, url, args.runs)
            print(f"{label:<28}{median:>10.1f}{p95:>8.1f}{cpu:>8.1f}{sql:>5}")


if __name__ == "__main__":
    main()
