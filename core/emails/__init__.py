"""Emails: types, rendering, the outbox and the Save-and-notify rules.

Other areas call :func:`queue_email` (and ``core.emails.notify`` /
``core.emails.accounts``) inside their own transaction; the worker delivers.
"""

from core.emails.outbox import InvalidAddress, queue_email

__all__ = ["InvalidAddress", "queue_email"]
