"""Physical tabs: the client adds and corrects entries, the coach edits, deletes and sets
targets; messages for implausible values; units; settings; the statistics card; CSV."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from flask import Flask

from core.accounts.models import Role
from tests.conftest import post
from tests.helpers import option, set_options
from tests.physical_fixtures import (
    AREA_TAB,
    People,
    add_entry,
    entries,
    measure_ids,
    people,
    physical,
    profile_tab,
    signed_in,
    targets,
)

__all__ = ["people", "physical"]
TODAY = date.today()
WEEK_AGO = TODAY - timedelta(days=7)


def save(app: Flask, web, url: str, day: date, **fields: str):  # type: ignore[no-untyped-def]
    return post(app, web, url, {"action": "save", "measured_on": day.isoformat(), **fields})


def text(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def test_client_adds_two_entries_and_sees_latest_and_changes(app: Flask, people: People) -> None:
    assert (
        save(app, people.web, AREA_TAB, WEEK_AGO, m_weight="82.4", m_waist="91").status_code == 302
    )
    response = save(app, people.web, AREA_TAB, TODAY, m_weight="81,9", note="After holidays")
    assert response.status_code == 302
    page = text(people.web.get(AREA_TAB))
    assert "81.9\u00a0kg" in page
    assert "\u22120.5\u00a0kg" in page  # since the previous entry and since the first
    assert "After holidays" in page
    assert [(e["weight"], e.get("waist")) for e in entries(app, people.client)] == [
        (82400, 91000),
        (81900, None),
    ]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"m_weight": "0"}, "Weight must be between 20.0\u00a0kg and 400.0\u00a0kg."),
        ({"m_weight": "2000"}, "Weight must be between 20.0\u00a0kg and 400.0\u00a0kg."),
        ({"m_waist": "-80"}, "Waist must be between 30.0\u00a0cm and 250.0\u00a0cm."),
        ({"m_weight": "80.25"}, "Weight: use at most 1 decimal."),
        ({"m_resting_hr": "61.5"}, "Resting heart rate: enter a whole number."),
        ({"m_body_fat": "lots"}, "Body fat: enter a number between 2.0\u00a0% and 75.0\u00a0%."),
        ({}, "Enter at least one measurement."),
    ],
)
def test_implausible_values_are_refused_naming_the_field_and_range(
    app: Flask, people: People, fields: dict[str, str], message: str
) -> None:
    response = (
        save(app, people.web, AREA_TAB, TODAY, m_chest="100", **fields)
        if fields
        else (save(app, people.web, AREA_TAB, TODAY))
    )
    assert response.status_code == 200
    assert message in text(response)
    assert entries(app, people.client) == []


def test_messages_use_the_clients_units_and_language(app: Flask, make_user, physical: None) -> None:  # type: ignore[no-untyped-def]
    client = make_user(Role.CLIENT, locale="fr")
    web = signed_in(app, client)
    post(app, web, AREA_TAB, {"action": "units", "units": "imperial"})
    response = save(app, web, AREA_TAB, TODAY, m_weight="2000")
    assert "Poids doit être compris entre 44,1\u00a0lb et 881,8\u00a0lb." in text(response)
    assert save(app, web, AREA_TAB, TODAY, m_weight="176,4").status_code == 302
    assert entries(app, client)[0]["weight"] == 80014
    assert "176,4\u00a0lb" in text(web.get(AREA_TAB))


def test_future_and_duplicate_dates_are_refused(app: Flask, people: People) -> None:
    response = save(app, people.web, AREA_TAB, TODAY + timedelta(days=2), m_weight="80")
    assert "The date cannot be in the future." in text(response)
    add_entry(app, people.client, TODAY, weight=80000)
    response = save(app, people.web, AREA_TAB, TODAY, m_weight="79")
    assert "There is already an entry on" in text(response)
    assert [e["weight"] for e in entries(app, people.client)] == [80000]


def test_client_corrects_their_own_entry_without_drift(app: Flask, people: People) -> None:
    """An entry typed in pounds, reopened in kilograms and saved unchanged, keeps its value."""
    post(app, people.web, AREA_TAB, {"action": "units", "units": "imperial"})
    save(app, people.web, AREA_TAB, WEEK_AGO, m_weight="176.4", m_waist="35.5")
    (entry,) = entries(app, people.client)
    post(app, people.web, AREA_TAB, {"action": "units", "units": "metric"})
    form = text(people.web.get(f"{AREA_TAB}?edit={entry['id']}"))
    assert 'value="80.0"' in form and 'value="90.2"' in form
    response = save(
        app,
        people.web,
        AREA_TAB,
        WEEK_AGO,
        entry_id=str(entry["id"]),
        m_weight="80.0",
        m_waist="90.2",
        note="Morning",
    )
    assert response.status_code == 302
    (after,) = entries(app, people.client)
    assert (after["weight"], after["waist"], after["note"]) == (
        entry["weight"],
        entry["waist"],
        "Morning",
    )


def test_client_cannot_touch_the_coachs_entries(app: Flask, people: People) -> None:
    entry = add_entry(app, people.client, WEEK_AGO, by=people.coach, weight=80000)
    assert people.web.get(f"{AREA_TAB}?edit={entry}").status_code == 404
    response = save(app, people.web, AREA_TAB, WEEK_AGO, entry_id=str(entry), m_weight="70")
    assert response.status_code == 404
    assert (
        post(app, people.web, AREA_TAB, {"action": "delete", "entry_id": entry}).status_code == 403
    )
    assert [e["weight"] for e in entries(app, people.client)] == [80000]


def test_clients_read_only_when_the_setting_says_so(app: Flask, people: People) -> None:
    set_options(app, physical__clients_can_edit=False)
    own = add_entry(app, people.client, WEEK_AGO, weight=80000)
    page = text(people.web.get(AREA_TAB))
    assert "Add measurements" not in page and "?edit=" not in page
    assert save(app, people.web, AREA_TAB, TODAY, m_weight="79").status_code == 403
    assert (
        save(app, people.web, AREA_TAB, WEEK_AGO, entry_id=str(own), m_weight="79").status_code
        == 403
    )
    assert [e["weight"] for e in entries(app, people.client)] == [80000]
    # the coach still can
    assert (
        save(app, people.coach_web, profile_tab(people.client.id), TODAY, m_weight="79").status_code
        == 302
    )


def test_coach_adds_edits_and_deletes_entries_with_notes(app: Flask, people: People) -> None:
    url = profile_tab(people.client.id)
    own = add_entry(app, people.client, WEEK_AGO, weight=80000, waist=90000)
    assert (
        save(app, people.coach_web, url, TODAY, m_weight="79.5", note="Field test").status_code
        == 302
    )
    form = text(people.coach_web.get(f"{url}?edit={own}"))
    assert "Correct the measurements of" in form
    response = save(
        app,
        people.coach_web,
        url,
        WEEK_AGO,
        entry_id=str(own),
        m_weight="80.3",
        m_waist="90",
        note="Scale B",
    )
    assert response.status_code == 302
    first, second = entries(app, people.client)
    assert (first["weight"], first["waist"], first["note"]) == (80300, 90000, "Scale B")
    assert (second["weight"], second["note"]) == (79500, "Field test")
    page = text(people.coach_web.get(url))
    assert "by Hélène Durand" in page
    assert (
        post(app, people.coach_web, url, {"action": "delete", "entry_id": own}).status_code == 302
    )
    assert [e["id"] for e in entries(app, people.client)] == [second["id"]]


def test_hidden_measures_keep_their_values_when_an_entry_is_corrected(
    app: Flask, people: People
) -> None:
    entry = add_entry(app, people.client, WEEK_AGO, weight=80000, neck=38000)
    admin = signed_in(app, _admin(app))
    shown = [str(i) for k, i in measure_ids(app).items() if k != "neck"]
    post(app, admin, "/admin/settings/physical", {"action": "save-measures", "shown": shown})
    url = profile_tab(people.client.id)
    assert "Neck" not in text(people.coach_web.get(url))
    save(app, people.coach_web, url, WEEK_AGO, entry_id=str(entry), m_weight="81")
    (after,) = entries(app, people.client)
    assert (after["weight"], after["neck"]) == (81000, 38000)


def test_coach_sets_a_target_and_the_client_sees_how_far(app: Flask, people: People) -> None:
    url = profile_tab(people.client.id)
    add_entry(app, people.client, WEEK_AGO, waist=95000)
    add_entry(app, people.client, TODAY, waist=91500)
    due = TODAY + timedelta(days=90)
    response = post(
        app,
        people.coach_web,
        url,
        {"action": "target", "measure": "waist", "value": "80", "due_on": due.isoformat()},
    )
    assert response.status_code == 302
    assert targets(app, people.client) == [(measure_ids(app)["waist"], 80000, due)]
    page = text(people.web.get(AREA_TAB))
    assert "Target: 80.0\u00a0cm by" in page and "11.5\u00a0cm to go" in page
    chart = page[page.index('class="card physical-chart"') :].split("</section>")[0]
    assert ">Target<" in chart  # the target's line in the chart's legend
    # a past date and an implausible value are refused
    response = post(
        app, people.coach_web, url, {"action": "target", "measure": "waist", "value": "10"}
    )
    assert "Waist must be between 30.0\u00a0cm and 250.0\u00a0cm." in text(response)
    response = post(
        app,
        people.coach_web,
        url,
        {
            "action": "target",
            "measure": "waist",
            "value": "85",
            "due_on": (TODAY - timedelta(days=1)).isoformat(),
        },
    )
    assert "is already past" in text(response)
    assert targets(app, people.client)[0][1] == 80000
    # reached (the coach corrects today's entry), then removed
    latest = entries(app, people.client)[-1]["id"]
    save(app, people.coach_web, url, TODAY, entry_id=str(latest), m_waist="79.5")
    page = text(people.web.get(AREA_TAB))
    assert "Target: 80.0\u00a0cm by" in page and "reached" in page and "to go" not in page
    assert (
        post(
            app, people.coach_web, url, {"action": "target-remove", "measure": "waist"}
        ).status_code
        == 302
    )
    assert targets(app, people.client) == []


def test_statistics_card_shows_the_latest_weight(app: Flask, people: People) -> None:
    page = text(people.web.get("/accueil-client/sessions"))
    assert "No measurement yet" in page
    add_entry(app, people.client, WEEK_AGO, waist=90000)
    page = text(people.web.get("/accueil-client/sessions"))
    assert "90.0\u00a0cm" in page  # no weight yet: the first measure with data
    add_entry(app, people.client, WEEK_AGO - timedelta(days=7), weight=81000)
    add_entry(app, people.client, TODAY, weight=80400)
    for tab in ("sessions", "physical"):
        page = text(people.web.get(f"/accueil-client/{tab}"))
        card = page[page.index('class="stat-cards') :].split("</dl>")[0]
        assert "80.4\u00a0kg" in card and "\u22120.6\u00a0kg since" in card, tab


def test_csv_export_in_the_clients_units(app: Flask, people: People) -> None:
    add_entry(app, people.client, WEEK_AGO, weight=80000, waist=90170, note="=HYPERLINK(1)")
    add_entry(app, people.client, TODAY, weight=79500, resting_hr=58000)
    post(app, people.web, AREA_TAB, {"action": "units", "units": "imperial"})
    for web, url in (
        (people.web, "/physical/export.csv"),
        (people.coach_web, f"/physical/clients/{people.client.id}/export.csv"),
    ):
        response = web.get(url)
        assert response.status_code == 200 and response.mimetype == "text/csv"
        rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
        assert rows == [
            ["Date", "Weight (lb)", "Waist (in)", "Resting heart rate (bpm)", "Note"],
            [WEEK_AGO.isoformat(), "176.4", "35.5", "", "'=HYPERLINK(1)"],
            [TODAY.isoformat(), "175.3", "", "58", ""],
        ]


def test_settings_units_order_and_custom_measures(app: Flask, people: People) -> None:
    admin = signed_in(app, _admin(app))
    url = "/admin/settings/physical"
    assert "Default units" in text(admin.get(url))
    post(app, admin, url, {"action": "save-general", "units": "imperial"})
    assert option(app, "physical.units") == "imperial"
    assert option(app, "physical.clients_can_edit") is False  # unticked box
    # a custom measure, shown to every client after the others, then moved up
    response = post(
        app, admin, url, {"action": "add-measure", "label": "Grip strength", "kind": "mass"}
    )
    assert response.status_code == 302
    ids = measure_ids(app)
    custom = next(i for k, i in ids.items() if k.startswith("custom_"))
    shown = [str(i) for i in ids.values()]
    post(app, admin, url, {"action": f"up-{custom}", "shown": shown, f"label-{custom}": "Grip"})
    page = text(people.coach_web.get(profile_tab(people.client.id)))
    assert "Grip (lb)" in page
    assert page.index("Neck (in)") < page.index("Grip (lb)") < page.index("Resting heart rate")
    # a custom measure with values cannot be deleted, only hidden
    add_entry(app, people.client, TODAY, **{next(k for k in ids if k.startswith("custom_")): 40000})
    post(app, admin, url, {"action": f"delete-{custom}"})
    assert custom in measure_ids(app).values()
    builtin = ids["weight"]
    post(app, admin, url, {"action": f"delete-{builtin}"})
    assert builtin in measure_ids(app).values()


def test_settings_refuse_a_nameless_custom_measure(app: Flask, people: People) -> None:
    admin = signed_in(app, _admin(app))
    response = post(
        app,
        admin,
        "/admin/settings/physical",
        {"action": "add-measure", "label": " ", "kind": "mass"},
    )
    assert response.status_code == 200 and "Give the measure a name." in text(response)
    assert not any(k.startswith("custom_") for k in measure_ids(app))


def _admin(app: Flask):  # type: ignore[no-untyped-def]
    from core.accounts.service import create_user
    from core.db import db
    from tests.conftest import PASSWORD

    with app.app_context():
        user = create_user(
            role=Role.ADMIN,
            email="owner@example.test",
            first_name="Site",
            last_name="Owner",
            password=PASSWORD,
        )
        db.commit()
        return user
