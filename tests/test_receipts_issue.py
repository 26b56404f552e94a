"""Receipts: sequential numbers never reused, frozen content, HTML and PDF, who may see them."""

from __future__ import annotations

import io
import threading
from datetime import UTC, datetime, timedelta

from flask import Flask
from pypdf import PdfReader
from sqlalchemy import select

from core.accounts.models import Role, User
from core.db import db
from core.payments.models import Receipt
from core.payments.receipts import ReceiptError, issue_receipt, receipt_for_session
from core.sessions.models import CoachingSession
from core.settings import set_option
from tests.helpers import current_menu_entry
from tests.test_clientarea_pages import add_session, load

PAST = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)  # 09:00 in Paris


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def article(html: str) -> str:
    """The receipt itself, without the page around it (whose top bar shows the viewer)."""
    return html[html.index("<article") : html.index("</article>")]


def business(app: Flask) -> None:
    with app.app_context():
        set_option("receipts.business_name", "Élan Coaching SARL")
        set_option("receipts.business_address", "12 rue des Écoles\n75005 Paris")
        set_option("receipts.tax_id", "SIRET 123 456 789 00012")
        db.commit()


def test_numbers_are_sequential_and_each_session_keeps_its_own(app: Flask, make_user) -> None:
    client, coach = make_user(Role.CLIENT), make_user(Role.COACH)
    ids = [add_session(app, client, coach, starts_at=PAST, paid=True) for _ in range(3)]
    with app.app_context():
        numbers = [receipt_for_session(db.get(CoachingSession, sid)).number for sid in ids]
        db.commit()
        again = [receipt_for_session(db.get(CoachingSession, sid)).number for sid in ids]
    assert numbers == [1, 2, 3] and again == numbers


def test_a_number_is_never_reused_after_its_session_is_deleted(app: Flask, make_user) -> None:
    client, coach = make_user(Role.CLIENT), make_user(Role.COACH)
    first = add_session(app, client, coach, starts_at=PAST, paid=True)
    second = add_session(app, client, coach, starts_at=PAST, paid=True)
    with app.app_context():
        receipt_for_session(db.get(CoachingSession, first))
        db.commit()
        session = db.get(CoachingSession, first)
        session.payment_status = "pending"  # the trigger refuses deleting a paid session's payment
        db.flush()
        db.delete(session)
        db.commit()
        assert db.scalar(select(Receipt.session_id).where(Receipt.number == 1)) is None
        assert receipt_for_session(db.get(CoachingSession, second)).number == 2
        db.commit()


def test_concurrent_issuers_get_distinct_numbers(app: Flask, make_user) -> None:
    client, coach = make_user(Role.CLIENT), make_user(Role.COACH)
    ids = [add_session(app, client, coach, starts_at=PAST, paid=True) for _ in range(6)]
    errors: list[BaseException] = []

    def issue(sid: int) -> None:
        try:
            with app.app_context():
                receipt_for_session(db.get(CoachingSession, sid))
                db.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=issue, args=(sid,)) for sid in ids + ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with app.app_context():
        rows = db.execute(select(Receipt.number, Receipt.session_id)).all()
    assert sorted(n for n, _ in rows) == list(range(1, 7))
    assert sorted(s for _, s in rows) == sorted(ids)


def test_unpaid_sessions_have_no_receipt(app: Flask, make_user) -> None:
    client, coach = make_user(Role.CLIENT), make_user(Role.COACH)
    sid = add_session(app, client, coach, starts_at=PAST)
    with app.app_context():
        try:
            issue_receipt(db.get(CoachingSession, sid))
        except ReceiptError:
            pass
        else:
            raise AssertionError("an unpaid session got a receipt")


def test_content_is_frozen_at_first_issue(app: Flask, as_role, make_user) -> None:
    business(app)
    browser, client = as_role(Role.CLIENT, first_name="Chloé", last_name="Lefèvre")
    coach = make_user(Role.COACH)
    sid = add_session(
        app, client, coach, title="Séance découverte", starts_at=PAST, price_amount=4550, paid=True
    )
    page = browser.get(f"/receipts/{sid}").get_data(as_text=True)
    assert current_menu_entry(page) == "My area"
    first_html = article(page)
    first_pdf = pdf_text(browser.get(f"/receipts/{sid}.pdf").data)
    with app.app_context():
        set_option("receipts.business_name", "Renamed Ltd")
        session = db.get(CoachingSession, sid)
        session.title = "Renamed session"
        db.get(User, client.id).last_name = "Dupont"
        db.commit()
    assert article(browser.get(f"/receipts/{sid}").get_data(as_text=True)) == first_html
    assert pdf_text(browser.get(f"/receipts/{sid}.pdf").data) == first_pdf
    for text in ("Élan Coaching SARL", "Séance découverte", "Chloé Lefèvre", "000001"):
        assert text in first_html and text in first_pdf, text
    assert "Renamed" not in first_pdf


def test_pdf_prints_every_detail_with_euro_and_accents(app: Flask, as_role, make_user) -> None:
    business(app)
    browser, client = as_role(Role.CLIENT, first_name="Zoé", last_name="Noël")
    coach = make_user(Role.COACH, first_name="Hélène", last_name="Durand")
    sid = add_session(
        app,
        client,
        coach,
        title="Renforcement",
        starts_at=PAST,
        price_amount=6000,
        location="Salle B",
        paid=True,
    )
    response = browser.get(f"/receipts/{sid}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert 'filename="receipt-000001.pdf"' in response.headers["Content-Disposition"]
    text = pdf_text(response.data)
    for expected in (
        "Élan Coaching SARL",
        "12 rue des Écoles",
        "75005 Paris",
        "SIRET 123 456 789 00012",
        "Receipt no. 000001",
        "Zoé Noël",
        client.email,
        "Renforcement",
        "Tuesday, March 10, 2026 at 9:00",  # Paris time, frozen with the receipt
        "Salle B",
        "Hélène Durand",
        "Bank transfer",
        "€60.00",
    ):
        assert expected in text, expected


def test_receipt_follows_the_clients_language(app: Flask, as_role, make_user) -> None:
    browser, client = as_role(Role.CLIENT, locale="fr")
    coach = make_user(Role.COACH)
    sid = add_session(app, client, coach, starts_at=PAST, price_amount=6000, paid=True)
    text = pdf_text(browser.get(f"/receipts/{sid}.pdf").data)
    assert "60,00" in text and "€" in text and "mars 2026" in text


def test_the_page_speaks_the_readers_language_the_receipt_its_own(
    app: Flask, as_role, make_user
) -> None:
    """Issued in English, then read by a client who switched to French: the buttons and
    menu are French, the receipt stays as issued (and says so with ``lang``)."""
    browser, client = as_role(Role.CLIENT, locale="en")
    sid = add_session(app, client, make_user(Role.COACH), starts_at=PAST, paid=True)
    assert browser.get(f"/receipts/{sid}").status_code == 200  # issued in English
    with app.app_context():
        db.get(User, client.id).locale = "fr"
        db.commit()
    page = browser.get(f"/receipts/{sid}").get_data(as_text=True)
    toolbar, document = page[: page.index("<article")], article(page)
    assert "Retour" in toolbar and "Télécharger le PDF" in toolbar
    assert current_menu_entry(page) == "Mon espace"
    assert 'lang="en"' in document and "Received from" in document and "Retour" not in document


def test_staff_who_reach_the_session_see_it_others_get_404(app: Flask, as_role, make_user) -> None:
    client = make_user(Role.CLIENT)
    coach_browser, coach = as_role(Role.COACH)
    sid = add_session(app, client, coach, starts_at=PAST, paid=True)
    admin_browser, _admin = as_role(Role.ADMIN)
    other_coach, _ = as_role(Role.COACH)
    other_client, _ = as_role(Role.CLIENT)
    page = coach_browser.get(f"/receipts/{sid}")
    assert page.status_code == 200
    assert current_menu_entry(page.get_data(as_text=True)) == "My clients"
    assert admin_browser.get(f"/receipts/{sid}.pdf").status_code == 200
    for browser in (other_coach, other_client):
        assert browser.get(f"/receipts/{sid}").status_code == 404
        assert browser.get(f"/receipts/{sid}.pdf").status_code == 404
    assert other_client.get("/receipts/999999").status_code == 404


def test_receipt_logo_is_inlined_and_drawn(app: Flask, as_role, make_user, tmp_path) -> None:
    from PIL import Image

    logo = tmp_path / "logo.png"
    Image.new("RGB", (120, 40), (20, 120, 90)).save(logo)
    with app.app_context():
        set_option("receipts.logo", str(logo))
        db.commit()
    browser, client = as_role(Role.CLIENT)
    coach = make_user(Role.COACH)
    sid = add_session(app, client, coach, starts_at=PAST, paid=True)
    assert 'src="data:image/png;base64,' in browser.get(f"/receipts/{sid}").get_data(as_text=True)
    pdf = PdfReader(io.BytesIO(browser.get(f"/receipts/{sid}.pdf").data))
    assert pdf.pages[0].images


def test_history_page_reaches_the_receipt(app: Flask, as_role, make_user) -> None:
    browser, client = as_role(Role.CLIENT)
    coach = make_user(Role.COACH)
    sid = add_session(app, client, coach, starts_at=PAST, paid=True, status="completed")
    html = browser.get("/accueil-client/history").get_data(as_text=True)
    assert f'href="/receipts/{sid}"' in html
    assert load(app, sid).payment_status == "paid"


def test_several_payments_add_up_on_one_receipt(app: Flask, as_role, make_user) -> None:
    from core.payments.service import record_payment

    browser, client = as_role(Role.CLIENT)
    coach = make_user(Role.COACH)
    sid = add_session(app, client, coach, starts_at=PAST, price_amount=9000)
    with app.app_context():
        session = db.get(CoachingSession, sid)
        record_payment(session, method="cash", amount=4000, paid_at=PAST + timedelta(days=1))
        record_payment(session, method="card", amount=5000, paid_at=PAST + timedelta(days=2))
        db.commit()
    text = pdf_text(browser.get(f"/receipts/{sid}.pdf").data)
    assert "€90.00" in text and "Card" in text and "March 12, 2026" in text


def test_pdf_text_stays_within_the_built_in_fonts() -> None:
    from core.payments.receipts import pdf_safe

    assert pdf_safe("9:00\u202fAM · 1\u202f234,00\u00a0€") == "9:00\u00a0AM · 1\u00a0234,00\u00a0€"
    assert pdf_safe("Łukasz Wałęsa") == "Lukasz Walesa"
    assert pdf_safe("Zoé Noël — Straße") == "Zoé Noël — Straße"
    assert pdf_safe("東京") == "??"
