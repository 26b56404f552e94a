"""Builders shared by the email and worker tests (this module holds no test)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from flask import Flask

from core.db import db, utcnow
from core.emails.models import OutboxEmail
from core.plugins import get_host
from core.sessions.models import CoachingSession
from core.worker import PassResult, run_once


def add_session(app: Flask, coach_id: int, client_id: int | None, **fields: Any) -> int:
    """Commit a booked session (in three days unless ``starts_at`` is given); return its id."""
    values: dict[str, Any] = {
        "coach_id": coach_id,
        "client_id": client_id,
        "title": "Breathing basics",
        "starts_at": (utcnow() + timedelta(days=3)).replace(second=0, microsecond=0),
        "duration_minutes": 60,
        "location": "Studio 4",
        "status": "booked",
        "created_by_id": coach_id,
    }
    values.update(fields)
    with app.app_context():
        session = CoachingSession(**values)
        db.add(session)
        db.commit()
        return session.id


def outbox(app: Flask) -> list[OutboxEmail]:
    with app.app_context():
        return list(db.query(OutboxEmail).order_by(OutboxEmail.id))


def work(app: Flask, now: datetime | None = None) -> PassResult:
    """One worker pass, as the worker process and the cron URL do it."""
    with app.app_context():
        return run_once(now)


@contextmanager
def smtp_url(app: Flask, url: str) -> Iterator[None]:
    """Point the application at another SMTP server for the duration of the block."""
    previous = app.config["SMTP_URL"]
    app.config["SMTP_URL"] = url
    try:
        yield
    finally:
        app.config["SMTP_URL"] = previous


@contextmanager
def hook_plugin(app: Flask, plugin: object) -> Iterator[None]:
    """Register hook implementations like an add-on's (always on) for the block."""
    manager = get_host(app).pm
    manager.register(plugin, name="core:test-email-hooks")
    try:
        yield
    finally:
        manager.unregister(name="core:test-email-hooks")
