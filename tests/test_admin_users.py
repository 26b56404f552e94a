"""Users page: create staff with or without login details, deactivate (signs out), change role."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from core.accounts.models import Role, User
from core.db import db
from core.emails.models import OutboxEmail
from tests.conftest import login, post


def reload(app: Flask, user_id: int) -> User:
    with app.app_context():
        user = db.get(User, user_id)
        assert user is not None
        db.expunge(user)
        return user


def emails_of_type(app: Flask, email_type: str) -> list[str]:
    with app.app_context():
        return list(
            db.scalars(select(OutboxEmail.to_address).where(OutboxEmail.email_type == email_type))
        )


def welcome_emails(app: Flask) -> list[str]:
    return emails_of_type(app, "welcome")


@pytest.fixture
def admin(as_role: Callable[..., Any]) -> tuple[Any, User]:
    return as_role(Role.ADMIN)  # type: ignore[no-any-return]


PERSON = {"first_name": "Nina", "last_name": "Coach", "email": "nina@example.test"}


def test_create_coach_without_email(admin: tuple[Any, User], app: Flask) -> None:
    web, _ = admin
    response = post(app, web, "/admin/users/new", {**PERSON, "role": "coach", "action": "add"})
    assert response.status_code == 302
    with app.app_context():
        nina = db.scalar(select(User).where(User.email == "nina@example.test"))
        assert nina is not None and nina.role == "coach" and nina.password_hash is None
    assert welcome_emails(app) == []
    assert "Nina Coach" in web.get("/admin/users").get_data(as_text=True)


def test_create_admin_and_send_login_details(admin: tuple[Any, User], app: Flask) -> None:
    web, _ = admin
    response = post(app, web, "/admin/users/new", {**PERSON, "role": "admin", "action": "send"})
    assert response.status_code == 302
    assert welcome_emails(app) == ["nina@example.test"]
    with app.app_context():
        assert db.scalar(select(User.role).where(User.email == "nina@example.test")) == "admin"


def test_create_refuses_a_taken_email_and_changes_nothing(
    admin: tuple[Any, User], app: Flask, make_user: Callable[..., User]
) -> None:
    web, _ = admin
    make_user(Role.CLIENT, email="NINA@example.test")
    response = post(app, web, "/admin/users/new", {**PERSON, "role": "coach", "action": "send"})
    assert response.status_code == 200
    assert "An account with this email already exists." in response.get_data(as_text=True)
    bad = post(app, web, "/admin/users/new", {**PERSON, "email": "not-an-email", "role": "coach"})
    assert "Enter an email address such as name@example.com." in bad.get_data(as_text=True)
    with app.app_context():
        assert db.scalar(select(User).where(User.role == "coach")) is None
    assert welcome_emails(app) == []


def test_deactivation_signs_the_user_out_everywhere(
    admin: tuple[Any, User], app: Flask, make_user: Callable[..., User]
) -> None:
    web, _ = admin
    coach = make_user(Role.COACH)
    phone, laptop = app.test_client(), app.test_client()
    for device in (phone, laptop):
        assert login(app, device, coach).status_code == 302
        assert device.get("/accueil-coach").status_code == 200
    old_token = reload(app, coach.id).session_token

    response = post(app, web, f"/admin/users/{coach.id}/active", {"action": "deactivate"})
    assert response.status_code == 302
    changed = reload(app, coach.id)
    assert not changed.is_active and changed.session_token != old_token
    for device in (phone, laptop):
        assert device.get("/accueil-coach").status_code == 302  # back to the sign-in page
    assert login(app, app.test_client(), coach).status_code == 200  # refused while inactive

    post(app, web, f"/admin/users/{coach.id}/active", {"action": "reactivate"})
    assert reload(app, coach.id).is_active
    assert login(app, app.test_client(), coach).status_code == 302


def test_admin_cannot_deactivate_themself_or_the_last_admin(
    admin: tuple[Any, User], app: Flask, make_user: Callable[..., User]
) -> None:
    web, me = admin
    response = post(app, web, f"/admin/users/{me.id}/active", {"action": "deactivate"})
    assert response.status_code == 302
    assert reload(app, me.id).is_active
    assert "You cannot do this to your own account" in web.get("/admin/users").get_data(
        as_text=True
    )
    assert post(app, web, f"/admin/users/{me.id}/role", {"role": "coach"}).status_code == 302
    assert reload(app, me.id).role == "admin"

    other = make_user(Role.ADMIN)
    other_web = app.test_client()
    login(app, other_web, other)
    # Two active admins: one may deactivate the other, but then the last one stays.
    post(app, other_web, f"/admin/users/{me.id}/active", {"action": "deactivate"})
    assert not reload(app, me.id).is_active
    post(app, web, f"/admin/users/{other.id}/active", {"action": "deactivate"})
    assert reload(app, other.id).is_active


def test_last_admin_cannot_be_demoted(
    admin: tuple[Any, User], app: Flask, make_user: Callable[..., User]
) -> None:
    _, me = admin
    second = make_user(Role.ADMIN)
    second_web = app.test_client()
    login(app, second_web, second)
    web_me = admin[0]
    post(app, web_me, f"/admin/users/{second.id}/role", {"role": "coach"})
    assert reload(app, second.id).role == "coach"
    # me is now the only admin; the former admin (a coach now) cannot reach admin pages.
    assert second_web.get("/admin/users").status_code == 403
    assert reload(app, me.id).role == "admin"


def test_role_switch_between_coach_and_admin_only(
    admin: tuple[Any, User], app: Flask, make_user: Callable[..., User]
) -> None:
    web, _ = admin
    coach, client = make_user(Role.COACH), make_user(Role.CLIENT)
    post(app, web, f"/admin/users/{coach.id}/role", {"role": "admin"})
    assert reload(app, coach.id).role == "admin"
    post(app, web, f"/admin/users/{client.id}/role", {"role": "admin"})
    assert reload(app, client.id).role == "client"
    post(app, web, f"/admin/users/{coach.id}/role", {"role": "client"})
    assert reload(app, coach.id).role == "admin"


def test_list_filters_staff_and_clients(
    admin: tuple[Any, User], make_user: Callable[..., User]
) -> None:
    web, _ = admin
    make_user(Role.COACH, first_name="Camille")
    make_user(Role.CLIENT, first_name="Léa")
    make_user(Role.CLIENT, first_name="Hugo")
    staff = web.get("/admin/users").get_data(as_text=True)
    assert "Camille" in staff and "Léa" not in staff
    clients = web.get("/admin/users?role=client&q=l%C3%A9a").get_data(as_text=True)
    assert "Léa" in clients and "Hugo" not in clients and "Camille" not in clients


def test_user_pages_are_for_admins_only(
    as_role: Callable[..., Any], app: Flask, make_user: Callable[..., User]
) -> None:
    target = make_user(Role.COACH)
    for role in (Role.COACH, Role.CLIENT):
        web, _ = as_role(role)
        assert web.get("/admin/users").status_code == 403
        assert web.get("/admin/users/new").status_code == 403
        deny = post(app, web, f"/admin/users/{target.id}/active", {"action": "deactivate"})
        assert deny.status_code == 403
    assert reload(app, target.id).is_active


def test_login_details_can_be_sent_later(
    admin: tuple[Any, User], app: Flask, make_user: Callable[..., User]
) -> None:
    web, _ = admin
    coach = make_user(Role.COACH, email="later@example.test", password=None)
    response = post(app, web, f"/admin/users/{coach.id}/login-details")
    assert response.status_code == 302
    assert welcome_emails(app) == ["later@example.test"]
    with_password = make_user(Role.COACH, email="known@example.test")
    post(app, web, f"/admin/users/{with_password.id}/login-details")
    assert emails_of_type(app, "password_reset") == ["known@example.test"]
    post(app, web, f"/admin/users/{coach.id}/active", {"action": "deactivate"})
    post(app, web, f"/admin/users/{coach.id}/login-details")
    assert welcome_emails(app) == ["later@example.test"]  # nothing for an inactive account
