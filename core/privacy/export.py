"""A client's copy of their data: ``data.json`` (schema in docs/privacy.md), their session
documents and receipts as PDF files, and a readable ``summary.pdf``, in one ZIP.

The ZIP is written to a spooled temporary file (in memory up to :data:`SPOOL_BYTES`,
then on disk) and sent from there: documents are copied in chunks, never held whole,
so memory stays flat. The time it takes grows with the size of the documents (about a
second per 100 MB on an ordinary disk): well within a web request for a coaching
client, whose documents are a few PDFs per session. See docs/privacy.md.
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
import zipfile
from datetime import datetime
from typing import IO, Any

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from core.accounts.models import CoachClient, User
from core.db import db, utcnow
from core.emails.models import OutboxEmail
from core.payments.models import Payment, Receipt
from core.payments.receipts import receipt_filename, render_pdf
from core.plugins import call_each
from core.programs.models import Bundle
from core.sessions.documents import document_path
from core.sessions.models import CoachingSession, SessionDocument
from core.settings import get_option

#: Version of the ``data.json`` schema: a new field keeps it, a changed or removed one bumps it.
SCHEMA_VERSION = 1
SCHEMA_NAME = "coachdesk.personal-data"
SPOOL_BYTES = 8 * 1024 * 1024


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def document_entry_name(document: SessionDocument) -> str:
    """Where a document sits in the ZIP: unique by id, with its own name."""
    return f"documents/{document.id}-{document.filename}"


def _sessions(client: User) -> list[CoachingSession]:
    return list(
        db.scalars(
            select(CoachingSession)
            .where(CoachingSession.client_id == client.id)
            .order_by(CoachingSession.starts_at, CoachingSession.id)
            .options(
                selectinload(CoachingSession.documents),
                selectinload(CoachingSession.links),
                selectinload(CoachingSession.coach),
            )
        )
    )


def _session_data(session: CoachingSession) -> dict[str, Any]:
    """What the client was given about a session; the coach's private notes stay out."""
    return {
        "id": session.id,
        "title": session.title,
        "starts_at": _iso(session.starts_at),
        "duration_minutes": session.duration_minutes,
        "coach": session.coach.sender_name,
        "location": session.location,
        "video_url": session.video_url,
        "status": session.status,
        "payment_status": session.payment_status,
        "price_amount": session.price_amount,
        "currency": session.currency,
        "bundle_id": session.bundle_id,
        "cancelled_at": _iso(session.cancelled_at),
        "links": [{"label": link.label, "url": link.url} for link in session.links],
        "documents": [
            {
                "id": d.id,
                "filename": d.filename,
                "size_bytes": d.size_bytes,
                "sha256": d.sha256,
                "uploaded_at": _iso(d.uploaded_at),
                "file": document_entry_name(d),
            }
            for d in session.documents
        ],
    }


def _payments(session_ids: list[int]) -> list[dict[str, Any]]:
    payments = db.scalars(
        select(Payment)
        .where(Payment.session_id.in_(session_ids))
        .order_by(Payment.paid_at, Payment.id)
        .options(selectinload(Payment.refunds))
    )
    return [
        {
            "id": p.id,
            "session_id": p.session_id,
            "amount": p.amount,
            "currency": p.currency,
            "method": p.method,
            "provider": p.provider,
            "provider_reference": p.provider_reference,
            "paid_at": _iso(p.paid_at),
            "refunds": [
                {"amount": r.amount, "currency": r.currency, "refunded_at": _iso(r.refunded_at)}
                for r in p.refunds
            ],
        }
        for p in payments
    ]


def receipts_of(client: User) -> list[Receipt]:
    return list(
        db.scalars(select(Receipt).where(Receipt.client_id == client.id).order_by(Receipt.number))
    )


def _emails(client: User) -> list[dict[str, Any]]:
    emails = db.scalars(
        select(OutboxEmail)
        .where(
            or_(OutboxEmail.user_id == client.id, OutboxEmail.to_address == client.email.lower())
        )
        .order_by(OutboxEmail.created_at, OutboxEmail.id)
    )
    return [
        {
            "id": e.id,
            "type": e.email_type,
            "to": e.to_address,
            "subject": e.subject,
            "status": e.status,
            "created_at": _iso(e.created_at),
            "sent_at": _iso(e.sent_at),
            "body_text": e.body_text,
        }
        for e in emails
    ]


def _bundles(client: User) -> list[dict[str, Any]]:
    bundles = db.scalars(select(Bundle).where(Bundle.client_id == client.id).order_by(Bundle.id))
    return [
        {
            "id": b.id,
            "title": b.title,
            "planned_count": b.planned_count,
            "total_price": b.total_price,
            "currency": b.currency,
            "status": b.status,
            "created_at": _iso(b.created_at),
            "completed_at": _iso(b.completed_at),
        }
        for b in bundles
    ]


def _coaches(client: User) -> list[str]:
    coaches = db.scalars(
        select(User)
        .join(CoachClient, CoachClient.coach_id == User.id)
        .where(CoachClient.client_id == client.id)
        .order_by(User.id)
    )
    return [c.sender_name for c in coaches]


def export_data(client: User) -> dict[str, Any]:
    """Everything ``data.json`` holds about ``client`` (schema: docs/privacy.md)."""
    sessions = _sessions(client)
    return {
        "schema": SCHEMA_NAME,
        "version": SCHEMA_VERSION,
        "generated_at": _iso(utcnow()),
        "site": get_option("general.site_name"),
        "profile": {
            "id": client.id,
            "first_name": client.first_name,
            "last_name": client.last_name,
            "email": client.email,
            "pending_email": client.pending_email,
            "phone": client.phone,
            "timezone": client.timezone,
            "locale": client.locale,
            "created_at": _iso(client.created_at),
            "last_login_at": _iso(client.last_login_at),
            "coaches": _coaches(client),
        },
        "calendar_feed": {"enabled": client.calendar_token is not None},
        "sessions": [_session_data(s) for s in sessions],
        "bundles": _bundles(client),
        "payments": _payments([s.id for s in sessions]),
        "receipts": [
            {
                "number": r.number,
                "issued_at": _iso(r.issued_at),
                "session_id": r.session_id,
                "file": f"receipts/{receipt_filename(r)}",
            }
            for r in receipts_of(client)
        ],
        "emails": _emails(client),
        "addons": call_each("personal_data_export", client=client)[0],
    }


def write_zip(client: User, out: IO[bytes]) -> None:
    """The whole export as a ZIP into ``out``."""
    from core.privacy.summary import summary_pdf

    data = export_data(client)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=2))
        archive.writestr("summary.pdf", summary_pdf(data))
        for session in _sessions(client):
            for document in session.documents:
                path = document_path(document)
                if not path.is_file():
                    continue  # recorded in data.json; the file itself is gone
                with (
                    path.open("rb") as src,
                    archive.open(document_entry_name(document), "w") as dst,
                ):
                    shutil.copyfileobj(src, dst, 64 * 1024)
        for receipt in receipts_of(client):
            archive.writestr(f"receipts/{receipt_filename(receipt)}", render_pdf(receipt))


def export_file(client: User) -> IO[bytes]:
    """The ZIP in a spooled temporary file, rewound, for ``send_file``."""
    out: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
    write_zip(client, out)
    out.seek(0)
    return out


def export_bytes(client: User) -> bytes:
    """The ZIP in memory (tests, small exports)."""
    buffer = io.BytesIO()
    write_zip(client, buffer)
    return buffer.getvalue()
