"""Erasing a client (GDPR article 17), as far as the law lets us.

What goes: the person's name, email, phone and preferences (the account row stays,
renamed "Erased client #id", disabled, with no password, no calendar link and no login
session), the staff's notes about them, the session documents (rows and files), the
free text of every email to them or about their sessions, and whatever add-ons erase
through ``personal_data_erase``.

What stays, and why: payments, refunds, receipts and bundles are accounting records
that must be kept for years (e.g. 10 in France, Code de commerce L123-22); their
amounts, dates and numbers stay exact. A receipt's frozen copy of the client's
name, email and phone is replaced by the anonymous name, and the receipt records when
and why (``data["erasure"]``), which it then prints. Sessions stay as well, for the
coach's bookkeeping and statistics: their client is the anonymised account rather than
NULL, because the schema only lets an open slot have no client (and a composite
foreign key checks the role); the account no longer identifies anyone, so the sessions
are detached from the person. The coach's private session notes are cleared, upcoming
sessions are cancelled (without emails) and the coach assignments removed.

An audit entry (who, when, what) is written in the same transaction; it keeps the
client's id, never their name (earlier entries by the client lose their name too).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import flag_modified

from core.accounts.models import (
    ClientNote,
    CoachClient,
    PasswordResetRequest,
    Role,
    User,
    new_token,
)
from core.accounts.sessions import end_other_sessions
from core.db import db, utcnow
from core.emails.models import EmailStatus, OutboxEmail
from core.payments.models import Payment, Receipt, Refund
from core.plugins import call_each
from core.privacy.models import AuditEntry, record
from core.programs.models import BundleDraft
from core.sessions.documents import delete_document
from core.sessions.models import OPEN_STATUSES, CoachingSession, SessionStatus

#: Why a receipt keeps its amounts after an erasure: printed on it (translated) and stored.
RECEIPT_REASON = "accounting_retention"
ERASED_TEXT = "[erased]"


class ErasureError(ValueError):
    """The erasure cannot be done (not a client, already erased); nothing was changed."""


def erased_name(client_id: int) -> str:
    return f"Erased client #{client_id}"


def is_erased(user: User) -> bool:
    return user.email == f"erased-{user.id}@invalid"


def names_match(typed: str, client: User) -> bool:
    """The confirmation: the client's full name, whatever the case and spacing."""
    return " ".join(typed.split()).casefold() == " ".join(client.full_name.split()).casefold()


@dataclass
class ErasureReport:
    """What an erasure did, as written to the audit log."""

    lines: list[str] = field(default_factory=list)
    #: Add-ons whose ``personal_data_erase`` raised: the erasure goes on, and says so.
    failed_addons: list[str] = field(default_factory=list)

    def add(self, count: int, what: str) -> None:
        if count:
            self.lines.append(f"{count} {what}")

    @property
    def text(self) -> str:
        return "; ".join(self.lines) or "nothing but the account"


def erase_client(client: User, actor: User) -> ErasureReport:
    """Erase ``client`` in the current transaction (the caller commits). Raises
    :class:`ErasureError` for someone who is not a client, or is erased already."""
    if client.role != Role.CLIENT:
        raise ErasureError("only clients are erased this way")
    if is_erased(client):
        raise ErasureError("this client is erased already")
    report = ErasureReport()
    old_address = client.email.lower()
    sessions = list(
        db.scalars(
            select(CoachingSession)
            .where(CoachingSession.client_id == client.id)
            .options(selectinload(CoachingSession.documents))
        )
    )
    session_ids = [s.id for s in sessions]
    _erase_sessions(sessions, actor, report)
    _erase_emails(client, old_address, session_ids, report)
    _erase_receipts(client, report)
    _erase_money_notes(session_ids, report)
    report.add(
        db.execute(delete(ClientNote).where(ClientNote.client_id == client.id)).rowcount,  # type: ignore[attr-defined]
        "staff note(s) deleted",
    )
    report.add(
        db.execute(delete(CoachClient).where(CoachClient.client_id == client.id)).rowcount,  # type: ignore[attr-defined]
        "coach assignment(s) removed",
    )
    db.execute(delete(BundleDraft).where(BundleDraft.client_id == client.id))
    db.execute(delete(PasswordResetRequest).where(PasswordResetRequest.email == old_address))
    _anonymise_account(client)
    summaries, report.failed_addons = call_each("personal_data_erase", client=client)
    for addon, summary in summaries.items():
        report.lines.append(f"{addon}: {summary}")
    for addon in report.failed_addons:
        report.lines.append(f"{addon}: FAILED, its data may remain (see the Add-ons page)")
    # Earlier entries keep what the client did (an export, a request), not their name.
    db.execute(
        update(AuditEntry)
        .where(AuditEntry.actor_id == client.id)
        .values(actor_label=erased_name(client.id))
    )
    record("erasure", actor.id, actor.full_name, client.id, report.text)
    db.flush()
    return report


def _erase_sessions(sessions: list[CoachingSession], actor: User, report: ErasureReport) -> None:
    now = utcnow()
    documents = cancelled = 0
    for session in sessions:
        for document in list(session.documents):
            delete_document(document)
            documents += 1
        session.notes = None
        if session.status in OPEN_STATUSES and session.starts_at >= now:
            session.status = SessionStatus.CANCELLED.value
            session.cancelled_at = now
            session.cancelled_by_id = actor.id
            cancelled += 1
    report.add(len(sessions), "session(s) kept, detached from the person, notes cleared")
    report.add(cancelled, "upcoming session(s) cancelled")
    report.add(documents, "document(s) deleted")


def _erase_emails(
    client: User, old_address: str, session_ids: list[int], report: ErasureReport
) -> None:
    """Emails to the client, and about their sessions (to the coach): no name, no text."""
    about = or_(OutboxEmail.user_id == client.id, OutboxEmail.to_address == old_address)
    if session_ids:
        about = or_(about, OutboxEmail.session_id.in_(session_ids))
    values = {
        "subject": ERASED_TEXT,
        "body_text": ERASED_TEXT,
        "body_html": None,
        "attachments": [],
    }
    result = db.execute(update(OutboxEmail).where(about).values(**values))
    report.add(result.rowcount, "email(s) emptied")  # type: ignore[attr-defined]
    to_them = or_(OutboxEmail.user_id == client.id, OutboxEmail.to_address == old_address)
    db.execute(  # nothing left to send: a pending one would go to an address that is no more
        update(OutboxEmail)
        .where(to_them, OutboxEmail.status == EmailStatus.PENDING.value)
        .values(status=EmailStatus.DEAD.value, last_error="client erased")
    )
    db.execute(
        update(OutboxEmail)
        .where(to_them)
        .values(to_address=f"erased-{client.id}@invalid", to_name=erased_name(client.id))
    )


def _erase_receipts(client: User, report: ErasureReport) -> None:
    receipts = list(db.scalars(select(Receipt).where(Receipt.client_id == client.id)))
    erased_at = utcnow().isoformat()
    for receipt in receipts:
        data = dict(receipt.data)
        data["client"] = {"name": erased_name(client.id), "email": None, "phone": None}
        data["erasure"] = {"erased_at": erased_at, "reason": RECEIPT_REASON}
        receipt.data = data
        flag_modified(receipt, "data")
    report.add(len(receipts), "receipt(s) kept for accounting, client details anonymised")


def _erase_money_notes(session_ids: list[int], report: ErasureReport) -> None:
    """Amounts stay; the staff's free-text notes on them may name the person and go."""
    if not session_ids:
        return
    payment_ids = list(db.scalars(select(Payment.id).where(Payment.session_id.in_(session_ids))))
    if payment_ids:
        db.execute(update(Payment).where(Payment.id.in_(payment_ids)).values(note=None))
        db.execute(update(Refund).where(Refund.payment_id.in_(payment_ids)).values(note=None))
    report.add(len(payment_ids), "payment(s) kept for accounting, notes cleared")


def _anonymise_account(client: User) -> None:
    client.first_name = "Erased client"
    client.last_name = f"#{client.id}"
    client.email = f"erased-{client.id}@invalid"
    client.pending_email = None
    client.phone = None
    client.display_name = None
    client.timezone = None
    client.locale = None
    client.password_hash = None
    client.calendar_token = None
    client.is_active = False
    client.session_token = new_token()
    end_other_sessions(client)
