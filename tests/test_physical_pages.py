"""Physical tabs: the client adds and corrects entries, the coach edits, deletes and sets
targets; messages for implausible values; settings; the statistics card; CSV export."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Flask

from tests.conftest import post
from tests.physical_fixtures import AREA_TAB, People, entries, people, physical

__all__ = ["people", "physical"]


def test_client_adds_two_entries_and_sees_latest_and_change(app: Flask, people: People) -> None:
    today = date.today()
    response = post(
        app,
        people.web,
        AREA_TAB,
        {
            "action": "save",
            "measured_on": (today - timedelta(days=7)).isoformat(),
            "m_weight": "82.4",
            "m_waist": "91",
        },
    )
    assert response.status_code == 302, response.data[:3000]
    response = post(
        app,
        people.web,
        AREA_TAB,
        {
            "action": "save",
            "measured_on": today.isoformat(),
            "m_weight": "81,9",
            "note": "After holidays",
        },
    )
    assert response.status_code == 302, response.data[:3000]
    page = people.web.get(AREA_TAB).get_data(as_text=True)
    assert "81.9\u00a0kg" in page
    assert "\u22120.5\u00a0kg" in page
    stored = entries(app, people.client)
    assert [e["weight"] for e in stored] == [82400, 81900]
