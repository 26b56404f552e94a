"""Builders shared by the coach workspace tests (this module holds no test)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask

from core.accounts.models import CoachClient
from core.db import db, utcnow
from core.sessions.models import CoachingSession

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def tomorrow_at_ten() -> datetime:
    return (utcnow() + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)


def add_session(app: Flask, coach_id: int, client_id: int | None, **fields: Any) -> int:
    """Commit a session (tomorrow 10:00 UTC, booked, 60 €) and return its id."""
    values: dict[str, Any] = {
        "coach_id": coach_id,
        "client_id": client_id,
        "title": "Session",
        "starts_at": tomorrow_at_ten(),
        "duration_minutes": 60,
        "price_amount": 6000,
        "currency": "EUR",
        "status": "booked" if client_id else "available",
        "created_by_id": coach_id,
    }
    values.update(fields)
    with app.app_context():
        session = CoachingSession(**values)
        db.add(session)
        db.commit()
        return session.id


def assign(app: Flask, coach_id: int, client_id: int) -> None:
    with app.app_context():
        db.add(CoachClient(coach_id=coach_id, client_id=client_id))
        db.commit()


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)
