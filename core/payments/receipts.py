"""Receipts for paid sessions: numbered once, frozen once, rendered the same forever.

A receipt is issued the first time anyone asks for it (:func:`receipt_for_session`),
or earlier by whoever calls :func:`issue_receipt` (e.g. right after a payment). Its
number is the next integer of the site's sequence; a unique constraint guards it and
a concurrent issuer simply retries with the next number. Everything printed (business,
client, session, amount, method, dates, language and time zone) is copied into
``Receipt.data`` at issue, so later edits to the session, the client or the settings
never change a receipt already given out.

Refunds come after the issue, so they are not frozen into ``Receipt.data``: the
receipt freezes which payments it covers (``payment.ids``) and prints the refunds of
those payments from the ``refunds`` table, below the amount paid, with the net. Refund
rows are never edited, so a receipt still renders the same until money is given back,
and then shows exactly what was given back and when (the alternative, re-freezing the
receipt at each refund, would rewrite a document the client already holds).

Site options (Settings → General shows them):

``receipts.business_name``     printed at the top (default: the site name)
``receipts.business_address``  several lines allowed
``receipts.tax_id``            tax or registration number, printed when set
``receipts.logo``              image file (PNG or JPEG): an absolute path, a path relative
                               to the instance folder, or ``/static/...`` of the core
"""

from __future__ import annotations

import base64
import io
import mimetypes
import unicodedata
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.dates import format_date, format_time
from flask import current_app
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core.accounts.models import User
from core.db import db, utcnow
from core.i18n import LANGUAGES, local_time, money, zone
from core.payments.models import Payment, Receipt, Refund
from core.plugins import collect
from core.sessions.models import CoachingSession, PaymentStatus
from core.settings import define, get_option

define("receipts.business_name", "")
define("receipts.business_address", "")
define("receipts.tax_id", "")
define("receipts.logo", "")

#: Attempts at taking the next number when other processes issue receipts at the same time.
MAX_ATTEMPTS = 8


class ReceiptError(LookupError):
    """No receipt can be issued for this session (not paid)."""


def receipt_for_session(session: CoachingSession) -> Receipt:
    """The session's receipt, issued now if it has none yet (the caller commits)."""
    existing = db.scalar(select(Receipt).where(Receipt.session_id == session.id))
    return existing or issue_receipt(session)


def issue_receipt(session: CoachingSession) -> Receipt:
    """Give a paid session its receipt with the next number; idempotent per session.

    Runs in a savepoint so that losing a race (same number taken, or the same
    session issued by another request) only retries, never breaks the caller's
    transaction.
    """
    if session.payment_status not in (PaymentStatus.PAID.value, PaymentStatus.REFUNDED.value):
        raise ReceiptError("only a paid (or since refunded) session has a receipt")
    payments = list(
        db.scalars(
            select(Payment)
            .where(Payment.session_id == session.id)
            .order_by(Payment.paid_at.desc(), Payment.id.desc())
        )
    )
    client = db.get(User, session.client_id) if session.client_id else None
    coach = db.get(User, session.coach_id)
    if not payments or client is None:
        raise ReceiptError("a receipt needs a payment and a client")
    payment = payments[0]  # the latest: its method and date are printed
    covered = [p for p in payments if p.currency == payment.currency]
    for _attempt in range(MAX_ATTEMPTS):
        existing = db.scalar(select(Receipt).where(Receipt.session_id == session.id))
        if existing is not None:
            return existing
        number = (db.scalar(select(func.max(Receipt.number))) or 0) + 1
        issued_at = utcnow()
        receipt = Receipt(
            number=number,
            session_id=session.id,
            client_id=client.id,
            payment_id=payment.id,
            issued_at=issued_at,
            data=_frozen(number, issued_at, session, client, coach, payment, covered),
        )
        try:
            with db.begin_nested():
                db.add(receipt)
        except IntegrityError:
            continue
        return receipt
    raise RuntimeError("could not allocate a receipt number; try again")


def _frozen(
    number: int,
    issued_at: datetime,
    session: CoachingSession,
    client: User,
    coach: User | None,
    payment: Payment,
    covered: list[Payment],
) -> dict[str, Any]:
    """Everything a receipt prints, as plain JSON values.

    Language: the client's own, else the language of whoever causes the issue.
    """
    locale = client.locale or str(get_locale() or "en")
    site_zone = str(get_option("general.timezone"))
    return {
        "number": number,
        "issued_at": issued_at.isoformat(),
        "locale": locale if locale in LANGUAGES else "en",
        "timezone": client.timezone or site_zone,
        "business": {
            "name": get_option("receipts.business_name") or get_option("general.site_name"),
            "address": get_option("receipts.business_address"),
            "tax_id": get_option("receipts.tax_id"),
            "logo": get_option("receipts.logo"),
        },
        "client": {"name": client.full_name, "email": client.email, "phone": client.phone},
        "coach": coach.sender_name if coach else "",
        "session": {
            "id": session.id,
            "title": session.title,
            "starts_at": session.starts_at.isoformat(),
            "duration_minutes": session.duration_minutes,
            "location": session.location,
        },
        "payment": {
            "ids": [p.id for p in covered],
            "amount": sum(p.amount for p in covered),
            "currency": payment.currency,
            "method": payment.method,
            "provider": _provider_label(payment.provider),
            "reference": payment.provider_reference,
            "paid_at": payment.paid_at.isoformat(),
        },
    }


def receipt_refunds(receipt: Receipt) -> list[Refund]:
    """Refunds of the payments the receipt covers, oldest first (one statement)."""
    ids = receipt.data["payment"].get("ids") or [receipt.payment_id]
    return list(
        db.scalars(
            select(Refund).where(Refund.payment_id.in_(ids)).order_by(Refund.refunded_at, Refund.id)
        )
    )


def _provider_label(key: str) -> str | None:
    """The label of the online provider that took the payment (None for manual payments)."""
    if key == "manual":
        return None
    for provider in collect("payment_providers"):
        if provider.key == key:
            return str(provider.label or key)
    return key


# -- rendering ------------------------------------------------------------------


def method_label(method: str) -> str:
    labels = {
        "cash": _("Cash"),
        "transfer": _("Bank transfer"),
        "cheque": _("Cheque"),
        "card": _("Card"),
        "other": _("Other"),
    }
    return labels.get(method, method)


def receipt_view(receipt: Receipt, refunds: list[Refund]) -> dict[str, Any]:
    """The frozen data and ``refunds`` (:func:`receipt_refunds`), formatted in the
    receipt's own language and time zone.

    Call inside the receipt's locale (:func:`in_receipt_locale`) so that the labels
    match the values.
    """
    data = receipt.data
    locale = data["locale"]
    tz = zone(data["timezone"])
    session, pay = data["session"], data["payment"]
    local = local_time(datetime.fromisoformat(session["starts_at"]), tz)
    minutes = int(session["duration_minutes"])
    method = method_label(pay["method"])
    if pay.get("provider"):
        method = f"{method} ({pay['provider']})"
    return {
        "number": f"{data['number']:06d}",
        "issued": format_date(
            local_time(datetime.fromisoformat(data["issued_at"]), tz), "long", locale=locale
        ),
        "business": data["business"],
        "address_lines": [
            line for line in (data["business"]["address"] or "").splitlines() if line.strip()
        ],
        "client": data["client"],
        "coach": data["coach"],
        "title": session["title"],
        "when": _(
            "%(date)s at %(time)s",
            date=format_date(local, "full", locale=locale),
            time=format_time(local, "short", locale=locale),
        ),
        "timezone": data["timezone"],
        "duration": _("%(n)s min", n=minutes),
        "location": session.get("location"),
        "amount": money(pay["amount"], pay["currency"]),
        "currency": pay["currency"],
        "method": method,
        "paid": format_date(
            local_time(datetime.fromisoformat(pay["paid_at"]), tz), "long", locale=locale
        ),
        "reference": pay.get("reference"),
        "refunds": [
            {
                "line": _(
                    "Refunded on %(date)s",
                    date=format_date(local_time(r.refunded_at, tz), "long", locale=locale),
                ),
                "amount": money(-r.amount, r.currency),
            }
            for r in refunds
        ],
        "net": money(pay["amount"] - sum(r.amount for r in refunds), pay["currency"]),
        "erasure": _erasure_note(data, tz, locale),
    }


def _erasure_note(data: dict[str, Any], tz: Any, locale: str) -> str | None:
    """Printed on a receipt whose client was erased (``core.privacy.erase``): when, and why
    the receipt itself is still here."""
    erasure = data.get("erasure")
    if not erasure:
        return None
    when = format_date(
        local_time(datetime.fromisoformat(erasure["erased_at"]), tz), "long", locale=locale
    )
    return _(
        "Client's personal data erased on %(date)s at their request; this receipt is kept "
        "because accounting law requires it.",
        date=when,
    )


def in_receipt_locale(receipt: Receipt) -> Any:
    """Context manager: translate in the language the receipt was issued in."""
    return force_locale(receipt.data["locale"])


def logo_file(reference: str) -> Path | None:
    """The logo's file on disk, or None when unset, missing or not an image."""
    if not reference:
        return None
    if reference.startswith("/static/"):
        path = Path(current_app.static_folder or "") / reference.removeprefix("/static/")
    else:
        path = Path(reference)
        if not path.is_absolute():
            path = Path(current_app.instance_path) / path
    if path.suffix.lower() not in {".png", ".jpg", ".jpeg"} or not path.is_file():
        return None
    return path


def logo_data_uri(reference: str) -> str | None:
    """The logo inlined for the HTML receipt (the page's CSP allows data: images only)."""
    path = logo_file(reference)
    if path is None:
        return None
    return _data_uri(str(path), path.stat().st_mtime)


@lru_cache(maxsize=8)
def _data_uri(path: str, _mtime: float) -> str:
    kind = mimetypes.guess_type(path)[0] or "image/png"
    return f"data:{kind};base64,{base64.b64encode(Path(path).read_bytes()).decode()}"


def receipt_filename(receipt: Receipt) -> str:
    return f"receipt-{receipt.data['number']:06d}.pdf"


def pdf_safe(text: str) -> str:
    """Text the built-in PDF fonts can draw (they cover Windows-1252: €, accents, no-break space).

    CLDR formats put narrow no-break spaces in times and amounts; other characters
    outside the fonts fall back to their unaccented form, or '?'.
    """
    text = text.replace("\u202f", "\u00a0")
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return "".join(_fallback(c) for c in text)
    return text


#: Letters that do not decompose into a base letter plus an accent.
_PLAIN = {"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h", "ı": "i", "ŀ": "l"}


def _fallback(char: str) -> str:
    try:
        char.encode("cp1252")
    except UnicodeEncodeError:
        plain = unicodedata.normalize("NFKD", _PLAIN.get(char, char))
        return plain.encode("ascii", "ignore").decode() or "?"
    return char


def render_pdf(receipt: Receipt) -> bytes:
    """The receipt as an A4 PDF (reportlab; built-in Helvetica prints € and accents)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader, simpleSplit
    from reportlab.pdfgen.canvas import Canvas

    refunds = receipt_refunds(receipt)
    with in_receipt_locale(receipt):
        view = receipt_view(receipt, refunds)
        labels: dict[str, str] = {
            "receipt": _("Receipt"),
            "number": _("Receipt no. %(number)s", number=view["number"]),
            "issued": _("Issued on %(date)s", date=view["issued"]),
            "tax_id": _("Tax / registration no.: %(id)s", id=view["business"]["tax_id"]),
            "billed": _("Received from"),
            "session": _("Session"),
            "date": _("Date"),
            "duration": _("Duration"),
            "location": _("Location"),
            "coach": _("Coach"),
            "method": _("Payment method"),
            "paid": _("Paid on"),
            "reference": _("Payment reference"),
            "total": _("Amount paid"),
            "net": _("Net paid after refunds"),
        }
    buffer = io.BytesIO()
    pdf = Canvas(buffer, pagesize=A4, pageCompression=1)
    pdf.setTitle(pdf_safe(labels["number"]))
    pdf.setAuthor(pdf_safe(view["business"]["name"]))
    width, height = A4
    left, right = 20 * mm, width - 20 * mm
    value_left = left + 45 * mm

    def write(
        x: float, y: float, text: str, size: int = 10, bold: bool = False, end: bool = False
    ) -> None:
        """One line of text; ``end`` aligns its right edge on ``x``."""
        pdf.setFont("Helvetica-Bold" if bold else "Helvetica", size)
        (pdf.drawRightString if end else pdf.drawString)(x, y, pdf_safe(text))

    y = height - 25 * mm
    logo = logo_file(view["business"]["logo"])
    if logo is not None:
        image = ImageReader(str(logo))
        iw, ih = image.getSize()
        h = 16 * mm
        w = min(50 * mm, iw * h / ih)
        pdf.drawImage(image, right - w, y - h + 6 * mm, w, h, preserveAspectRatio=True, mask="auto")

    write(left, y, view["business"]["name"], size=15, bold=True)
    lines = view["address_lines"] + ([labels["tax_id"]] if view["business"]["tax_id"] else [])
    for line in lines:
        y -= 5 * mm
        write(left, y, line)

    y -= 16 * mm
    write(left, y, labels["receipt"], size=20, bold=True)
    write(right, y + 2 * mm, labels["number"], end=True)
    write(right, y - 3 * mm, labels["issued"], end=True)

    y -= 14 * mm
    write(left, y, labels["billed"], bold=True)
    for line in (view["client"]["name"], view["client"]["email"]):
        if line:
            y -= 5 * mm
            write(left, y, line)
    if view["erasure"]:
        for part in simpleSplit(pdf_safe(view["erasure"]), "Helvetica", 9, right - left):
            y -= 4.5 * mm
            write(left, y, part, size=9)

    y -= 12 * mm
    rows = [
        (labels["session"], view["title"]),
        (labels["date"], f"{view['when']} ({view['timezone']})"),
        (labels["duration"], view["duration"]),
        (labels["location"], view["location"]),
        (labels["coach"], view["coach"]),
        (labels["method"], view["method"]),
        (labels["reference"], view["reference"]),
        (labels["paid"], view["paid"]),
    ]
    pdf.setStrokeGray(0.75)
    pdf.line(left, y + 4 * mm, right, y + 4 * mm)
    for label, value in rows:
        if not value:
            continue
        y -= 7 * mm
        write(left, y, label, bold=True)
        wrapped = simpleSplit(pdf_safe(str(value)), "Helvetica", 10, right - value_left)
        for n, part in enumerate(wrapped):
            write(value_left, y - n * 4.5 * mm, part)
        y -= (len(wrapped) - 1) * 4.5 * mm
    y -= 6 * mm
    pdf.line(left, y, right, y)
    y -= 10 * mm
    write(left, y, labels["total"], size=13, bold=True)
    write(right, y, view["amount"], size=13, bold=True, end=True)
    for refund in view["refunds"]:
        y -= 7 * mm
        write(left, y, refund["line"])
        write(right, y, refund["amount"], end=True)
    if view["refunds"]:
        y -= 9 * mm
        write(left, y, labels["net"], size=13, bold=True)
        write(right, y, view["net"], size=13, bold=True, end=True)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
