"""Who reaches the coach workspace: route × role × ownership.

A client reaches none of it (403); a coach reaches only their own clients and
sessions (another coach's are 404, never revealed); admins reach everything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from core.accounts.models import User
from core.db import db
from core.sessions.models import CoachingSession, SessionDocument
from core.settings import set_option
from tests.conftest import post
from tests.test_coach_support import PDF, add_session, assign, tomorrow_at_ten

PAGES = ["/accueil-coach", "/accueil-coach?tab=statistics", "/calendrier-seances", "/mes-clients"]


def add_document(app: Flask, session_id: int) -> int:
    import io

    from core.sessions.documents import save_document

    with app.app_context():
        session = db.get(CoachingSession, session_id)
        document = save_document(session, io.BytesIO(PDF), "plan.pdf", None)  # type: ignore[arg-type]
        db.commit()
        return document.id


@pytest.fixture
def world(app: Flask, as_role: Callable[..., Any], make_user: Callable[..., Any]) -> dict[str, Any]:
    """Coach A with a client, a session and a document; coach B with their own client."""
    coach_a, a = as_role("coach", first_name="Anna")
    coach_b, b = as_role("coach", first_name="Bruno")
    client_a = make_user("client", first_name="Alice", last_name="Adams")
    client_b = make_user("client", first_name="Boris", last_name="Brown")
    assign(app, a.id, client_a.id)
    assign(app, b.id, client_b.id)
    session_a = add_session(app, a.id, client_a.id, title="Alice session")
    session_b = add_session(app, b.id, client_b.id, title="Boris session")
    return {
        "a": coach_a,
        "b": coach_b,
        "a_user": a,
        "b_user": b,
        "client_a": client_a,
        "client_b": client_b,
        "session_a": session_a,
        "session_b": session_b,
        "document_a": add_document(app, session_a),
    }


def session_urls(sid: int) -> list[str]:
    return [f"/coach/sessions/{sid}", f"/coach/sessions/{sid}/delete"]


def session_posts(sid: int) -> list[tuple[str, dict[str, str]]]:
    return [
        (f"/coach/sessions/{sid}", {"title": "x"}),
        (f"/coach/sessions/{sid}/status", {"status": "cancelled"}),
        (f"/coach/sessions/{sid}/payment", {"payment_status": "paid", "payment_method": "cash"}),
        (f"/coach/sessions/{sid}/delete", {"confirm": "yes"}),
    ]


def client_urls(cid: int) -> list[str]:
    tabs = ("overview", "sessions", "finances", "contact")
    return [f"/customer/{cid}", *[f"/customer/{cid}/{t}" for t in tabs]]


def client_posts(cid: int) -> list[tuple[str, dict[str, str]]]:
    return [
        (f"/coach/clients/{cid}/notes", {"body": "secret"}),
        (f"/coach/clients/{cid}/login-details", {}),
        (f"/coach/clients/{cid}/password-reset", {}),
        (f"/customer/{cid}/contact", {"first_name": "X", "last_name": "Y", "email": "x@y.test"}),
    ]


def test_a_coach_reaches_nothing_of_another_coachs_clients_or_sessions(
    app: Flask, world: dict[str, Any]
) -> None:
    b = world["b"]
    sid, cid = world["session_a"], world["client_a"].id
    for url in [*session_urls(sid), *client_urls(cid), f"/documents/{world['document_a']}"]:
        assert b.get(url).status_code == 404, url
    # Deleting answers as for a session deleted a moment ago (a second click): that says
    # nothing either, since a session that never existed gets the very same answer.
    never = post(app, b, "/coach/sessions/999999/delete", {"confirm": "yes"})
    for url, data in [*session_posts(sid), *client_posts(cid)]:
        response = post(app, b, url, data)
        if url.endswith("/delete"):
            assert response.status_code == never.status_code == 302, url
            assert response.headers["Location"] == never.headers["Location"]
        else:
            assert response.status_code == 404, url
    for url in [f"/accueil-coach?open_session={sid}", f"/calendrier-seances?open_session={sid}"]:
        assert b.get(url, follow_redirects=True).status_code == 404
    with app.app_context():
        session = db.get(CoachingSession, sid)
        assert (
            session is not None and session.status == "booked" and session.title == "Alice session"
        )
        assert db.get(User, cid).first_name == "Alice"  # type: ignore[union-attr]
        assert db.scalar(select(SessionDocument.id)) == world["document_a"]


def test_lists_show_only_the_coachs_own_clients_and_sessions(
    app: Flask, world: dict[str, Any]
) -> None:
    a, b = world["a"], world["b"]
    tomorrow = tomorrow_at_ten().date().isoformat()
    for url in ["/accueil-coach", f"/calendrier-seances?date={tomorrow}", "/mes-clients"]:
        text_b = b.get(url).get_data(as_text=True)
        assert "Alice" not in text_b and "Boris" in text_b, url
    text_a = a.get("/mes-clients").get_data(as_text=True)
    assert "Alice" in text_a and "Boris" not in text_a
    new_form = b.get("/coach/sessions/new").get_data(as_text=True)
    assert "Boris" in new_form and "Alice" not in new_form


def test_a_coach_cannot_book_another_coachs_client(app: Flask, world: dict[str, Any]) -> None:
    data = {
        "client_id": str(world["client_a"].id),
        "day": "2030-01-10",
        "start": "10:00",
        "duration_minutes": "60",
        "currency": "EUR",
        "status": "booked",
        "payment_status": "pending",
        "payment_method": "cash",
    }
    response = post(app, world["b"], "/coach/sessions/new", data)
    assert response.status_code == 200  # refused: not one of the choices
    with app.app_context():
        assert (
            db.scalar(
                select(CoachingSession).where(
                    CoachingSession.coach_id == world["b_user"].id,
                    CoachingSession.client_id == world["client_a"].id,
                )
            )
            is None
        )


def test_a_client_reaches_none_of_these_pages(
    app: Flask, world: dict[str, Any], as_role: Callable[..., Any]
) -> None:
    browser, client = as_role("client")
    sid = add_session(app, world["a_user"].id, client.id)
    for url in [*PAGES, "/mes-clients/new", "/coach/sessions/new", *session_urls(sid)]:
        assert browser.get(url).status_code == 403, url
    for url in client_urls(client.id):
        assert browser.get(url).status_code == 403, url
    for url, data in [*session_posts(sid), *client_posts(client.id)]:
        assert post(app, browser, url, data).status_code == 403, url


def test_visitors_are_sent_to_sign_in(client: Any, world: dict[str, Any]) -> None:
    for url in [*PAGES, *session_urls(world["session_a"]), *client_urls(world["client_a"].id)]:
        response = client.get(url)
        assert response.status_code == 302 and "/connexion" in response.headers["Location"], url


def test_an_admin_reaches_every_client_and_session(
    app: Flask, world: dict[str, Any], as_role: Callable[..., Any]
) -> None:
    admin, _user = as_role("admin")
    for url in [
        *session_urls(world["session_a"]),
        *client_urls(world["client_b"].id),
        f"/documents/{world['document_a']}",
    ]:
        assert admin.get(url).status_code == 200, url
    home = admin.get("/accueil-coach").get_data(as_text=True)
    assert "Alice session" in home and "Boris session" in home


def admin_who_booked(app: Flask, world: dict[str, Any], as_role: Callable[..., Any]) -> Any:
    """An administrator (browser) who booked "Booked by admin" with coach A for client A."""
    admin, user = as_role("admin")
    a_coach, a_client = world["a_user"].id, world["client_a"].id
    add_session(app, a_coach, a_client, title="Booked by admin", created_by_id=user.id)
    return admin


def see_only_own(app: Flask) -> None:
    with app.app_context():
        set_option("coach.admin_scope", "own")
        db.commit()


def test_admin_scope_own_shows_only_what_the_admin_created(
    app: Flask, world: dict[str, Any], as_role: Callable[..., Any]
) -> None:
    admin = admin_who_booked(app, world, as_role)
    see_only_own(app)
    home = admin.get("/accueil-coach").get_data(as_text=True)
    assert "Booked by admin" in home
    assert "Alice session" not in home and "Boris session" not in home


def test_admin_scope_own_holds_on_a_clients_profile_after_a_coach_looked(
    app: Flask, world: dict[str, Any], as_role: Callable[..., Any]
) -> None:
    """The profile tabs' statements are built once per kind of viewer and shared: the coach
    who looks first must not leave their scope to the administrator who looks next."""
    admin = admin_who_booked(app, world, as_role)
    profile = f"/customer/{world['client_a'].id}"
    for tab in ("", "/sessions", "/finances"):
        seen_by_coach = world["a"].get(profile + tab).get_data(as_text=True)
        assert "Alice session" in seen_by_coach and "Booked by admin" in seen_by_coach, tab
    see_only_own(app)
    for tab in ("", "/sessions", "/finances"):
        seen_by_admin = admin.get(profile + tab).get_data(as_text=True)
        assert "Booked by admin" in seen_by_admin, tab
        assert "Alice session" not in seen_by_admin, tab


def test_capabilities_set_by_the_admin_bind_coaches(app: Flask, world: dict[str, Any]) -> None:
    a, sid = world["a"], world["session_a"]
    with app.app_context():
        set_option("permissions.coach", ["view_sessions"])
        db.commit()
    assert a.get("/mes-clients").status_code == 403
    assert a.get("/mes-clients/new").status_code == 403
    assert a.get(f"/customer/{world['client_a'].id}").status_code == 403
    assert a.get(f"/coach/sessions/{sid}").status_code == 200  # view only
    assert a.get("/coach/sessions/new").status_code == 403
    for url, data in session_posts(sid):
        assert post(app, a, url, data).status_code == 403, url
    with app.app_context():
        assert db.get(CoachingSession, sid).status == "booked"  # type: ignore[union-attr]


def test_a_shared_client_shows_each_coach_only_their_own_sessions(
    app: Flask, world: dict[str, Any]
) -> None:
    """Client A also books with coach B: coach A sees neither that session nor its emails."""
    from markupsafe import escape

    from core.emails.models import OutboxEmail
    from core.emails.notify import notify_session

    shared = add_session(app, world["b_user"].id, world["client_a"].id, title="Bruno's secret")
    with app.app_context():
        session = db.get(CoachingSession, shared)
        assert notify_session(session, db.get(User, world["b_user"].id))  # type: ignore[arg-type]
        db.commit()
        subject = str(escape(db.scalars(select(OutboxEmail.subject)).one()))
    url = f"/customer/{world['client_a'].id}"
    seen_by_a = world["a"].get(url).get_data(as_text=True)
    assert subject not in seen_by_a and str(escape("Bruno's secret")) not in seen_by_a
    seen_by_b = world["b"].get(url).get_data(as_text=True)
    assert subject in seen_by_b and str(escape("Bruno's secret")) in seen_by_b
