"""``coachdesk worker``: the process that sends reminders and emails."""

from __future__ import annotations

import signal
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("worker")
@click.option("--once", is_flag=True, help="Do one pass (reminders, then emails) and exit.")
@click.option(
    "--outbox-every",
    default=10,
    show_default=True,
    type=click.IntRange(1, 3600),
    help="Seconds between two drains of the outbox.",
)
@click.option(
    "--reminders-every",
    default=60,
    show_default=True,
    type=click.IntRange(1, 3600),
    help="Seconds between two reminder sweeps.",
)
@with_appcontext
def worker_command(once: bool, outbox_every: int, reminders_every: int) -> None:
    """Send due reminders and drain the email outbox.

    Run one per machine or more: they share the work through the database and never
    send an email twice. Stop with Ctrl+C or SIGTERM (the current batch finishes).
    """
    from core.cli import _require_schema
    from core.worker import run_once
    from core.worker.scheduler import build_scheduler

    _require_schema()
    if once:
        result = run_once().as_dict()
        click.echo(", ".join(f"{key}: {value}" for key, value in result.items()))
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    scheduler = build_scheduler(app, outbox_every, reminders_every)

    def stop(_signum: int, _frame: Any) -> None:
        """SIGTERM stops the worker as Ctrl+C does: it leaves the scheduler's loop, which is
        then shut down outside the handler. Shutting it down in here hung for good: the
        handler runs between two steps of the interrupted loop, which may hold a lock that
        shutting down takes again (seen: the thread pool's, while it started a job)."""
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        click.echo(
            f"Worker started: outbox every {outbox_every}s, reminders every {reminders_every}s. "
            "Ctrl+C to stop."
        )
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=True)  # the batch under way finishes
    click.echo("Worker stopped.")
