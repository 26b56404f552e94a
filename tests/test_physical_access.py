"""Who reaches whose measurements: every Physical URL × role × ownership.

Nobody reads or changes another client's entries; a coach reaches only their own
clients (admins all); ids tampered in URLs and forms answer 404 and change nothing.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask

from core.accounts.models import Role
from tests.conftest import post
from tests.physical_fixtures import (
    AREA_TAB,
    add_entry,
    assign,
    entries,
    physical,
    profile_tab,
    signed_in,
    targets,
)

__all__ = ["physical"]
DAY = date.today() - timedelta(days=3)


@pytest.fixture
def world(app: Flask, make_user, physical: None) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Two clients, each with an entry and a target; their two coaches; an admin."""
    mine = make_user(Role.CLIENT, first_name="Chloé")
    other = make_user(Role.CLIENT, first_name="Omar")
    coach = make_user(Role.COACH)
    stranger = make_user(Role.COACH)
    admin = make_user(Role.ADMIN)
    assign(app, coach, mine)
    assign(app, stranger, other)
    ids = {
        "mine": add_entry(app, mine, DAY, by=coach, weight=80000),
        "mine_own": add_entry(app, mine, DAY - timedelta(days=7), weight=81000),
        "other": add_entry(app, other, DAY, weight=70000),
    }
    post(
        app,
        signed_in(app, stranger),
        profile_tab(other.id),
        {"action": "target", "measure": "weight", "value": "65"},
    )
    return {
        "users": {
            "mine": mine,
            "other": other,
            "coach": coach,
            "stranger": stranger,
            "admin": admin,
        },
        "ids": ids,
        "web": {
            name: signed_in(app, user)
            for name, user in [
                ("client", mine),
                ("coach", coach),
                ("stranger", stranger),
                ("admin", admin),
            ]
        }
        | {"anonymous": app.test_client()},
    }


def snapshot(app: Flask, world: dict[str, Any]) -> Any:
    users = world["users"]
    return (
        entries(app, users["mine"]),
        entries(app, users["other"]),
        targets(app, users["mine"]),
        targets(app, users["other"]),
    )


# (who, method, url template, form) → expected status. {mine}/{other}: client ids;
# {e_mine}/{e_other}/{e_mine_own}: entry ids.
CASES = [
    # the client area tab: the signed-in client's own data only
    ("client", "GET", AREA_TAB, None, 200),
    ("client", "GET", AREA_TAB + "?edit={e_other}", None, 404),
    ("client", "GET", AREA_TAB + "?edit={e_mine}", None, 404),  # the coach's entry
    ("client", "GET", AREA_TAB + "?edit={e_mine_own}", None, 200),
    ("client", "GET", AREA_TAB + "?edit=abc", None, 404),
    (
        "client",
        "POST",
        AREA_TAB,
        {"action": "save", "entry_id": "{e_other}", "m_weight": "50"},
        404,
    ),
    ("client", "POST", AREA_TAB, {"action": "save", "entry_id": "{e_mine}", "m_weight": "50"}, 404),
    ("client", "POST", AREA_TAB, {"action": "save", "entry_id": "999999", "m_weight": "50"}, 404),
    ("client", "POST", AREA_TAB, {"action": "delete", "entry_id": "{e_mine_own}"}, 403),
    ("client", "POST", AREA_TAB, {"action": "target", "measure": "weight", "value": "60"}, 403),
    ("client", "POST", AREA_TAB, {"action": "target-remove", "measure": "weight"}, 403),
    ("client", "GET", "/physical/export.csv", None, 200),
    ("client", "GET", "/physical/clients/{mine}/export.csv", None, 403),
    ("client", "GET", "/customer/{mine}/physical", None, 403),
    (
        "client",
        "POST",
        "/customer/{other}/physical",
        {"action": "delete", "entry_id": "{e_other}"},
        403,
    ),
    # the coach: their own client only
    ("coach", "GET", "/customer/{mine}/physical", None, 200),
    ("coach", "GET", "/customer/{mine}/physical?edit={e_other}", None, 404),
    ("coach", "GET", "/customer/{other}/physical", None, 404),
    ("coach", "GET", "/physical/clients/{mine}/export.csv", None, 200),
    ("coach", "GET", "/physical/clients/{other}/export.csv", None, 404),
    ("coach", "GET", "/physical/export.csv", None, 403),
    ("coach", "GET", AREA_TAB, None, 302),  # sent to their own home
    (
        "coach",
        "POST",
        "/customer/{other}/physical",
        {"action": "save", "measured_on": "2030-01-01", "m_weight": "60"},
        404,
    ),
    (
        "coach",
        "POST",
        "/customer/{other}/physical",
        {"action": "delete", "entry_id": "{e_other}"},
        404,
    ),
    (
        "coach",
        "POST",
        "/customer/{other}/physical",
        {"action": "target-remove", "measure": "weight"},
        404,
    ),
    (
        "coach",
        "POST",
        "/customer/{mine}/physical",
        {"action": "delete", "entry_id": "{e_other}"},
        404,
    ),
    (
        "coach",
        "POST",
        "/customer/{mine}/physical",
        {"action": "save", "entry_id": "{e_other}", "m_weight": "60"},
        404,
    ),
    (
        "coach",
        "POST",
        "/customer/{mine}/physical",
        {"action": "target-remove", "measure": "weight"},
        404,
    ),
    (
        "coach",
        "POST",
        "/customer/{mine}/physical",
        {"action": "target-remove", "measure": "nope"},
        404,
    ),
    (
        "coach",
        "POST",
        "/customer/{mine}/physical",
        {"action": "target", "measure": "nope", "value": "60"},
        200,
    ),
    ("stranger", "GET", "/customer/{mine}/physical", None, 404),
    ("stranger", "GET", "/physical/clients/{mine}/export.csv", None, 404),
    # admins reach every client
    ("admin", "GET", "/customer/{other}/physical", None, 200),
    ("admin", "GET", "/physical/clients/{other}/export.csv", None, 200),
    (
        "admin",
        "GET",
        "/physical/clients/{other}/export.csv".replace("{other}", "999999"),
        None,
        404,
    ),
    # visitors sign in first
    ("anonymous", "GET", AREA_TAB, None, 302),
    ("anonymous", "GET", "/physical/export.csv", None, 302),
    ("anonymous", "GET", "/physical/clients/{mine}/export.csv", None, 302),
]


@pytest.mark.parametrize(("who", "method", "url", "form", "status"), CASES)
def test_route_role_ownership(
    app: Flask, world: dict[str, Any], who: str, method: str, url: str, form: Any, status: int
) -> None:
    users, ids = world["users"], world["ids"]
    values = {
        "mine": users["mine"].id,
        "other": users["other"].id,
        "e_mine": ids["mine"],
        "e_other": ids["other"],
        "e_mine_own": ids["mine_own"],
    }
    before = snapshot(app, world)
    web = world["web"][who]
    url = url.format(**values)
    if method == "GET":
        response = web.get(url)
    else:
        response = post(app, web, url, {k: str(v).format(**values) for k, v in form.items()})
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert snapshot(app, world) == before  # nothing in these cases changes anything
    if who == "client" and status == 200 and method == "GET" and "export" not in url:
        page = response.get_data(as_text=True)
        assert "70.0\u00a0kg" not in page  # the other client's value never shows


def test_allowed_changes_touch_only_their_own_client(app: Flask, world: dict[str, Any]) -> None:
    users, ids, web = world["users"], world["ids"], world["web"]
    others = (entries(app, users["other"]), targets(app, users["other"]))
    post(
        app,
        web["client"],
        AREA_TAB,
        {
            "action": "save",
            "entry_id": ids["mine_own"],
            "measured_on": (DAY - timedelta(days=7)).isoformat(),
            "m_weight": "79",
        },
    )
    post(
        app,
        web["coach"],
        profile_tab(users["mine"].id),
        {"action": "delete", "entry_id": ids["mine"]},
    )
    post(
        app,
        web["coach"],
        profile_tab(users["mine"].id),
        {"action": "target", "measure": "weight", "value": "75"},
    )
    assert [e["weight"] for e in entries(app, users["mine"])] == [79000]
    assert [t[1] for t in targets(app, users["mine"])] == [75000]
    assert (entries(app, users["other"]), targets(app, users["other"])) == others


def test_a_client_export_holds_only_their_data(app: Flask, world: dict[str, Any]) -> None:
    body = world["web"]["client"].get("/physical/export.csv").get_data().decode("utf-8-sig")
    assert "80.0" in body and "81.0" in body and "70.0" not in body
