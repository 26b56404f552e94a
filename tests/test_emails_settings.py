"""Settings → Emails, the admin outbox page, the cron URL and the test reminder."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from flask import Flask

from core.db import db, utcnow
from core.emails.models import OutboxEmail
from core.emails.options import cron_token
from core.settings import get_option
from tests.conftest import free_port, post
from tests.helpers import image_bytes, option, set_options, upload
from tests.test_emails_support import add_session, outbox, smtp_url, work

URL = "/admin/settings/emails"
PNG = image_bytes("PNG")


def _form(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "action": "save",
        "sender_name": "Studio Zen",
        "sender_address": "hello@studio.example",
        "logo_url": "",
        "signature": "See you on the mat,\nAnna",
        "reminders_enabled": "y",
        "reminder_delay_hours": "12",
        "max_attempts": "5",
        "type_reminder_enabled": "y",
        "type_reminder_subject": "Tomorrow: {session_title} at {session_time}",
        "type_new_booking_enabled": "y",
    }
    data.update(overrides)
    return data


def test_section_is_admin_only(app: Flask, as_role) -> None:
    coach, _ = as_role("coach")
    assert coach.get(URL).status_code == 403
    admin, _ = as_role("admin")
    page = admin.get(URL)
    assert page.status_code == 200
    for text in (b"Sender and branding", b"Pre-session reminder", b"/cron/", b"test reminder"):
        assert text in page.data


def test_saving_settings_changes_what_is_sent(app: Flask, as_role, make_user, mailbox) -> None:
    admin, _ = as_role("admin")
    response = post(app, admin, URL, _form())
    assert response.status_code == 302
    with app.app_context():
        assert get_option("emails.sender_name") == "Studio Zen"
        assert get_option("emails.reminder_delay_hours") == 12
        assert get_option("emails.max_attempts") == 5
        types = get_option("emails.types")
        assert types["reminder"] == {
            "enabled": True,
            "subject": "Tomorrow: {session_title} at {session_time}",
        }
        assert types["booking_confirmation"]["enabled"] is False  # unchecked box
    coach, client = make_user("coach"), make_user("client")
    add_session(app, coach.id, client.id, starts_at=utcnow() + timedelta(hours=11), title="Yoga")
    add_session(app, coach.id, client.id, starts_at=utcnow() + timedelta(hours=13))
    result = work(app)
    assert (result.reminders, result.delivery.sent) == (1, 1)
    (message,) = mailbox.messages
    assert message["Subject"].startswith("Tomorrow: Yoga at ")
    assert message["From"] == "Studio Zen <hello@studio.example>"
    assert "See you on the mat," in message.get_body(("plain",)).get_content()


def test_bad_input_is_refused_and_nothing_changes(app: Flask, as_role) -> None:
    admin, _ = as_role("admin")
    response = post(
        app,
        admin,
        URL,
        _form(
            sender_address="not-an-address",
            reminder_delay_hours="0",
            max_attempts="99",
            logo_url="ftp://files.example/logo.png",
            type_reminder_subject="Tomorrow {session_date at {session_time}",
        ),
    )
    assert response.status_code == 200
    assert response.data.count(b'class="field-error"') == 5
    assert b"starting with https://" in response.data
    assert b"remove stray braces" in response.data
    response = upload(
        app, admin, URL, {**_form(), "logo_file": (io.BytesIO(b"<svg/>"), "logo.svg")}
    )
    assert b"PNG, JPEG or GIF" in response.data
    with app.app_context():
        assert get_option("emails.sender_address") == ""
        assert get_option("emails.reminder_delay_hours") == 24


def test_logo_upload_is_served_and_used(app: Flask, as_role, client) -> None:
    admin, _ = as_role("admin")
    response = upload(app, admin, URL, {**_form(), "logo_file": (io.BytesIO(PNG), "logo.png")})
    assert response.status_code == 302
    logo_url = option(app, "emails.logo_url")
    assert logo_url.startswith(app.config["BASE_URL"] + "/emails/logo/logo-")
    served = client.get(logo_url.removeprefix(app.config["BASE_URL"]))
    assert served.status_code == 200 and served.data == PNG
    assert client.get("/emails/logo/../secret_key").status_code == 404


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "The logo must be a PNG, JPEG or GIF image."),
        (PNG[: len(PNG) // 2], "This image is damaged or incomplete"),
        (image_bytes("PNG", (15000, 15000), mode="1"), "The image has too many pixels"),
        (image_bytes("PNG", (5000, 20), mode="1"), "The image is 5000 × 20 pixels"),
        (image_bytes("WEBP"), "The logo must be a PNG, JPEG or GIF image."),
    ],
)
def test_a_logo_that_is_not_a_usable_image_is_refused(
    app: Flask, as_role, data: bytes, message: str
) -> None:
    admin, _ = as_role("admin")
    response = upload(app, admin, URL, {**_form(), "logo_file": (io.BytesIO(data), "logo.png")})
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert option(app, "emails.logo_url") == ""


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("sender_name", "Studio Zen\r\nBcc: everyone@example.org", "Keep this on one line"),
        ("sender_name", "Studio\tZen", "Keep this on one line"),
        ("sender_name", "Z" * 101, "Field cannot be longer than 100 characters."),
        ("type_reminder_subject", "Tomorrow\nBcc: x@example.org", "Keep this on one line"),
        ("type_reminder_subject", "Hi {site_name:>300000000}", "Write placeholders bare"),
        ("type_reminder_subject", "Hi {site_name!r}", "such as {site_name}: nothing may follow"),
        ("type_reminder_subject", "Hi {session_date:{site_name}}", "Write placeholders bare"),
        ("type_reminder_subject", "S" * 201, "Field cannot be longer than 200 characters."),
    ],
)
def test_sender_name_and_subjects_are_one_bounded_line_with_bare_placeholders(
    app: Flask, as_role, field: str, value: str, message: str
) -> None:
    admin, _ = as_role("admin")
    response = post(app, admin, URL, _form(**{field: value}))
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert option(app, "emails.sender_name") == ""
    assert option(app, "emails.types") == {}


def test_stored_format_specs_are_printed_never_evaluated(app: Flask, make_user, mailbox) -> None:
    """Rows saved before the check (or by an add-on) cannot make a 300 MB subject."""
    subject = "{site_name:>300000000} {session_title!r} {recipient.password_hash} {site_name}"
    set_options(
        app,
        general__site_name="Studio\nZen",
        emails__sender_name="Anna\r\nBcc: everyone@example.org",
        emails__types={"reminder": {"enabled": True, "subject": subject}},
    )
    coach, client = make_user("coach"), make_user("client")
    add_session(app, coach.id, client.id, starts_at=utcnow() + timedelta(hours=11))
    assert work(app).delivery.sent == 1
    (message,) = mailbox.messages
    assert message["Subject"] == (
        "{site_name:>300000000} {session_title!r} {recipient.password_hash} Studio Zen"
    )
    assert message["From"].addresses[0].display_name == "Anna Bcc: everyone@example.org"
    assert message["Bcc"] is None


def test_cron_url_does_one_pass_and_its_token_can_be_regenerated(
    app: Flask, as_role, client, make_user, mailbox
) -> None:
    admin, _ = as_role("admin")
    coach, someone = make_user("coach"), make_user("client")
    add_session(app, coach.id, someone.id, starts_at=utcnow() + timedelta(hours=2))
    with app.app_context():
        token = cron_token()
    assert client.get("/cron/wrong-token").status_code == 404
    assert mailbox.messages == []
    response = client.get(f"/cron/{token}")
    assert response.status_code == 200
    assert response.json["reminders_queued"] == 1 and response.json["sent"] == 1
    assert len(mailbox.messages) == 1
    assert client.post(f"/cron/{token}").json["sent"] == 0  # POST works too, without CSRF
    assert post(app, admin, URL, {"action": "regenerate"}).status_code == 302
    assert client.get(f"/cron/{token}").status_code == 404
    with app.app_context():
        assert cron_token() != token
        assert client.get(f"/cron/{cron_token()}").status_code == 200


def test_test_reminder_goes_to_the_admin(app: Flask, as_role, mailbox) -> None:
    admin, me = as_role("admin")
    response = post(app, admin, URL, {"action": "test"}, follow_redirects=True)
    assert b"Test reminder sent to" in response.data
    (message,) = mailbox.to(me.email)
    assert "test reminder" in message.get_body(("plain",)).get_content()
    with smtp_url(app, f"smtp://127.0.0.1:{free_port()}"):
        response = post(app, admin, URL, {"action": "test"}, follow_redirects=True)
    assert b"could not be sent yet" in response.data
    assert outbox(app)[-1].status == "pending"


def test_outbox_page_lists_and_retries(app: Flask, as_role, make_user, mailbox) -> None:
    admin, _ = as_role("admin")
    coach_client, _ = as_role("coach")
    assert coach_client.get("/admin/outbox").status_code == 403
    coach, someone = make_user("coach"), make_user("client")
    add_session(app, coach.id, someone.id, starts_at=utcnow() + timedelta(hours=2))
    set_options(app, emails__max_attempts=1)
    with smtp_url(app, "smtp://127.0.0.1:1"):
        work(app)
    with app.app_context():
        email = db.query(OutboxEmail).one()
        email.status, email.last_error = "dead", "550 mailbox unavailable"
        db.commit()
        email_id = email.id
    page = admin.get("/admin/outbox")
    assert page.status_code == 200
    assert b"550 mailbox unavailable" in page.data and b"Retry now" in page.data
    assert b"Outbox" in admin.get("/admin/settings/emails").data  # menu entry
    assert post(app, admin, f"/admin/outbox/{email_id}/retry").status_code == 302
    assert outbox(app)[0].status == "pending" and outbox(app)[0].attempts == 0
    assert post(app, admin, "/admin/outbox/999999/retry").status_code == 404
    work(app)
    assert len(mailbox.messages) == 1
    assert post(app, admin, f"/admin/outbox/{email_id}/retry").status_code == 404  # sent
