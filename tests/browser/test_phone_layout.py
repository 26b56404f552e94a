"""Chromium at 390 × 844: the client area fits a phone, and the main screens in both themes.

The client has six tabs here (the core's four, Physical's, and a bundle's "My programs"
is not needed: six already overflow a phone's width when laid out on one line).
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from core.accounts.models import CoachClient, Role, User
from core.db import db
from tests.browser.test_clientarea_flow import scene  # noqa: F401 (a fixture)
from tests.conftest import PASSWORD, browser_login, screenshot
from tests.helpers import set_options
from tests.physical_fixtures import physical  # noqa: F401 (a fixture)

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def page_overflows(page: Any) -> bool:
    """True when the page itself scrolls sideways (a wide table inside a scroller is fine)."""
    return bool(page.evaluate("document.documentElement.scrollWidth > window.innerWidth"))


def fully_in_view(page: Any, locator: Any) -> bool:
    box = locator.bounding_box()
    size = page.viewport_size
    return bool(
        box
        and box["x"] >= 0
        and box["y"] >= 0
        and box["x"] + box["width"] <= size["width"]
        and box["y"] + box["height"] <= size["height"]
    )


@pytest.fixture(params=["default", "night"])
def theme(request: pytest.FixtureRequest, app: Flask) -> str:
    """Each screen in the light theme and in the night one."""
    set_options(app, theme__active=request.param)
    return str(request.param)


@pytest.mark.usefixtures("physical")
@pytest.mark.parametrize("lang", ["en", "fr"])
def test_client_area_fits_a_phone(  # type: ignore[no-untyped-def]
    page,
    live_server: str,
    app: Flask,
    scene,  # noqa: F811
    theme: str,
    lang: str,
) -> None:
    client: User = scene["client"]
    with app.app_context():
        db.get(User, client.id).locale = lang
        db.commit()
    page.set_viewport_size(PHONE)
    browser_login(page, live_server, app, client.email, PASSWORD)
    page.wait_for_url(f"{live_server}/accueil-client/sessions")

    tabs = page.locator("nav.tabs a.tab")
    labels = [t.strip() for t in tabs.all_inner_texts()]
    assert len(labels) >= 5 and {"en": "My profile", "fr": "Mon profil"}[lang] in labels
    assert not page_overflows(page)
    for n in range(tabs.count()):  # every tab shows whole, without scrolling anything
        assert fully_in_view(page, tabs.nth(n)), labels[n]

    # The figures are one short row led by the next session; the next session's card
    # itself (date, title, time) is in the first screen.
    page.screenshot(path=str(_artifact(f"phone-clientarea-first-screen-{theme}-{lang}")))
    figures = page.locator(".stat-cards")
    assert figures.bounding_box()["height"] < 100
    lead = figures.locator(".stat-card-next")
    assert fully_in_view(page, lead)
    assert lead.bounding_box()["x"] == min(b["x"] for b in _boxes(figures.locator(".stat-card")))
    assert not page_overflows(page)
    next_card = page.locator(f"#session-{scene['ids']['soon']}")
    assert "Mobility check" in next_card.inner_text()
    for part in (".session-when", ".session-title", ".session-meta"):
        assert fully_in_view(page, next_card.locator(part)), part

    for key in ("payments", "history", "profile", "physical"):
        page.goto(f"{live_server}/accueil-client/{key}")
        assert not page_overflows(page), key
    page.goto(f"{live_server}/accueil-client/sessions")
    screenshot(page, f"phone-clientarea-sessions-{theme}-{lang}")
    assert_figures_fit_on_one_line(page)


def assert_figures_fit_on_one_line(page: Any) -> None:
    """At 1366 px, no figure wraps or is cut ("Next session" on three lines was the bug)."""
    page.set_viewport_size({"width": 1366, "height": 900})
    values = page.locator(".stat-value")
    for n in range(values.count()):
        fits = values.nth(n).evaluate(
            "v => v.scrollWidth <= v.clientWidth"
            " && v.getClientRects().length === 1"
            " && v.getBoundingClientRect().height < 2 * parseFloat(getComputedStyle(v).fontSize)"
        )
        assert fits, values.nth(n).inner_text()


def test_coach_home_and_calendar_screens(  # type: ignore[no-untyped-def]
    page,
    live_server: str,
    app: Flask,
    scene,  # noqa: F811
    theme: str,
) -> None:
    with app.app_context():
        db.add(CoachClient(coach_id=scene["coach"].id, client_id=scene["client"].id))
        db.commit()
    browser_login(page, live_server, app, scene["coach"].email, PASSWORD)
    page.wait_for_url(f"{live_server}/accueil-coach**")
    page.set_viewport_size(PHONE)
    assert not page_overflows(page)
    screenshot(page, f"phone-coach-home-{theme}")
    page.goto(f"{live_server}/calendrier-seances")
    page.set_viewport_size(PHONE)
    assert not page_overflows(page)
    screenshot(page, f"phone-calendar-{theme}")


@pytest.mark.usefixtures("physical")
def test_admin_addons_screen_fits_a_phone(  # type: ignore[no-untyped-def]
    page, live_server: str, app: Flask, make_user: Any, theme: str
) -> None:
    """Premium active without a license key says so in a long status line: it wraps on a
    phone instead of widening the page (it ran 126 px off a 390 px screen)."""
    admin = make_user(Role.ADMIN)
    browser_login(page, live_server, app, admin.email, PASSWORD)
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server}/admin/addons")
    status = page.locator("#addon-premium .addon-status")
    assert "No license key" in status.inner_text()
    assert not page_overflows(page)
    assert status.bounding_box()["x"] + status.bounding_box()["width"] <= PHONE["width"]
    screenshot(page, f"phone-admin-addons-{theme}")


@pytest.mark.usefixtures("physical")
def test_every_admin_screen_fits_a_phone_in_french(  # type: ignore[no-untyped-def]
    page, live_server: str, app: Flask, make_user: Any, theme: str
) -> None:
    """French labels are the longest: a button's ("Enregistrer et envoyer les
    identifiants") or a date beside its label in a stacked table wraps rather than
    widening the page. Every screen of the menu, and a client's contact tab."""
    admin, coach, client = make_user(Role.ADMIN), make_user(Role.COACH), make_user(Role.CLIENT)
    with app.app_context():
        db.get(User, admin.id).locale = "fr"
        db.add(CoachClient(coach_id=coach.id, client_id=client.id))
        db.commit()
    browser_login(page, live_server, app, admin.email, PASSWORD)
    page.set_viewport_size(PHONE)
    menu = page.locator("nav.nav-desktop a[href^='/']").evaluate_all("as => as.map(a => a.href)")
    assert len(menu) >= 8
    for url in [*menu, f"{live_server}/customer/{client.id}/contact"]:
        page.goto(url)
        assert page.locator("html").get_attribute("lang") == "fr"
        assert not page_overflows(page), url
    screenshot(page, f"phone-admin-client-contact-fr-{theme}")


@pytest.mark.parametrize("width", [390, 1280])
def test_a_finances_payment_editor_opens_inside_the_screen(  # type: ignore[no-untyped-def]
    page,
    live_server: str,
    app: Flask,
    scene,  # noqa: F811
    width: int,
) -> None:
    """The payment badge starts its row on a phone and ends it on a wide screen: its form
    must open towards the screen, not off it on either side."""
    with app.app_context():
        db.add(CoachClient(coach_id=scene["coach"].id, client_id=scene["client"].id))
        db.commit()
    browser_login(page, live_server, app, scene["coach"].email, PASSWORD)
    page.wait_for_url(f"{live_server}/accueil-coach**")
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{live_server}/customer/{scene['client'].id}/finances")
    page.locator(".pay-badge details.badge-edit summary").first.click()
    form = page.locator(".pay-badge details[open] .badge-form")
    form.scroll_into_view_if_needed()
    box = form.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, box
    screenshot(page, f"finances-payment-editor-{width}")


def _boxes(locator: Any) -> list[dict[str, float]]:
    return [locator.nth(n).bounding_box() for n in range(locator.count())]


def _artifact(name: str) -> Any:
    from tests.conftest import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"
