"""Emails speak the client's language: the profile's, or when it is automatic, the one their
browser used at the last sign-in (not the site default)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask

from core.accounts.models import User
from core.db import db
from core.emails import queue_email
from core.emails.render import recipient_locale
from tests.conftest import PASSWORD, csrf_token


def sign_in(app: Flask, user: Any, language: str) -> None:
    browser = app.test_client()
    browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    response = browser.post(
        "/" + app.config["SLUGS"]["login"],
        data={"email": user.email, "password": PASSWORD, "csrf_token": csrf_token(app, browser)},
    )
    assert response.status_code == 302


def welcome_subject(app: Flask, user_id: int) -> str:
    with app.app_context():
        row = queue_email("welcome", to=db.get(User, user_id), context={})
        assert row is not None
        db.rollback()
        return row.subject


def test_automatic_language_follows_the_browser_of_the_last_sign_in(
    app: Flask, make_user: Callable[..., Any]
) -> None:
    automatic = make_user("client", locale=None)
    english = make_user("client", locale="en")
    english_subject = welcome_subject(app, automatic.id)
    sign_in(app, automatic, "fr-FR,fr;q=0.9,en;q=0.5")
    sign_in(app, english, "fr-FR,fr;q=0.9")
    with app.app_context():
        user = db.get(User, automatic.id)
        assert (user.last_locale, recipient_locale(user)) == ("fr", "fr")
        chosen = db.get(User, english.id)
        assert (chosen.last_locale, recipient_locale(chosen)) == ("fr", "en")  # the profile wins
    assert welcome_subject(app, automatic.id) != english_subject
    assert welcome_subject(app, english.id) == english_subject
    # The next sign-in from an English browser switches back.
    sign_in(app, automatic, "en-GB,en;q=0.8")
    assert welcome_subject(app, automatic.id) == english_subject
