"""The Physical tabs run as many SQL statements for 5 entries as for five years of weekly
entries (260) of 12 measures, for the client and for the coach."""

from __future__ import annotations

from typing import Any

from flask import Flask

from bench.physical_bench import add_custom_measure, add_history
from core.accounts.models import Role, User
from core.db import db
from tests.physical_fixtures import AREA_TAB, assign, physical, profile_tab, signed_in
from tests.test_clientarea_queries import counting

__all__ = ["physical"]
URLS = ("{area}", "{area}?period=all", "{area}?page=3", "{profile}", "{profile}?period=all")


def statements(app: Flask, client: User, coach: User) -> dict[str, int]:
    counts = {}
    for who, web in (("client", signed_in(app, client)), ("coach", signed_in(app, coach))):
        for template in URLS:
            if ("area" in template) != (who == "client"):
                continue
            url = template.format(area=AREA_TAB, profile=profile_tab(client.id))
            web.get(url)  # warm caches (add-on states, options) like a live site
            with counting(app) as seen:
                response = web.get(url)
            assert response.status_code == 200, url
            counts[template] = len(seen)
    return counts


def test_query_count_does_not_grow_with_entries(app: Flask, make_user, physical: None) -> None:  # type: ignore[no-untyped-def]
    coach = make_user(Role.COACH)
    few, many = make_user(Role.CLIENT), make_user(Role.CLIENT)
    assign(app, coach, few)
    assign(app, coach, many)
    with app.app_context():
        add_custom_measure()  # 11 built-in measures + 1 custom
        db.flush()
        add_history(few.id, coach.id, 5)
        add_history(many.id, coach.id, 260)
        db.commit()
    few_counts = statements(app, few, coach)
    many_counts = statements(app, many, coach)
    assert few_counts == many_counts
    assert max(many_counts.values()) <= 14, many_counts
    body: Any = signed_in(app, many).get(AREA_TAB + "?period=all").get_data(as_text=True)
    assert body.count('class="card physical-chart"') == 12
