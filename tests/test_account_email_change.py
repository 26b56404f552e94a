"""A changed sign-in email is verified: the new address confirms before it is used for
sign-in or resets, the old one is told and can cancel, and whoever typed the new address
(the client, a coach, the second coach of a shared client) cannot confirm it for them."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from core.accounts.models import Role, User
from core.db import db
from tests.conftest import PASSWORD, login, post
from tests.test_coach_support import add_session, assign
from tests.test_emails_support import outbox, work

AREA = "/accueil-client"
NEW = "alice.new@example.test"
NEW_PASSWORD = "a fresh passphrase 2026"


def reload(app: Flask, user: User) -> User:
    with app.app_context():
        found = db.get(User, user.id)
        assert found is not None
        return found


def sent(app: Flask) -> list[tuple[str, str]]:
    return [(e.email_type, e.to_address) for e in outbox(app)]


def link(app: Flask, email_type: str) -> str:
    """The path of the last ``email_type`` email's link (/email/confirm/… or /email/cancel/…)."""
    body = [e for e in outbox(app) if e.email_type == email_type][-1].body_text
    (url,) = re.findall(r"https?://\S+/email/\S+", body)
    return url.removeprefix(app.config["BASE_URL"])


def details(client: User, **changes: str) -> dict[str, str]:
    data = {
        "action": "details",
        "first_name": client.first_name,
        "last_name": client.last_name,
        "email": client.email,
        "phone": "",
        "timezone": "",
        "locale": "",
    }
    data.update(changes)
    return data


def can_sign_in(app: Flask, email: str, password: str = PASSWORD) -> bool:
    browser = app.test_client()
    data = {"email": email, "password": password}
    return post(app, browser, "/connexion", data).status_code == 302


@pytest.fixture
def shared(
    app: Flask, as_role: Callable[..., Any], make_user: Callable[..., Any]
) -> dict[str, Any]:
    """A signed-in client followed by coach A (assigned) and coach B (a session together)."""
    client_browser, client = as_role(Role.CLIENT, first_name="Alice")
    coach_a, a = as_role(Role.COACH, first_name="Anna")
    coach_b, b = as_role(Role.COACH, first_name="Boris", display_name="Boris B.")
    assign(app, a.id, client.id)
    add_session(app, b.id, client.id)
    return {"client": client, "browser": client_browser, "a": coach_a, "b": coach_b}


# -- the client's own change ------------------------------------------------------------


def test_changing_ones_own_email_asks_for_the_current_password(app: Flask, shared) -> None:  # type: ignore[no-untyped-def]
    browser, client = shared["browser"], shared["client"]
    for password in ("", "not my password"):
        response = post(
            app, browser, AREA + "/profile", details(client, email=NEW, current_password=password)
        )
        assert response.status_code == 200
        assert "Enter your current password to change your email." in response.get_data(
            as_text=True
        )
    assert reload(app, client).pending_email is None and outbox(app) == []
    # Other details save without it.
    assert (
        post(app, browser, AREA + "/profile", details(client, phone="0102030405")).status_code
        == 302
    )
    assert reload(app, client).phone == "0102030405"


def test_own_change_waits_for_the_new_address_then_applies(app: Flask, shared, mailbox) -> None:  # type: ignore[no-untyped-def]
    browser, client = shared["browser"], shared["client"]
    response = post(
        app,
        browser,
        AREA + "/profile",
        details(client, email=NEW, current_password=PASSWORD),
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert f"Open the link we sent to {NEW}" in page
    assert f"Waiting for confirmation: {NEW}" in page
    saved = reload(app, client)
    assert (saved.email, saved.pending_email) == (client.email, NEW)
    assert sent(app) == [("email_change_confirm", NEW), ("email_change_notice", client.email)]
    # Until confirmed, the old address signs in and gets the resets.
    assert can_sign_in(app, client.email) and not can_sign_in(app, NEW)
    post(app, app.test_client(), "/password/forgot", {"email": NEW})
    post(app, app.test_client(), "/password/forgot", {"email": client.email})
    work(app)
    assert ("password_reset", client.email) in sent(app)
    assert ("password_reset", NEW) not in sent(app)
    # Signed in as the client, the link confirms without asking the password again.
    confirm = link(app, "email_change_confirm")
    page = browser.get(confirm).get_data(as_text=True)
    assert NEW in page and 'name="password"' not in page
    assert post(app, browser, confirm).status_code == 302
    saved = reload(app, client)
    assert (saved.email, saved.pending_email) == (NEW, None)
    assert can_sign_in(app, NEW) and not can_sign_in(app, client.email)
    assert browser.get(confirm).status_code == 410  # used


def test_the_confirmation_link_elsewhere_asks_for_the_password(app: Flask, shared) -> None:  # type: ignore[no-untyped-def]
    browser, client = shared["browser"], shared["client"]
    post(app, browser, AREA + "/profile", details(client, email=NEW, current_password=PASSWORD))
    confirm = link(app, "email_change_confirm")
    phone = app.test_client()  # the new mailbox read on another device, not signed in
    assert 'name="password"' in phone.get(confirm).get_data(as_text=True)
    refused = post(app, phone, confirm, {"password": "wrong password!"})
    assert refused.status_code == 200 and "This is not the password" in refused.get_data(
        as_text=True
    )
    assert reload(app, client).email == client.email
    response = post(app, phone, confirm, {"password": PASSWORD}, follow_redirects=True)
    assert f"sign in with {NEW}" in response.get_data(as_text=True)
    assert reload(app, client).email == NEW


def test_the_old_address_can_cancel_and_a_newer_change_voids_older_links(
    app: Flask, shared
) -> None:  # type: ignore[no-untyped-def]
    browser, client = shared["browser"], shared["client"]
    post(app, browser, AREA + "/profile", details(client, email=NEW, current_password=PASSWORD))
    first_confirm = link(app, "email_change_confirm")
    post(
        app,
        browser,
        AREA + "/profile",
        details(client, email="other@example.test", current_password=PASSWORD),
    )
    assert browser.get(first_confirm).status_code == 410
    cancel = link(app, "email_change_notice")
    outsider = app.test_client()
    assert "other@example.test" in outsider.get(cancel).get_data(as_text=True)
    assert post(app, outsider, cancel).status_code == 302
    assert reload(app, client).pending_email is None
    assert browser.get(link(app, "email_change_confirm")).status_code == 410
    assert outsider.get(cancel).status_code == 410


def test_the_client_cancels_from_the_profile(app: Flask, shared) -> None:  # type: ignore[no-untyped-def]
    browser, client = shared["browser"], shared["client"]
    post(app, browser, AREA + "/profile", details(client, email=NEW, current_password=PASSWORD))
    post(app, browser, AREA + "/profile", {"action": "email-cancel"})
    assert reload(app, client).pending_email is None
    assert "Waiting for confirmation" not in browser.get(AREA + "/profile").get_data(as_text=True)


def test_an_address_taken_before_confirmation_is_refused_clearly(
    app: Flask, shared, make_user: Callable[..., Any]
) -> None:  # type: ignore[no-untyped-def]
    browser, client = shared["browser"], shared["client"]
    post(app, browser, AREA + "/profile", details(client, email=NEW, current_password=PASSWORD))
    make_user(Role.CLIENT, email=NEW.upper())
    response = post(app, browser, link(app, "email_change_confirm"))
    assert response.status_code == 409
    assert f"Another account now uses {NEW}" in response.get_data(as_text=True)
    saved = reload(app, client)
    assert (saved.email, saved.pending_email) == (client.email, None)


# -- staff changing a client's email --------------------------------------------------


def test_a_coach_cannot_take_a_shared_client_over(app: Flask, shared) -> None:  # type: ignore[no-untyped-def]
    """Coach B points the shared client's email at a mailbox B reads, then tries every door."""
    client, coach_b = shared["client"], shared["b"]
    url = f"/customer/{client.id}/contact"
    mine = "boris.mailbox@example.test"
    data = {"first_name": "Alice", "last_name": client.last_name, "email": mine, "action": "send"}
    response = post(app, coach_b, url, data, follow_redirects=True)
    assert "Login details are not sent while a new address waits." in response.get_data(
        as_text=True
    )
    assert sent(app) == [("email_change_confirm", mine), ("email_change_notice", client.email)]
    notice = next(e for e in outbox(app) if e.email_type == "email_change_notice")
    assert "Boris B. asked to change the email address" in notice.body_text
    # B opens the confirmation B received: the client's password is asked, B does not have it.
    confirm = link(app, "email_change_confirm")
    assert 'name="password"' in coach_b.get(confirm).get_data(as_text=True)
    assert post(app, coach_b, confirm, {"password": "a guess at it"}).status_code == 200
    # Resets asked by B, or by anyone for B's address, reach the client's own address only.
    post(app, coach_b, f"/coach/clients/{client.id}/password-reset")
    post(app, app.test_client(), "/password/forgot", {"email": mine})
    work(app)
    resets = [to for kind, to in sent(app) if kind in ("password_reset", "welcome")]
    assert resets == [client.email]
    assert reload(app, client).email == client.email
    # Coach A sees the pending change and cancels it.
    contact = shared["a"].get(url).get_data(as_text=True)
    assert f"Waiting for the client to confirm {mine}" in contact
    post(app, shared["a"], url, {"action": "email-cancel"})
    assert reload(app, client).pending_email is None
    assert coach_b.get(confirm).status_code == 410


def test_a_client_who_never_signed_in_confirms_and_chooses_a_password(
    app: Flask, as_role: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    """The usual typo fix: the account has no password yet, so the new mailbox is the proof."""
    coach_browser, coach = as_role(Role.COACH)
    client = make_user(Role.CLIENT, email="alice@exmaple.test", password=None)
    assign(app, coach.id, client.id)
    data = {
        "first_name": "Alice",
        "last_name": "T",
        "email": "alice@example.test",
        "action": "save",
    }
    assert post(app, coach_browser, f"/customer/{client.id}/contact", data).status_code == 302
    assert reload(app, client).email == "alice@exmaple.test"
    confirm = link(app, "email_change_confirm")
    browser: FlaskClient = app.test_client()
    assert 'name="password"' not in browser.get(confirm).get_data(as_text=True)
    response = post(app, browser, confirm)
    assert response.status_code == 302 and "/password/" in response.headers["Location"]
    assert reload(app, client).email == "alice@example.test"
    chosen = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert post(app, browser, response.headers["Location"], chosen).status_code == 302
    assert browser.get(AREA + "/profile").status_code == 200
    assert login(app, app.test_client(), reload(app, client), NEW_PASSWORD).status_code == 302


def test_the_emails_speak_the_clients_language(app: Flask, shared) -> None:  # type: ignore[no-untyped-def]
    client = shared["client"]
    with app.app_context():
        db.get(User, client.id).locale = "fr"  # type: ignore[union-attr]
        db.commit()
    data = {"first_name": "Alice", "last_name": client.last_name, "email": NEW, "action": "save"}
    post(app, shared["a"], f"/customer/{client.id}/contact", data)
    subjects = {e.email_type: e.subject for e in outbox(app)}
    assert subjects["email_change_confirm"].startswith("Confirmez votre nouvelle adresse")
    assert "est en cours de modification" in subjects["email_change_notice"]
