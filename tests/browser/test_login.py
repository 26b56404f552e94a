"""Chromium signs in with the demo accounts and lands where each role belongs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from core.demo import DEMO_PASSWORD, demo_logins, load_demo
from tests.conftest import browser_login, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(app: Flask) -> Iterator[dict[str, str]]:
    with app.app_context():
        load_demo()
    yield {role: email for role, email in reversed(demo_logins())}


def test_demo_client_lands_on_the_client_area(page, live_server: str, app: Flask, demo) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live_server}/connexion")
    screenshot(page, "login")
    browser_login(page, live_server, app, demo["client"], DEMO_PASSWORD)
    page.wait_for_url(f"{live_server}/accueil-client**")
    assert page.locator("h1").first.inner_text().startswith("Hello")
    screenshot(page, "client-area-landing")


def test_demo_coach_lands_on_coach_home(page, live_server: str, app: Flask, demo) -> None:  # type: ignore[no-untyped-def]
    browser_login(page, live_server, app, demo["coach"], DEMO_PASSWORD)
    page.wait_for_url(f"{live_server}/accueil-coach**")
    assert page.title()
    screenshot(page, "coach-home-landing")


def test_wrong_password_is_refused_in_the_browser(page, live_server: str, app: Flask, demo) -> None:  # type: ignore[no-untyped-def]
    browser_login(page, live_server, app, demo["client"], "not the password")
    assert page.url.startswith(f"{live_server}/connexion")
    assert "Email or password is incorrect." in page.content()
