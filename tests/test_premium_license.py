"""Premium license keys: issue, verify offline, and every way a key can be wrong.

The tests sign with a key pair of their own; the vendor's private key is not needed.
"""

from __future__ import annotations

import base64
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from addons.premium.license import (
    PRIVATE_KEY_FILE,
    PUBLIC_KEY_FILE,
    PUBLIC_KEY_PEM,
    License,
    LicenseCheck,
    LicenseProblem,
    check_license,
    generate_key_pair,
    issue_license,
    license_cli,
    normalise_site_url,
)

SITE = "https://coaching.example.org"
TODAY = date(2025, 6, 15)
EXPIRES = date(2026, 6, 30)

# Module-level rather than fixtures, so the Hypothesis tests can share them too.
PRIVATE_PEM, PUBLIC_PEM = generate_key_pair()
KEY = issue_license(
    PRIVATE_PEM, licensee="Alex Coaching Ltd", site_url=SITE, expires=EXPIRES, issued=TODAY
)

# No example database (.hypothesis/) in the work tree; no deadline on busy shared cores.
fuzz = settings(database=None, deadline=None)


def check(key: str | None, **kwargs: object) -> LicenseCheck:
    options: dict = {"site_url": SITE, "today": TODAY, "public_key": PUBLIC_PEM, **kwargs}
    return check_license(key, **options)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(payload: bytes) -> str:
    """A validly signed key around any payload, even one issue_license would refuse."""
    signer = serialization.load_pem_private_key(PRIVATE_PEM, password=None)
    return f"CDPREM1.{b64(payload)}.{b64(signer.sign(payload))}"


def with_part(key: str, index: int, new: bytes) -> str:
    """``key`` with its payload (1) or signature (2) replaced by ``new``."""
    parts = key.split(".")
    parts[index] = b64(new)
    return ".".join(parts)


def ec_private_pem() -> bytes:
    return generate_private_key(SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


# -- round trip ---------------------------------------------------------------


def test_issued_key_verifies_and_carries_the_license() -> None:
    result = check(KEY)

    assert result.ok
    assert result.problem is None
    assert result.license == License(
        licensee="Alex Coaching Ltd", site=SITE, expires=EXPIRES, issued=TODAY
    )


def test_key_is_one_compact_ascii_line_with_canonical_json() -> None:
    prefix, payload, signature = KEY.split(".")

    assert KEY.isascii() and KEY.isprintable()
    assert prefix == "CDPREM1"
    assert "=" not in KEY
    assert unb64(payload) == (
        b'{"expires":"2026-06-30","issued":"2025-06-15",'
        b'"licensee":"Alex Coaching Ltd","site":"https://coaching.example.org","v":1}'
    )
    assert len(unb64(signature)) == 64


def test_public_key_object_accepted_and_surrounding_whitespace_ignored() -> None:
    public_key = serialization.load_pem_public_key(PUBLIC_PEM)
    assert isinstance(public_key, Ed25519PublicKey)

    assert check_license(f"  {KEY}\n", site_url=SITE, today=TODAY, public_key=public_key).ok


def test_non_ascii_licensee_round_trips_in_an_ascii_key() -> None:
    key = issue_license(
        PRIVATE_PEM, licensee=" Zoë Lefèvre ", site_url=SITE, expires=EXPIRES, issued=TODAY
    )

    assert key.isascii()
    result = check(key)
    assert result.license is not None and result.license.licensee == "Zoë Lefèvre"


def test_shipped_public_key_is_the_default_and_rejects_other_signers() -> None:
    assert isinstance(serialization.load_pem_public_key(PUBLIC_KEY_PEM), Ed25519PublicKey)

    assert check_license(KEY, site_url=SITE, today=TODAY).problem is LicenseProblem.TAMPERED


# -- each problem -------------------------------------------------------------


@pytest.mark.parametrize("missing", [None, "", "   ", "\n\t"])
def test_no_key_is_missing(missing: str | None) -> None:
    assert check(missing) == LicenseCheck(LicenseProblem.MISSING, None)


def test_payload_swapped_for_another_valid_payload_is_tampered() -> None:
    longer = issue_license(
        PRIVATE_PEM, licensee="Alex Coaching Ltd", site_url=SITE, expires=date(2099, 1, 1)
    )

    forged = with_part(KEY, 1, unb64(longer.split(".")[1]))

    assert check(forged) == LicenseCheck(LicenseProblem.TAMPERED, None)


@pytest.mark.parametrize(("index", "offset"), [(1, 5), (1, -3), (2, 0), (2, 63)])
def test_flipped_payload_or_signature_byte_is_tampered(index: int, offset: int) -> None:
    part = bytearray(unb64(KEY.split(".")[index]))
    part[offset] ^= 0x01

    assert check(with_part(KEY, index, bytes(part))) == LicenseCheck(LicenseProblem.TAMPERED, None)


def test_key_checked_against_another_public_key_is_tampered() -> None:
    _, stranger_public_pem = generate_key_pair()

    assert check(KEY, public_key=stranger_public_pem).problem is LicenseProblem.TAMPERED


def test_expiry_day_is_inclusive_and_the_next_day_is_expired() -> None:
    assert check(KEY, today=EXPIRES).ok

    expired = check(KEY, today=EXPIRES + timedelta(days=1))

    assert expired.problem is LicenseProblem.EXPIRED
    assert expired.license is not None and expired.license.expires == EXPIRES


def test_other_site_is_wrong_site_and_keeps_the_license() -> None:
    result = check(KEY, site_url="https://other.example.org")

    assert result.problem is LicenseProblem.WRONG_SITE
    assert result.license is not None and result.license.licensee == "Alex Coaching Ltd"


def test_wrong_site_is_reported_before_expiry() -> None:
    result = check(KEY, site_url="https://other.example.org", today=date(2099, 1, 1))

    assert result.problem is LicenseProblem.WRONG_SITE


def test_unusable_site_url_is_wrong_site_not_an_exception() -> None:
    assert check(KEY, site_url="coaching.example.org").problem is LicenseProblem.WRONG_SITE


@pytest.mark.parametrize(
    "site_url",
    [
        "https://Coaching.Example.org/",
        "HTTPS://COACHING.EXAMPLE.ORG",
        "https://coaching.example.org:443",
        "https://coaching.example.org/coachdesk/?next=/x#top",
        "  https://coaching.example.org.  ",
    ],
)
def test_equivalent_site_urls_match(site_url: str) -> None:
    assert check(KEY, site_url=site_url).ok


def test_other_scheme_or_port_is_another_site() -> None:
    assert check(KEY, site_url="http://coaching.example.org").problem is (LicenseProblem.WRONG_SITE)
    assert check(KEY, site_url="https://coaching.example.org:8443").problem is (
        LicenseProblem.WRONG_SITE
    )


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("https://Coaching.Example.org/", "https://coaching.example.org"),
        ("http://localhost:5000/admin", "http://localhost:5000"),
        ("http://example.org:80", "http://example.org"),
        ("https://example.org:8443", "https://example.org:8443"),
        ("http://[::1]:8080/", "http://[::1]:8080"),
    ],
)
def test_normalise_site_url(url: str, normalised: str) -> None:
    assert normalise_site_url(url) == normalised


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("coaching.example.org", "http:// or https://"),
        ("ftp://coaching.example.org", "http:// or https://"),
        ("https://", "host name"),
        ("https://bücher.example", "xn--"),
        ("https://example.org:99999", "not a valid URL"),
    ],
)
def test_normalise_site_url_rejects_what_is_not_an_http_site_clearly(
    url: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        normalise_site_url(url)


SIGNATURE = "A" * 86  # 64 zero bytes: well-formed, never valid

GARBAGE = [
    "hello",
    "CDPREM1",
    "CDPREM1..",
    f"CDPREM2.e30.{SIGNATURE}",
    f"cdprem1.e30.{SIGNATURE}",
    f"CDPREM1.e30.{SIGNATURE[:-1]}",  # signature too short
    f"CDPREM1.e30.{SIGNATURE}AA",  # signature too long
    f"CDPREM1.e30=.{SIGNATURE}",  # padding
    f"CDPREM1.e3%.{SIGNATURE}",  # not base64url
    f"CDPREM1.e+0.{SIGNATURE}",  # base64, not base64url
    f"CDPREM1.e.{SIGNATURE}",  # one base64 character is no byte
    f"CDPREM1.e31.{SIGNATURE}",  # non-canonical: decodes like "e30"
    f"CDPREM1.e30.{SIGNATURE}.extra",
    f"CDPREM1.e30 .{SIGNATURE}",
    f"CDPREM1.é30.{SIGNATURE}",
    f"CDPREM1.{'A' * 5000}.{SIGNATURE}",
    "x" * 1_000_000,
]


@pytest.mark.parametrize("garbage", GARBAGE)
def test_garbage_is_malformed(garbage: str) -> None:
    assert check(garbage) == LicenseCheck(LicenseProblem.MALFORMED, None)


def payload(**changes: object) -> bytes:
    fields: dict[str, object] = {
        "expires": "2026-06-30",
        "issued": "2025-06-15",
        "licensee": "A",
        "site": SITE,
        "v": 1,
    }
    fields.update(changes)
    return json.dumps({k: v for k, v in fields.items() if v is not ...}).encode()


@pytest.mark.parametrize(
    "signed",
    [
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'"a string"',
        b"[" * 700 + b"]" * 700,  # as deep as fits in a key
        b"[" * 1500 + b"]" * 1500,  # longer than a key may be
        b"{}",
        payload(v=...),
        payload(v=2),
        payload(v=True),
        payload(v=1.0),
        payload(extra=0),
        payload(expires=20260630),
        payload(expires="2026-06-31"),
        payload(expires="20260630"),
        payload(issued=None),
        payload(licensee=["A"]),
        payload(licensee=" "),
        payload(site="https://Coaching.example.org/"),
        payload(site="ftp://x"),
    ],
)
def test_signed_payload_of_the_wrong_shape_is_malformed(signed: bytes) -> None:
    """Only the key's holder could make these; still a problem, never a crash."""
    assert payload() != signed
    assert check(sign(signed)) == LicenseCheck(LicenseProblem.MALFORMED, None)


def test_signing_a_correct_payload_by_hand_verifies() -> None:
    """The control for the test above: its helper builds a real license payload."""
    assert check(sign(payload())).ok


def test_bad_public_key_argument_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="Ed25519 public key"):
        check_license(KEY, site_url=SITE, public_key=b"not a pem")


# -- never raises: Hypothesis -------------------------------------------------


@fuzz
@given(st.text())
def test_any_text_is_a_problem_never_an_exception(text: str) -> None:
    assert check(text).problem is not None


@fuzz
@given(payload_bytes=st.binary(), signature=st.binary(), keyed=st.booleans())
def test_any_bytes_made_into_a_key_are_a_problem(
    payload_bytes: bytes, signature: bytes, keyed: bool
) -> None:
    key = (
        f"CDPREM1.{b64(payload_bytes)}.{b64(signature)}"
        if keyed
        else (payload_bytes + signature).decode("latin-1")
    )

    assert check(key).problem is not None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@fuzz
@given(json_values)
def test_any_signed_json_that_is_not_a_license_is_malformed(value: object) -> None:
    assert check(sign(json.dumps(value).encode())) == LicenseCheck(LicenseProblem.MALFORMED, None)


@fuzz
@given(index=st.integers(min_value=0), char=st.characters())
def test_changing_any_one_character_of_a_key_breaks_it(index: int, char: str) -> None:
    index %= len(KEY)
    changed = KEY[:index] + char + KEY[index + 1 :]
    if changed.strip() == KEY:
        return  # the same key: a character replaced by itself

    assert check(changed).problem is not None


# -- issue_license refuses what it could not honour ---------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"licensee": "  "}, "licensee"),
        ({"site_url": "coaching.example.org"}, "http:// or https://"),
        ({"expires": date(2025, 6, 14)}, "before issued"),
        ({"licensee": "x" * 2000}, "shorten"),
    ],
)
def test_issue_license_rejects_bad_arguments(changes: dict, message: str) -> None:
    arguments = {"licensee": "A", "site_url": SITE, "expires": EXPIRES, "issued": TODAY, **changes}

    with pytest.raises(ValueError, match=message):
        issue_license(PRIVATE_PEM, **arguments)


@pytest.mark.parametrize("private_pem", [ec_private_pem(), PUBLIC_PEM, b"garbage"])
def test_issue_license_rejects_anything_but_an_ed25519_private_key(private_pem: bytes) -> None:
    with pytest.raises(ValueError, match="Ed25519 private key"):
        issue_license(private_pem, licensee="A", site_url=SITE, expires=EXPIRES)


# -- CLI ----------------------------------------------------------------------


def issue_args(private_key: Path, **overrides: str) -> list[str]:
    options = {
        "--private-key": str(private_key),
        "--licensee": "Alex Coaching Ltd",
        "--site-url": "https://Coaching.Example.org/",
        "--expires": "2099-12-31",
        **overrides,
    }
    return ["issue-license", *(part for pair in options.items() for part in pair)]


def test_cli_generates_keys_then_issues_a_key_that_verifies(tmp_path: Path) -> None:
    runner = CliRunner()
    out_dir = tmp_path / "vendor"

    generated = runner.invoke(license_cli(), ["generate-keys", "--out-dir", str(out_dir)])
    assert generated.exit_code == 0, generated.output
    private_path, public_path = out_dir / PRIVATE_KEY_FILE, out_dir / PUBLIC_KEY_FILE
    assert private_path.stat().st_mode & 0o777 == 0o600

    issued = runner.invoke(license_cli(), issue_args(private_path))
    assert issued.exit_code == 0, issued.output

    result = check_license(
        issued.stdout.strip(), site_url=SITE, public_key=public_path.read_bytes()
    )
    assert result.ok
    assert result.license is not None and result.license.expires == date(2099, 12, 31)


def test_cli_generate_keys_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / PRIVATE_KEY_FILE).write_bytes(b"precious")

    result = CliRunner().invoke(license_cli(), ["generate-keys", "--out-dir", str(tmp_path)])

    assert result.exit_code != 0
    assert "already exists" in result.output
    assert (tmp_path / PRIVATE_KEY_FILE).read_bytes() == b"precious"
    assert not (tmp_path / PUBLIC_KEY_FILE).exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"--expires": "2099-02-30"}, "not a real date"),
        ({"--expires": "31/12/2099"}, "YYYY-MM-DD"),
        ({"--expires": "2000-01-01"}, "before issued"),
        ({"--site-url": "coaching.example.org"}, "http:// or https://"),
        ({"--licensee": " "}, "licensee must not be empty"),
    ],
)
def test_cli_rejects_bad_parameters(
    overrides: dict[str, str], message: str, tmp_path: Path
) -> None:
    private_path = tmp_path / "private.pem"
    private_path.write_bytes(PRIVATE_PEM)

    result = CliRunner().invoke(license_cli(), issue_args(private_path, **overrides))

    assert result.exit_code != 0
    assert message in result.output
    assert "CDPREM1" not in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "No such file"),
        (b"garbage", "not an unencrypted Ed25519 private key"),
        (PUBLIC_KEY_PEM, "not an unencrypted Ed25519 private key"),
        (ec_private_pem(), "not an Ed25519 private key"),
    ],
)
def test_cli_rejects_a_bad_private_key_file(
    content: bytes | None, message: str, tmp_path: Path
) -> None:
    private_path = tmp_path / "private.pem"
    if content is not None:
        private_path.write_bytes(content)

    result = CliRunner().invoke(license_cli(), issue_args(private_path))

    assert result.exit_code != 0
    assert "--private-key" in result.output
    assert message in result.output
