"""SMTP delivery: the connection (plain, STARTTLS or TLS, with login) and the MIME message."""

from __future__ import annotations

import base64
import functools
import secrets
import smtplib
import ssl
from email import encoders
from email.charset import BASE64, Charset
from email.header import Header
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import Compat32
from email.utils import formataddr, formatdate, parseaddr
from typing import Any
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


class _Policy(Compat32):
    """``compat32`` with CRLF line ends, writing a short one-line ASCII header as it is.

    That is what ``compat32`` writes for such a value too (one line, unchanged), but
    without building and encoding a ``Header`` for each: about a third of the time of
    every message went there. Any other value goes through ``compat32``.
    """

    def fold_binary(self, name: str, value: Any) -> bytes:
        if (
            isinstance(value, str)
            and value.isascii()
            and len(name) + 2 + len(value) <= (self.max_line_length or 78)
            and "\r" not in value
            and "\n" not in value
        ):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


SMTP_POLICY = _Policy(linesep="\r\n")


@functools.lru_cache(maxsize=1024)
def envelope_address(value: str) -> str:
    """The bare address of a header address (the batch's emails share a few senders)."""
    return parseaddr(value)[1]


def message_id(row: OutboxEmail) -> str:
    """Stable per outbox row, so that a retried delivery carries the same Message-ID."""
    domain = envelope_address(row.from_address).rpartition("@")[2] or "localhost"
    return f"<coachdesk.{row.id}.{int(row.created_at.timestamp())}@{domain}>"


@functools.lru_cache(maxsize=1024)
def _address(value: str) -> str:
    """A header address, its display name encoded when it is not ASCII."""
    return formataddr(parseaddr(value), charset="utf-8")


#: UTF-8 headers as base64 encoded words. The default charset picks the shorter of base64
#: and quoted-printable, measuring the latter character by character: that was most of
#: the time spent writing a message with a French subject.
UTF8_BASE64 = Charset("utf-8")
UTF8_BASE64.header_encoding = BASE64


def _subject(text: str) -> str | Header:
    """The Subject header: as it is when it is plain ASCII, else encoded words."""
    if text.isascii() and not any(c in text for c in ("\r", "\n", "=?")):
        return text
    return Header(text, UTF8_BASE64, header_name="Subject")


def _boundary() -> str:
    """A multipart boundary no encoded part can contain (base64 has no ``_``), given up
    front so that the generator does not search every part for its own."""
    return f"=_{secrets.token_hex(12)}"


def build_message(row: OutboxEmail) -> Message:
    """The MIME message (text + HTML alternatives, then attachments).

    Built with the ``compat32`` classes: about three times faster than
    ``EmailMessage`` with the default policy, which matters at thousands per minute.
    """
    body = MIMEMultipart("alternative", boundary=_boundary())
    body.attach(MIMEText(row.body_text, "plain", "utf-8"))
    if row.body_html:
        body.attach(MIMEText(row.body_html, "html", "utf-8"))
    message: Message = body
    if row.attachments:
        message = MIMEMultipart("mixed", boundary=_boundary())
        message.attach(body)
        for attachment in row.attachments:
            maintype, _, subtype = attachment["content_type"].partition("/")
            part = MIMEBase(maintype or "application", subtype or "octet-stream")
            part.set_payload(base64.b64decode(attachment["data"]))
            encoders.encode_base64(part)
            part.add_header("Content-Disposition", "attachment", filename=attachment["filename"])
            message.attach(part)
    message["From"] = _address(row.from_address)
    message["To"] = _address(formataddr((row.to_name or "", row.to_address)))
    message["Subject"] = _subject(row.subject)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id(row)
    if row.reply_to:
        message["Reply-To"] = _address(row.reply_to)
    message["Auto-Submitted"] = "auto-generated"
    message["X-Coachdesk-Type"] = row.email_type
    return message


def as_bytes(message: Message) -> bytes:
    """The message as sent over SMTP (CRLF line ends)."""
    return message.as_bytes(policy=SMTP_POLICY)
