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
