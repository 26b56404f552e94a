"""Programs pages: a bundle's page and actions (send confirmations, pay, add, remove, status),
templates, the client profile's Programs and Finances tabs, the client area, Premium's Pay."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from core.db import db
from core.payments.models import Payment
from core.programs.models import Bundle, ProgramTemplate, TemplateDocument
from core.sessions.models import CoachingSession, SessionDocument
from tests.conftest import Mailbox, login, post
from tests.helpers import set_options, upload
from tests.premium_fixtures import outbox as emails
from tests.test_coach_support import PDF, assign, coach_with_client
from tests.test_emails_support import work
from tests.test_programs_service import make_bundle, stored_pdf


@pytest.fixture
def scene(app: Flask, as_role: Callable[..., Any], make_user: Callable[..., Any]) -> Any:
    """A signed-in coach, their client Alice, and a 3-session bundle (100 €) with a PDF."""
    web, coach, client = coach_with_client(app, as_role, make_user)
    bundle_id = make_bundle(app, coach, client, documents=[stored_pdf(app)])
    return web, coach, client, bundle_id


def sessions_of(app: Flask, bundle_id: int) -> list[CoachingSession]:
    with app.app_context():
        rows = list(
            db.scalars(
                select(CoachingSession)
                .where(CoachingSession.bundle_id == bundle_id)
                .order_by(CoachingSession.starts_at)
            )
        )
        db.expunge_all()
        return rows


# --------------------------------------------------------------------------
# Send confirmations
# --------------------------------------------------------------------------


def test_send_confirmations_sends_one_listing_exactly_once(
    app: Flask, scene: Any, mailbox: Mailbox
) -> None:
    web, coach, client, bundle_id = scene
    url = f"/programs/bundles/{bundle_id}/confirmations"
    first = post(app, web, url)
    again = post(app, web, url)  # a double click
    assert first.status_code == again.status_code == 302
    (email,) = emails(app)
    assert email.email_type == "bundle_confirmation"
    assert email.to_address == client.email
    assert email.subject == "Your program “Ten to ten”: 3 sessions booked"
    assert (
        "Monday, March 4, 2030" in email.body_text and "Monday, March 18, 2030" in email.body_text
    )
    assert email.body_text.count("Place: Parc Monceau") == 3
    assert "plan.pdf" in email.body_text
    assert coach.email in (email.reply_to or "")
    page = web.get(again.headers["Location"]).get_data(as_text=True)
    assert "The client already has these confirmations: nothing was sent." in page
    work(app)
    (message,) = mailbox.to(client.email)
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Your program is booked" in html and "3 sessions of your program" in html
    # Every session now counts as confirmed: "Save and notify" would send updates, not bookings.
    assert all(s.confirmation_sent_at is not None for s in sessions_of(app, bundle_id))


def test_a_moved_session_makes_a_new_listing(app: Flask, scene: Any) -> None:
    web, _coach, _client, bundle_id = scene
    url = f"/programs/bundles/{bundle_id}/confirmations"
    post(app, web, url)
    first = sessions_of(app, bundle_id)[0]
    with app.app_context():
        session = db.get(CoachingSession, first.id)
        session.starts_at += timedelta(hours=2)  # type: ignore[union-attr]
        db.commit()
    post(app, web, url)
    assert len(emails(app, "bundle_confirmation")) == 2


def test_one_confirmation_per_session_when_the_site_prefers(app: Flask, scene: Any) -> None:
    web, _coach, client, bundle_id = scene
    set_options(app, programs__confirmation_mode="per_session")
    page = web.get(f"/programs/bundles/{bundle_id}").get_data(as_text=True)
    assert "sends one booking confirmation per session" in page
    post(app, web, f"/programs/bundles/{bundle_id}/confirmations")
    post(app, web, f"/programs/bundles/{bundle_id}/confirmations")
    sent = emails(app)
    assert [e.email_type for e in sent] == ["booking_confirmation"] * 3
    assert sorted(e.session_id for e in sent) == sorted(s.id for s in sessions_of(app, bundle_id))
    assert {e.to_address for e in sent} == {client.email}


def test_nothing_to_confirm_once_every_session_is_past_or_cancelled(app: Flask, scene: Any) -> None:
    web, _coach, _client, bundle_id = scene
    with app.app_context():
        for session in db.scalars(select(CoachingSession)):
            session.status = "cancelled"
        db.commit()
    response = post(app, web, f"/programs/bundles/{bundle_id}/confirmations")
    page = web.get(response.headers["Location"]).get_data(as_text=True)
    assert "This bundle has no upcoming session to confirm." in page
    assert emails(app) == []


# --------------------------------------------------------------------------
# The bundle page and its actions
# --------------------------------------------------------------------------


def test_bundle_page_shows_progress_money_and_sessions(app: Flask, scene: Any) -> None:
    web, _coach, _client, bundle_id = scene
    page = web.get(f"/programs/bundles/{bundle_id}").get_data(as_text=True)
    assert "Ten to ten" in page and "0 / 3 sessions" in page
    assert "€100.00" in page and "€33.34" in page and page.count("€33.33") >= 2
    assert "Ten to ten (3/3)" in page
    assert "No confirmation sent yet" in page


def test_paying_the_whole_bundle_by_hand(app: Flask, scene: Any) -> None:
    web, _coach, _client, bundle_id = scene
    data = {"payment_status": "paid", "payment_method": "cash", "paid_on": "2030-02-20"}
    response = post(app, web, f"/programs/bundles/{bundle_id}/pay", data)
    page = web.get(response.headers["Location"]).get_data(as_text=True)
    assert "Bundle marked paid: 3 sessions are paid." in page
    assert {s.payment_status for s in sessions_of(app, bundle_id)} == {"paid"}
    with app.app_context():
        payments = db.scalars(select(Payment)).all()
        assert sum(p.amount for p in payments) == 10000 and {p.method for p in payments} == {"cash"}
        assert {p.paid_at.date().isoformat() for p in payments} == {"2030-02-20"}
    again = post(app, web, f"/programs/bundles/{bundle_id}/pay", data)
    assert "Nothing is left to pay" in web.get(again.headers["Location"]).get_data(as_text=True)
    bad = post(app, web, f"/programs/bundles/{bundle_id}/pay", {**data, "payment_method": "gold"})
    assert "Choose how and when" in web.get(bad.headers["Location"]).get_data(as_text=True)


def test_adding_a_session_inherits_the_bundle_and_the_uncovered_price(
    app: Flask, scene: Any
) -> None:
    web, _coach, _client, bundle_id = scene
    first = sessions_of(app, bundle_id)[0]
    with app.app_context():
        db.get(CoachingSession, first.id).status = "cancelled"  # type: ignore[union-attr]
        db.commit()
    page = web.get(f"/programs/bundles/{bundle_id}").get_data(as_text=True)
    assert 'value="33.34"' in page  # what the cancelled session no longer covers
    url = f"/programs/bundles/{bundle_id}/sessions"
    response = post(app, web, url, {"day": "2030-03-25", "start": "09:00", "price": "33.34"})
    assert response.status_code == 302
    added = sessions_of(app, bundle_id)[-1]
    assert added.title == "Ten to ten (4/3)"
    assert (added.location, added.price_amount, added.duration_minutes) == (
        "Parc Monceau",
        3334,
        45,
    )
    assert added.starts_at == datetime(2030, 3, 25, 8, 0, tzinfo=UTC)
    with app.app_context():
        assert (
            db.scalar(
                select(func.count())
                .select_from(SessionDocument)
                .where(SessionDocument.session_id == added.id)
            )
            == 1
        )
    assert emails(app) == []
    clash = post(app, web, url, {"day": "2030-03-25", "start": "09:30", "price": ""})
    assert clash.status_code == 400 and "overlap" in clash.get_data(as_text=True)
    assert len(sessions_of(app, bundle_id)) == 4


def test_removing_a_session_keeps_it_booked_on_its_own(app: Flask, scene: Any) -> None:
    web, _coach, _client, bundle_id = scene
    session = sessions_of(app, bundle_id)[1]
    response = post(app, web, f"/programs/bundles/{bundle_id}/sessions/{session.id}/remove")
    assert "no longer part of the bundle" in web.get(response.headers["Location"]).get_data(
        as_text=True
    )
    with app.app_context():
        kept = db.get(CoachingSession, session.id)
        assert kept is not None and kept.bundle_id is None and kept.status == "booked"
        assert db.get(Bundle, bundle_id).total_price == 10000  # type: ignore[union-attr]
    assert len(sessions_of(app, bundle_id)) == 2
    again = post(app, web, f"/programs/bundles/{bundle_id}/sessions/{session.id}/remove")
    assert "not part of the bundle" in web.get(again.headers["Location"]).get_data(as_text=True)


def test_status_is_active_or_paused_and_completion_follows_the_sessions(
    app: Flask, scene: Any
) -> None:
    web, _coach, _client, bundle_id = scene
    post(app, web, f"/programs/bundles/{bundle_id}/status", {"status": "paused"})
    with app.app_context():
        assert db.get(Bundle, bundle_id).status == "paused"  # type: ignore[union-attr]
    post(app, web, f"/programs/bundles/{bundle_id}/status", {"status": "completed"})
    with app.app_context():
        assert db.get(Bundle, bundle_id).status == "paused"  # type: ignore[union-attr]
    for session in sessions_of(app, bundle_id):
        post(app, web, f"/coach/sessions/{session.id}/status", {"status": "completed"})
    with app.app_context():
        assert db.get(Bundle, bundle_id).status == "completed"  # type: ignore[union-attr]
    page = web.get(f"/programs/bundles/{bundle_id}").get_data(as_text=True)
    assert "3 / 3 sessions" in page


def test_other_coaches_and_clients_cannot_reach_a_bundle(
    app: Flask, scene: Any, as_role: Callable[..., Any]
) -> None:
    _web, _coach, _client, bundle_id = scene
    other, _ = as_role("coach")
    assert other.get(f"/programs/bundles/{bundle_id}").status_code == 404
    assert post(app, other, f"/programs/bundles/{bundle_id}/confirmations").status_code == 404
    assert (
        post(
            app, other, f"/programs/bundles/{bundle_id}/pay", {"payment_method": "cash"}
        ).status_code
        == 404
    )
    assert "Ten to ten" not in other.get("/programs/").get_data(as_text=True)
    admin, _ = as_role("admin")
    assert admin.get(f"/programs/bundles/{bundle_id}").status_code == 200
    assert emails(app) == []


# --------------------------------------------------------------------------
# Templates
# --------------------------------------------------------------------------


def template_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "title": "Ten sessions",
        "planned_count": "10",
        "price": "500",
        "currency": "EUR",
        "duration_minutes": "60",
        "location": "Dojo",
        "video_url": "",
    }
    data.update(overrides)
    return data


def test_templates_are_shared_edited_and_archived(app: Flask, as_role: Callable[..., Any]) -> None:
    web, coach = as_role("coach")
    data = template_data(documents=[(io.BytesIO(PDF), "welcome.pdf")])
    response = upload(app, web, "/programs/templates/new", data)
    assert response.status_code == 302
    with app.app_context():
        template = db.scalars(select(ProgramTemplate)).one()
        document = db.scalars(select(TemplateDocument)).one()
        assert (template.total_price, template.planned_count, template.location) == (
            50000,
            10,
            "Dojo",
        )
    other, _ = as_role("coach")  # site-wide: another coach sees and edits it
    listing = other.get("/programs/templates").get_data(as_text=True)
    assert "Ten sessions" in listing and "€500.00" in listing and "1 document" in listing
    download = other.get(f"/programs/templates/documents/{document.id}")
    assert download.status_code == 200 and download.data == PDF
    edit = upload(
        app,
        other,
        f"/programs/templates/{template.id}",
        {**template_data(price="450"), "remove_document": str(document.id)},
    )
    assert edit.status_code == 302
    with app.app_context():
        assert db.get(ProgramTemplate, template.id).total_price == 45000  # type: ignore[union-attr]
        assert db.scalar(select(func.count()).select_from(TemplateDocument)) == 0
    refused = post(app, other, f"/programs/templates/{template.id}", template_data(price="4.505"))
    assert "more decimals than the currency allows" in refused.get_data(as_text=True)
    post(app, other, f"/programs/templates/{template.id}/archive")
    assert "Ten sessions" not in web.get("/programs/templates").get_data(as_text=True)
    assert "Ten sessions" in web.get("/programs/templates?archived=1").get_data(as_text=True)
    client = as_role("client")[1]
    assign(app, coach.id, client.id)
    wizard = web.get(f"/programs/new?client={client.id}").get_data(as_text=True)
    assert "Ten sessions" not in wizard  # no longer offered
    post(app, web, f"/programs/templates/{template.id}/archive", {"restore": "1"})
    assert "Ten sessions" in web.get(f"/programs/new?client={client.id}").get_data(as_text=True)


# --------------------------------------------------------------------------
# Elsewhere: profile tabs, client area, finances, editor
# --------------------------------------------------------------------------


def test_client_profile_programs_and_finances_tabs(app: Flask, scene: Any) -> None:
    web, _coach, client, bundle_id = scene
    profile = web.get(f"/customer/{client.id}/programs").get_data(as_text=True)
    assert "Ten to ten" in profile and f"/programs/new?client={client.id}" in profile
    assert "0 / 3 sessions" in profile
    finances = web.get(f"/customer/{client.id}/finances").get_data(as_text=True)
    assert f'href="/programs/bundles/{bundle_id}"' in finances and "€100.00" in finances
    session = sessions_of(app, bundle_id)[0]
    editor = web.get(f"/coach/sessions/{session.id}").get_data(as_text=True)
    assert f"/programs/bundles/{bundle_id}" in editor and "leaves the bundle’s price" in editor


def test_the_client_sees_the_bundle_its_sessions_and_where_they_belong(
    app: Flask, scene: Any, make_user: Callable[..., Any]
) -> None:
    _web, _coach, client, _bundle_id = scene
    other_client = make_user("client")
    web = app.test_client()
    assert login(app, web, client).status_code == 302
    tab = web.get("/accueil-client/programs").get_data(as_text=True)
    assert "Ten to ten" in tab and "0 / 3 sessions" in tab
    assert "Ten to ten (1/3)" in tab and "Ten to ten (3/3)" in tab
    assert "€100.00" in tab
    payments = web.get("/accueil-client/payments").get_data(as_text=True)
    assert payments.count("Part of your program “Ten to ten”") == 3
    with app.app_context():
        for session in db.scalars(select(CoachingSession)):
            session.status = "completed"
        db.commit()
    history = web.get("/accueil-client/history").get_data(as_text=True)
    assert history.count("Part of your program “Ten to ten”") == 3
    stranger = app.test_client()
    assert login(app, stranger, other_client).status_code == 302
    assert stranger.get("/accueil-client/programs").status_code == 404  # no bundle, no tab
    assert "Ten to ten" not in stranger.get("/accueil-client/payments").get_data(as_text=True)


def test_in_french_for_a_french_client_and_coach(
    app: Flask, as_role: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    web, coach = as_role("coach", locale="fr")
    client = make_user("client", locale="fr", first_name="Léa")
    assign(app, coach.id, client.id)
    bundle_id = make_bundle(app, coach, client)
    page = web.get(f"/programs/bundles/{bundle_id}").get_data(as_text=True)
    assert "Envoyer les confirmations" in page and "0 / 3 séances" in page
    post(app, web, f"/programs/bundles/{bundle_id}/confirmations")
    (email,) = emails(app)
    assert email.subject == "Votre programme « Ten to ten » : 3 séances réservées"
    assert "a réservé les 3 séances de votre programme « Ten to ten »" in email.body_text
    assert "lundi 4 mars 2030" in email.body_text
