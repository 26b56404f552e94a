"""Password hashing (argon2id) and the strength rules new passwords must meet."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l

_hasher = PasswordHasher()
MIN_LENGTH = 10
_DUMMY_PASSWORD = "no account has this password"  # noqa: S105 (no account's password)
#: The dummy hash of the default parameters, written out: hashing it costs every process
#: (a CLI command, a worker) as much time as a sign-in.
_DEFAULT_DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$QunEWpD7OxtiCoNyUiiyXg"
    "$EM93g6kPqP9+K2APvDkwiPMu+PC3Ee8taXPfgyr/QoA"
)


def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash verified when no account matches, so both paths take the same time: the
    written-out one when it has ``hasher``'s cost, else made now."""
    if hasher.check_needs_rehash(_DEFAULT_DUMMY_HASH):
        return hasher.hash(_DUMMY_PASSWORD)
    return _DEFAULT_DUMMY_HASH


_DUMMY_HASH = _dummy_hash(_hasher)
_COMMON = frozenset(
    {
        "password",
        "password1",
        "password123",
        "1234567890",
        "12345678910",
        "qwertyuiop",
        "azertyuiop",
        "motdepasse",
        "iloveyou12",
        "letmein123",
        "welcome123",
        "admin12345",
        "coachdesk1",
        "football12",
        "1q2w3e4r5t",
        "0123456789",
        "abcdefghij",
        "aaaaaaaaaa",
    }
)


def use_parameters(*, time_cost: int, memory_cost: int, parallelism: int) -> None:
    """Change the argon2id cost (the test suite lowers it; stored hashes carry their own)."""
    global _hasher, _DUMMY_HASH
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)
    _DUMMY_HASH = _dummy_hash(_hasher)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Constant-work check: a missing hash still costs one verification."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


def password_problem(password: str, *, email: str = "", names: tuple[str, ...] = ()) -> str | None:
    """Why this password is too weak, or None when it is acceptable."""
    lowered = password.lower()
    if len(password) < MIN_LENGTH:
        return str(_l("Use at least %(n)s characters.", n=MIN_LENGTH))
    if lowered in _COMMON or len(set(lowered)) < 4:
        return str(_l("This password is too easy to guess."))
    local_part = email.split("@")[0].lower()
    if (local_part and len(local_part) >= 4 and local_part in lowered) or any(
        n and len(n) >= 4 and n.lower() in lowered for n in names
    ):
        return str(_l("Do not use your name or email address in your password."))
    return None
