"""No input gives a 500: every route and every form of every role, walked with hostile values.

Nothing here is a list kept by hand. Routes come from ``app.url_map`` (their ids filled
with the scene's, then with ids beyond the database's integer range, and hostile
words); query keys and forms come from the pages each role is shown (every ``<form>``,
each of its submit buttons). Each field of each form is then sent every canonical
hostile value of its kind (NUL bytes, overlong and blank text, unicode, Infinity, NaN,
1e309, calendar edges, unknown choices), and Hypothesis sends random combinations on top.

Checked: no answer is a server error; a refused submission (an error status, the form
shown again, or an error message) leaves every table as it was; after the walk, every
page the role saw still opens. The scene includes sessions stored at the very edges of
the calendar before dates were checked. Runs on SQLite and on PostgreSQL
(``COACHDESK_TEST_DATABASE_URL``).
"""

from __future__ import annotations

from collections.abc import Callable

import coachdesk_testaddon  # noqa: F401  (its routes are part of the walk)
import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.accounts.models import User
from tests.conftest import csrf_token
from tests.test_hostile_support import (
    KIND_VALUES,
    QUERY_VALUES,
    ROLES,
    Form,
    Walker,
    build_scene,
    hostile_value,
    is_refusal,
    signed_in,
    with_query,
)

HOMES = {"anonymous": "/connexion", "client": "/accueil-client", "coach": "/accueil-coach"}
HOMES["admin"] = "/admin/"
#: Hypothesis submissions per role, on top of the canonical sweep (sized for CI).
FUZZ_EXAMPLES = 30


@pytest.fixture(params=ROLES)
def walker(request: pytest.FixtureRequest, app: Flask, make_user: Callable[..., User]) -> Walker:
    """A role's client on a fresh scene, after a crawl of everything it can reach."""
    scene = build_scene(app, make_user)
    walk = Walker(app, request.param, signed_in(app, request.param, scene), scene)
    walk.discover(HOMES[walk.role])
    return walk


def test_every_route_and_form_with_hostile_input(walker: Walker) -> None:
    forms = sorted(walker.forms.values(), key=_destructive_last)
    if walker.role != "anonymous":
        assert len(forms) > 5, f"{walker.role} was shown almost no form: {list(walker.forms)}"

    # URLs: every rule with hostile ids and words; every page with hostile query values.
    for rule in walker.rules():
        for url in walker.sample_urls(rule, hostile=True):
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                token = [("csrf_token", csrf_token(walker.app, walker.web))]
                walker.send(method, url, token if method != "GET" else None)
    keys = sorted(walker.query_keys)
    for urls in walker.seen.values():
        for value in QUERY_VALUES:
            walker.send("GET", with_query(urls[0], [(key, value) for key in keys]))

    # Forms: each field, each canonical value of its kind (other buttons: defaults once).
    swept: set[tuple[str, str]] = set()
    for form in forms:
        if (form.method, form.action) in swept:
            submit(walker, form, {})
            continue
        swept.add((form.method, form.action))
        for control in form.fields():
            for value in KIND_VALUES[control.kind]:
                submit(walker, form, {control.name: value})

    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def several_fields_at_once(data: st.DataObject) -> None:
        form = data.draw(st.sampled_from(forms), label="form")
        kinds = {c.name: c.kind for c in form.fields()}
        if kinds:
            names = data.draw(st.sets(st.sampled_from(sorted(kinds)), min_size=1), label="names")
            submit(walker, form, {n: data.draw(hostile_value(kinds[n]), label=n) for n in names})
        assert walker.problems == [], walker.report()

    if forms:
        several_fields_at_once()
    for urls in walker.seen.values():  # whatever was accepted, every page still opens
        for url in urls:
            walker.send("GET", url)
    assert walker.problems == [], walker.report()


def submit(walker: Walker, form: Form, values: dict[str, str]) -> None:
    """Send ``form`` with ``values`` in place of its defaults; a refusal must change nothing."""
    current = walker.current(form)
    if current is None:  # the page no longer offers it (e.g. its session was deleted)
        return
    with walker.web.session_transaction() as session:  # only this answer's messages count
        session.pop("_flashes", None)
    before = walker.fingerprint()
    data = [(k, v) for k, v in current.defaults() if k not in values] + list(values.items())
    response = walker.send(current.method, current.action, data)
    if response is None or response.status_code >= 500:
        return
    if walker.fingerprint() == before:
        return
    if is_refusal(walker.web, response):
        what = f"refused ({response.status_code}) but changed the database"
        walker.problem(form.method, form.action, sorted(values.items()), what)
    walker.generation += 1  # accepted: forms are read again before their next use
    walker.send("GET", HOMES[walker.role])


def _destructive_last(form: Form) -> tuple[bool, str]:
    """Forms that delete or switch things off go last, so the others still find their data."""
    names = {c.name for c in form.controls}
    ends = ("/delete", "/active", "/deactivate")
    destructive = (
        "confirm" in names or form.action.endswith(ends) or "deactivate" in str(form.button)
    )
    return destructive, form.action
