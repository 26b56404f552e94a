"""Fixtures shared by the Premium tests: Premium active, licensed and pointed at the stand-in.

Import what a module needs (``from tests.premium_fixtures import premium, ...``).
Webhooks from the stand-in go to the live server, which shares the session ``app``
(and so its database) with the Flask test client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from addons.premium.config import set_secret
from addons.premium.license import generate_key_pair, issue_license
from core.accounts.models import Role, User
from core.db import db
from core.emails.models import OutboxEmail
from core.payments.models import Payment, Refund
from core.plugins import get_host
from tests.conftest import login
from tests.helpers import set_options
from tests.stripe_standin import StripeStandin
from tests.stripe_standin import fixtures as standin_fixtures
from tests.stripe_standin.fixtures import WEBHOOK_SECRET
from tests.test_clientarea_pages import add_session

stripe_standin_server = standin_fixtures.stripe_standin_server
stripe_standin = standin_fixtures.stripe_standin

PRIVATE_PEM, PUBLIC_PEM = generate_key_pair()
SECRET_KEY = "sk_test_coachdesk_premium"
CONFIG_KEYS = ("PREMIUM_STRIPE_API_BASE", "PREMIUM_LICENSE_PUBLIC_KEY")


def configure(app: Flask, **overrides: Any) -> None:
    """Licence and test-mode keys, as the settings page would store them."""
    key = issue_license(
        PRIVATE_PEM,
        licensee="Élan Coaching",
        site_url=app.config["BASE_URL"],
        expires=date.today() + timedelta(days=365),
    )
    values = {
        "premium__mode": "test",
        "premium__license_key": key,
        "premium__test__publishable_key": "pk_test_coachdesk_premium",
        "premium__test__secret_key": SECRET_KEY,
        "premium__test__webhook_secret": WEBHOOK_SECRET,
    }
    values.update(overrides)
    secrets = {k: values.pop(k) for k in list(values) if k.endswith(("secret_key", "_secret"))}
    set_options(app, **values)
    with app.test_request_context():  # secrets are stored encrypted, as the settings page does
        for name, value in secrets.items():
            set_secret(name.replace("__", "."), value)
        db.commit()


@dataclass
class Premium:
    app: Flask
    standin: StripeStandin
    webhook_url: str

    def deliver(self, event: dict[str, Any], **kw: Any) -> tuple[int, str]:
        return self.standin.deliver(event, url=self.webhook_url, **kw)


@pytest.fixture
def premium(app: Flask, stripe_standin: StripeStandin, live_server: str) -> Iterator[Premium]:
    """Premium active, licensed, keys set; the stand-in delivers webhooks to the live server."""
    saved = {k: app.config.get(k) for k in CONFIG_KEYS}
    app.config["PREMIUM_STRIPE_API_BASE"] = stripe_standin.api_base
    app.config["PREMIUM_LICENSE_PUBLIC_KEY"] = PUBLIC_PEM
    configure(app)
    with app.app_context():
        get_host(app).activate(app, "premium")
        db.commit()
    url = f"{live_server}/premium/stripe/webhook"
    stripe_standin.webhook_endpoint(url, WEBHOOK_SECRET)
    yield Premium(app, stripe_standin, url)
    stripe_standin.wait_for_deliveries()
    with app.app_context():
        if get_host(app).is_active("premium"):
            get_host(app).deactivate(app, "premium")
        db.commit()
    for key, value in saved.items():
        if value is None:
            app.config.pop(key, None)
        else:
            app.config[key] = value


@dataclass
class Scene:
    web: FlaskClient
    client: User
    coach: User
    sessions: dict[str, int]


@pytest.fixture
def scene(app: Flask, make_user: Callable[..., User], premium: Premium) -> Scene:
    """A signed-in client with two unpaid sessions (€45, €60) and one paid, and their coach."""
    client = make_user(Role.CLIENT, first_name="Chloé", last_name="Martin")
    coach = make_user(Role.COACH, first_name="Hélène", last_name="Durand")
    web = app.test_client()
    assert login(app, web, client).status_code == 302
    sessions = {
        "mobility": add_session(app, client, coach, title="Mobility check", price_amount=4500),
        "strength": add_session(app, client, coach, title="Strength block", price_amount=6000),
        "paid": add_session(app, client, coach, title="Running technique", paid=True),
    }
    return Scene(web, client, coach, sessions)


def count(app: Flask, model: Any, *where: Any) -> int:
    with app.app_context():
        return int(db.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def payments(app: Flask, *where: Any) -> list[Payment]:
    with app.app_context():
        rows = list(db.scalars(select(Payment).where(*where).order_by(Payment.id)))
        db.expunge_all()
        return rows


def refunds(app: Flask) -> list[Refund]:
    with app.app_context():
        rows = list(db.scalars(select(Refund).order_by(Refund.id)))
        db.expunge_all()
        return rows


def outbox(app: Flask, email_type: str | None = None) -> list[OutboxEmail]:
    with app.app_context():
        query = select(OutboxEmail).order_by(OutboxEmail.id)
        if email_type:
            query = query.where(OutboxEmail.email_type == email_type)
        rows = list(db.scalars(query))
        db.expunge_all()
        return rows
