"""Signed, single-use links to set or reset a password.

The token carries the user id and a fingerprint of the current password hash:
once the password changes, every earlier link stops working.
"""

from __future__ import annotations

import hashlib

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from core.accounts.models import User
from core.db import db

SET_PASSWORD_MAX_AGE = 7 * 24 * 3600  # welcome links: a week
RESET_MAX_AGE = 2 * 3600  # reset links: two hours


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="coachdesk.password")


def _fingerprint(user: User) -> str:
    return hashlib.sha256(f"{user.password_hash}:{user.session_token}".encode()).hexdigest()[:16]


MAX_AGES = {"welcome": SET_PASSWORD_MAX_AGE, "reset": RESET_MAX_AGE}


def make_password_token(user: User, purpose: str = "welcome") -> str:
    """A link token for a welcome (set your password) or reset email."""
    if purpose not in MAX_AGES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return _serializer().dumps({"u": user.id, "f": _fingerprint(user), "p": purpose})


def user_for_password_token(token: str) -> User | None:
    """The user a still-valid token belongs to, or None (expired, used, forged)."""
    try:
        data = _serializer().loads(token)
        max_age = MAX_AGES[data.get("p", "")]
        _serializer().loads(token, max_age=max_age)
    except (BadSignature, KeyError):
        return None
    user = db.get(User, data.get("u"))
    if user is None or not user.is_active or data.get("f") != _fingerprint(user):
        return None
    return user


# -- email change links -------------------------------------------------------------

#: Confirm a new address within two days; the old address may cancel for a week.
EMAIL_MAX_AGES = {"confirm": 2 * 24 * 3600, "cancel": 7 * 24 * 3600}


def _email_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="coachdesk.email")


def make_email_token(user: User, purpose: str) -> str:
    """A link token to confirm (sent to the new address) or cancel (sent to the current one)
    the pending email change of ``user``; a newer change voids it."""
    if purpose not in EMAIL_MAX_AGES or not user.pending_email:
        raise ValueError(f"no pending email change to {purpose}")
    return _email_serializer().dumps({"u": user.id, "e": user.pending_email.lower(), "p": purpose})


def user_for_email_token(token: str, purpose: str) -> User | None:
    """The active user whose pending change this still-valid token is about, or None."""
    try:
        data = _email_serializer().loads(token, max_age=EMAIL_MAX_AGES[purpose])
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("p") != purpose or not isinstance(data.get("u"), int):
        return None
    user = db.get(User, data["u"])
    if user is None or not user.is_active or not user.pending_email:
        return None
    return user if user.pending_email.lower() == data.get("e") else None
