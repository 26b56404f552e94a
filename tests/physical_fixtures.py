"""Fixtures and helpers shared by the Physical tests (this module holds no test).

``physical`` activates Premium then Physical, as the site owner would; the database is
emptied after each test, which deactivates both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from addons.physical.models import PhysicalEntry, PhysicalMeasure, PhysicalTarget, PhysicalValue
from core.accounts.models import CoachClient, Role, User
from core.db import db
from core.plugins import get_host
from tests.conftest import login

AREA_TAB = "/accueil-client/physical"


def profile_tab(client_id: int) -> str:
    return f"/customer/{client_id}/physical"


@pytest.fixture
def physical(app: Flask) -> None:
    with app.app_context():
        host = get_host(app)
        host.activate(app, "premium")
        host.activate(app, "physical")


@dataclass
class People:
    client: User
    coach: User
    web: FlaskClient  # signed in as the client
    coach_web: FlaskClient  # signed in as the coach


def assign(app: Flask, coach: User, client: User) -> None:
    with app.app_context():
        db.add(CoachClient(coach_id=coach.id, client_id=client.id))
        db.commit()


def signed_in(app: Flask, user: User) -> FlaskClient:
    web = app.test_client()
    assert login(app, web, user).status_code == 302
    return web


@pytest.fixture
def people(app: Flask, make_user: Callable[..., User], physical: None) -> People:
    client = make_user(Role.CLIENT, first_name="Chloé", last_name="Martin")
    coach = make_user(Role.COACH, first_name="Hélène", last_name="Durand")
    assign(app, coach, client)
    return People(client, coach, signed_in(app, client), signed_in(app, coach))


def measure_ids(app: Flask) -> dict[str, int]:
    with app.app_context():
        return {m.key: m.id for m in db.scalars(select(PhysicalMeasure))}


def add_entry(
    app: Flask,
    client: User,
    day: date,
    by: User | None = None,
    note: str | None = None,
    **values: int,
) -> int:
    """Commit an entry with stored values (thousandths of the canonical unit) by measure key."""
    ids = measure_ids(app)
    with app.app_context():
        entry = PhysicalEntry(
            client_id=client.id, measured_on=day, note=note, created_by_id=(by or client).id
        )
        db.add(entry)
        db.flush()
        for key, value in values.items():
            db.add(PhysicalValue(entry_id=entry.id, measure_id=ids[key], value=value))
        db.commit()
        return entry.id


def entries(app: Flask, client: User) -> list[dict[str, Any]]:
    """The client's entries as plain dicts: date, note, and values by measure key."""
    ids = {v: k for k, v in measure_ids(app).items()}
    with app.app_context():
        result = []
        for entry in db.scalars(
            select(PhysicalEntry)
            .where(PhysicalEntry.client_id == client.id)
            .order_by(PhysicalEntry.measured_on)
        ):
            values = {
                ids[v.measure_id]: v.value
                for v in db.scalars(select(PhysicalValue).where(PhysicalValue.entry_id == entry.id))
            }
            result.append({"id": entry.id, "on": entry.measured_on, "note": entry.note, **values})
        return result


def targets(app: Flask, client: User) -> list[tuple[int, int, date | None]]:
    with app.app_context():
        return [
            (t.measure_id, t.value, t.due_on)
            for t in db.scalars(select(PhysicalTarget).where(PhysicalTarget.client_id == client.id))
        ]
