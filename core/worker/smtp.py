"""SMTP delivery: the connection (plain, STARTTLS or TLS, with login) and the MIME message."""

from __future__ import annotations

import base64
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, formatdate, parseaddr
from urllib.parse import unquote, urlsplit

from core.emails.models import OutboxEmail

TIMEOUT_SECONDS = 30
DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


def tls_context() -> ssl.SSLContext:
    """Certificates are verified against the system's authorities (tests replace this)."""
    return ssl.create_default_context()


def connect(url: str) -> smtplib.SMTP:
    """An open, authenticated connection for ``smtp://``, ``smtp+starttls://`` or ``smtps://``."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = parts.port or DEFAULT_PORTS.get(parts.scheme, 25)
    connection: smtplib.SMTP
    if parts.scheme == "smtps":
        connection = smtplib.SMTP_SSL(host, port, timeout=TIMEOUT_SECONDS, context=tls_context())
    else:
        connection = smtplib.SMTP(host, port, timeout=TIMEOUT_SECONDS)
        if parts.scheme == "smtp+starttls":
            connection.starttls(context=tls_context())
            connection.ehlo()
    if parts.username:
        connection.login(unquote(parts.username), unquote(parts.password or ""))
    return connection


def message_id(row: OutboxEmail) -> str:
    """Stable per outbox row, so that a retried delivery carries the same Message-ID."""
    domain = parseaddr(row.from_address)[1].rpartition("@")[2] or "localhost"
    return f"<coachdesk.{row.id}.{int(row.created_at.timestamp())}@{domain}>"


def build_message(row: OutboxEmail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = row.from_address
    message["To"] = formataddr((row.to_name or "", row.to_address))
    message["Subject"] = row.subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id(row)
    if row.reply_to:
        message["Reply-To"] = row.reply_to
    message["Auto-Submitted"] = "auto-generated"
    message["X-Coachdesk-Type"] = row.email_type
    message.set_content(row.body_text)
    if row.body_html:
        message.add_alternative(row.body_html, subtype="html")
    for attachment in row.attachments or []:
        maintype, _, subtype = attachment["content_type"].partition("/")
        message.add_attachment(
            base64.b64decode(attachment["data"]),
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=attachment["filename"],
        )
    return message
