"""Templates are evaluated per request: nothing rendered for one visitor leaks into the next.

Labels files (``*_labels.html``) are the exception: once per language, and blind to the
viewer and the request.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from flask import Flask, render_template_string
from flask_babel import force_locale

from core import create_app
from core.accounts.models import Role, User
from core.db import db, get_database, utcnow
from core.sessions.models import CoachingSession
from core.settings import set_option
from tests.conftest import login


def book_in_three_days(app: Flask, coach: User, client: User) -> None:
    """A booked session of ``client`` with ``coach``, three days from now."""
    with app.app_context():
        db.add(
            CoachingSession(
                coach_id=coach.id, client_id=client.id, title="Run",
                starts_at=utcnow() + timedelta(days=3), status="booked",
            )
        )  # fmt: skip
        db.commit()


def test_imported_macro_files_follow_each_requests_language(app: Flask, as_role, make_user) -> None:  # type: ignore[no-untyped-def]
    """Macro files translate labels at their top level; Jinja would keep the first language."""
    client_http, client = as_role(Role.CLIENT)
    book_in_three_days(app, make_user(Role.COACH), client)
    pages = []
    for lang in ("en", "fr", "en"):
        html = client_http.get("/accueil-client/sessions", headers={"Accept-Language": lang})
        pages.append(html.get_data(as_text=True))
    english, french, english_again = pages
    assert "Booked" in english and "Réservée" not in english
    assert "Réservée" in french and ">Booked<" not in french.replace("\n", "")
    assert "Booked" in english_again and "Réservée" not in english_again


def test_one_context_rendering_in_several_languages(app: Flask) -> None:
    """The worker renders emails for many recipients in one app context (force_locale)."""
    source = '{% from "clientarea/_macros.html" import status %}{{ status("booked") }}'
    with app.test_request_context():
        with force_locale("en"):
            english = render_template_string(source)
        with force_locale("fr"):
            french = render_template_string(source)
    assert "Booked" in english
    assert "Réservée" in french


def test_a_labels_file_is_made_once_per_language(app: Flask) -> None:
    """Its module outlives the request: the next request, in the same language, reuses it."""
    template = app.jinja_env.get_template("clientarea/_labels.html")
    modules = []
    for language in ("en", "en", "fr"):
        with app.test_request_context(), force_locale(language):
            modules.append(template._get_default_module())
    english, english_again, french = modules
    assert english is english_again
    assert french is not english
    assert (english.STATUS["booked"], french.STATUS["booked"]) == ("Booked", "Réservée")


def test_a_labels_file_sees_nothing_of_the_viewer_or_the_request(app: Flask) -> None:
    """Made once for every viewer, it must not be able to keep one viewer's data: only
    translation and Jinja's helpers are defined there."""
    probe = app.jinja_env.from_string(
        "{% set SEEN = [request, g, csrf_token, url_for, can, session_clock, config]"
        "|reject('undefined')|list|length %}{% set HELLO = _('Booked') %}"
    )
    probe.name = "probe_labels.html"
    with app.test_request_context(), force_locale("fr"):
        module = probe._get_default_module()
        # The same names are defined in any other template.
        names = "{{ [request, g, csrf_token]|reject('undefined')|list|length }}"
        assert render_template_string(names) == "3"
    assert module.SEEN == 0
    assert module.HELLO == "Réservée"


def test_a_theme_switch_brings_its_own_labels_at_once(
    app: Flask, tmp_path: Path, make_user: Callable[..., User]
) -> None:
    """The labels made once per language belong to one theme: switching themes on a running
    site shows the new theme's labels at the next page, not the labels first made."""
    theme = tmp_path / "themes" / "loud" / "templates" / "clientarea"
    theme.mkdir(parents=True)
    core_labels = Path(app.root_path) / "clientarea" / "templates" / "clientarea" / "_labels.html"
    theme.joinpath("_labels.html").write_text(
        core_labels.read_text().replace("_('Booked')", "'BOOKED LOUDLY'")
    )
    other = create_app(
        {
            "DATABASE_URL": app.config["DATABASE_URL"],
            "SECRET_KEY": app.config["SECRET_KEY"],
            "THEMES_PATH": tmp_path / "themes",
        },
        instance_path=str(tmp_path),
    )
    try:
        client = make_user(Role.CLIENT)
        book_in_three_days(other, make_user(Role.COACH), client)
        browser = other.test_client()
        assert login(other, browser, client).status_code == 302
        url = "/" + other.config["SLUGS"]["client_area"] + "/sessions"
        before = browser.get(url).get_data(as_text=True)
        with other.app_context():
            set_option("theme.active", "loud")
            db.commit()
        after = browser.get(url).get_data(as_text=True)
        with other.app_context():
            set_option("theme.active", "default")
            db.commit()
        again = browser.get(url).get_data(as_text=True)
    finally:
        get_database(other).engine.dispose()
    assert ">Booked<" in before and "BOOKED LOUDLY" not in before
    assert "BOOKED LOUDLY" in after
    assert ">Booked<" in again and "BOOKED LOUDLY" not in again
