"""Physical needs Premium: activation refused without it, Premium kept while Physical is
active (the host's rule, documented in addons/physical), and the data survives both."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask

from core.accounts.models import Role
from core.plugins import AddonError, get_host
from tests.conftest import post
from tests.helpers import option, set_options
from tests.physical_fixtures import (
    AREA_TAB,
    add_entry,
    assign,
    entries,
    physical,
    profile_tab,
    signed_in,
)

__all__ = ["physical"]


def activate(app: Flask, name: str) -> None:
    with app.app_context():
        get_host(app).activate(app, name)


def deactivate(app: Flask, name: str) -> None:
    with app.app_context():
        get_host(app).deactivate(app, name)


def active(app: Flask) -> set[str]:
    with app.test_request_context():
        return set(get_host(app).active_names())


def test_physical_without_premium_is_refused_with_a_message(app: Flask, make_user) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AddonError, match="Physical requires Premium: activate that first"):
        activate(app, "physical")
    assert "physical" not in active(app)
    admin = signed_in(app, make_user(Role.ADMIN))
    response = post(
        app, admin, "/admin/addons/physical", {"action": "activate"}, follow_redirects=True
    )
    assert "Physical requires Premium" in response.get_data(as_text=True)
    assert "physical" not in active(app)
    # The card says it before the click: by title, with the requirement's state.
    card = card_of(admin.get("/admin/addons").get_data(as_text=True), "physical")
    assert 'Premium <span class="muted">(not active)</span>' in card
    assert "Activate Premium first." in card
    # A French site owner reads the refusal in French.
    french = signed_in(app, make_user(Role.ADMIN, locale="fr"))
    response = post(
        app, french, "/admin/addons/physical", {"action": "activate"}, follow_redirects=True
    )
    assert "Physical nécessite Premium : activez-le d’abord" in response.get_data(as_text=True)
    french_card = card_of(french.get("/admin/addons").text, "physical")
    assert "Activez d’abord Premium." in french_card
    assert "Les mensurations au fil du temps" in french_card  # its DESCRIPTION, translated
    activate(app, "premium")
    card = card_of(admin.get("/admin/addons").get_data(as_text=True), "physical")
    assert "(not active)" not in card and "first." not in card


def card_of(page: str, name: str) -> str:
    """One add-on's card on Admin → Add-ons."""
    start = page.index(f'id="addon-{name}"')
    return page[start : page.index("</article>", start)]


def test_premium_stays_while_physical_is_active_and_data_survives(
    app: Flask, make_user, physical: None
) -> None:  # type: ignore[no-untyped-def]
    client = make_user(Role.CLIENT)
    coach = make_user(Role.COACH)
    assign(app, coach, client)
    add_entry(app, client, date(2030, 1, 7), weight=80000)
    set_options(app, physical__units="imperial")
    web, coach_web = signed_in(app, client), signed_in(app, coach)
    assert "176.4" in web.get(AREA_TAB).get_data(as_text=True)
    assert "176.4" in web.get("/accueil-client/sessions").get_data(as_text=True)  # the card

    # Premium cannot go while Physical depends on it.
    with pytest.raises(
        AddonError, match="Premium cannot be deactivated while Physical depends on it"
    ):
        deactivate(app, "premium")
    assert {"premium", "physical"} <= active(app)

    admin = signed_in(app, make_user(Role.ADMIN))
    response = post(
        app, admin, "/admin/addons/premium", {"action": "deactivate"}, follow_redirects=True
    )
    assert "deactivate that first" in response.get_data(as_text=True)
    assert {"premium", "physical"} <= active(app)

    # Physical first, then Premium: both tabs, the card and the settings are gone.
    deactivate(app, "physical")
    deactivate(app, "premium")
    assert web.get(AREA_TAB).status_code == 404
    assert coach_web.get(profile_tab(client.id)).status_code == 404
    assert web.get("/physical/export.csv").status_code == 404
    assert "176.4" not in web.get("/accueil-client/sessions").get_data(as_text=True)  # no card
    assert admin.get("/admin/settings/physical").status_code == 404

    # Everything is back once both are active again.
    activate(app, "premium")
    activate(app, "physical")
    assert [e["weight"] for e in entries(app, client)] == [80000]
    assert option(app, "physical.units") == "imperial"
    assert "176.4" in web.get(AREA_TAB).get_data(as_text=True)
    assert coach_web.get(profile_tab(client.id)).status_code == 200
    assert admin.get("/admin/settings/physical").status_code == 200


def test_physical_is_off_while_premium_is_off_for_any_other_reason(
    app: Flask, make_user, physical: None
) -> None:  # type: ignore[no-untyped-def]
    """Premium's state switched off behind the host's back (say, by hand in the database):
    Physical is treated as inactive, and its data is kept for when Premium returns."""
    from core.db import db
    from core.plugins.models import AddonState

    client = make_user(Role.CLIENT)
    add_entry(app, client, date(2030, 1, 7), weight=80000)
    web = signed_in(app, client)
    with app.app_context():
        db.get(AddonState, "premium").active = False
        db.commit()
    assert web.get(AREA_TAB).status_code == 404
    with app.app_context():
        db.get(AddonState, "premium").active = True
        db.commit()
    assert web.get(AREA_TAB).status_code == 200
    assert [e["weight"] for e in entries(app, client)] == [80000]
