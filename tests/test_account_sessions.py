"""Login sessions live on the server: signing out, a password change or reset, a deactivation
or a long idle time end them, whatever copies of the cookie exist. The private calendar
feed can be switched off and gets a new secret on a password reset."""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from core.accounts.models import Role, User, UserSession
from core.accounts.sessions import IDLE_LIMIT, TOUCH_EVERY
from core.accounts.tokens import make_password_token
from core.db import db, utcnow
from tests.conftest import PASSWORD, login, post

AREA = "/accueil-client"
COOKIE = "coachdesk_session"
NEW_PASSWORD = "another long passphrase 7"


def signed_in(browser: FlaskClient) -> bool:
    """Whether this browser reaches the client area (a signed-out one is sent to sign in)."""
    return browser.get(AREA + "/profile").status_code == 200


def copy_of(app: Flask, browser: FlaskClient) -> FlaskClient:
    """Another browser holding the same cookie (copied by malware, a shared computer…)."""
    thief = app.test_client()
    cookie = browser.get_cookie(COOKIE)
    assert cookie is not None
    thief.set_cookie(COOKIE, cookie.value)
    return thief


def sessions_of(app: Flask, user: User) -> int:
    with app.app_context():
        return db.scalar(select(func.count()).where(UserSession.user_id == user.id)) or 0


def test_a_cookie_copied_before_sign_out_is_refused_after_it(app: Flask, as_role) -> None:  # type: ignore[no-untyped-def]
    browser, user = as_role(Role.CLIENT)
    thief = copy_of(app, browser)
    assert signed_in(thief)  # the copy works while the session lives
    assert post(app, browser, "/logout").status_code == 302
    assert not signed_in(browser)
    assert not signed_in(thief)
    assert sessions_of(app, user) == 0


def test_signing_out_ends_only_this_browsers_session(app: Flask, as_role) -> None:  # type: ignore[no-untyped-def]
    browser, user = as_role(Role.CLIENT)
    phone = app.test_client()
    assert login(app, phone, user).status_code == 302
    assert sessions_of(app, user) == 2
    post(app, browser, "/logout")
    assert not signed_in(browser)
    assert signed_in(phone)
    assert sessions_of(app, user) == 1


def test_the_database_keeps_only_a_digest_of_the_cookie_secret(app: Flask, as_role) -> None:  # type: ignore[no-untyped-def]
    browser, user = as_role(Role.CLIENT)
    with app.app_context():
        (row,) = db.scalars(select(UserSession).where(UserSession.user_id == user.id))
        stored = row.id
    with app.test_request_context():
        data = app.session_interface.get_signing_serializer(app).loads(  # type: ignore[attr-defined]
            browser.get_cookie(COOKIE).value  # type: ignore[union-attr]
        )
    secret = data["_user_id"]
    assert secret and secret != stored and user.session_token not in (secret, stored)
    assert stored == hashlib.sha256(secret.encode()).hexdigest()


def test_a_password_change_keeps_this_browser_and_ends_every_other(app: Flask, as_role) -> None:  # type: ignore[no-untyped-def]
    browser, user = as_role(Role.CLIENT)
    thief = copy_of(app, browser)
    laptop = app.test_client()
    login(app, laptop, user)
    data = {"action": "password", "current": PASSWORD, "password": NEW_PASSWORD}
    assert (
        post(app, browser, AREA + "/profile", {**data, "confirm": NEW_PASSWORD}).status_code == 302
    )
    assert signed_in(browser) and not signed_in(laptop)
    # The copy shares this browser's session: only a sign-out (or a reset) ends it.
    post(app, browser, "/logout")
    assert not signed_in(thief)


def test_a_password_reset_ends_every_session_and_renews_the_feed(
    app: Flask, as_role, client: FlaskClient
) -> None:  # type: ignore[no-untyped-def]
    browser, user = as_role(Role.CLIENT)
    thief = copy_of(app, browser)
    post(app, browser, AREA + "/profile", {"action": "feed-create"})
    with app.app_context():
        old_feed = db.get(User, user.id).calendar_token  # type: ignore[union-attr]
        token = make_password_token(db.get(User, user.id), "reset")  # type: ignore[arg-type]
    assert client.get(f"/calendar/{old_feed}.ics").status_code == 200
    reset = app.test_client()
    data = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    response = post(app, reset, f"/password/{token}", data, follow_redirects=True)
    assert "Your private calendar link was renewed" in response.get_data(as_text=True)
    assert not signed_in(browser) and not signed_in(thief)
    assert signed_in(reset)
    assert client.get(f"/calendar/{old_feed}.ics").status_code == 404
    with app.app_context():
        new_feed = db.get(User, user.id).calendar_token  # type: ignore[union-attr]
    assert new_feed and new_feed != old_feed
    assert client.get(f"/calendar/{new_feed}.ics").status_code == 200
    assert new_feed in reset.get(AREA + "/profile").get_data(as_text=True)


def test_a_reset_without_a_feed_creates_none(app: Flask, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user(Role.CLIENT)
    with app.app_context():
        token = make_password_token(db.get(User, user.id), "reset")  # type: ignore[arg-type]
    browser = app.test_client()
    data = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    response = post(app, browser, f"/password/{token}", data, follow_redirects=True)
    assert "calendar link was renewed" not in response.get_data(as_text=True)
    with app.app_context():
        assert db.get(User, user.id).calendar_token is None  # type: ignore[union-attr]


def test_the_profile_switches_the_feed_off(app: Flask, as_role, client: FlaskClient) -> None:  # type: ignore[no-untyped-def]
    browser, user = as_role(Role.CLIENT)
    post(app, browser, AREA + "/profile", {"action": "feed-create"})
    html = browser.get(AREA + "/profile").get_data(as_text=True)
    assert re.search(r'<button type="submit" name="action" value="feed-revoke"', html)
    with app.app_context():
        feed = db.get(User, user.id).calendar_token  # type: ignore[union-attr]
    post(app, browser, AREA + "/profile", {"action": "feed-revoke"})
    assert client.get(f"/calendar/{feed}.ics").status_code == 404
    assert 'value="feed-revoke"' not in browser.get(AREA + "/profile").get_data(as_text=True)


def test_deactivation_ends_every_session(app: Flask, as_role) -> None:  # type: ignore[no-untyped-def]
    browser, user = as_role(Role.CLIENT)
    admin, _admin = as_role(Role.ADMIN)
    post(app, admin, f"/admin/users/{user.id}/active", {"action": "deactivate"})
    assert sessions_of(app, user) == 0
    assert not signed_in(browser)
    post(app, admin, f"/admin/users/{user.id}/active", {"action": "reactivate"})
    assert not signed_in(browser)  # reactivating does not bring old sessions back


def test_an_idle_session_ends_and_a_used_one_is_refreshed_now_and_then(app: Flask, as_role) -> None:  # type: ignore[no-untyped-def]
    browser, user = as_role(Role.CLIENT)
    mine = UserSession.user_id == user.id

    def age(delta: timedelta) -> None:
        with app.app_context():
            db.execute(update(UserSession).where(mine).values(last_seen_at=utcnow() - delta))
            db.commit()

    def last_seen() -> timedelta:
        with app.app_context():
            return utcnow() - db.scalar(select(UserSession.last_seen_at).where(mine))  # type: ignore[operator]

    age(TOUCH_EVERY / 2)
    assert signed_in(browser)
    assert last_seen() >= TOUCH_EVERY / 2  # recent enough: not written again
    age(TOUCH_EVERY * 2)
    assert signed_in(browser)
    assert last_seen() < TOUCH_EVERY  # refreshed
    age(IDLE_LIMIT + timedelta(minutes=1))
    assert not signed_in(browser)


def test_security_events_are_logged_without_what_was_typed(
    app: Flask, as_role, make_user, caplog
) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO, logger="coachdesk.security")
    typed = {"email": "someone.else@example.test", "password": "hunter2 but longer"}
    post(app, app.test_client(), "/connexion", typed)
    browser, user = as_role(Role.CLIENT)
    post(app, browser, "/logout")
    events = [r.getMessage() for r in caplog.records if r.name == "coachdesk.security"]
    assert events == [
        "failed sign-in [from 127.0.0.1]",
        f"sign-in: user {user.id} [from 127.0.0.1]",
        f"sign-out: user {user.id} [from 127.0.0.1]",
    ]
    assert not any(typed["email"] in e or typed["password"] in e for e in events)
