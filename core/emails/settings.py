"""Settings → Emails: sender, branding, each email type, reminders, delivery and the cron URL.

The section is a :class:`hooks.Tab`; the admin Settings page shows it at
``/admin/settings/emails`` and passes GET and POST to :func:`render_settings`.
"""

from __future__ import annotations

import unicodedata
from datetime import timedelta
from pathlib import Path
from string import Formatter
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from markupsafe import Markup
from wtforms import (
    BooleanField,
    EmailField,
    Field,
    IntegerField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import URL, InputRequired, Length, NumberRange, Optional

from core.db import db, utcnow
from core.emails.models import EmailStatus
from core.emails.options import (
    MAX_ATTEMPTS_RANGE,
    REMINDER_DELAY_RANGE,
    cron_token,
    regenerate_cron_token,
)
from core.emails.outbox import InvalidAddress, queue_email, valid_address
from core.emails.render import external_url
from core.emails.types import REMINDER, all_email_types
from core.images import CONTENT_TYPES, ImageError, raster_kind, store
from core.sessions.models import CoachingSession
from core.settings import get_option, set_option
from core.worker.delivery import deliver_now
from core.worker.reminders import reminder_delay
from hooks import EmailType

LOGO_MAX_BYTES = 1024 * 1024
#: What mail clients show everywhere (WebP and SVG are not).
LOGO_KINDS = ("png", "jpg", "gif")


def web_address(form: FlaskForm, field: Field) -> None:
    if urlsplit(field.data or "").scheme not in {"http", "https"}:
        raise ValidationError(_("Use an address starting with https:// or http://."))


def single_line(form: FlaskForm, field: Field) -> None:
    """Email headers are one line: no line breaks, tabs or other control characters."""
    if any(unicodedata.category(char) in ("Cc", "Zl", "Zp") for char in field.data or ""):
        raise ValidationError(_("Keep this on one line, without line breaks or tabs."))


def subject_placeholders(form: FlaskForm, field: Field) -> None:
    """Braces must enclose a bare placeholder name, such as {session_date}.

    A format spec or conversion (``{site_name:>300000000}``, ``{site_name!r}``) is
    refused: subjects are filled with names only, never formatted.
    """
    try:
        fields = [parsed[1:] for parsed in Formatter().parse(field.data or "")]
    except ValueError:
        fields = [("?", "", None)]
    for name, spec, conversion in fields:
        if name is not None and not name.isidentifier():
            raise ValidationError(
                _("Braces must enclose a placeholder such as {session_date}; remove stray braces.")
            )
        if spec or conversion:
            raise ValidationError(
                _(
                    "Write placeholders bare, such as {%(name)s}: nothing may follow the name "
                    "inside the braces.",
                    name=name,
                )
            )


class EmailSettingsForm(FlaskForm):
    sender_name = StringField(
        _l("Sender name"),
        validators=[Optional(), Length(max=100), single_line],
        description=_l("Shown as the sender of every email. Empty: the site name."),
    )
    sender_address = EmailField(
        _l("Sender address"),
        validators=[Optional(), Length(max=254), valid_address],
        description=_l("Empty: the address of the server configuration (MAIL_FROM)."),
    )
    logo_url = StringField(
        _l("Logo URL"),
        validators=[Optional(), URL(require_tld=False), web_address, Length(max=500)],
        description=_l("An image at the top of every email. Or upload one below."),
    )
    logo_file = FileField(
        _l("Upload a logo"),
        description=_l("PNG, JPEG or GIF, at most 1 MB and 4000 × 4000 pixels."),
        render_kw={"accept": ",".join(CONTENT_TYPES[kind] for kind in LOGO_KINDS)},
    )
    signature = TextAreaField(
        _l("Signature"),
        validators=[Optional(), Length(max=1000)],
        description=_l("Closes every email. Empty: the sender name."),
    )
    reminders_enabled = BooleanField(_l("Send a reminder before each session"))
    reminder_delay_hours = IntegerField(
        _l("Hours before the session"),
        validators=[InputRequired(), NumberRange(*REMINDER_DELAY_RANGE)],
        description=_l("Between 1 and 168 (a week)."),
    )
    max_attempts = IntegerField(
        _l("Delivery attempts before giving up"),
        validators=[InputRequired(), NumberRange(*MAX_ATTEMPTS_RANGE)],
        description=_l("Retries wait longer each time (30 s, 1 min, 2 min… up to an hour)."),
    )


def _type_field_names(email_type: EmailType) -> tuple[str, str]:
    return f"type_{email_type.key}_enabled", f"type_{email_type.key}_subject"


def build_form_class(types: list[EmailType]) -> type[EmailSettingsForm]:
    """The form with an on/off switch and a subject field for each email type."""
    fields: dict[str, Any] = {}
    for email_type in types:
        enabled, subject = _type_field_names(email_type)
        fields[enabled] = BooleanField(_l("Send"))
        fields[subject] = StringField(
            _l("Subject"),
            validators=[Optional(), Length(max=200), single_line, subject_placeholders],
            render_kw={"placeholder": str(email_type.default_subject)},
        )
    return type("EmailSettingsFormWithTypes", (EmailSettingsForm,), fields)


def _initial(types: list[EmailType]) -> dict[str, Any]:
    stored = get_option("emails.types") or {}
    data: dict[str, Any] = {
        "sender_name": get_option("emails.sender_name"),
        "sender_address": get_option("emails.sender_address"),
        "logo_url": get_option("emails.logo_url"),
        "signature": get_option("emails.signature"),
        "reminders_enabled": get_option("emails.reminders_enabled"),
        "reminder_delay_hours": get_option("emails.reminder_delay_hours"),
        "max_attempts": get_option("emails.max_attempts"),
    }
    for email_type in types:
        enabled, subject = _type_field_names(email_type)
        own = stored.get(email_type.key) or {}
        data[enabled] = own.get("enabled", email_type.default_enabled)
        data[subject] = own.get("subject", "")
    return data


def logo_folder() -> Path:
    return Path(current_app.config["STORAGE_PATH"]) / "email-logos"


def _save_logo(form: EmailSettingsForm) -> str | None:
    """Store an uploaded logo; return its public URL, or None with an error on the field.

    Files are named by their content and never removed: emails already sent point to them.
    """
    data = form.logo_file.data.read(LOGO_MAX_BYTES + 1)
    if len(data) > LOGO_MAX_BYTES:
        form.logo_file.errors = [_("The logo is larger than 1 MB.")]
        return None
    try:
        kind = raster_kind(data, LOGO_KINDS)
    except ImageError as exc:
        form.logo_file.errors = [str(exc)]
        return None
    return external_url("emails.logo", name=store(logo_folder(), data, kind, "logo-").name)


def _save(form: EmailSettingsForm, types: list[EmailType]) -> bool:
    logo_url = form.logo_url.data or ""
    if form.logo_file.data:
        uploaded = _save_logo(form)
        if uploaded is None:
            return False
        logo_url = uploaded
    set_option("emails.sender_name", (form.sender_name.data or "").strip())
    set_option("emails.sender_address", (form.sender_address.data or "").strip())
    set_option("emails.logo_url", logo_url.strip())
    set_option("emails.signature", (form.signature.data or "").strip())
    set_option("emails.reminders_enabled", bool(form.reminders_enabled.data))
    set_option("emails.reminder_delay_hours", int(form.reminder_delay_hours.data or 24))
    set_option("emails.max_attempts", int(form.max_attempts.data or 8))
    per_type = dict(get_option("emails.types") or {})
    for email_type in types:
        enabled, subject = _type_field_names(email_type)
        per_type[email_type.key] = {
            "enabled": bool(form[enabled].data),
            "subject": (form[subject].data or "").strip(),
        }
    set_option("emails.types", per_type)
    db.commit()
    return True


def send_test_reminder() -> None:
    """Queue a reminder about a sample session to the signed-in admin, and try to send it now."""
    starts = (utcnow() + reminder_delay()).replace(minute=0, second=0, microsecond=0)
    sample = CoachingSession(
        title=_("Sample session"),
        starts_at=starts + timedelta(hours=1),
        duration_minutes=60,
        location=_("Your usual place"),
        coach_id=current_user.id,
        currency=get_option("general.currency"),
        schedule_revision=1,
    )
    try:
        row = queue_email(REMINDER, to=current_user, context={"is_test": True}, session=sample)
    except InvalidAddress as exc:
        flash(str(exc), "error")
        return
    if row is None:
        flash(_("The reminder email is switched off or was stopped by an add-on."), "warning")
        return
    db.commit()
    status, error = deliver_now(row.id)
    if status == EmailStatus.SENT:
        flash(_("Test reminder sent to %(address)s.", address=row.to_address), "success")
    else:
        flash(
            _(
                "The test reminder could not be sent yet (%(error)s). It stays in the outbox "
                "and will be retried.",
                error=error or "?",
            ),
            "warning",
        )


def render_settings() -> Markup | str | ResponseReturnValue:
    """GET shows the section; POST saves it, regenerates the cron secret or sends a test."""
    types = sorted(all_email_types().values(), key=lambda t: t.label)
    action = request.form.get("action", "save") if request.method == "POST" else None
    if action == "regenerate":
        regenerate_cron_token()
        db.commit()
        flash(_("A new cron URL was made; the old one no longer works."), "success")
        return redirect(request.url)
    if action == "test":
        send_test_reminder()
        return redirect(request.url)
    form_class = build_form_class(types)
    if action == "save":
        form = form_class(data=_initial(types))
        if form.validate() and _save(form, types):
            flash(_("Email settings saved."), "success")
            return redirect(request.url)
    else:
        form = form_class(formdata=None, data=_initial(types))
    rows = [(t, *(form[name] for name in _type_field_names(t))) for t in types]
    return render_template(
        "emails/settings.html",
        form=form,
        type_rows=rows,
        cron_url=external_url("emails.cron", token=cron_token()),
        outbox_url=url_for("emails.outbox"),
    )
