"""Every route × every role: each view declares its audience, and the declaration holds.

Views declare who may open them with the decorators of core.accounts.access,
which record ``view.access``. This test walks the URL map, so a new route
without a declaration, or one that lets the wrong role in, fails here.
Object ids in URLs point at nothing: what is checked is the role gate, which
runs first (ownership is tested per area).
"""

from __future__ import annotations

import re
from typing import Any

import coachdesk_testaddon  # noqa: F401  (its routes are part of the walk)
import pytest
from flask import Flask
from werkzeug.routing import IntegerConverter, Rule

from core.accounts.models import Role
from core.accounts.permissions import coach_capabilities
from core.plugins import get_host
from tests.conftest import csrf_token, login

AUDIENCES = ("anonymous", Role.CLIENT.value, Role.COACH.value, Role.ADMIN.value)
HOMES = {"client": "/accueil-client", "coach": "/accueil-coach", "admin": "/admin/"}
UNDECLARED_OK = {"static"}  # Flask's static files (and blueprints' "<name>.static")
#: Declared and checked, but not called in the walk: it would sign the walker out.
NOT_WALKED = {"accounts.logout"}
#: Answers 503 by design when the site is unhealthy (here: no worker ran).
MAY_ANSWER_503 = {"operations.healthz"}


def sample_url(rule: Rule) -> str:
    """The rule's URL with its variables filled: ids that match nothing, words that mean nothing."""
    values: dict[str, Any] = {}
    for name in rule.arguments:
        converter = rule._converters[name]
        values[name] = 999_999 if isinstance(converter, IntegerConverter) else "x"
    url = rule.build(values, append_unknown=False)
    assert url is not None
    return url[1]


def endpoints(app: Flask) -> list[tuple[str, Rule, Any]]:
    return [
        (rule.endpoint, rule, app.view_functions[rule.endpoint])
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in UNDECLARED_OK and not rule.endpoint.endswith(".static")
    ]


def test_every_view_declares_its_audience(app: Flask) -> None:
    undeclared = [e for e, _, view in endpoints(app) if not hasattr(view, "access")]
    assert undeclared == [], f"views without an access declaration: {undeclared}"


@pytest.fixture
def clients(app: Flask, make_user):  # type: ignore[no-untyped-def]
    result = {"anonymous": app.test_client()}
    for role in AUDIENCES[1:]:
        client = app.test_client()
        assert login(app, client, make_user(role)).status_code == 302
        result[role] = client
    # The test add-on's and the bundled add-ons' routes take part too (inactive, they are 404).
    with app.app_context():
        get_host(app).activate(app, "testaddon")
        get_host(app).activate(app, "premium")
        get_host(app).activate(app, "physical")
    return result


def is_login_redirect(response: Any, app: Flask) -> bool:
    location = response.headers.get("Location", "")
    return (
        response.status_code == 302
        and re.match(rf"^/{app.config['SLUGS']['login']}\b", location) is not None
    )


def lacks_capability(view: Any, audience: str, method: str, granted: set[str]) -> bool:
    """A coach without a capability the view declares gets 403 (test_capabilities_walk)."""
    declared = getattr(view, "capabilities", {})
    return audience == Role.COACH.value and any(
        key not in granted and (methods is None or method in methods)
        for key, methods in declared.items()
    )


def test_every_route_for_every_role(app: Flask, clients) -> None:  # type: ignore[no-untyped-def]
    problems: list[str] = []
    checked = 0
    with app.test_request_context():
        granted = coach_capabilities()
    for endpoint, rule, view in endpoints(app):
        if endpoint in NOT_WALKED:
            continue
        access = view.access
        url = sample_url(rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            for audience, client in clients.items():
                data = {"csrf_token": csrf_token(app, client)} if method != "GET" else None
                response = client.open(url, method=method, data=data)
                checked += 1
                allowed = access == "public" or audience in access
                status = response.status_code
                where = f"{method} {url} ({endpoint}) as {audience}: {status}"
                if status >= 500 and not (status == 503 and endpoint in MAY_ANSWER_503):
                    problems.append(f"{where} server error")
                elif allowed and (
                    (status == 403 and not lacks_capability(view, audience, method, granted))
                    or (access != "public" and is_login_redirect(response, app))
                ):
                    problems.append(f"{where} refused, but declared {access}")
                elif (
                    not allowed and audience == "anonymous" and not is_login_redirect(response, app)
                ):
                    problems.append(f"{where} not sent to the login page")
                elif not allowed and audience != "anonymous" and status != 403:
                    # A page may send other roles to their own home (the client area does).
                    sent_home = response.headers.get("Location") == HOMES[audience]
                    if not (getattr(view, "sends_others_home", False) and sent_home):
                        problems.append(f"{where} not refused with 403")
    assert checked > 50
    assert problems == [], "\n".join(problems)
