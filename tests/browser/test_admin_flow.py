"""Chromium: the site owner completes the setup wizard, restyles the site and tours the admin."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from core.admin.setup import SETUP_COMPLETED
from core.db import db
from core.demo import DEMO_PASSWORD, DOMAIN, load_demo
from core.settings import set_option
from tests.conftest import browser_login, screenshot

pytestmark = pytest.mark.browser

LOGO = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">'
    b'<rect width="64" height="64" rx="14" fill="#b4235a"/>'
    b'<circle cx="32" cy="32" r="14" fill="none" stroke="#fff" stroke-width="6"/></svg>'
)


@pytest.fixture
def fresh_site(app: Flask) -> Iterator[None]:
    """The demo people and sessions, on a site whose owner has not run the wizard yet."""
    with app.app_context():
        load_demo()
        set_option(SETUP_COMPLETED, False)
        db.commit()
    yield


def test_admin_sets_up_the_site_and_changes_the_accent(  # type: ignore[no-untyped-def]
    page, live_server: str, app: Flask, fresh_site: None
) -> None:
    browser_login(page, live_server, app, f"admin@{DOMAIN}", DEMO_PASSWORD)
    page.wait_for_url(f"{live_server}/admin/setup")
    screenshot(page, "admin-wizard-1")
    page.select_option("select[name=timezone]", "Europe/Paris")
    page.fill("input[name=site_name]", "Studio Forme")
    page.click("button:has-text('Continue')")
    page.wait_for_url(f"{live_server}/admin/setup/2")
    page.fill("input[name=business_name]", "Studio Forme SARL")
    page.fill("textarea[name=business_address]", "12 rue Vauban\n69006 Lyon")
    screenshot(page, "admin-wizard-2")
    page.click("button:has-text('Continue')")
    page.wait_for_url(f"{live_server}/admin/setup/3")
    screenshot(page, "admin-wizard-3")
    page.click("button:has-text('Skip and finish')")
    page.wait_for_url(f"{live_server}/admin/")
    assert "Setup is complete" in page.inner_text(".flashes")
    assert page.inner_text("h1") == "Dashboard"
    screenshot(page, "admin-dashboard")

    page.goto(f"{live_server}/admin/settings/style")
    page.fill("input[name=accent]", "#b4235a")
    page.set_input_files(
        "input[name=logo]",
        files=[{"name": "logo.svg", "mimeType": "image/svg+xml", "buffer": LOGO}],
    )
    page.fill("input[name=login_title]", "Bienvenue au studio")
    page.click("button:has-text('Save')")
    page.wait_for_url(f"{live_server}/admin/settings/style")
    assert "Settings saved." in page.inner_text(".flashes")
    page.goto(f"{live_server}/admin/users")
    accent = page.evaluate(
        "getComputedStyle(document.documentElement).getPropertyValue('--accent').trim()"
    )
    assert accent == "#b4235a"
    button = page.locator("a.btn-primary").first
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(180, 35, 90)"
    screenshot(page, "admin-users")
    page.goto(f"{live_server}/admin/settings/style")
    screenshot(page, "admin-settings-style-saved")

    page.click(".topbar-end .signout button")
    page.wait_for_url(f"{live_server}/connexion")
    assert page.inner_text("h1") == "Bienvenue au studio"
    logo = page.locator(".auth-brand img")
    assert "/branding/" in (logo.get_attribute("src") or "")
    assert logo.evaluate("img => img.complete && img.naturalWidth > 0")
    screenshot(page, "admin-login-branded")


def test_admin_pages_screenshots(  # type: ignore[no-untyped-def]
    page, live_server: str, app: Flask
) -> None:
    with app.app_context():
        load_demo()
    browser_login(page, live_server, app, f"admin@{DOMAIN}", DEMO_PASSWORD)
    page.wait_for_url(f"{live_server}/admin/")
    page.goto(f"{live_server}/admin/sessions")
    assert page.locator("table.admin-sessions tbody tr").count() == 25
    screenshot(page, "admin-sessions")
    page.goto(f"{live_server}/admin/sessions?pending_confirmation=y&coach=2")
    screenshot(page, "admin-sessions-filtered")
    page.goto(f"{live_server}/admin/settings")
    keys = page.eval_on_selector_all(
        "nav.tabs a", "links => links.map(a => a.getAttribute('href').split('/').pop())"
    )
    assert keys[:1] == ["general"] and {"style", "permissions"} <= set(keys)
    for key in keys:
        page.goto(f"{live_server}/admin/settings/{key}")
        screenshot(page, f"admin-settings-{key}")
    page.goto(f"{live_server}/admin/users/new")
    screenshot(page, "admin-user-new")
    for name in ("addons", "themes"):
        page.goto(f"{live_server}/admin/{name}")
        screenshot(page, f"admin-{name}")
