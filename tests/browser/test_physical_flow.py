"""Chromium: a client adds two entries and sees the chart, the change and the target; the
coach sets the target and corrects an entry on the client profile. Phone and desktop
screenshots, in English and in French."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask

from core.accounts.models import Role
from tests.conftest import PASSWORD, browser_login, screenshot
from tests.physical_fixtures import AREA_TAB, assign, entries, physical, profile_tab

pytestmark = pytest.mark.browser
__all__ = ["physical"]

WORDS = {
    "en": {
        "add": "Add measurements",
        "save": "Save",
        "weight": "Weight (kg)",
        "waist": "Waist (cm)",
        "note": "Note",
        "saved": "Measurements of",
        "to_go": "9.5\u00a0cm to go",
        "change": "\u22120.5\u00a0kg",
        "edited": "\u22120.7\u00a0kg",
        "measure": "Measure",
        "target": "Target",
        "set_target": "Set the target",
        "edit": "Edit",
        "weight_value": "82.4",
        "second_weight": "81.9",
        "corrected": "81.7",
        "waist_value": "91",
        "second_waist": "89.5",
    },
    "fr": {
        "add": "Ajouter des mesures",
        "save": "Enregistrer",
        "weight": "Poids (kg)",
        "waist": "Tour de taille (cm)",
        "note": "Note",
        "saved": "Mesures du",
        "to_go": "9,5\u00a0cm à faire",
        "change": "\u22120,5\u00a0kg",
        "edited": "\u22120,7\u00a0kg",
        "measure": "Mesure",
        "target": "Objectif",
        "set_target": "Fixer l’objectif",
        "edit": "Modifier",
        "weight_value": "82,4",
        "second_weight": "81,9",
        "corrected": "81,7",
        "waist_value": "91",
        "second_waist": "89,5",
    },
}


def fill_entry(page: Any, words: dict[str, str], day: date, weight: str, waist: str) -> None:
    form = page.locator("#physical-form")
    if form.get_attribute("open") is None:
        form.locator("summary").click()
    form.locator("input[name=measured_on]").fill(day.isoformat())
    form.get_by_label(words["weight"]).fill(weight)
    form.get_by_label(words["waist"]).fill(waist)
    with page.expect_navigation():
        form.get_by_role("button", name=words["save"]).click()


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_client_and_coach_follow_measurements(  # type: ignore[no-untyped-def]
    page, browser, live_server: str, app: Flask, make_user, physical: None, lang: str
) -> None:
    words = WORDS[lang]
    client = make_user(Role.CLIENT, first_name="Chloé", last_name="Martin", locale=lang)
    coach = make_user(Role.COACH, first_name="Hélène", last_name="Durand", locale=lang)
    assign(app, coach, client)
    today = date.today()

    # The coach sets a waist target on the client's profile (before any measurement).
    coach_context = browser.new_context()
    coach_page: Any = coach_context.new_page()
    browser_login(coach_page, live_server, app, coach.email, PASSWORD)
    coach_page.wait_for_url(f"{live_server}/accueil-coach**")
    coach_page.goto(f"{live_server}{profile_tab(client.id)}")
    targets = coach_page.locator("#physical-targets")
    targets.get_by_label(words["measure"]).select_option(label=words["waist"].split(" (")[0])
    targets.get_by_label(words["target"], exact=True).fill("80")
    targets.locator("input[name=due_on]").fill((today + timedelta(days=120)).isoformat())
    with coach_page.expect_navigation():
        targets.get_by_role("button", name=words["set_target"]).click()
    assert "80.0" in targets.inner_text() or "80,0" in targets.inner_text()

    # The client adds two entries and sees the change, the chart and the target.
    browser_login(page, live_server, app, client.email, PASSWORD)
    page.wait_for_url(f"{live_server}/accueil-client/**")
    page.goto(f"{live_server}{AREA_TAB}")
    screenshot(page, f"physical-client-empty-{lang}")
    fill_entry(page, words, today - timedelta(days=7), words["weight_value"], words["waist_value"])
    assert words["saved"] in page.inner_text(".flashes")
    fill_entry(page, words, today, words["second_weight"], words["second_waist"])
    weight = page.locator("#physical-summary-weight")
    assert words["change"] in weight.inner_text()
    waist = page.locator("#physical-summary-waist")
    assert words["to_go"] in waist.inner_text()
    # One chart per measure with data (each drawn at three widths, one shown at a time).
    assert page.locator(".physical-chart svg:visible").count() == 2
    assert (page.locator(".physical-chart table").first.text_content() or "").strip() != ""
    screenshot(page, f"physical-client-{lang}")
    page.set_viewport_size({"width": 360, "height": 800})
    chart_box = page.locator(".physical-chart svg:visible").first.bounding_box()
    assert chart_box is not None and chart_box["width"] <= 360
    page.set_viewport_size({"width": 1280, "height": 900})

    # The coach corrects the latest entry on the profile.
    coach_page.goto(f"{live_server}{profile_tab(client.id)}")
    latest = coach_page.locator(".physical-entry").first
    with coach_page.expect_navigation():  # the add form is on both pages: fill the edit one
        latest.get_by_role("link", name=words["edit"]).click()
    form = coach_page.locator("#physical-form")
    form.get_by_label(words["weight"]).fill(words["corrected"])
    form.get_by_label(words["note"]).fill("Studio scale")
    with coach_page.expect_navigation():
        form.get_by_role("button", name=words["save"]).click()
    assert words["edited"] in coach_page.locator("#physical-summary-weight").inner_text()
    screenshot(coach_page, f"physical-coach-{lang}")
    coach_context.close()

    stored = entries(app, client)
    assert [(e.get("weight"), e.get("waist"), e["note"]) for e in stored] == [
        (82400, 91000, None),
        (81700, 89500, "Studio scale"),
    ]
    page.reload()
    assert words["edited"] in page.locator("#physical-summary-weight").inner_text()


def test_settings_page_adds_a_custom_measure(  # type: ignore[no-untyped-def]
    page, live_server: str, app: Flask, make_user, physical: None
) -> None:
    admin = make_user(Role.ADMIN)
    browser_login(page, live_server, app, admin.email, PASSWORD)
    page.wait_for_url(f"{live_server}/admin/**")
    page.goto(f"{live_server}/admin/settings/physical")
    custom = page.locator("#physical-custom")
    custom.get_by_label("Name").fill("Grip strength")
    custom.get_by_label("Unit").select_option("mass")
    with page.expect_navigation():
        custom.get_by_role("button", name="Add the measure").click()
    assert "“Grip strength” added." in page.inner_text(".flashes")
    with page.expect_navigation():
        page.get_by_role("button", name="Move Grip strength up").click()
    names = page.locator(".physical-measure-row").all_inner_texts()
    assert "Grip" not in names[-1] and "Resting heart rate" in names[-1]
    screenshot(page, "physical-settings")
