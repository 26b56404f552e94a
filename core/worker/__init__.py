"""The worker: periodic sweeps that queue due reminders and drain the outbox.

The truth lives in the application's tables (claimed atomically), never in the
scheduler, so any number of workers, the cron URL and tests share :func:`run_once`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.worker.delivery import DrainResult, drain
from core.worker.reminders import sweep


@dataclass
class PassResult:
    reminders: int
    delivery: DrainResult
    addon_jobs: int = 0

    def as_dict(self) -> dict[str, int | bool]:
        return {
            "reminders_queued": self.reminders,
            "sent": self.delivery.sent,
            "failed": self.delivery.failed,
            "dead": self.delivery.dead,
            "smtp_unreachable": self.delivery.outage,
            "addon_jobs": self.addon_jobs,
        }


def outbox_pass(now: datetime | None = None, *, limit: int | None = None) -> DrainResult:
    """Queue the password resets asked for since the last pass (the "forgot password" form
    leaves that to the worker), then send due emails (at most ``limit``), then note the
    worker's heartbeat (what ``/healthz`` and the admin dashboard read)."""
    from core.emails.accounts import send_requested_resets
    from core.operations.health import record_heartbeat

    send_requested_resets(now)
    result = drain(now, limit=limit)
    record_heartbeat()
    return result


def run_once(now: datetime | None = None, *, limit: int | None = None) -> PassResult:
    """One pass of all the work: queue due reminders, then the outbox pass (requested
    resets, due emails), then run every active add-on's periodic jobs once."""
    from core.worker.jobs import JobRunner

    reminders = sweep(now)
    delivery = outbox_pass(now, limit=limit)
    return PassResult(reminders, delivery, JobRunner().run_due(force=True))
