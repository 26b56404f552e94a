"""Premium license keys, checked offline with an Ed25519 signature.

A key is one ASCII line a site owner pastes into the settings page::

    CDPREM1.<base64url(payload JSON)>.<base64url(Ed25519 signature of those bytes)>

base64url is unpadded; the payload is JSON with sorted keys and no spaces:
``{"expires":"YYYY-MM-DD","issued":"YYYY-MM-DD","licensee":...,"site":...,"v":1}``.
Only the vendor holds the private key; every site ships ``PUBLIC_KEY_PEM``, so a
check needs no network. Pure functions (no Flask), so the CLI and tests use them
directly.
"""

from __future__ import annotations

import base64
import binascii
import enum
import functools
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import click
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

PREFIX = "CDPREM1"
"""Names the format and its version, so a future format can coexist."""

MAX_KEY_CHARS = 2048
"""Longest key issued or read: bounds the work spent on pasted garbage."""

PUBLIC_KEY_PEM = b"""-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEACIJIgQ4RTwWHo8DNcgcoix15lm7JzCtR5bYxl/lQ36U=
-----END PUBLIC KEY-----
"""
"""The vendor's public key; its private half never enters this repository."""

_VERSION = 1
_FIELDS = frozenset({"licensee", "site", "expires", "issued", "v"})
_B64 = "[A-Za-z0-9_-]"
# An Ed25519 signature is 64 bytes: 86 unpadded base64 characters.
_KEY_RE = re.compile(rf"{PREFIX}\.({_B64}+)\.({_B64}{{86}})")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_HOST_RE = re.compile(r"[a-z0-9._-]+|\[[0-9a-f:.]+\]")
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class License:
    """What a valid signature vouches for."""

    licensee: str
    site: str
    expires: date
    issued: date


class LicenseProblem(enum.StrEnum):
    """Why a key does not unlock Premium, one reason the settings page can explain."""

    MISSING = enum.auto()
    MALFORMED = enum.auto()
    TAMPERED = enum.auto()
    EXPIRED = enum.auto()
    WRONG_SITE = enum.auto()


@dataclass(frozen=True)
class LicenseCheck:
    """The verdict; ``license`` is kept for EXPIRED and WRONG_SITE so it can be shown."""

    problem: LicenseProblem | None
    license: License | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def normalise_site_url(url: str) -> str:
    """Reduce a site URL to scheme://host[:port], so equivalent spellings match.

    The path is dropped: a license covers the whole origin. Default ports are
    dropped too (``https://x:443`` is ``https://x``).
    """
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"site URL is not a valid URL ({exc}): {text!r}") from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ValueError(f"site URL must start with http:// or https://, got {text!r}")
    host = (parts.hostname or "").rstrip(".")
    if ":" in host:
        host = f"[{host}]"
    if not _HOST_RE.fullmatch(host):
        raise ValueError(
            f"site URL needs a host name in ASCII (the xn-- form for an international "
            f"domain), got {text!r}"
        )
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def parse_iso_date(text: str) -> date:
    """Parse exactly YYYY-MM-DD; ``date.fromisoformat`` alone also takes other ISO forms."""
    if not _DATE_RE.fullmatch(text):
        raise ValueError(f"expected a date as YYYY-MM-DD, got {text!r}")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"not a real date: {text!r}") from exc


def generate_key_pair() -> tuple[bytes, bytes]:
    """Return a new (private PEM, public PEM) pair, unencrypted PKCS#8 / SubjectPublicKeyInfo."""
    private_key = Ed25519PrivateKey.generate()
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, public_pem


def issue_license(
    private_key_pem: bytes,
    *,
    licensee: str,
    site_url: str,
    expires: date,
    issued: date | None = None,
) -> str:
    """Sign a license key (vendor side). Raises ValueError for any bad argument,
    so that every key this returns passes ``check_license`` on its site until it expires."""
    signer = _load_private_key(private_key_pem)
    name = licensee.strip()
    if not name:
        raise ValueError("licensee must not be empty")
    issued = issued or _utc_today()
    if expires < issued:
        raise ValueError(f"expires ({expires}) is before issued ({issued})")
    fields = {
        "licensee": name,
        "site": normalise_site_url(site_url),
        "expires": expires.isoformat(),
        "issued": issued.isoformat(),
        "v": _VERSION,
    }
    payload = json.dumps(fields, sort_keys=True, separators=(",", ":")).encode("ascii")
    key = f"{PREFIX}.{_b64encode(payload)}.{_b64encode(signer.sign(payload))}"
    if len(key) > MAX_KEY_CHARS:
        raise ValueError(f"key longer than {MAX_KEY_CHARS} characters: shorten the licensee")
    return key


def check_license(
    key: str | None,
    *,
    site_url: str,
    today: date | None = None,
    public_key: Ed25519PublicKey | bytes | None = None,
) -> LicenseCheck:
    """Tell whether ``key`` unlocks Premium on ``site_url``; never raises for any ``key``.

    The signature is verified before the payload is parsed, so unauthenticated
    bytes never reach the JSON parser: a key whose payload was edited is
    TAMPERED whatever the edit did to the JSON. ``public_key`` defaults to the
    shipped vendor key; a bad ``public_key`` argument is a programming error
    and raises ValueError.
    """
    verifier = _resolve_public_key(public_key)
    key = (key or "").strip()
    if not key:
        return LicenseCheck(LicenseProblem.MISSING, None)
    parts = _split_key(key)
    if parts is None:
        return LicenseCheck(LicenseProblem.MALFORMED, None)
    payload, signature = parts
    try:
        verifier.verify(signature, payload)
    except InvalidSignature:
        return LicenseCheck(LicenseProblem.TAMPERED, None)
    try:
        parsed = _parse_payload(payload)
    except ValueError:
        return LicenseCheck(LicenseProblem.MALFORMED, None)
    if _normalised_or_none(site_url) != parsed.site:
        return LicenseCheck(LicenseProblem.WRONG_SITE, parsed)
    if (today or _utc_today()) > parsed.expires:
        return LicenseCheck(LicenseProblem.EXPIRED, parsed)
    return LicenseCheck(None, parsed)


def _utc_today() -> date:
    return datetime.now(UTC).date()


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes | None:
    """Decode unpadded base64url, or None; only the canonical spelling is accepted,
    so one license has exactly one key string."""
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error:
        return None
    return data if _b64encode(data) == text else None


def _split_key(key: str) -> tuple[bytes, bytes] | None:
    """(payload, signature) bytes of a well-formed key, or None."""
    if len(key) > MAX_KEY_CHARS:
        return None
    match = _KEY_RE.fullmatch(key)
    if match is None:
        return None
    payload, signature = (_b64decode(part) for part in match.groups())
    if payload is None or signature is None:
        return None
    return payload, signature


def _parse_payload(payload: bytes) -> License:
    """The License in a signed payload; ValueError if it is not a v1 payload."""
    data = json.loads(payload)
    if not isinstance(data, dict) or data.keys() != _FIELDS:
        raise ValueError("payload does not hold exactly the license fields")
    if type(data["v"]) is not int or data["v"] != _VERSION:
        raise ValueError("unknown payload version")
    licensee, site, expires, issued = (data[f] for f in ("licensee", "site", "expires", "issued"))
    if not all(isinstance(value, str) for value in (licensee, site, expires, issued)):
        raise ValueError("license fields must be strings")
    if not licensee.strip() or normalise_site_url(site) != site:
        raise ValueError("empty licensee or site not normalised")
    return License(
        licensee=licensee,
        site=site,
        expires=parse_iso_date(expires),
        issued=parse_iso_date(issued),
    )


def _normalised_or_none(url: str) -> str | None:
    """A misconfigured site URL matches no license rather than raising."""
    try:
        return normalise_site_url(url)
    except ValueError:
        return None


def _load_private_key(pem: bytes) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ValueError("not an unencrypted Ed25519 private key in PEM format") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"not an Ed25519 private key (got {type(key).__name__})")
    return key


@functools.lru_cache(maxsize=8)
def _load_public_key(pem: bytes) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ValueError("not an Ed25519 public key in PEM format") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"not an Ed25519 public key (got {type(key).__name__})")
    return key


def _resolve_public_key(public_key: Ed25519PublicKey | bytes | None) -> Ed25519PublicKey:
    if isinstance(public_key, Ed25519PublicKey):
        return public_key
    return _load_public_key(PUBLIC_KEY_PEM if public_key is None else public_key)


# -- vendor CLI ---------------------------------------------------------------

PRIVATE_KEY_FILE = "premium-license-private.pem"
PUBLIC_KEY_FILE = "premium-license-public.pem"


def _read_private_key(file: BinaryIO) -> bytes:
    pem = file.read()
    _load_private_key(pem)
    return pem


def _as_option(convert: Callable[[Any], object]) -> Callable[..., object]:
    """A click callback that turns the converter's ValueError into an error naming the option."""

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> object:
        try:
            return convert(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc), ctx, param) from exc

    return callback


@click.command("issue-license")
@click.option(
    "--private-key",
    type=click.File("rb"),
    required=True,
    callback=_as_option(_read_private_key),
    help="The vendor's Ed25519 private key (PEM).",
)
@click.option("--licensee", required=True, help="Who the license is for.")
@click.option(
    "--site-url",
    required=True,
    callback=_as_option(normalise_site_url),
    help="The site's base URL, e.g. https://coaching.example.org.",
)
@click.option(
    "--expires",
    required=True,
    metavar="YYYY-MM-DD",
    callback=_as_option(parse_iso_date),
    help="Last day (UTC) the license is valid.",
)
def issue_license_command(private_key: bytes, licensee: str, site_url: str, expires: date) -> None:
    """Print a signed Premium license key."""
    try:
        key = issue_license(private_key, licensee=licensee, site_url=site_url, expires=expires)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    click.echo(key)


@click.command("generate-keys")
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for the two PEM files (created if needed).",
)
def generate_keys_command(out_dir: Path) -> None:
    """Write a new vendor key pair (never overwrites one)."""
    private_path, public_path = out_dir / PRIVATE_KEY_FILE, out_dir / PUBLIC_KEY_FILE
    for path in (private_path, public_path):
        if path.exists():
            raise click.BadParameter(f"{path} already exists", param_hint="'--out-dir'")
    private_pem, public_pem = generate_key_pair()
    out_dir.mkdir(parents=True, exist_ok=True)
    # O_EXCL with mode 0600: the private key is never readable by others, even briefly.
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(private_pem)
    public_path.write_bytes(public_pem)
    click.echo(f"private key (keep it secret, never commit it): {private_path}")
    click.echo(f"public key (ship it as PUBLIC_KEY_PEM): {public_path}")


def license_cli() -> click.Group:
    """The ``premium`` command group; needs no app context, only this module."""
    group = click.Group("premium", help="Premium add-on: license keys.")
    group.add_command(issue_license_command)
    group.add_command(generate_keys_command)
    return group
