"""APScheduler wiring: periodic sweeps per worker process, jobs kept in memory.

The core's two sweeps (reminders, outbox) and one dispatcher for add-ons' jobs.

APScheduler 3.x cannot share a job store between processes, so each worker runs its
own in-memory sweeps; the truth (what is due, who claimed it) is in our tables.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from core.worker import outbox_pass
from core.worker.jobs import JobRunner
from core.worker.reminders import sweep

log = logging.getLogger(__name__)


def in_app_context(app: Flask, job: Callable[[], Any]) -> Callable[[], None]:
    """Run ``job`` in a fresh app context (its own database session), logging what it did."""

    name = getattr(job, "__name__", type(job).__name__)

    def run() -> None:
        with app.app_context():
            result = job()
            if result:
                log.info("%s: %s", name, result)

    run.__name__ = name
    return run


def build_scheduler(
    app: Flask,
    outbox_every: int = 10,
    reminders_every: int = 60,
    addon_jobs_every: int = 5,
    scheduler_class: type[BaseScheduler] = BlockingScheduler,
) -> BaseScheduler:
    """A scheduler that drains the outbox (after queueing requested resets), sweeps reminders
    and runs add-ons' due jobs.

    Each job runs once at a time; ``addon_jobs_every`` is how often the dispatcher
    looks for due add-on jobs (their own ``every_seconds`` decides when each runs).
    """
    scheduler = scheduler_class(
        timezone=UTC,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )
    start = datetime.now(UTC)
    for job_id, job, seconds in (
        ("reminders", sweep, reminders_every),
        ("outbox", outbox_pass, outbox_every),
        ("addon-jobs", JobRunner(), addon_jobs_every),
    ):
        scheduler.add_job(
            in_app_context(app, job), "interval", seconds=seconds, id=job_id, next_run_time=start
        )
    return scheduler
