"""Add-ons' periodic jobs (the ``periodic_jobs`` hook), run by every worker.

The set of jobs follows activation: one dispatcher asks the active add-ons for their
jobs on each tick and runs those that are due. A job that raises is reported on the
Add-ons page and runs again at its next turn; it never stops the worker or its
neighbours.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from core.db import db
from core.plugins import collect, get_host
from core.plugins.host import Owned

log = logging.getLogger(__name__)


class JobRunner:
    """Remembers, per process, when each job last ran."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.last_run: dict[str, float] = {}

    def run_due(self, *, force: bool = False) -> int:
        """Run every due job (every job with ``force``); return how many ran without error."""
        host = get_host()
        owners = _owners()
        done = 0
        for job in collect("periodic_jobs"):
            now = self.clock()
            last = self.last_run.get(job.key)
            if not force and last is not None and now - last < job.every_seconds:
                continue
            self.last_run[job.key] = now
            try:
                job.run()
                db.commit()
                done += 1
            except Exception:
                db.rollback()
                host.report_failure(owners.get(job.key, job.key), f"periodic job {job.key}")
        host.flush_errors()
        return done

    __call__ = run_due


def _owners() -> dict[str, str]:
    """Job key → add-on name, for reporting a failure against the right add-on."""
    return {
        job.key: result.addon
        for result in get_host().call("periodic_jobs")
        if isinstance(result, Owned)
        for job in result.value
    }
