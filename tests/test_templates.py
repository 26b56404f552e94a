"""Templates are evaluated per request: nothing rendered for one visitor leaks into the next."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from core.accounts.models import Role
from core.db import db, utcnow
from core.sessions.models import CoachingSession


def test_imported_macro_files_follow_each_requests_language(app: Flask, as_role, make_user) -> None:  # type: ignore[no-untyped-def]
    """Macro files translate labels at their top level; Jinja would keep the first language."""
    client_http, client = as_role(Role.CLIENT)
    coach = make_user(Role.COACH)
    with app.app_context():
        db.add(
            CoachingSession(
                coach_id=coach.id, client_id=client.id, title="Run",
                starts_at=utcnow() + timedelta(days=3), status="booked",
            )
        )  # fmt: skip
        db.commit()
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
    from flask import render_template_string
    from flask_babel import force_locale

    source = '{% from "clientarea/_macros.html" import status %}{{ status("booked") }}'
    with app.test_request_context():
        with force_locale("en"):
            english = render_template_string(source)
        with force_locale("fr"):
            french = render_template_string(source)
    assert "Booked" in english
    assert "Réservée" in french
