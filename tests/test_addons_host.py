"""The add-on host, exercised through the test add-on in tests/addons (found by entry point)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import coachdesk_testaddon as testaddon
import pytest
from flask import Flask
from sqlalchemy import inspect, select

from core import create_app
from core.accounts.models import Role
from core.db import db, get_database
from core.plugins import get_host
from core.plugins.models import AddonState
from tests.conftest import SITE, TESTS, login, post
from tests.test_config import run_cli


@pytest.fixture
def admin_client(as_role):  # type: ignore[no-untyped-def]
    return as_role(Role.ADMIN)[0]


@pytest.fixture(autouse=True)
def _reset_testaddon() -> Iterator[None]:
    testaddon.FAIL_IN.clear()
    testaddon.EVENTS.clear()
    yield
    testaddon.FAIL_IN.clear()


def toggle(app: Flask, admin_client, name: str, action: str):  # type: ignore[no-untyped-def]
    return post(
        app, admin_client, f"/admin/addons/{name}", {"action": action}, follow_redirects=True
    )


def test_discovered_from_entry_points_but_inactive(app: Flask, admin_client) -> None:  # type: ignore[no-untyped-def]
    host = get_host(app)
    assert {"testaddon", "dependent"} <= set(host.addons)
    assert host.addons["testaddon"].title == "Test add-on"
    assert host.addons["dependent"].requires == ("testaddon",)
    page = admin_client.get("/admin/addons")
    assert b"Test add-on" in page.data and b"Dependent add-on" in page.data
    # Inactive: its URLs do not exist and its menu entry is absent.
    assert admin_client.get("/testaddon/hello").status_code == 404
    assert admin_client.get("/testaddon/static/testaddon.css").status_code == 404
    assert b'href="/testaddon/hello"' not in admin_client.get("/admin/addons").data


def test_activate_then_deactivate_keeps_data(app: Flask, admin_client) -> None:  # type: ignore[no-untyped-def]
    response = toggle(app, admin_client, "testaddon", "activate")
    assert b"Test add-on is active" in response.data
    assert testaddon.EVENTS == ["activated"]
    assert admin_client.get("/testaddon/hello").status_code == 200
    assert admin_client.get("/testaddon/static/testaddon.css").status_code == 200
    assert b'href="/testaddon/hello"' in admin_client.get("/admin/addons").data  # menu hook
    assert post(app, admin_client, "/testaddon/notes", {"text": "kept"}).status_code == 201

    response = toggle(app, admin_client, "testaddon", "deactivate")
    assert b"its data is kept" in response.data
    assert testaddon.EVENTS == ["activated", "deactivated"]
    assert admin_client.get("/testaddon/hello").status_code == 404
    with app.app_context():
        assert db.scalars(select(testaddon.TestaddonNote.text)).all() == ["kept"]

    toggle(app, admin_client, "testaddon", "activate")
    assert b"(1 note)" in admin_client.get("/testaddon/hello").data


def test_addon_settings_section_and_client_tab_follow_activation(
    app: Flask,
    admin_client,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    client, _ = as_role(Role.CLIENT)
    assert admin_client.get("/admin/settings/testaddon").status_code == 404
    assert client.get("/accueil-client/extra").status_code == 404
    toggle(app, admin_client, "testaddon", "activate")
    settings = admin_client.get("/admin/settings/testaddon")
    assert settings.status_code == 200 and b"testaddon-settings" in settings.data
    assert b"/admin/settings/testaddon" in admin_client.get("/admin/settings/general").data
    area = client.get("/accueil-client/extra")
    assert area.status_code == 200 and b"testaddon-tab" in area.data
    assert b"Test card" in area.data  # its statistics card
    toggle(app, admin_client, "testaddon", "deactivate")
    assert admin_client.get("/admin/settings/testaddon").status_code == 404
    assert client.get("/accueil-client/extra").status_code == 404


def test_state_lives_in_the_database_and_reaches_other_processes(
    app: Flask,
    admin_client,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    """A second app (standing for another process) sees the change on its next request."""
    other = create_app(
        {"DATABASE_URL": app.config["DATABASE_URL"], "SECRET_KEY": app.config["SECRET_KEY"]},
        instance_path=str(tmp_path),
    )
    try:
        assert other.test_client().get("/testaddon/hello").status_code == 404
        toggle(app, admin_client, "testaddon", "activate")
        assert other.test_client().get("/testaddon/hello").status_code == 200
        toggle(app, admin_client, "testaddon", "deactivate")
        assert other.test_client().get("/testaddon/hello").status_code == 404
    finally:
        get_database(other).engine.dispose()


def test_requirements_are_enforced_both_ways(app: Flask, admin_client) -> None:  # type: ignore[no-untyped-def]
    response = toggle(app, admin_client, "dependent", "activate")
    assert b"Dependent add-on requires Test add-on: activate that first" in response.data
    with app.app_context():
        assert not get_host(app).is_active("dependent")

    toggle(app, admin_client, "testaddon", "activate")
    toggle(app, admin_client, "dependent", "activate")
    response = toggle(app, admin_client, "testaddon", "deactivate")
    assert b"cannot be deactivated while Dependent add-on depends on it" in response.data
    with app.app_context():
        assert get_host(app).is_active("testaddon")
        assert get_host(app).is_active("dependent")


def test_a_failing_hook_is_isolated_and_reported(app: Flask, admin_client, caplog) -> None:  # type: ignore[no-untyped-def]
    toggle(app, admin_client, "testaddon", "activate")
    testaddon.FAIL_IN.add("menu_items")
    with caplog.at_level(logging.ERROR):
        page = admin_client.get("/admin/addons")
    assert page.status_code == 200  # the site keeps working
    assert b'href="/testaddon/hello"' not in page.data  # without the failing contribution
    assert "testaddon raised in menu_items" in caplog.text
    testaddon.FAIL_IN.clear()
    with app.app_context():
        state = db.get(AddonState, "testaddon")
        assert state is not None and "fails in menu_items on purpose" in (state.last_error or "")
    assert b"fails in menu_items on purpose" in admin_client.get("/admin/addons").data


def test_an_addon_that_fails_to_import_is_reported(
    app: Flask,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.syspath_prepend(str(TESTS / "addons" / "broken"))
    with caplog.at_level(logging.ERROR):
        other = create_app(
            {"DATABASE_URL": app.config["DATABASE_URL"], "SECRET_KEY": app.config["SECRET_KEY"]},
            instance_path=str(tmp_path),
        )
    try:
        addon = get_host(other).addons["broken"]
        assert not addon.loaded
        assert "needs a library that is not installed" in (addon.load_error or "")
        assert "add-on broken could not be loaded" in caplog.text
        with other.app_context():
            from core.accounts.service import create_user

            admin = create_user(
                email="root@example.test",
                first_name="R",
                last_name="T",
                role="admin",
                password="correct horse battery",
            )
            db.commit()
        client = other.test_client()
        login(other, client, admin)
        page = client.get("/admin/addons")
        assert page.status_code == 200
        assert (
            b"Failed to load" in page.data and b"needs a library that is not installed" in page.data
        )
        refused = post(
            other, client, "/admin/addons/broken", {"action": "activate"}, follow_redirects=True
        )
        assert b"failed to load" in refused.data
    finally:
        get_database(other).engine.dispose()


def test_migration_branch_is_applied(app: Flask) -> None:
    assert "testaddon_notes" in inspect(get_database(app).engine).get_table_names()


def test_theme_overrides_addon_which_overrides_core(
    app: Flask, admin_client, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    themes_root = tmp_path / "themes"
    (themes_root / "bold" / "templates" / "testaddon").mkdir(parents=True)
    (themes_root / "bold" / "static" / "css").mkdir(parents=True)
    (themes_root / "bold" / "THEME.txt").write_text("Bold\nA theme for the tests.\n")
    (themes_root / "bold" / "templates" / "testaddon" / "hello.html").write_text(
        '{% extends "base.html" %}{% block content %}<p id="themed">Themed hello</p>{% endblock %}'
    )
    (themes_root / "bold" / "templates" / "errors").mkdir()
    (themes_root / "bold" / "templates" / "errors" / "error.html").write_text(
        "Bold error {{ code }}"
    )
    (themes_root / "bold" / "static" / "css" / "theme.css").write_text(":root{--accent:#ff0000}")
    other = create_app(
        {
            "DATABASE_URL": app.config["DATABASE_URL"],
            "SECRET_KEY": app.config["SECRET_KEY"],
            "THEMES_PATH": themes_root,
        },
        instance_path=str(tmp_path),
    )
    try:
        client = other.test_client()
        toggle(app, admin_client, "testaddon", "activate")
        # Add-on template over nothing; core error page.
        assert b"Hello from the test add-on" in client.get("/testaddon/hello").data
        assert b"Bold error" not in client.get("/no-such-page").data
        with other.app_context():
            from core.settings import set_option

            set_option("theme.active", "bold")
            db.commit()
        # Theme beats the add-on's template and the core's, at once, without a restart.
        assert b"Themed hello" in client.get("/testaddon/hello").data
        assert client.get("/no-such-page").data.startswith(b"Bold error 404")
        login_page = client.get("/connexion").data.decode()
        assert "/theme/bold/css/theme.css" in login_page
        assert client.get("/theme/bold/css/theme.css").data == b":root{--accent:#ff0000}"
        assert client.get("/theme/nope/css/theme.css").status_code == 404
        assert client.get("/theme/bold/../../secret_key").status_code == 404
    finally:
        get_database(other).engine.dispose()


def test_themes_page_speaks_the_readers_language(as_role, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """THEME.fr.txt beside THEME.txt gives the French title and description; a theme
    without one shows its THEME.txt in every language; fr_CA falls back to fr."""
    from core.themes import discover_themes

    (tmp_path / "bold" / "templates").mkdir(parents=True)
    (tmp_path / "bold" / "THEME.txt").write_text("Bold\nStrong colours.\n")
    found = discover_themes(tmp_path)
    assert found["bold"].about("fr") == ("Bold", "Strong colours.")
    assert found["night"].about("fr_CA") == found["night"].about("fr")
    english, _ = as_role(Role.ADMIN)
    french, _ = as_role(Role.ADMIN, locale="fr")
    page = english.get("/admin/themes").get_data(as_text=True)
    assert "<h2>Night</h2>" in page and "A dark palette" in page
    page = french.get("/admin/themes").get_data(as_text=True)
    assert "<h2>Nuit</h2>" in page and "Une palette sombre" in page
    assert "<h2>Par défaut</h2>" in page and "A dark palette" not in page


@pytest.mark.parametrize("reload", [True, False])
def test_edited_theme_files_show_while_templates_reload(
    app: Flask, tmp_path: Path, reload: bool
) -> None:
    """In debug (templates reloading) an edited theme template or a new theme file shows
    at the next request; on a deployed site both are read once (no disk check a page)."""
    theme = tmp_path / "themes" / "plain"
    (theme / "templates" / "errors").mkdir(parents=True)
    (theme / "static" / "css").mkdir(parents=True)
    page = theme / "templates" / "errors" / "error.html"
    page.write_text("First {{ code }} <link href=\"{{ asset_url('css/theme.css') }}\">")
    other = create_app(
        {
            "DATABASE_URL": app.config["DATABASE_URL"],
            "SECRET_KEY": app.config["SECRET_KEY"],
            "THEMES_PATH": tmp_path / "themes",
            "TEMPLATES_AUTO_RELOAD": reload,
        },
        instance_path=str(tmp_path),
    )
    try:
        with other.app_context():
            from core.settings import set_option

            set_option("theme.active", "plain")
            db.commit()
        client = other.test_client()
        first = client.get("/no-such-page").get_data(as_text=True)
        assert first.startswith("First 404") and "/static/css/theme.css" in first
        page.write_text("Edited {{ code }} <link href=\"{{ asset_url('css/theme.css') }}\">")
        os.utime(page, (page.stat().st_mtime + 5,) * 2)
        (theme / "static" / "css" / "theme.css").write_text(":root{}")
        then = client.get("/no-such-page").get_data(as_text=True)
        assert then.startswith("Edited 404" if reload else "First 404")
        assert ("/theme/plain/css/theme.css" in then) is reload
    finally:
        get_database(other).engine.dispose()


def test_cli_activates_and_runs_addon_commands(tmp_path: Path) -> None:
    env = {"PYTHONPATH": os.pathsep.join([str(SITE), str(TESTS.parent)])}
    assert run_cli(tmp_path, "db", "upgrade", env=env).returncode == 0
    listing = run_cli(tmp_path, "addons", "list", env=env).stdout
    assert "testaddon" in listing and "inactive" in listing
    refused = run_cli(tmp_path, "testaddon-hello", env=env)
    assert refused.returncode == 1 and "not active" in refused.stderr
    needs = run_cli(tmp_path, "addons", "activate", "dependent", env=env)
    assert needs.returncode == 1 and "requires Test add-on" in needs.stderr
    assert run_cli(tmp_path, "addons", "activate", "testaddon", env=env).returncode == 0
    assert run_cli(tmp_path, "testaddon-hello", env=env).stdout.strip() == "hello from testaddon"
    assert run_cli(tmp_path, "addons", "deactivate", "testaddon", env=env).returncode == 0
    assert "inactive" in run_cli(tmp_path, "addons", "list", env=env).stdout
