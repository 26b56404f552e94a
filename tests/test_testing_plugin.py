"""Coachdesk's pytest plugin, run by pytest itself (pytester) on a small add-on test suite."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

ADDON_TESTS = """
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.accounts.models import User
from core.db import db, utcnow
from core.emails.accounts import send_password_reset
from core.plugins import get_host
from core.testing.plugin import CLOCK_START

pytestmark = pytest.mark.coachdesk_addons("testaddon")


def test_active_addon_and_signed_in_clients(coachdesk_app, coachdesk_client_for, coachdesk_users):
    with coachdesk_app.app_context():
        assert get_host(coachdesk_app).is_active("testaddon")
        assert not get_host(coachdesk_app).is_active("dependent")
    client = coachdesk_client_for("client", locale="fr")
    assert client.user.locale == "fr"
    assert b"testaddon-tab" in client.get("/accueil-client/extra").data
    assert coachdesk_client_for("coach").get("/accueil-client/extra").status_code == 302
    admin = coachdesk_client_for(coachdesk_users.admin)
    assert admin.user.role == "admin"
    assert admin.post("/testaddon/notes", data={"text": "no token"}).status_code == 400
    assert admin.post_form("/testaddon/notes", {"text": "with token"}).status_code == 201


def test_outbox_and_clock(coachdesk_app, coachdesk_outbox, coachdesk_clock, coachdesk_users):
    assert utcnow() == CLOCK_START
    coachdesk_clock.shift(timedelta(days=2))
    assert utcnow() == CLOCK_START + timedelta(days=2)
    user = coachdesk_users.client
    with coachdesk_app.test_request_context():
        send_password_reset(db.scalar(select(User).where(User.id == user.id)))
        db.commit()
    assert coachdesk_outbox.messages == []
    (message,) = coachdesk_outbox.deliver()
    assert coachdesk_outbox.to(user.email) == [message]
    assert coachdesk_outbox.deliver() == []
"""

OVERRIDE_TESTS = """
import pytest

from core.plugins import get_host


@pytest.fixture
def coachdesk_addons():
    return ("testaddon", "dependent")


def test_the_fixture_chooses_the_addons(coachdesk_app):
    with coachdesk_app.app_context():
        assert get_host(coachdesk_app).active_names() == {"testaddon", "dependent"}
"""


def test_the_plugin_fixtures_work_in_an_addon_test_suite(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_addon=ADDON_TESTS, test_override=OVERRIDE_TESTS)
    # In this process: pytest-playwright cannot nest its own run inside the outer one.
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "-p", "no:playwright", "--strict-markers"
    )
    result.assert_outcomes(passed=3)


def test_the_marker_is_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess("-p", "no:playwright", "--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.coachdesk_addons(*names):*"])
