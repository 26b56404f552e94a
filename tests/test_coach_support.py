"""Builders shared by the coach workspace tests (this module holds no test)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import Flask

from core.accounts.models import CoachClient
from core.db import db, utcnow
from tests.test_emails_support import add_session as emails_add_session

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def tomorrow_at_ten() -> datetime:
    return (utcnow() + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)


def add_session(app: Flask, coach_id: int, client_id: int | None, **fields: Any) -> int:
    """Commit a session (tomorrow 10:00 UTC, booked, 60 €; an open slot without client)."""
    defaults: dict[str, Any] = {
        "title": "Session",
        "starts_at": tomorrow_at_ten(),
        "location": None,
        "price_amount": 6000,
        "status": "booked" if client_id else "available",
    }
    return emails_add_session(app, coach_id, client_id, **{**defaults, **fields})


def assign(app: Flask, coach_id: int, client_id: int) -> None:
    with app.app_context():
        db.add(CoachClient(coach_id=coach_id, client_id=client_id))
        db.commit()


def coach_with_client(
    app: Flask, as_role: Callable[..., Any], make_user: Callable[..., Any], **client_fields: Any
) -> tuple[Any, Any, Any]:
    """A signed-in coach's (browser, coach) and their client, Alice Martin."""
    browser, coach = as_role("coach")
    client = make_user("client", first_name="Alice", last_name="Martin", **client_fields)
    assign(app, coach.id, client.id)
    return browser, coach, client
