"""Premium settings: license, Stripe keys (encrypted), connection check, webhook, readiness.

Stripe is the local stand-in (``tests.stripe_standin``); licenses are signed with a key
pair made here (``PREMIUM_LICENSE_PUBLIC_KEY``), so the vendor's private key is not needed.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
import stripe
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from addons.premium import config, stripe_api
from addons.premium.license import generate_key_pair, issue_license
from core.accounts.models import Role
from core.db import db
from core.plugins import get_host
from tests.conftest import PASSWORD, browser_login, post, screenshot
from tests.helpers import set_options
from tests.stripe_standin import StripeStandin
from tests.stripe_standin import fixtures as standin_fixtures

stripe_standin = standin_fixtures.stripe_standin
stripe_standin_server = standin_fixtures.stripe_standin_server

PRIVATE_PEM, PUBLIC_PEM = generate_key_pair()
URL = "/admin/settings/premium"
PK = "pk_test_51PublishableAbc123"
SK = "sk_test_51SecretKeyXyz9876"
WHSEC = "whsec_SigningSecretQwerty5555"
TEST_CONFIG = ("PREMIUM_STRIPE_API_BASE", "PREMIUM_LICENSE_PUBLIC_KEY")


def license_key(app: Flask, **overrides: Any) -> str:
    values: dict[str, Any] = {
        "licensee": "Alex Coaching Ltd",
        "site_url": app.config["BASE_URL"],
        "expires": date.today() + timedelta(days=365),
    }
    values.update(overrides)
    return issue_license(PRIVATE_PEM, **values)


def tampered(key: str) -> str:
    """The key with its payload edited (another licensee), signature kept."""
    prefix, payload, signature = key.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data["licensee"] = "Somebody Else"
    raw = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    return ".".join([prefix, base64.urlsafe_b64encode(raw).rstrip(b"=").decode(), signature])


@pytest.fixture
def standin_config(app: Flask, stripe_standin: StripeStandin) -> Iterator[StripeStandin]:
    """The app pointed at the stand-in and at this module's license key pair (restored after)."""
    saved = {key: app.config.get(key) for key in TEST_CONFIG}
    app.config["PREMIUM_STRIPE_API_BASE"] = stripe_standin.api_base
    app.config["PREMIUM_LICENSE_PUBLIC_KEY"] = PUBLIC_PEM
    yield stripe_standin
    for key, value in saved.items():
        if value is None:
            app.config.pop(key, None)
        else:
            app.config[key] = value


@pytest.fixture
def premium(app: Flask, standin_config: StripeStandin) -> StripeStandin:
    """Premium active (the database is emptied after each test, which deactivates it)."""
    with app.app_context():
        get_host(app).activate(app, "premium")
    return standin_config


@pytest.fixture
def admin(as_role) -> FlaskClient:  # type: ignore[no-untyped-def]
    return as_role(Role.ADMIN)[0]


def in_app(app: Flask, function: Any) -> Any:
    with app.test_request_context():
        return function()


def raw(app: Flask, key: str) -> str | None:
    """A site option's JSON text, exactly as the database holds it (None: never set)."""
    query = text("SELECT CAST(value AS TEXT) FROM site_options WHERE key = :k")
    with app.app_context():
        row = db.execute(query, {"k": key}).first()
        db.rollback()
    return None if row is None else str(row[0])


def stored(app: Flask, key: str) -> Any:
    value = raw(app, key)
    return None if value is None else json.loads(value)


def activate_license(app: Flask, admin: FlaskClient, key: str) -> Any:
    return post(app, admin, URL, {"action": "activate", "license_key": key}, follow_redirects=True)


def save_stripe(app: Flask, admin: FlaskClient, **fields: str) -> Any:
    data = {"action": "save-stripe", "mode": "test", **fields}
    return post(app, admin, URL, data, follow_redirects=True)


def make_ready(app: Flask, admin: FlaskClient) -> None:
    activate_license(app, admin, license_key(app))
    save_stripe(app, admin, test_publishable_key=PK, test_secret_key=SK, test_webhook_secret=WHSEC)
    assert in_app(app, config.is_ready)


def page_text(response: Any) -> str:
    return response.get_data(as_text=True)


# -- activation -----------------------------------------------------------------------------


def test_inactive_premium_has_no_settings_tab_and_no_urls(
    app: Flask, admin: FlaskClient, standin_config: StripeStandin
) -> None:
    assert admin.get(URL).status_code == 404
    assert URL.encode() not in admin.get("/admin/settings/general").data
    assert admin.get("/premium/stripe/webhook").status_code == 404
    assert post(app, admin, "/premium/stripe/webhook").status_code == 404


def test_active_premium_shows_its_tab_and_webhook_url(
    app: Flask, admin: FlaskClient, premium: StripeStandin
) -> None:
    assert URL.encode() in admin.get("/admin/settings/general").data
    page = page_text(admin.get(URL))
    assert f"{app.config['BASE_URL']}/premium/stripe/webhook" in page
    for event in config.WEBHOOK_EVENTS:
        assert f"<code>{event.replace('.', '.<wbr>')}</code>" in page
    assert "No license key" in page


def test_coaches_and_clients_do_not_reach_the_tab(
    app: Flask, as_role, premium: StripeStandin
) -> None:  # type: ignore[no-untyped-def]
    for role in (Role.COACH, Role.CLIENT):
        web, _user = as_role(role)
        response = web.get(URL)
        assert response.status_code in (302, 403, 404)
        assert b"License" not in response.data


# -- license --------------------------------------------------------------------------------


BAD_LICENSES = {
    "garbage": (lambda app: "hello, this is not a key", "This is not a Premium license key"),
    "tampered": (lambda app: tampered(license_key(app)), "has been altered"),
    "expired": (
        lambda app: license_key(
            app, issued=date(2024, 1, 1), expires=date.today() - timedelta(days=2)
        ),
        "The license expired on",
    ),
    "other site": (
        lambda app: license_key(app, site_url="https://someone-else.example.com"),
        "This license was issued for https://someone-else.example.com, but this site is",
    ),
}


@pytest.mark.parametrize("kind", BAD_LICENSES)
def test_each_bad_license_is_refused_with_its_reason(
    app: Flask, admin: FlaskClient, premium: StripeStandin, kind: str
) -> None:
    make_key, message = BAD_LICENSES[kind]
    key = make_key(app)
    save_stripe(app, admin, test_secret_key=SK, test_webhook_secret=WHSEC)

    response = activate_license(app, admin, key)
    assert response.status_code == 200
    assert message in page_text(response)
    assert stored(app, config.LICENSE_KEY) is None  # nothing saved
    assert not in_app(app, config.is_ready)

    # The same key already stored (e.g. a license that expired since) is explained too.
    set_options(app, premium__license_key=key)
    page = page_text(admin.get(URL))
    assert message in page
    assert "Premium cannot take payments yet." in page
    assert not in_app(app, config.is_ready)
    assert message in page_text(admin.get("/admin/addons"))
    assert message in in_app(app, config.problems)[0]


def test_expired_license_names_its_date(app: Flask, premium: StripeStandin) -> None:
    key = license_key(app, issued=date(2025, 1, 1), expires=date(2025, 3, 14))
    set_options(app, premium__license_key=key)
    with app.test_request_context():
        assert config.problems()[0] == (
            "The license expired on March 14, 2025: renew it to take payments again."
        )


def test_license_activate_verify_deactivate(
    app: Flask, admin: FlaskClient, premium: StripeStandin
) -> None:
    key = license_key(app, licensee="Studio Zen")
    response = activate_license(app, admin, key)
    page = page_text(response)
    assert "License active for Studio Zen until" in page
    assert "Studio Zen" in page and "Expires" in page
    assert stored(app, config.LICENSE_KEY) == key

    response = post(app, admin, URL, {"action": "verify"}, follow_redirects=True)
    assert "flash-success" in page_text(response)
    assert "License active for Studio Zen" in page_text(response)

    response = post(app, admin, URL, {"action": "deactivate"}, follow_redirects=True)
    assert "License deactivated" in page_text(response)
    assert stored(app, config.LICENSE_KEY) == ""
    assert not in_app(app, lambda: config.license_check().ok)

    response = activate_license(app, admin, "")
    assert "Paste your license key first." in page_text(response)


# -- Stripe keys ----------------------------------------------------------------------------


def test_valid_license_and_keys_make_premium_ready(
    app: Flask, admin: FlaskClient, premium: StripeStandin
) -> None:
    activate_license(app, admin, license_key(app))
    addons = page_text(admin.get("/admin/addons"))
    assert "The Stripe secret key for test mode is missing." in addons
    assert "Open settings" in addons and URL in addons

    save_stripe(app, admin, test_secret_key=SK)
    assert in_app(app, config.problems) == ["The webhook signing secret for test mode is missing."]
    assert not in_app(app, config.is_ready)

    response = save_stripe(app, admin, test_publishable_key=PK, test_webhook_secret=WHSEC)
    assert "Stripe settings saved." in page_text(response)
    assert "Ready to take payments (test mode)" in page_text(response)
    assert in_app(app, config.is_ready)
    assert in_app(app, config.problems) == []
    keys = in_app(app, config.stripe_keys)
    assert keys == config.StripeKeys("test", PK, SK, WHSEC)
    assert SK not in repr(keys) and WHSEC not in repr(keys)
    addons = page_text(admin.get("/admin/addons"))
    assert "Ready to take payments (test mode)" in addons
    assert "addon-status-ok" in addons

    # Live mode has no keys yet: switching to it makes Premium not ready, and says why.
    save_stripe(app, admin, mode="live")
    assert in_app(app, config.current_mode) == "live"
    assert not in_app(app, config.is_ready)
    assert "The Stripe secret key for live mode is missing." in in_app(app, config.problems)
    assert in_app(app, config.stripe_keys).secret_key == ""


def test_secrets_are_stored_encrypted_and_never_shown(
    app: Flask, admin: FlaskClient, premium: StripeStandin
) -> None:
    save_stripe(app, admin, test_publishable_key=PK, test_secret_key=SK, test_webhook_secret=WHSEC)
    for key, secret in (("premium.test.secret_key", SK), ("premium.test.webhook_secret", WHSEC)):
        in_database = raw(app, key)
        assert in_database and secret not in in_database
    assert stored(app, "premium.test.publishable_key") == PK  # not a secret

    page = page_text(admin.get(URL))
    assert SK not in page and WHSEC not in page
    assert "•••• 9876" in page and "•••• 5555" in page
    assert PK in page

    # Empty secret fields keep what is stored.
    save_stripe(app, admin, test_publishable_key=PK, test_secret_key="", test_webhook_secret="")
    assert in_app(app, config.stripe_keys) == config.StripeKeys("test", PK, SK, WHSEC)

    # A refused form does not echo a secret typed into it.
    other = "sk_test_AnotherSecretNotShown42"
    response = save_stripe(app, admin, test_secret_key=other, test_webhook_secret="nope")
    assert "A webhook signing secret starts with whsec_." in page_text(response)
    assert other not in page_text(response)
    assert in_app(app, config.stripe_keys).secret_key == SK

    # Another SECRET_KEY cannot read them: reported, never used.
    original = app.config["SECRET_KEY"]
    app.config["SECRET_KEY"] = "another-secret-key-entirely-for-this-test"
    try:
        with app.test_request_context():
            assert config.stripe_keys().secret_key == ""
            assert any("can no longer be read" in p for p in config.problems())
    finally:
        app.config["SECRET_KEY"] = original


BAD_KEYS = {
    "test_publishable_key": ("pk_live_51Abc", "This is a key for live mode"),
    "test_secret_key": ("pk_test_51Abc", "A secret key starts with sk_test_"),
    "live_secret_key": ("sk_test_51Abc", "This is a key for test mode"),
    "live_publishable_key": ("pk_live_has spaces", "only letters, digits and underscores"),
    "live_webhook_secret": ("sk_live_51Abc", "A webhook signing secret starts with whsec_."),
    "test_webhook_secret": ("wh_123", "A webhook signing secret starts with whsec_."),
}


@pytest.mark.parametrize("name", BAD_KEYS)
def test_key_formats_are_checked_and_nothing_changes(
    app: Flask, admin: FlaskClient, premium: StripeStandin, name: str
) -> None:
    save_stripe(app, admin, test_publishable_key=PK, test_secret_key=SK, test_webhook_secret=WHSEC)
    before = {key: stored(app, key) for key in config_keys()}
    value, message = BAD_KEYS[name]
    fields = {"test_publishable_key": "pk_test_51Changed", "live_secret_key": "sk_live_51Fine"}
    response = save_stripe(app, admin, mode="live", **{**fields, name: value})
    assert response.status_code == 200
    page = page_text(response)
    assert message in page and 'aria-invalid="true"' in page
    assert "Stripe settings saved." not in page
    assert {key: stored(app, key) for key in config_keys()} == before


def config_keys() -> list[str]:
    names = ("publishable_key", "secret_key", "webhook_secret")
    return [config.MODE] + [f"premium.{m}.{n}" for m in config.MODES for n in names]


def test_live_keys_are_accepted_for_live_mode(
    app: Flask, admin: FlaskClient, premium: StripeStandin
) -> None:
    response = save_stripe(
        app,
        admin,
        mode="live",
        live_publishable_key="pk_live_51Abc",
        live_secret_key="rk_live_51Restricted",
        live_webhook_secret="whsec_live1234",
    )
    assert "Stripe settings saved." in page_text(response)
    keys = in_app(app, config.stripe_keys)
    assert (keys.mode, keys.secret_key, keys.webhook_secret) == (
        "live",
        "rk_live_51Restricted",
        "whsec_live1234",
    )


# -- connection, CSP, CLI -------------------------------------------------------------------


def test_check_connection_success_and_stripes_own_error(
    app: Flask, admin: FlaskClient, premium: StripeStandin
) -> None:
    save_stripe(app, admin, test_secret_key=SK, test_webhook_secret=WHSEC)
    response = post(app, admin, URL, {"action": "check"}, follow_redirects=True)
    assert "Connected to Stripe in test mode." in page_text(response)
    assert premium.requests[-1].path == "/v1/balance"

    premium.revoked_keys.add(SK)
    response = post(app, admin, URL, {"action": "check"}, follow_redirects=True)
    page = page_text(response)
    assert "Invalid API Key provided: sk_test_****9876" in page
    assert "flash-error" in page
    assert SK not in page


def test_check_connection_without_a_key_explains(
    app: Flask, admin: FlaskClient, premium: StripeStandin
) -> None:
    response = post(app, admin, URL, {"action": "check"}, follow_redirects=True)
    assert "No Stripe secret key is set for test mode." in page_text(response)
    assert premium.requests == []


def form_action(response: Any) -> str:
    policy = response.headers["Content-Security-Policy"]
    return next(d for d in policy.split("; ") if d.startswith("form-action"))


def test_csp_allows_the_payment_page_only_when_ready(
    app: Flask, admin: FlaskClient, premium: StripeStandin
) -> None:
    origin = premium.api_base
    assert in_app(app, config.checkout_origin) == origin
    assert origin not in form_action(admin.get("/admin/"))
    activate_license(app, admin, license_key(app))
    save_stripe(app, admin, test_secret_key=SK)
    assert origin not in form_action(admin.get("/admin/"))
    save_stripe(app, admin, test_webhook_secret=WHSEC)
    assert form_action(admin.get("/admin/")) == f"form-action 'self' {origin}"
    assert origin in form_action(app.test_client().get("/"))  # every page, signed in or not


def test_checkout_origin_is_stripes_without_a_standin(app: Flask) -> None:
    with app.test_request_context():
        assert config.checkout_origin() == "https://checkout.stripe.com"


def test_cli_issues_licenses(app: Flask, tmp_path: Any) -> None:
    runner = app.test_cli_runner()
    assert runner.invoke(args=["premium", "--help"]).exit_code == 0
    (tmp_path / "private.pem").write_bytes(PRIVATE_PEM)
    result = runner.invoke(
        args=[
            "premium",
            "issue-license",
            "--private-key",
            str(tmp_path / "private.pem"),
            "--licensee",
            "Alex",
            "--site-url",
            app.config["BASE_URL"],
            "--expires",
            "2099-12-31",
        ]
    )
    assert result.exit_code == 0, result.output
    saved = app.config.get("PREMIUM_LICENSE_PUBLIC_KEY")
    app.config["PREMIUM_LICENSE_PUBLIC_KEY"] = PUBLIC_PEM
    try:
        with app.test_request_context():
            assert config.check_key(result.output.strip()).ok
    finally:
        app.config["PREMIUM_LICENSE_PUBLIC_KEY"] = saved


# -- the Stripe calls the payment flow uses ---------------------------------------------------


def ready_keys(app: Flask) -> None:
    with app.app_context():
        config.set_secret("premium.test.secret_key", SK)
        config.set_secret("premium.test.webhook_secret", WHSEC)
        db.commit()


CHECKOUT = {
    "mode": "payment",
    "success_url": "http://127.0.0.1/ok",
    "cancel_url": "http://127.0.0.1/cancel",
    "line_items": [
        {
            "quantity": 1,
            "price_data": {
                "currency": "eur",
                "unit_amount": 6000,
                "product_data": {"name": "Session"},
            },
        }
    ],
    "metadata": {"session_id": "12"},
}


def test_checkout_refund_and_expiry_return_plain_dicts(
    app: Flask, standin_config: StripeStandin
) -> None:
    ready_keys(app)
    with app.test_request_context():
        created = stripe_api.create_checkout_session(CHECKOUT, idempotency_key="pay-12-1")
        assert type(created) is dict and created["url"].startswith(standin_config.api_base)
        again = stripe_api.create_checkout_session(CHECKOUT, idempotency_key="pay-12-1")
        assert again["id"] == created["id"]
        standin_config.complete_checkout(created["id"])
        paid = stripe_api.retrieve_checkout_session(created["id"])
        assert type(paid["payment_intent"]) is dict  # expanded
        refund = stripe_api.create_refund(
            payment_intent=paid["payment_intent"]["id"],
            amount=2000,
            idempotency_key="refund-1",
            metadata={"refund_id": "1"},
        )
        assert type(refund) is dict and refund["amount"] == 2000
        other = stripe_api.create_checkout_session(CHECKOUT, idempotency_key="pay-12-2")
        assert stripe_api.expire_checkout_session(other["id"])["status"] == "expired"
        with pytest.raises(stripe_api.StripeProblem) as problem:
            stripe_api.create_refund(
                payment_intent=paid["payment_intent"]["id"],
                amount=999_999,
                idempotency_key="refund-2",
                metadata={},
            )
        assert problem.value.message and "Request req_" not in problem.value.message
    assert all(r.headers.get("Authorization") == f"Bearer {SK}" for r in standin_config.requests)


def test_unreachable_stripe_is_a_stripe_problem(app: Flask, standin_config: StripeStandin) -> None:
    ready_keys(app)
    app.config["PREMIUM_STRIPE_API_BASE"] = "http://127.0.0.1:9"
    with app.test_request_context(), pytest.raises(stripe_api.StripeProblem) as problem:
        stripe_api.check_connection()
    assert "Unexpected error communicating with Stripe" in problem.value.message


def signed(payload: bytes, secret: str = WHSEC, at: int | None = None) -> str:
    """A Stripe-Signature header for ``payload`` (bytes taken as Latin-1, one char per byte)."""
    return stripe.WebhookSignature.generate_signature_header(
        payload.decode("latin-1"), secret, timestamp=at
    )


def test_construct_event_verifies_signatures(app: Flask, standin_config: StripeStandin) -> None:
    ready_keys(app)
    event = {
        "id": "evt_1",
        "object": "event",
        "type": "checkout.session.completed",
        "data": {"object": {"id": "cs_test_1", "object": "checkout.session"}},
    }
    payload = json.dumps(event).encode()
    with app.test_request_context():
        verified = stripe_api.construct_event(payload, signed(payload))
        assert verified == event and type(verified["data"]["object"]) is dict
        for header in (
            None,
            "",
            signed(payload, secret="whsec_other"),
            signed(payload, at=int(time.time()) - 301),
            signed(payload + b" "),
        ):
            with pytest.raises(stripe_api.InvalidWebhook):
                stripe_api.construct_event(payload, header)
        for body in (b"not json", b"[]", b"\xff"):
            with pytest.raises(stripe_api.InvalidWebhook):
                stripe_api.construct_event(body, signed(body))


def test_construct_event_without_a_webhook_secret_refuses(app: Flask) -> None:
    payload = b"{}"
    with app.test_request_context(), pytest.raises(stripe_api.InvalidWebhook):
        stripe_api.construct_event(payload, signed(payload))


# -- how it looks -----------------------------------------------------------------------------


@pytest.mark.browser
def test_premium_settings_screenshots(  # type: ignore[no-untyped-def]
    page, live_server: str, app: Flask, make_user, premium: StripeStandin
) -> None:
    admin = make_user("admin", first_name="Ada", last_name="Owner")
    set_options(app, setup__completed=True)
    browser_login(page, live_server, app, admin.email, PASSWORD)
    page.goto(f"{live_server}{URL}")
    screenshot(page, "premium-settings-empty")

    page.fill("textarea[name=license_key]", license_key(app, licensee="Studio Zen"))
    page.click("button[value=activate]")
    page.wait_for_selector(".flash-success")
    page.fill("input[name=test_publishable_key]", PK)
    page.fill("input[name=test_secret_key]", SK)
    page.fill("input[name=test_webhook_secret]", WHSEC)
    page.fill("input[name=live_secret_key]", "sk_test_wrong")
    page.click("button:has-text('Save Stripe settings')")
    assert "This is a key for test mode" in page.inner_text("#premium-live-keys")
    screenshot(page, "premium-settings-invalid")
    page.fill("input[name=live_secret_key]", "")
    page.fill("input[name=test_secret_key]", SK)
    page.fill("input[name=test_webhook_secret]", WHSEC)
    page.click("button:has-text('Save Stripe settings')")
    page.wait_for_selector("text=Stripe settings saved.")
    page.click("button:has-text('Check connection')")
    page.wait_for_selector("text=Connected to Stripe in test mode.")
    assert SK not in page.content()
    screenshot(page, "premium-settings-ready")


def test_the_tab_speaks_french(app: Flask, admin: FlaskClient, premium: StripeStandin) -> None:
    admin.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fr"
    save_stripe(app, admin, test_secret_key=SK)
    page = page_text(admin.get(URL))
    assert "Clé de licence" in page and "Clés du mode production" in page
    assert "Aucune clé de licence" in page
    assert "Le secret de signature du webhook du mode test manque." in page
    assert "Enregistré : •••• 9876. Laissez vide pour la conserver." in page
