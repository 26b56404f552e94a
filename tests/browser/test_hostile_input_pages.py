"""What a person sees when the input is refused: a message on the page, never an error 500."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.conftest import PASSWORD, browser_login, screenshot
from tests.test_coach_support import assign

pytestmark = pytest.mark.browser


def test_refusals_explain_themselves(page: Any, live_server: str, app: Flask, make_user) -> None:  # type: ignore[no-untyped-def]
    coach = make_user("coach", first_name="Camille")
    client = make_user("client", first_name="Léa", last_name="Martin")
    assign(app, coach.id, client.id)
    browser_login(page, live_server, app, coach.email, PASSWORD)
    page.wait_for_url(f"{live_server}/accueil-coach**")

    page.goto(f"{live_server}/calendrier-seances?date=9999-12-31")
    assert "Dates must be between 1900 and 2200." in page.locator(".flash").inner_text()
    screenshot(page, "hardening-calendar-out-of-range")

    page.goto(f"{live_server}/coach/sessions/new?client={client.id}")
    page.fill("input[name=day]", "2200-12-31")
    page.fill("input[name=start]", "23:30")
    page.fill("input[name=duration_minutes]", "1440")
    page.click("button[name=action][value=save]")
    page.wait_for_load_state()
    screenshot(page, "hardening-editor-beyond-calendar")
    assert "A session must start and end within the calendar." in page.content()
    screenshot(page, "hardening-editor-beyond-calendar")

    response = page.goto(f"{live_server}/mes-clients?q=L%C3%A9a%00")
    assert response is not None and response.status == 400
    assert "NUL character" in page.content()
    screenshot(page, "hardening-nul-byte")
