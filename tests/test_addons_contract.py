"""Add-on contract 1.0: every hook family through pluggy, failures contained, keys kept.

The test add-on (tests/addons/testaddon, pip-installed before the run) imports
``hooks`` and ``core.api`` only and uses every hook family; the faulty ones
(tests/addons/faulty) go wrong the ways a site owner meets. These run on whichever
database the suite uses (SQLite, or PostgreSQL in CI).
"""

from __future__ import annotations

import ast
import logging
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import coachdesk_testaddon as testaddon
import pluggy
import pytest
from flask import Flask
from sqlalchemy import inspect, select

import hooks
from core import create_app
from core.accounts.models import Role
from core.db import db, get_database, utcnow
from core.plugins import get_host
from core.plugins.models import AddonState
from tests.conftest import SITE, TESTS, login, post
from tests.test_addons_host import toggle
from tests.test_clientarea_pages import AREA, add_session
from tests.test_config import run_cli


@pytest.fixture(autouse=True)
def _reset_testaddon() -> Iterator[None]:
    for flags in (testaddon.FAIL_IN, testaddon.EVENTS, testaddon.VETO, testaddon.HIJACK):
        flags.clear()
    yield
    for flags in (testaddon.FAIL_IN, testaddon.VETO, testaddon.HIJACK):
        flags.clear()


@pytest.fixture
def active(app: Flask, as_role: Any) -> Any:
    """An admin's test client, with the test add-on activated through the Add-ons page."""
    admin = as_role(Role.ADMIN)[0]
    toggle(app, admin, "testaddon", "activate")
    testaddon.EVENTS.clear()
    return admin


def last_error(app: Flask, name: str = "testaddon") -> str:
    with app.app_context():
        state = db.get(AddonState, name)
        return (state.last_error or "") if state else ""


# -- The contract itself ---------------------------------------------------------


def test_the_test_addon_imports_only_hooks_and_the_public_api() -> None:
    for path in (TESTS / "addons" / "testaddon" / "coachdesk_testaddon").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("core"):
                assert node.module == "core" and [a.name for a in node.names] == ["api"], path
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("core") for a in node.names), path


def test_every_public_api_name_has_a_docstring_or_is_a_model() -> None:
    from core import api

    for name in api.__all__:
        value = getattr(api, name)
        assert value.__doc__, f"core.api.{name} has no docstring"


def test_a_misspelt_hook_is_refused_by_pluggy_and_the_site_goes_on(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(TESTS / "addons" / "faulty"))
    other = create_app(
        {"DATABASE_URL": app.config["DATABASE_URL"], "SECRET_KEY": app.config["SECRET_KEY"]},
        instance_path=str(tmp_path),
    )
    try:
        host = get_host(other)
        misspelt = host.addons["misspelt"]
        assert not misspelt.loaded and "client_area_tab" in (misspelt.load_error or "")
        assert not host.pm.is_registered(misspelt.module)
        host.pm.check_pending()  # nothing unknown is left registered
        assert host.addons["future"].contract_problem
        with other.app_context():
            from core.plugins import AddonError

            with pytest.raises(AddonError, match=re.escape("contract >=2.0,<3")):
                host.activate(other, "future")
            assert other.test_client().get("/connexion").status_code == 200
    finally:
        get_database(other).engine.dispose()


def test_hooks_go_through_pluggy_wrappers_and_firstresult(app: Flask, active: Any) -> None:
    class Wrapper:
        @hooks.hookimpl(wrapper=True)
        def menu_items(self, user: Any) -> Any:
            items = yield
            return [*items, [hooks.MenuItem("wrapped", "Wrapped by a wrapper", "/wrapped")]]

    host = get_host(app)
    wrapper = Wrapper()
    host.register_core(wrapper, "test-wrapper")
    try:
        assert b'href="/wrapped"' in active.get("/admin/addons").data
        with app.test_request_context():
            status = host.status("testaddon")  # firstresult: one answer, not a list
        assert isinstance(status, hooks.AddonStatus) and status.level == "warning"
    finally:
        host.pm.unregister(plugin=wrapper)


def test_status_shows_on_the_addons_page_and_activation_can_be_vetoed(
    app: Flask, as_role: Any
) -> None:
    admin = as_role(Role.ADMIN)[0]
    testaddon.VETO.append("set a greeting first")
    page = toggle(app, admin, "testaddon", "activate")
    assert b"cannot be activated: set a greeting first" in page.data
    with app.app_context():
        assert not get_host(app).is_active("testaddon")
    testaddon.VETO.clear()
    testaddon.FAIL_IN.add("addon_can_activate")
    page = toggle(app, admin, "testaddon", "activate")
    assert b"its activation check failed" in page.data
    testaddon.FAIL_IN.clear()
    page = toggle(app, admin, "testaddon", "activate")
    assert b"Test add-on needs a greeting" in page.data
    assert b'href="/admin/settings/testaddon"' in page.data


# -- Every hook family -------------------------------------------------------------


def test_csp_is_extended_by_origins_only_and_assets_reach_every_page(
    app: Flask, active: Any
) -> None:
    response = active.get("/admin/addons")
    policy = response.headers["Content-Security-Policy"]
    assert "form-action 'self' https://pay.example.test" in policy
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in policy
    assert b'<link rel="stylesheet" href="/testaddon/static/testaddon.css">' in response.data


def test_capabilities_appear_in_permissions_and_hold(
    app: Flask, active: Any, make_user: Any
) -> None:
    from core.accounts.permissions import has_capability

    page = active.get("/admin/settings/permissions").get_data(as_text=True)
    assert "Export test data" in page and 'name="testaddon_export"' in page
    coach = make_user(Role.COACH)
    with app.test_request_context():
        assert has_capability(coach, "testaddon_export")  # its default for coaches
    fields = {"view_clients": "y", "view_sessions": "y", "edit_sessions": "y"}
    saved = post(app, active, "/admin/settings/permissions", fields, follow_redirects=True)
    assert saved.status_code == 200
    with app.test_request_context():
        assert not has_capability(coach, "testaddon_export")
        assert has_capability(coach, "view_sessions")


def test_jobs_run_in_the_worker_and_a_failing_job_stops_nothing(
    app: Flask, active: Any, mailbox: Any
) -> None:
    from core.worker import run_once

    with app.app_context():
        assert run_once().addon_jobs == 1
    assert testaddon.EVENTS == ["job"]
    testaddon.FAIL_IN.add("job")
    with app.app_context():
        result = run_once()
    assert result.addon_jobs == 0 and result.delivery.outage is False
    assert "periodic job testaddon-tick" in last_error(app)


def test_email_context_puts_an_addon_paragraph_inside_the_body(
    app: Flask, active: Any, make_user: Any
) -> None:
    from core.emails.models import OutboxEmail
    from core.sessions.models import CoachingSession
    from core.worker.reminders import queue_reminder

    client, coach = make_user(Role.CLIENT), make_user(Role.COACH)
    sid = add_session(app, client, coach, starts_at=utcnow() + timedelta(hours=5))
    with app.app_context():
        row = queue_reminder(db.get(CoachingSession, sid))
        db.commit()
        assert row is not None
        email = db.get(OutboxEmail, row.id)
        assert "Pay before you come:\nhttps://pay.example.test/x" in email.body_text
        html = email.body_html or ""
        link = html.index('href="https://pay.example.test/x"')
        assert link < html.index("</body>") and ">Pay online</a>" in html


def test_editor_sections_and_profile_tabs_and_coach_cards(
    app: Flask, active: Any, as_role: Any, make_user: Any
) -> None:
    coach_web, coach = as_role(Role.COACH)
    client = make_user(Role.CLIENT)
    sid = add_session(app, client, coach, title="Tempo run")
    editor = coach_web.get(f"/coach/sessions/{sid}").get_data(as_text=True)
    assert "Section for Tempo run" in editor and 'id="section-testaddon"' in editor
    profile = coach_web.get(f"/customer/{client.id}/testaddon")
    assert profile.status_code == 200 and b"testaddon-profile" in profile.data
    testaddon.FAIL_IN.add("editor_render")
    editor = coach_web.get(f"/coach/sessions/{sid}")
    assert editor.status_code == 200 and b"This section could not be shown" in editor.data
    assert b"Tempo run" in editor.data  # the rest of the editor is there


def test_payment_events_reach_the_addon(app: Flask, active: Any, make_user: Any) -> None:
    from core.payments.models import Payment
    from core.payments.service import record_payment, record_refund
    from core.sessions.models import CoachingSession

    client, coach = make_user(Role.CLIENT), make_user(Role.COACH)
    sid = add_session(app, client, coach)
    with app.app_context():
        record_payment(db.get(CoachingSession, sid), method="cash")
        db.commit()
        payment = db.scalar(select(Payment).where(Payment.session_id == sid))
        record_refund(payment, amount=2000)
        db.commit()
        record_refund(payment, amount=3000)
        db.commit()
    expected = [
        "status pending->paid",
        f"refunded {payment.id}",
        f"refunded {payment.id}",
        "status paid->refunded",
    ]
    assert expected == testaddon.EVENTS


def test_a_signed_webhook_view_is_exempt_from_csrf_and_checks_its_own_signature(
    app: Flask, active: Any
) -> None:
    web = app.test_client()
    assert web.post("/testaddon/signed", headers={"X-Test-Signature": "ok"}).status_code == 200
    assert web.post("/testaddon/signed").status_code == 400
    assert web.post("/testaddon/notes", data={"text": "x"}).status_code in (302, 400, 401)


def test_get_coach_or_404_follows_who_may_see_whom(app: Flask, make_user: Any) -> None:
    from werkzeug.exceptions import NotFound

    from core import api

    client, other_client = make_user(Role.CLIENT), make_user(Role.CLIENT)
    coach, other_coach = make_user(Role.COACH), make_user(Role.COACH)
    add_session(app, client, coach)
    with app.test_request_context():
        assert api.get_coach_or_404(client, coach.id).id == coach.id
        assert api.get_coach_or_404(coach, coach.id).id == coach.id
        for viewer, target in ((other_client, coach.id), (other_coach, coach.id), (client, 99999)):
            with pytest.raises(NotFound):
                api.get_coach_or_404(viewer, target)
        with pytest.raises(NotFound):
            api.get_coach_or_404(coach, client.id)  # a client is not a coach


def test_option_keys_belong_to_whoever_declared_them() -> None:
    from core import api

    with pytest.raises(ValueError, match=re.escape("must start with 'testaddon.'")):
        api.define_option("testaddon", "general.site_name", "Mine")
    with pytest.raises(ValueError, match="already defined by core"):
        api.define_option("general", "general.site_name", "Mine")
    with pytest.raises(ValueError, match="already defined by testaddon"):
        api.define_option("testaddon", "testaddon.greeting", "Hi")  # another default


# -- Failures never stop the site --------------------------------------------------


@pytest.mark.parametrize("hook", ["tab_render", "is_ready", "payment_button"])
def test_a_raising_piece_is_left_out_and_the_page_renders(
    app: Flask, active: Any, as_role: Any, make_user: Any, hook: str
) -> None:
    web, client = as_role(Role.CLIENT)
    add_session(app, client, make_user(Role.COACH))
    url = AREA + ("/extra" if hook == "tab_render" else "/sessions")
    assert b"testpay-" in web.get(AREA + "/sessions").data  # its button, while it works
    testaddon.FAIL_IN.add(hook)
    page = web.get(url)
    assert page.status_code == 200
    assert b"testpay-" not in page.data
    if hook == "tab_render":
        assert b"This section could not be shown" in page.data
    assert f"fails in {hook} on purpose" in last_error(app)
    assert f"fails in {hook} on purpose".encode() in active.get("/admin/addons").data


@pytest.mark.parametrize("hook", ["menu_items", "client_statistics_cards", "client_area_tabs"])
def test_a_raising_list_hook_is_left_out(app: Flask, active: Any, as_role: Any, hook: str) -> None:
    web, _client = as_role(Role.CLIENT)
    testaddon.FAIL_IN.add(hook)
    page = web.get(AREA + "/sessions")
    assert page.status_code == 200
    missing = {"menu_items": b"/testaddon/hello", "client_statistics_cards": b"Test card"}
    assert missing.get(hook, b'href="/accueil-client/extra"') not in page.data


def test_a_hook_that_raised_midway_leaves_nothing_half_made(
    app: Flask, active: Any, make_user: Any
) -> None:
    """Documented rule: the email is queued as it was before the failing hook; its writes go."""
    from core.emails.outbox import queue_email

    testaddon.FAIL_IN.add("before_email_queued")
    client = make_user(Role.CLIENT)
    with app.app_context():
        row = queue_email("testaddon_note", to=client, context={"note": "Bring water"})
        db.commit()
        assert row is not None and row.subject == "A note from Coachdesk"  # no "[test] "
        assert db.scalars(select(testaddon.TestaddonNote)).all() == []
    assert "before_email_queued" in last_error(app)


def test_each_email_of_a_batch_has_its_own_hook_call_and_savepoint(
    app: Flask, active: Any, make_user: Any
) -> None:
    """A reminder sweep queues its batch at once; the add-on still sees (and may change)
    every email, and its failure is contained email by email."""
    from core.emails.models import OutboxEmail
    from core.worker.reminders import sweep

    coach = make_user(Role.COACH)

    def sweep_three(hours: int) -> list[str]:
        for n in range(3):
            starts = utcnow() + timedelta(hours=hours, minutes=n)
            add_session(app, make_user(Role.CLIENT), coach, starts_at=starts)
        with app.app_context():
            assert sweep() == 3
            rows = db.scalars(select(OutboxEmail).order_by(OutboxEmail.id.desc()).limit(3))
            return [row.subject for row in rows]

    assert all(subject.startswith("[test] Reminder") for subject in sweep_three(1))
    testaddon.FAIL_IN.add("before_email_queued")
    assert all(subject.startswith("Reminder") for subject in sweep_three(2))  # as before it
    with app.app_context():
        assert db.scalars(select(testaddon.TestaddonNote)).all() == []
    assert "before_email_queued" in last_error(app)


def test_a_failing_migration_refuses_activation_and_applies_nothing(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(TESTS / "addons" / "faulty"))
    other = create_app(
        {"DATABASE_URL": app.config["DATABASE_URL"], "SECRET_KEY": app.config["SECRET_KEY"]},
        instance_path=str(tmp_path),
    )
    try:
        from core.accounts.service import create_user

        with other.app_context():
            admin = create_user(
                email="root@example.test",
                first_name="R",
                last_name="T",
                role="admin",
                password="correct horse battery",
            )
            db.commit()
        web = other.test_client()
        login(other, web, admin)
        page = post(
            other, web, "/admin/addons/badmigration", {"action": "activate"}, follow_redirects=True
        )
        assert b"its migration failed" in page.data and b"no_such_table_anywhere" in page.data
        engine = get_database(other).engine
        assert "badmigration_half" not in inspect(engine).get_table_names()
        with other.app_context():
            assert not get_host(other).is_active("badmigration")
            assert "no_such_table_anywhere" in (db.get(AddonState, "badmigration").last_error or "")
        # Everything else goes on: another add-on activates, pages render.
        page = post(
            other, web, "/admin/addons/testaddon", {"action": "activate"}, follow_redirects=True
        )
        assert b"Test add-on is active" in page.data
        assert web.get("/admin/addons").status_code == 200
    finally:
        get_database(other).engine.dispose()


def test_keys_are_first_come_first_served(app: Flask, active: Any, as_role: Any) -> None:
    testaddon.HIJACK.append(True)
    web, _client = as_role(Role.CLIENT)
    sessions = web.get(AREA + "/sessions")
    assert sessions.status_code == 200 and b"hijacked" not in sessions.data
    admin_page = active.get("/admin/addons").get_data(as_text=True)
    assert "Hijacked" not in admin_page
    assert "already used by the core or an add-on activated earlier" in last_error(app)
    permissions = active.get("/admin/settings/permissions").get_data(as_text=True)
    assert "View sessions" in permissions and "Hijacked" not in permissions


# -- Translations ------------------------------------------------------------------


def test_an_addon_catalog_never_changes_the_core_translations(
    app: Flask, active: Any, as_role: Any
) -> None:
    web, _user = as_role(Role.ADMIN, locale="fr")
    post(app, web, "/testaddon/notes", {"text": "a"})
    post(app, web, "/testaddon/notes", {"text": "b"})
    page = web.get("/testaddon/hello").get_data(as_text=True)
    assert "Bonjour du module de test" in page
    assert "2 notes du module" in page  # its own plural rule (three forms)
    assert "Modules (détourné)" not in page  # the core's words stay the core's
    from flask_babel import force_locale, ngettext

    with app.test_request_context(), force_locale("fr"):
        # The core's French plural rule still holds: 0 is singular in French.
        assert ngettext("%(num)s session to pay", "%(num)s sessions to pay", 0) == (
            "0 séance à régler"
        )
        assert str(testaddon.translations.ngettext("%(num)d note", "%(num)d notes", 0)) == (
            "aucune note"
        )


def test_pluggy_validation_error_type_is_what_the_host_reports() -> None:
    """Guards the assumption the misspelt-hook check relies on."""
    pm = pluggy.PluginManager(hooks.PROJECT)
    pm.add_hookspecs(hooks)

    class Misspelt:
        @hooks.hookimpl
        def menu_item(self, user: Any) -> None: ...

    pm.register(Misspelt())
    with pytest.raises(pluggy.PluginValidationError, match="menu_item"):
        pm.check_pending()


def test_addons_list_and_activation_keep_working_beside_a_broken_addon(
    tmp_path: Path,
) -> None:
    import os

    site = os.pathsep.join([str(SITE), str(TESTS / "addons" / "faulty"), str(TESTS.parent)])
    env = {"PYTHONPATH": site}
    upgraded = run_cli(tmp_path, "db", "upgrade", env=env)
    # The core and the other add-ons are migrated; the failing one is named, and left out.
    assert upgraded.returncode == 1
    assert "add-on badmigration: migration failed, left as it was" in upgraded.stderr
    assert "t001" in upgraded.stdout and "b001" not in upgraded.stdout
    refused = run_cli(tmp_path, "addons", "activate", "badmigration", env=env)
    assert refused.returncode == 1 and "migration failed" in refused.stderr
    listing = run_cli(tmp_path, "addons", "list", env=env)
    assert listing.returncode == 0 and "misspelt" in listing.stdout and "broken" in listing.stdout
    assert run_cli(tmp_path, "addons", "activate", "testaddon", env=env).returncode == 0
    assert run_cli(tmp_path, "worker", "--once", env=env).returncode == 0


def test_logs_name_the_addon(app: Flask, active: Any, caplog: Any, as_role: Any) -> None:
    web, _client = as_role(Role.CLIENT)
    testaddon.FAIL_IN.add("client_statistics_cards")
    with caplog.at_level(logging.ERROR):
        web.get(AREA + "/sessions")
    assert "add-on testaddon raised in client_statistics_cards" in caplog.text
