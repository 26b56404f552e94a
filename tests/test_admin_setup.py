"""First-run wizard: time zone, business details, first coach (or skip); then the dashboard."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import select

from core.accounts.models import Role, User
from core.db import db
from core.emails.models import OutboxEmail
from tests.conftest import post
from tests.helpers import option

SITE = {"site_name": "Studio Forme", "timezone": "America/Montreal", "currency": "cad"}
BUSINESS = {"business_name": "Forme SARL", "business_address": "1 rue Haute", "tax_id": "FR123"}


def test_wizard_walks_three_steps_and_adds_the_first_coach(
    as_role: Callable[..., Any], app: Flask
) -> None:
    web, _ = as_role(Role.ADMIN)
    assert web.get("/admin/").headers["Location"].endswith("/admin/setup")
    first = web.get("/admin/setup").get_data(as_text=True)
    assert "Step 1 of 3" in first
    # The wizard belongs to Settings: that menu entry is the current one, not Dashboard.
    assert 'href="/admin/settings" aria-current="page"' in first
    assert first.count('aria-current="page"') == 2  # the wide menu and the phone panel

    bad = post(app, web, "/admin/setup/1", {**SITE, "timezone": "Nowhere/City"})
    assert bad.status_code == 200 and "is not a known time zone" in bad.get_data(as_text=True)
    assert option(app, "general.site_name") == "Coachdesk"

    step1 = post(app, web, "/admin/setup/1", SITE)
    assert step1.headers["Location"].endswith("/admin/setup/2")
    assert option(app, "general.timezone") == "America/Montreal"
    assert option(app, "general.currency") == "CAD"

    step2 = post(app, web, "/admin/setup/2", BUSINESS)
    assert step2.headers["Location"].endswith("/admin/setup/3")
    assert option(app, "receipts.business_name") == "Forme SARL"
    assert option(app, "receipts.tax_id") == "FR123"
    assert option(app, "setup.completed") is False

    coach = {"first_name": "Camille", "last_name": "Laurent", "email": "camille@example.test"}
    done = post(app, web, "/admin/setup/3", {**coach, "action": "send"})
    assert done.headers["Location"].endswith("/admin/")
    assert option(app, "setup.completed") is True
    with app.app_context():
        camille = db.scalar(select(User).where(User.email == "camille@example.test"))
        assert camille is not None and camille.role == Role.COACH
        assert db.scalar(select(OutboxEmail.email_type)) == "welcome"
    assert web.get("/admin/").status_code == 200


def test_first_coach_can_be_skipped(as_role: Callable[..., Any], app: Flask) -> None:
    web, _ = as_role(Role.ADMIN)
    done = post(app, web, "/admin/setup/3", {"action": "skip"})
    assert done.status_code == 302
    assert option(app, "setup.completed") is True
    with app.app_context():
        assert db.scalar(select(User).where(User.role == Role.COACH.value)) is None


def test_invalid_first_coach_keeps_the_wizard_open(as_role: Callable[..., Any], app: Flask) -> None:
    web, _ = as_role(Role.ADMIN)
    bad = post(app, web, "/admin/setup/3", {"first_name": "A", "email": "nope", "action": "add"})
    assert bad.status_code == 200
    assert "Enter an email address" in bad.get_data(as_text=True)
    assert option(app, "setup.completed") is False


def test_wizard_is_for_admins_only(as_role: Callable[..., Any], app: Flask) -> None:
    for role in (Role.COACH, Role.CLIENT):
        web, _ = as_role(role)
        assert web.get("/admin/setup").status_code == 403
        assert post(app, web, "/admin/setup/3", {"action": "skip"}).status_code == 403
    assert option(app, "setup.completed") is False
    web, _ = as_role(Role.ADMIN)
    assert web.get("/admin/setup/4").status_code == 404
