"""Account operations shared by the CLI, the admin, the coach pages and the demo."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core.accounts.audit import audit
from core.accounts.models import Role, User, new_token
from core.accounts.passwords import hash_password
from core.accounts.sessions import end_other_sessions
from core.db import db


class AccountError(ValueError):
    """An account cannot be created or changed as asked; the message is for the user.

    Raised when the email is taken, also when another request took it a moment ago.
    """


def find_by_email(email: str) -> User | None:
    return db.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def create_user(
    *,
    email: str,
    first_name: str,
    last_name: str,
    role: Role | str,
    password: str | None = None,
    phone: str | None = None,
    timezone: str | None = None,
    locale: str | None = None,
) -> User:
    """Add a user to the session (the caller commits). A missing password means 'set by link'."""
    email = email.strip()
    if str(role) not in {r.value for r in Role}:
        raise AccountError(f"unknown role {role!r}")
    if find_by_email(email) is not None:
        raise AccountError(f"an account with the email {email} already exists")
    user = User(
        email=email,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        role=str(role),
        phone=(phone or "").strip() or None,
        timezone=timezone,
        locale=locale,
        password_hash=hash_password(password) if password else None,
    )
    try:
        with db.begin_nested():  # the unique index settles a race with another request
            db.add(user)
    except IntegrityError as exc:
        if find_by_email(email) is None:
            raise
        raise AccountError(f"an account with the email {email} already exists") from exc
    return user


def set_password(user: User, password: str, *, keep_session: str | None = None) -> None:
    """Change the password: every login session of this user ends but ``keep_session`` (the
    secret of the browser that changed it), and so do earlier password links. The caller
    commits."""
    user.password_hash = hash_password(password)
    user.session_token = new_token()
    end_other_sessions(user, keep_session)
    audit(
        "password changed: user %s; %s",
        user.id,
        "other sessions ended" if keep_session else "all sessions ended",
    )


def reset_password(user: User, password: str) -> bool:
    """A password chosen from an emailed link: every session ends, and a private calendar
    feed gets a new secret (whoever had the account may have copied the old one).
    Whether the feed was renewed. The caller commits and signs the user in."""
    set_password(user, password)
    if user.calendar_token is None:
        return False
    user.calendar_token = new_token()
    return True


def set_account_active(user: User, active: bool) -> None:
    """Reactivate, or deactivate: sign-in is refused and every login session ends now."""
    user.is_active = active
    if not active:
        user.session_token = new_token()
        end_other_sessions(user)
    audit("user %s %s", user.id, "reactivated" if active else "deactivated; all sessions ended")
