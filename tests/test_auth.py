"""Signing in and out: landing by role, no enumeration, disabled accounts, CSRF, rate limits."""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy import select

from core.accounts.models import Role, User
from core.accounts.passwords import hash_password, password_problem, verify_password
from core.accounts.tokens import make_password_token
from core.db import db
from tests.conftest import PASSWORD, csrf_token, login, post
from tests.helpers import REDIS_URL, empty_redis

LANDINGS = {Role.CLIENT: "/accueil-client", Role.COACH: "/accueil-coach", Role.ADMIN: "/admin/"}


def test_each_role_lands_on_its_home(app: Flask, make_user) -> None:  # type: ignore[no-untyped-def]
    for role, path in LANDINGS.items():
        client = app.test_client()
        response = login(app, client, make_user(role))
        assert response.status_code == 302
        assert response.headers["Location"] == path
        # Already signed in: the login page sends you home too.
        assert client.get("/connexion").headers["Location"] == path
        assert client.get("/").headers["Location"] == path


def test_email_is_case_insensitive_and_next_is_followed_only_on_site(
    app: Flask, client, make_user
) -> None:  # type: ignore[no-untyped-def]
    user = make_user(Role.COACH, email="Mixed.Case@Example.test")
    token = csrf_token(app, client)
    response = client.post(
        "/connexion?next=/admin/addons",
        data={"email": "mixed.case@example.TEST", "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/admin/addons"
    client.post("/logout", data={"csrf_token": csrf_token(app, client)})
    evil = client.post(
        "/connexion?next=https://evil.example/",
        data={"email": user.email, "password": PASSWORD, "csrf_token": token},
    )
    assert evil.headers["Location"] == LANDINGS[Role.COACH]


def test_wrong_password_and_unknown_email_look_the_same(app: Flask, client, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user(Role.CLIENT)
    token = csrf_token(app, client)
    wrong = client.post(
        "/connexion", data={"email": user.email, "password": "nope-nope-nope", "csrf_token": token}
    )
    unknown = client.post(
        "/connexion",
        data={"email": "nobody@example.test", "password": "nope-nope-nope", "csrf_token": token},
    )
    assert wrong.status_code == unknown.status_code == 200
    assert b"Email or password is incorrect." in wrong.data

    def page(response, email: str) -> str:  # type: ignore[no-untyped-def]
        html = response.data.decode().replace(email, "EMAIL")
        return re.sub(r'name="csrf_token" type="hidden" value="[^"]+"|value="[^"]*"', "", html)

    assert page(wrong, user.email) == page(unknown, "nobody@example.test")


def test_disabled_account_cannot_sign_in_and_is_signed_out(app: Flask, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user(Role.COACH)
    client = app.test_client()
    assert login(app, client, user).status_code == 302
    assert client.get("/accueil-coach").status_code == 200
    with app.app_context():
        db.get(User, user.id).is_active = False  # type: ignore[union-attr]
        db.commit()
    assert client.get("/accueil-coach").status_code == 302  # existing session ends
    response = login(app, app.test_client(), user)
    assert response.status_code == 200 and b"This account is disabled" in response.data


def test_logout_needs_post_with_csrf(app: Flask, as_role) -> None:  # type: ignore[no-untyped-def]
    client, _ = as_role(Role.CLIENT)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400  # no CSRF token
    assert client.get("/accueil-client").status_code in (200, 302)
    assert post(app, client, "/logout").status_code == 302
    assert client.get("/accueil-client").headers["Location"].startswith("/connexion")


def test_login_without_csrf_token_is_refused(app: Flask, client, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user(Role.CLIENT)
    response = client.post("/connexion", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert b"This form has expired" in response.data
    assert client.get("/accueil-client").status_code == 302


def test_login_is_rate_limited_with_a_clear_message(app: Flask, client, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user(Role.CLIENT)
    token = csrf_token(app, client)
    for _ in range(5):
        response = client.post(
            "/connexion",
            data={"email": user.email, "password": "bad-password-x", "csrf_token": token},
        )
        assert response.status_code == 200
    blocked = client.post(
        "/connexion", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert blocked.status_code == 429
    assert b"Too many sign-in attempts" in blocked.data
    assert client.get("/accueil-client").status_code == 302  # the right password did not get in


def test_session_cookie_flags(app: Flask, client, make_user) -> None:  # type: ignore[no-untyped-def]
    response = login(app, client, make_user(Role.CLIENT))
    cookie = next(
        c for c in response.headers.getlist("Set-Cookie") if c.startswith("coachdesk_session=")
    )
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_https_base_url_makes_cookies_secure(tmp_path, app: Flask, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from core import create_app
    from core.db import get_database

    monkeypatch.setenv("COACHDESK_BASE_URL", "https://coach.example.org")
    secure = create_app(
        {"DATABASE_URL": app.config["DATABASE_URL"], "SECRET_KEY": app.config["SECRET_KEY"]},
        instance_path=str(tmp_path),
    )
    try:
        assert secure.config["SESSION_COOKIE_SECURE"] is True
        page = secure.test_client().get("/connexion", base_url="https://coach.example.org")
        cookies = page.headers.getlist("Set-Cookie")
        assert cookies and all("Secure" in c for c in cookies if c.startswith("coachdesk_session="))
        assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    finally:
        get_database(secure).engine.dispose()


def test_passwords_are_argon2_and_checked_for_strength(app: Flask, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user(Role.CLIENT, first_name="Marguerite")
    with app.app_context():
        stored = db.scalar(select(User.password_hash).where(User.id == user.id))
    assert stored is not None and stored.startswith("$argon2id$")
    assert verify_password(stored, PASSWORD) and not verify_password(stored, PASSWORD + "x")
    assert not verify_password(None, PASSWORD)
    assert hash_password(PASSWORD) != hash_password(PASSWORD)  # salted
    with app.test_request_context():
        assert password_problem("short") is not None
        assert password_problem("password123") is not None
        assert password_problem("marguerite2024!", names=("Marguerite",)) is not None
        assert password_problem("tangerine-orbit-42") is None


def test_set_password_link_works_once(app: Flask, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user(Role.CLIENT, password=None)
    with app.test_request_context():
        token = make_password_token(db.get(User, user.id))  # type: ignore[arg-type]
    client = app.test_client()
    assert client.get(f"/password/{token}").status_code == 200
    weak = post(app, client, f"/password/{token}", {"password": "short", "confirm": "short"})
    assert b"at least" in weak.data
    ok = post(
        app,
        client,
        f"/password/{token}",
        {"password": "tangerine-orbit-42", "confirm": "tangerine-orbit-42"},
    )
    assert ok.headers["Location"] == "/accueil-client"
    assert app.test_client().get(f"/password/{token}").status_code == 410  # used: expired
    assert app.test_client().get("/password/forged-token").status_code == 410
    assert login(app, app.test_client(), user, "tangerine-orbit-42").status_code == 302


def test_pages_speak_the_browsers_language(client) -> None:  # type: ignore[no-untyped-def]
    french = client.get("/connexion", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert b'<html lang="fr"' in french.data
    assert "Mot de passe" in french.data.decode()
    english = client.get("/connexion", headers={"Accept-Language": "en-GB"})
    assert b'<html lang="en"' in english.data and b"Password" in english.data


def test_rate_limit_counters_are_shared_through_redis(app: Flask, make_user, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Two processes (two apps) on one Redis: attempts on one count on the other."""
    from core import create_app
    from core.db import get_database

    store = empty_redis()
    user = make_user(Role.CLIENT)
    overrides = {
        "DATABASE_URL": app.config["DATABASE_URL"],
        "SECRET_KEY": app.config["SECRET_KEY"],
        "RATELIMIT_STORAGE_URI": REDIS_URL,
    }
    first, second = (create_app(overrides, instance_path=str(tmp_path)) for _ in range(2))
    try:
        for _ in range(5):
            c = first.test_client()
            c.post(
                "/connexion",
                data={
                    "email": user.email,
                    "password": "wrong-password-x",
                    "csrf_token": csrf_token(first, c),
                },
            )
        other = second.test_client()
        blocked = other.post(
            "/connexion",
            data={
                "email": user.email,
                "password": PASSWORD,
                "csrf_token": csrf_token(second, other),
            },
        )
        assert blocked.status_code == 429
        assert store.dbsize() > 0
    finally:
        store.flushdb()
        for application in (first, second):
            get_database(application).engine.dispose()


def test_server_errors_get_the_error_page_and_are_logged(app: Flask, tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    from core import create_app
    from core.accounts.access import public
    from core.db import get_database

    broken = create_app(
        {"DATABASE_URL": app.config["DATABASE_URL"], "SECRET_KEY": app.config["SECRET_KEY"]},
        instance_path=str(tmp_path),
    )

    @broken.route("/boom")
    @public
    def boom() -> str:
        raise RuntimeError("kaboom")

    try:
        response = broken.test_client().get("/boom")
        assert response.status_code == 500
        assert b"Something went wrong on our side. It has been logged." in response.data
        assert b"kaboom" not in response.data  # no internals shown
        assert "kaboom" in caplog.text
    finally:
        get_database(broken).engine.dispose()
