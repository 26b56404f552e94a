"""People: users of every role, the coach–client assignment and the coach's private notes."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, validates

from core.db import Base, utcnow


class Role(enum.StrEnum):
    """What a user is on the site: each role has its own home and rights."""

    ADMIN = "admin"
    COACH = "coach"
    CLIENT = "client"


ROLE_VALUES = tuple(r.value for r in Role)


def new_token() -> str:
    return secrets.token_urlsafe(32)


class User(Base):
    """A person who can sign in. ``email`` is unique whatever its letter case."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(f"role IN {ROLE_VALUES!r}", name="role"),
        # Lets other tables require, through a foreign key, that a user has a given role.
        UniqueConstraint("id", "role"),
        Index("uq_users_email_lower", text("lower(email)"), unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(10))
    timezone: Mapped[str | None] = mapped_column(String(64))
    locale: Mapped[str | None] = mapped_column(String(10))
    #: The language this user's browser asked for at the last sign-in: emails use it when
    #: ``locale`` is automatic (None), so they match what the user reads on the site.
    last_locale: Mapped[str | None] = mapped_column(String(10))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Name a coach signs emails with; falls back to the full name.
    display_name: Mapped[str | None] = mapped_column(String(150))
    #: Rotated on password change, email change or deactivation: outstanding password links
    #: stop working (login sessions themselves are rows of ``user_sessions``).
    session_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_token)
    #: A new address waiting for its confirmation link; sign-in and resets keep ``email``.
    pending_email: Mapped[str | None] = mapped_column(String(254))
    #: Secret of the private calendar feed (None: no feed).
    calendar_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    #: The secret of the login session this object was loaded for (not a column: set by
    #: ``core.accounts.sessions`` on the request's copy of the user).
    login_session = None

    # Flask-Login protocol -------------------------------------------------
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """What the cookie keeps: the login session's secret, never something of the user."""
        return self.login_session or ""

    @validates("email", "pending_email", "first_name", "last_name", "phone", "display_name")
    def _one_line(self, _key: str, value: str | None) -> str | None:
        """Single-line fields: no line breaks or runs of spaces (they end up in email headers)."""
        return " ".join(value.split()) if value is not None else None

    # Helpers ----------------------------------------------------------------
    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def sender_name(self) -> str:
        return self.display_name or self.full_name

    def has_role(self, *roles: str) -> bool:
        return self.role in roles

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role} {self.email}>"


class UserSession(Base):
    """One signed-in browser. The signed cookie carries a random secret and this table keeps
    its SHA-256 (``id``): deleting the row signs that browser out, even where the cookie
    was copied, and a leaked table opens no session."""

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Refreshed at most every few minutes (see ``core.accounts.sessions``).
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    user_agent: Mapped[str | None] = mapped_column(String(200))


class PasswordResetRequest(Base):
    """A "forgot password" form sent, whatever the address: the worker looks the account up
    and emails the link, so the web request does the same work for known and unknown
    addresses."""

    __tablename__ = "password_reset_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)


class CoachClient(Base):
    """A client assigned to a coach. A coach also reaches clients they have a session with."""

    __tablename__ = "coach_clients"
    __table_args__ = (
        CheckConstraint("client_role = 'client'", name="client_role"),
        ForeignKeyConstraint(
            ["client_id", "client_role"], ["users.id", "users.role"], ondelete="CASCADE"
        ),
    )

    coach_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    client_id: Mapped[int] = mapped_column(primary_key=True, index=True)
    client_role: Mapped[str] = mapped_column(String(10), default=Role.CLIENT.value)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ClientNote(Base):
    """Private notes about a client, shared by the staff who reach that client."""

    __tablename__ = "client_notes"

    client_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    body: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
