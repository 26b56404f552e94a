"""Data rights: a client's export (ZIP: data.json, PDFs, summary), erasure, who may do which."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import select

from addons.physical.models import PhysicalEntry, PhysicalTarget
from core.accounts.models import ClientNote, CoachClient, Role, User
from core.db import db
from core.emails.models import OutboxEmail
from core.payments.models import Payment, Receipt
from core.payments.receipts import receipt_for_session, render_pdf
from core.privacy.erase import erase_client
from core.privacy.export import export_bytes
from core.privacy.models import AuditEntry
from core.sessions.documents import document_path
from core.sessions.models import CoachingSession, SessionDocument
from core.settings import set_option
from tests.conftest import login, post
from tests.physical_fixtures import add_entry, assign, measure_ids, signed_in
from tests.test_clientarea_pages import add_session

PAST = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
PDF = b"%PDF-1.4\n% plan for Chloe\n%%EOF\n"
PRIVATE_NOTE = "COACH-ONLY: knee injury"


@dataclass
class World:
    client: User
    other: User
    coach: User
    paid_id: int
    upcoming_id: int
    document_id: int


def grant(app: Flask, *capabilities: str) -> None:
    """Settings → Permissions: coaches get the core defaults plus ``capabilities``."""
    from core.accounts.permissions import CAPABILITIES, CORE_COACH_DEFAULTS

    with app.app_context():
        set_option("permissions.coach", [*CORE_COACH_DEFAULTS, *capabilities])
        set_option("permissions.decided", list(CAPABILITIES))
        db.commit()


@pytest.fixture
def world(app: Flask, make_user: Any) -> World:
    from core.plugins import get_host

    with app.app_context():
        get_host(app).activate(app, "premium")
        get_host(app).activate(app, "physical")
    client = make_user(
        Role.CLIENT,
        first_name="Chloé",
        last_name="Martin",
        phone="0611223344",
        email="chloe@example.test",
    )
    other = make_user(Role.CLIENT, first_name="Bob", last_name="Other", email="bob@example.test")
    coach = make_user(Role.COACH, first_name="Hélène", last_name="Durand")
    assign(app, coach, client)
    paid_id = add_session(
        app,
        client,
        coach,
        starts_at=PAST,
        status="completed",
        paid=True,
        title="Knee plan",
        links=[("Exercises", "https://example.test/ex")],
    )
    upcoming_id = add_session(app, client, coach, title="Next one")
    add_session(app, other, coach, starts_at=PAST, title="Bob's session")
    with app.app_context():
        paid = db.get(CoachingSession, paid_id)
        paid.notes = PRIVATE_NOTE
        document = SessionDocument(
            session_id=paid_id,
            filename="plan.pdf",
            storage_name="a" * 32 + ".pdf",
            size_bytes=len(PDF),
            sha256="0" * 64,
        )
        db.add(document)
        db.add(ClientNote(client_id=client.id, body="NOTE: prefers mornings"))
        db.add(
            OutboxEmail(
                email_type="booking_confirmation",
                to_address=client.email,
                to_name=client.full_name,
                from_address="desk@example.test",
                subject="Your session Knee plan is booked",
                body_text="Hello Chloé, see you",
                session_id=paid_id,
                user_id=client.id,
                status="sent",
            )
        )
        receipt_for_session(paid)
        db.commit()
        document_path(document).write_bytes(PDF)
        document_id = document.id
    add_entry(app, client, date(2026, 3, 1), note="after run", weight=72500)
    with app.app_context():
        db.add(
            PhysicalTarget(
                client_id=client.id, measure_id=measure_ids(app)["weight"], value=70000, start=72500
            )
        )
        db.commit()
    return World(client, other, coach, paid_id, upcoming_id, document_id)


def unzip(data: bytes) -> tuple[zipfile.ZipFile, dict[str, Any]]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    return archive, json.loads(archive.read("data.json"))


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


# -- export ---------------------------------------------------------------------


def test_export_holds_every_record_and_file_but_the_coachs_private_notes(
    app: Flask, world: World
) -> None:
    with app.test_request_context():
        client = db.get(User, world.client.id)
        archive, data = unzip(export_bytes(client))
    names = set(archive.namelist())
    assert {"data.json", "summary.pdf", "receipts/receipt-000001.pdf"} <= names
    assert f"documents/{world.document_id}-plan.pdf" in names
    assert archive.read(f"documents/{world.document_id}-plan.pdf") == PDF
    assert data["schema"] == "coachdesk.personal-data" and data["version"] == 1
    assert data["profile"]["email"] == "chloe@example.test"
    assert data["profile"]["phone"] == "0611223344"
    assert data["profile"]["coaches"] == ["Hélène Durand"]
    assert [s["title"] for s in data["sessions"]] == ["Knee plan", "Next one"]
    assert data["sessions"][0]["links"] == [
        {"label": "Exercises", "url": "https://example.test/ex"}
    ]
    assert [p["amount"] for p in data["payments"]] == [5000]
    assert data["receipts"][0]["number"] == 1
    assert [e["subject"] for e in data["emails"]] == ["Your session Knee plan is booked"]
    assert data["calendar_feed"] == {"enabled": False}
    physical = data["addons"]["physical"]
    assert physical["measurements"] == [
        {"date": "2026-03-01", "values": {"weight": 72.5}, "note": "after run"}
    ]
    assert physical["targets"][0]["value"] == 70.0
    assert "premium" not in data["addons"]  # nothing held: no section
    everything = archive.read("data.json").decode()
    assert PRIVATE_NOTE not in everything and "prefers mornings" not in everything
    assert "Bob" not in everything
    summary = pdf_text(archive.read("summary.pdf"))
    assert "Chloé Martin" in summary and "Knee plan" in summary


def test_client_downloads_their_own_export_and_it_is_audited(app: Flask, world: World) -> None:
    web = signed_in(app, world.client)
    response = web.get("/privacy/my-data.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    _archive, data = unzip(response.data)
    assert data["profile"]["id"] == world.client.id
    with app.app_context():
        entry = db.scalar(select(AuditEntry).where(AuditEntry.subject_id == world.client.id))
        assert entry is not None and entry.action == "export" and entry.actor_id == world.client.id


def test_a_session_at_the_calendars_end_does_not_break_the_export(app: Flask, world: World) -> None:
    """9999-12-31 23:30 UTC is already the year 10000 in Paris: shown as stored (UTC)."""
    last = datetime(9999, 12, 31, 23, 30, tzinfo=UTC)
    add_session(app, world.client, world.coach, starts_at=last, title="Far away")
    web = signed_in(app, world.client)
    response = web.get("/privacy/my-data.zip")
    assert response.status_code == 200
    archive, data = unzip(response.data)
    assert any(s["title"] == "Far away" for s in data["sessions"])
    summary = next(name for name in archive.namelist() if name.endswith(".pdf"))
    assert "9999" in pdf_text(archive.read(summary))


# -- authorization --------------------------------------------------------------


def test_exports_are_limited_per_account_with_a_message(app: Flask, world: World) -> None:
    web = signed_in(app, world.client)
    for _ in range(10):
        assert web.get("/privacy/my-data.zip").status_code == 200
    refused = web.get("/privacy/my-data.zip")
    assert refused.status_code == 429
    assert "too many times" in refused.get_data(as_text=True)
    with app.app_context():
        exports = db.scalars(select(AuditEntry).where(AuditEntry.action == "export")).all()
        assert len(exports) == 10  # the refused one was neither built nor audited
    other = signed_in(app, world.other)  # counted per account, not for everyone
    assert other.get("/privacy/my-data.zip").status_code == 200


def test_a_client_cannot_export_someone_else(app: Flask, world: World) -> None:
    web = signed_in(app, world.other)
    assert web.get(f"/privacy/clients/{world.client.id}/data.zip").status_code == 403
    _archive, data = unzip(web.get("/privacy/my-data.zip").data)
    assert data["profile"]["email"] == "bob@example.test"
    assert "chloe" not in json.dumps(data).lower()


def test_a_coach_needs_the_capability_and_their_own_client(
    app: Flask, world: World, make_user: Any
) -> None:
    url = f"/privacy/clients/{world.client.id}/data.zip"
    coach_web = signed_in(app, world.coach)
    assert coach_web.get(url).status_code == 403  # not granted by default
    grant(app, "export_client_data")
    assert coach_web.get(url).status_code == 200
    stranger = signed_in(app, make_user(Role.COACH))
    assert stranger.get(url).status_code == 404
    admin = signed_in(app, make_user(Role.ADMIN))
    assert admin.get(url).status_code == 200


def test_only_administrators_erase(app: Flask, world: World) -> None:
    grant(app, "export_client_data", "delete_clients")
    for user in (world.coach, world.client):
        web = signed_in(app, user)
        answer = post(
            app, web, f"/privacy/clients/{world.client.id}/erase", {"confirm_name": "Chloé Martin"}
        )
        assert answer.status_code == 403
    with app.app_context():
        assert db.get(User, world.client.id).email == "chloe@example.test"


# -- erasure --------------------------------------------------------------------


def test_a_wrong_name_erases_nothing(app: Flask, world: World, make_user: Any) -> None:
    admin = signed_in(app, make_user(Role.ADMIN))
    answer = post(
        app, admin, f"/privacy/clients/{world.client.id}/erase", {"confirm_name": "Chloe Martinez"}
    )
    assert answer.status_code == 302
    with app.app_context():
        client = db.get(User, world.client.id)
        assert client.email == "chloe@example.test" and client.is_active
        assert db.scalar(select(AuditEntry)) is None


def test_erasure_anonymises_keeps_the_money_and_is_audited(
    app: Flask, world: World, make_user: Any
) -> None:
    admin_user = make_user(Role.ADMIN, first_name="Ada", last_name="Admin")
    admin = signed_in(app, admin_user)
    web = signed_in(app, world.client)
    assert web.get("/privacy/my-data.zip").status_code == 200  # audited under their name
    with app.app_context():
        path = document_path(db.get(SessionDocument, world.document_id))
    answer = post(
        app,
        admin,
        f"/privacy/clients/{world.client.id}/erase",
        {"confirm_name": "  chloé   MARTIN "},
    )
    assert answer.status_code == 302
    cid = world.client.id
    with app.app_context():
        client = db.get(User, cid)
        assert client.full_name == f"Erased client #{cid}"
        assert client.email == f"erased-{cid}@invalid"
        assert client.phone is None and client.password_hash is None and not client.is_active
        assert db.get(ClientNote, cid) is None
        assert db.scalar(select(CoachClient).where(CoachClient.client_id == cid)) is None
        assert db.get(SessionDocument, world.document_id) is None
        paid = db.get(CoachingSession, world.paid_id)
        assert paid.client_id == cid and paid.notes is None  # kept, detached from the person
        assert db.get(CoachingSession, world.upcoming_id).status == "cancelled"
        email = db.scalar(select(OutboxEmail))
        assert email.to_address == f"erased-{cid}@invalid" and "Chloé" not in email.body_text
        assert "Knee" not in email.subject
        assert db.scalar(select(Payment)).amount == 5000
        receipt = db.scalar(select(Receipt))
        assert receipt.data["client"]["name"] == f"Erased client #{cid}"
        assert receipt.data["payment"]["amount"] == 5000
        assert receipt.data["erasure"]["reason"] == "accounting_retention"
        printed = pdf_text(render_pdf(receipt))
        assert "Chloé" not in printed and "chloe@" not in printed
        assert "erased" in printed and "accounting law" in printed
        assert db.scalar(select(PhysicalEntry)) is None
        assert db.scalar(select(PhysicalTarget)) is None
        audit = db.scalar(select(AuditEntry).where(AuditEntry.action == "erasure"))
        assert audit.actor_id == admin_user.id and audit.subject_id == cid
        assert "document" in audit.detail and "physical:" in audit.detail
        assert "Chloé" not in audit.detail
        labels = db.scalars(select(AuditEntry.actor_label)).all()
        assert not any("Chloé" in label for label in labels), labels
    assert not path.exists()
    # Signed out everywhere, and no way back in.
    assert web.get("/privacy/my-data.zip").status_code in (302, 401)
    assert login(app, app.test_client(), world.client).status_code != 302
    # The receipt page still shows, with the note.
    page = admin.get(f"/receipts/{world.paid_id}").get_data(as_text=True)
    printed_page = page[page.index("<article") : page.index("</article>")]
    assert "accounting law" in printed_page and "Chloé" not in printed_page
    again = post(
        app, admin, f"/privacy/clients/{cid}/erase", {"confirm_name": f"Erased client #{cid}"}
    )
    assert again.status_code == 302
    with app.app_context():
        assert len(db.scalars(select(AuditEntry).where(AuditEntry.action == "erasure")).all()) == 1


def test_an_addon_that_fails_to_erase_is_named_in_the_audit_and_to_the_admin(
    app: Flask, world: World, make_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_client_id: int) -> None:
        raise RuntimeError("measurement history unreachable")

    monkeypatch.setattr("addons.physical.privacy.forget_history", broken)
    admin = signed_in(app, make_user(Role.ADMIN, first_name="Ada", last_name="Admin"))
    url = f"/privacy/clients/{world.client.id}/erase"
    answer = post(app, admin, url, {"confirm_name": "Chloé Martin"})
    assert answer.status_code == 302
    page = admin.get(answer.headers["Location"]).get_data(as_text=True)
    assert "could not erase their data: physical" in page
    with app.app_context():
        assert not db.get(User, world.client.id).is_active  # the core's part is done
        audit = db.scalar(select(AuditEntry).where(AuditEntry.action == "erasure"))
        assert "physical: FAILED" in audit.detail


def test_a_client_asks_for_erasure_and_the_admins_are_told(
    app: Flask, world: World, make_user: Any
) -> None:
    make_user(Role.ADMIN, email="boss@example.test")
    web = signed_in(app, world.client)
    answer = post(app, web, "/privacy/erasure-request")
    assert answer.status_code == 302
    assert post(app, web, "/privacy/erasure-request").status_code == 302  # pressed twice
    with app.app_context():
        sent = db.scalars(
            select(OutboxEmail).where(OutboxEmail.email_type == "erasure_request")
        ).all()
        assert [e.to_address for e in sent] == ["boss@example.test"]
        assert "Chloé Martin" in sent[0].subject and f"/customer/{world.client.id}/privacy" in (
            sent[0].body_text
        )
        entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "erasure_requested"))
        assert entry.subject_id == world.client.id
        assert db.get(User, world.client.id).is_active  # asking erases nothing yet


def test_the_staff_tab_shows_export_to_the_capable_and_erasure_to_admins(
    app: Flask, world: World, make_user: Any
) -> None:
    url = f"/customer/{world.client.id}/privacy"
    coach_web = signed_in(app, world.coach)
    assert coach_web.get(url).status_code == 404  # no capability: no tab
    grant(app, "export_client_data")
    page = coach_web.get(url).get_data(as_text=True)
    assert f"/privacy/clients/{world.client.id}/data.zip" in page and "/erase" not in page
    admin = signed_in(app, make_user(Role.ADMIN))
    page = admin.get(url).get_data(as_text=True)
    assert f"/privacy/clients/{world.client.id}/erase" in page


def test_premium_keeps_its_checkouts_without_their_links(
    app: Flask, world: World, make_user: Any
) -> None:
    from addons.premium.models import PremiumCheckout

    with app.app_context():
        db.add(
            PremiumCheckout(
                stripe_session_id="cs_test_1",
                session_ids=[world.paid_id],
                client_id=world.client.id,
                amount=5000,
                currency="EUR",
                status="complete",
                url="https://checkout.stripe.test/c/pay/cs_test_1",
                basket="b" * 64,
            )
        )
        db.commit()
    admin = make_user(Role.ADMIN)
    with app.test_request_context():
        _archive, data = unzip(export_bytes(db.get(User, world.client.id)))
        assert data["addons"]["premium"]["checkouts"][0]["amount"] == 5000

        erase_client(db.get(User, world.client.id), db.get(User, admin.id))
        db.commit()
        checkout = db.scalar(select(PremiumCheckout))
        assert checkout.url is None and checkout.amount == 5000 and checkout.status == "complete"
        audit = db.scalar(select(AuditEntry).where(AuditEntry.action == "erasure"))
        assert "premium: 1 Stripe checkouts kept" in audit.detail
