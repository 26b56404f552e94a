"""Capabilities hold everywhere: with one removed in Settings → Permissions, a coach reaches
none of what it guards, by any URL, and the pages they still see link to none of it.

For each capability (the core's and the active add-ons'), the test walks the URL map as a
coach with real ids (their client, a paid session with a document, an online payment,
every profile tab):

* every view that declares the capability (``capability_required``) answers 403 or 404;
* the data of the viewing capabilities (session titles, documents, email subjects; the
  client's email, phone and notes) appears in no page, file or receipt;
* no link or form on the pages still shown leads to what the capability guards.

With every capability granted, the same walk finds all that data and reaches every
declared view, so the walk does look where the data is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from html.parser import HTMLParser
from itertools import product
from typing import Any
from urllib.parse import urlsplit

import coachdesk_testaddon  # noqa: F401  (its routes and capability take part)
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import IntegerConverter, Rule

from core.accounts.models import ClientNote, CoachClient, Role, User
from core.accounts.permissions import all_capabilities
from core.db import db, utcnow
from core.emails.models import OutboxEmail
from core.payments.service import record_online_payment, record_payment
from core.plugins import get_host, tabs_from
from core.sessions.documents import document_path
from core.sessions.models import CoachingSession, SessionDocument
from core.settings import set_option
from tests.conftest import csrf_token, post

SESSION_MARK = "SESSION-MARKER"
#: What each viewing capability guards, as text planted in the data.
GUARDED = {
    "view_sessions": (SESSION_MARK,),
    "view_clients": ("kim.contact-marker", "0699887766", "NOTE-MARKER"),
}
NOT_WALKED = {"accounts.logout"}  # it would sign the walker out
PDF = b"%PDF-1.4\n% " + SESSION_MARK.encode() + b" plan\n%%EOF\n"


@pytest.fixture
def world(app: Flask, as_role: Callable[..., Any], make_user: Callable[..., Any]) -> dict[str, Any]:
    """A coach and their client, with a paid session (document, receipt, an email about it)
    and a session paid online; every piece of data carries a marker."""
    with app.app_context():
        get_host(app).activate(app, "testaddon")
        get_host(app).activate(app, "premium")
    browser, coach = as_role(Role.COACH)
    client = make_user(
        Role.CLIENT,
        first_name="Kim",
        last_name="Walker",
        email="kim.contact-marker@example.test",
        phone="0699887766",
    )
    start = utcnow().replace(microsecond=0) - timedelta(days=2)
    with app.app_context():
        db.add(CoachClient(coach_id=coach.id, client_id=client.id))
        db.add(ClientNote(client_id=client.id, body="NOTE-MARKER: knee", updated_by_id=coach.id))
        paid = CoachingSession(
            coach_id=coach.id,
            client_id=client.id,
            title=f"{SESSION_MARK} paid",
            starts_at=start,
            status="completed",
            price_amount=5000,
            currency="EUR",
        )
        online = CoachingSession(
            coach_id=coach.id,
            client_id=client.id,
            title=f"{SESSION_MARK} online",
            starts_at=start + timedelta(days=7),
            price_amount=3000,
            currency="EUR",
        )
        db.add_all([paid, online])
        db.flush()
        record_payment(paid, method="transfer")
        (payment,) = record_online_payment(
            [online], provider="stripe", reference="pi_walk", amount=3000, currency="EUR"
        )
        doc = SessionDocument(
            session_id=paid.id,
            filename="plan.pdf",
            storage_name="walk" * 8 + ".pdf",
            size_bytes=len(PDF),
            sha256="0" * 64,
        )
        db.add(doc)
        db.add(
            OutboxEmail(
                email_type="booking_confirmation",
                to_address=client.email,
                to_name=client.full_name,
                from_address="desk@example.test",
                subject=f"Booked: {SESSION_MARK}",
                body_text="-",
                session_id=paid.id,
                user_id=client.id,
            )
        )
        db.commit()
        path = document_path(doc)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(PDF)
        ids = {
            "client_id": client.id,
            "user_id": client.id,
            "session_id": paid.id,
            "document_id": doc.id,
            "payment_id": payment.id,
        }
    return {"browser": browser, "coach": coach, "client": client, "ids": ids}


def coach_may_only(app: Flask, granted: set[str]) -> None:
    """Settings → Permissions, saved with exactly ``granted`` ticked."""
    with app.app_context(), app.test_request_context():
        everything = list(all_capabilities())
        set_option("permissions.coach", sorted(granted))
        set_option("permissions.decided", everything)
        db.commit()


def capabilities(app: Flask) -> list[str]:
    with app.app_context(), app.test_request_context():
        return list(all_capabilities())


def tab_keys(app: Flask, world: dict[str, Any]) -> list[str]:
    """Every client profile tab there is (as an administrator sees them), and a made-up one."""
    with app.test_request_context():
        admin = User(role=Role.ADMIN.value, first_name="A", last_name="A", email="a@x.test")
        client = db.get(User, world["client"].id)
        tabs = tabs_from("client_profile_tabs", client=client, viewer=admin)
        return [t.key for t in tabs] + ["no-such-tab"]


def urls_for(rule: Rule, ids: dict[str, int], tabs: list[str]) -> Iterator[str]:
    """The rule's URLs with the world's ids; one per profile tab for ``<tab>``."""
    choices: list[list[Any]] = []
    for name in rule.arguments:
        if name in ids:
            choices.append([ids[name]])
        elif name == "tab":
            choices.append(tabs)
        else:
            numeric = isinstance(rule._converters[name], IntegerConverter)
            choices.append([1 if numeric else "x"])
    for values in product(*choices):
        built = rule.build(dict(zip(rule.arguments, values, strict=True)), append_unknown=False)
        assert built is not None
        yield built[1]


class Targets(HTMLParser):
    """Where a page's links and forms lead: (method, path)."""

    def __init__(self, here: str) -> None:
        super().__init__()
        self.here = here
        self.found: set[tuple[str, str]] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.add("GET", values["href"] or "")
        elif tag == "form":
            method = (values.get("method") or "get").upper()
            self.add(method, values.get("action") or self.here)

    def add(self, method: str, target: str) -> None:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and parts.path.startswith("/"):
            self.found.add((method, parts.path + (f"?{parts.query}" if parts.query else "")))


def declared(app: Flask, method: str, path: str) -> dict[str, Any]:
    """The capabilities the view behind ``method path`` declares for that method."""
    adapter = app.url_map.bind("localhost")
    try:
        endpoint, _args = adapter.match(urlsplit(path).path, method=method)
    except (NotFound, MethodNotAllowed):
        return {}
    view = app.view_functions[endpoint]
    return {
        key: methods
        for key, methods in getattr(view, "capabilities", {}).items()
        if methods is None or method in methods
    }


def walk(app: Flask, browser: FlaskClient, world: dict[str, Any]) -> dict[str, Any]:
    """GET every page of the URL map; the answers, what they contain, where they link."""
    tabs = tab_keys(app, world)
    pages: dict[str, Any] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint in NOT_WALKED or rule.endpoint.endswith("static"):
            continue
        if "GET" not in (rule.methods or set()):
            continue
        for url in urls_for(rule, world["ids"], tabs):
            response = browser.get(url)
            body = response.get_data()
            targets = Targets(url)
            if response.mimetype == "text/html":
                targets.feed(body.decode())
            pages[url] = (response.status_code, body, targets.found)
    return pages


def test_every_capability_guards_at_least_one_view(app: Flask, world: dict[str, Any]) -> None:
    keys = capabilities(app)
    assert {"view_sessions", "refund_payments", "testaddon_export"} <= set(keys)
    guarded = {
        key
        for rule in app.url_map.iter_rules()
        for key in getattr(app.view_functions[rule.endpoint], "capabilities", {})
    }
    assert set(keys) <= guarded, set(keys) - guarded


def test_with_every_capability_the_walk_reaches_the_guarded_data(
    app: Flask, world: dict[str, Any]
) -> None:
    coach_may_only(app, set(capabilities(app)))
    pages = walk(app, world["browser"], world)
    for marker in (m for markers in GUARDED.values() for m in markers):
        assert any(marker.encode() in body for _status, body, _targets in pages.values()), marker
    refused = [
        url
        for url, (status, _body, _targets) in pages.items()
        if status == 403 and declared(app, "GET", url)
    ]
    assert refused == []


@pytest.mark.parametrize(
    "capability",
    [
        "view_clients",
        "create_clients",
        "edit_clients",
        "delete_clients",
        "view_sessions",
        "edit_sessions",
        "refund_payments",
        "testaddon_export",
    ],
)
def test_without_a_capability_nothing_it_guards_is_reachable(
    app: Flask, world: dict[str, Any], capability: str
) -> None:
    assert capability in capabilities(app)
    coach_may_only(app, set(capabilities(app)) - {capability})
    browser = world["browser"]
    problems: list[str] = []
    # 1. Every view that declares it refuses, for every method it declares it for.
    tabs = tab_keys(app, world)
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        methods = getattr(view, "capabilities", {}).get(capability, "absent")
        if methods == "absent" or rule.endpoint in NOT_WALKED:
            continue
        for method in sorted((methods or rule.methods or set()) - {"HEAD", "OPTIONS"}):
            for url in urls_for(rule, world["ids"], tabs):
                data = {"csrf_token": csrf_token(app, browser)} if method != "GET" else None
                status = browser.open(url, method=method, data=data).status_code
                if status not in (403, 404):
                    problems.append(f"{method} {url}: {status}")
    # 2. Its data is on no page, and 3. no page links or posts to what it guards.
    markers = GUARDED.get(capability, ())
    for url, (status, body, targets) in walk(app, browser, world).items():
        problems += [f"{url} ({status}) shows {m!r}" for m in markers if m.encode() in body]
        for method, target in targets:
            if capability in declared(app, method, target):
                problems.append(f"{url} links to {method} {target}")
    assert problems == [], "\n".join(problems)


def test_refused_actions_change_nothing(app: Flask, world: dict[str, Any]) -> None:
    """A coach without delete_clients posts the deactivation anyway: the client stays."""
    coach_may_only(app, set(capabilities(app)) - {"delete_clients", "edit_sessions"})
    browser, ids = world["browser"], world["ids"]
    assert post(app, browser, f"/coach/clients/{ids['client_id']}/active").status_code == 403
    status = {"status": "cancelled"}
    url = f"/coach/sessions/{ids['session_id']}/status"
    assert post(app, browser, url, status).status_code == 403
    with app.app_context():
        assert db.get(User, ids["client_id"]).is_active  # type: ignore[union-attr]
        assert db.get(CoachingSession, ids["session_id"]).status == "completed"  # type: ignore[union-attr]
