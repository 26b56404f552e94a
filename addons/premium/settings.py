"""Settings → Premium: the license, the Stripe keys of each mode and the webhook to set up.

The tab (``/admin/settings/premium``) handles its own posts; the submit button's
``action`` says what to do: ``activate`` / ``verify`` / ``deactivate`` (license),
``save-stripe`` (mode and keys) or ``check`` (ask Stripe whether the key works).
Every post redirects back to the tab, except an invalid one, which changes nothing and
shows the form again with each field's error. Secrets are never sent back to the browser:
their fields stay empty ("keep") and show the last four characters.

Also here: the add-on's status on the Add-ons page, its Content-Security-Policy
addition, its capability, its CLI group and its template folder.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click
from flask import current_app, flash, has_request_context, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_date
from flask_wtf import FlaskForm
from wtforms import (
    Field,
    PasswordField,
    RadioField,
    SelectChoice,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from addons.premium import config, stripe_api
from addons.premium.i18n import _, _l, render_template
from addons.premium.license import MAX_KEY_CHARS, license_cli
from core import api
from hooks import AddonStatus, Tab, hookimpl

if TYPE_CHECKING:
    from core.api import User

log = logging.getLogger(__name__)

TAB_KEY = "premium"
KEY_NAMES = ("publishable_key", "secret_key", "webhook_secret")
SECRET_NAMES = config.SECRET_NAMES
MAX_STRIPE_KEY = 255
_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def settings_url() -> str:
    """The Premium tab of Settings (also outside a request, e.g. from the command line)."""
    if has_request_context():
        return url_for("admin.settings_page", key=TAB_KEY)
    return f"{str(current_app.config['BASE_URL']).rstrip('/')}/admin/settings/{TAB_KEY}"


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


# -- forms ------------------------------------------------------------------------------


class LicenseForm(FlaskForm):
    license_key = TextAreaField(
        _l("License key"),
        validators=[
            InputRequired(message=_l("Paste your license key first.")),
            Length(max=MAX_KEY_CHARS),
        ],
        filters=[_strip],
        description=_l("Paste the key you received with your purchase. It starts with CDPREM1."),
        render_kw={
            "rows": 3,
            "spellcheck": "false",
            "autocomplete": "off",
            "autocapitalize": "off",
            "class": "premium-key",
        },
    )


def _prefixed(name: str, mode: str) -> Callable[[FlaskForm, Field], None]:
    """A validator: the value (when given) is a Stripe key of this kind and this mode."""
    other = "live" if mode == "test" else "test"
    prefixes = {
        "publishable_key": (f"pk_{mode}_",),
        "secret_key": (f"sk_{mode}_", f"rk_{mode}_"),
        "webhook_secret": ("whsec_",),
    }[name]

    def check(form: FlaskForm, field: Field) -> None:
        value = field.data or ""
        if not value:
            return
        if name != "webhook_secret" and value.startswith(
            tuple(p.replace(f"_{mode}_", f"_{other}_") for p in prefixes)
        ):
            raise ValidationError(
                _(
                    "This is a key for %(other)s mode: enter it with the %(other)s mode keys.",
                    other=config.mode_label(other),
                )
            )
        if value.startswith(prefixes) and not set(value) <= _KEY_CHARS:
            raise ValidationError(
                _("A Stripe key has only letters, digits and underscores: copy it again.")
            )
        if not value.startswith(prefixes):
            if name == "publishable_key":
                message = _("A publishable key starts with %(prefix)s.", prefix=prefixes[0])
            elif name == "secret_key":
                message = _(
                    "A secret key starts with %(prefix)s (or %(restricted)s for a restricted key).",
                    prefix=prefixes[0],
                    restricted=prefixes[1],
                )
            else:
                message = _("A webhook signing secret starts with whsec_.")
            raise ValidationError(message)

    return check


FIELD_LABELS = {
    "publishable_key": _l("Publishable key"),
    "secret_key": _l("Secret key"),
    "webhook_secret": _l("Webhook signing secret"),
}


class StripeForm(FlaskForm):
    """Mode and keys; the key fields ``<mode>_<name>`` are added below for both modes."""

    mode = RadioField(
        _l("Mode"),
        choices=[
            SelectChoice("test", _l("Test: Stripe's test cards, no real money")),
            SelectChoice("live", _l("Live: real payments")),
        ],
        validators=[InputRequired()],
    )


for _mode in config.MODES:
    for _name in KEY_NAMES:
        _field_class = PasswordField if _name in SECRET_NAMES else StringField
        setattr(
            StripeForm,
            f"{_mode}_{_name}",
            _field_class(
                FIELD_LABELS[_name],
                validators=[Optional(), Length(max=MAX_STRIPE_KEY), _prefixed(_name, _mode)],
                filters=[_strip],
                render_kw={"spellcheck": "false", "autocapitalize": "off", "class": "premium-key"},
            ),
        )


def stripe_form(formdata: Any = None) -> StripeForm:
    """The Stripe form: publishable keys filled in; secrets empty with "•••• last 4" hints."""
    data: dict[str, Any] = {"mode": config.current_mode()}
    for mode in config.MODES:
        data[f"{mode}_publishable_key"] = api.get_option(config.option_key(mode, "publishable_key"))
    form = StripeForm(formdata=formdata, data=data)
    for mode in config.MODES:
        keys = config.stripe_keys(mode)
        publishable, secret, restricted = (f"{kind}_{mode}_" for kind in ("pk", "sk", "rk"))
        form[f"{mode}_publishable_key"].description = _(
            "Starts with %(prefix)s.", prefix=publishable
        )
        for name in SECRET_NAMES:
            field = form[f"{mode}_{name}"]
            stored = getattr(keys, name)
            field.render_kw = {
                **(field.render_kw or {}),
                "autocomplete": "new-password",  # never offer the admin's own password
                "placeholder": config.mask(stored),
            }
            if stored:
                field.description = _(
                    "Saved: %(masked)s. Leave empty to keep it.", masked=config.mask(stored)
                )
            elif name == "secret_key":
                field.description = _(
                    "Starts with %(prefix)s (or %(restricted)s for a restricted key).",
                    prefix=secret,
                    restricted=restricted,
                )
            else:
                field.description = _("From the webhook endpoint in Stripe (see Webhook below).")
    return form


# -- actions ----------------------------------------------------------------------------


def _activate(form: LicenseForm) -> bool:
    """Save the key if it unlocks Premium on this site; else an error on the field."""
    if not form.validate():
        return False
    key = form.license_key.data or ""
    check = config.check_key(key)
    if not check.ok:
        form.license_key.errors = [config.license_message(check)]
        return False
    api.set_option(config.LICENSE_KEY, key)
    api.db.commit()
    flash(config.license_message(check), "success")
    return True


def _verify() -> None:
    check = config.license_check()
    flash(config.license_message(check), "success" if check.ok else "error")


def _deactivate() -> None:
    api.set_option(config.LICENSE_KEY, "")
    api.db.commit()
    flash(_("License deactivated: online payments are off until a license is activated."), "info")


def _save_stripe(form: StripeForm) -> bool:
    if not form.validate():
        return False
    api.set_option(config.MODE, form.mode.data)
    for mode in config.MODES:
        api.set_option(
            config.option_key(mode, "publishable_key"), form[f"{mode}_publishable_key"].data or ""
        )
        for name in SECRET_NAMES:
            value = form[f"{mode}_{name}"].data or ""
            if value:  # empty: keep what is stored
                config.set_secret(config.option_key(mode, name), value)
    api.db.commit()
    flash(_("Stripe settings saved."), "success")
    return True


def _check_connection() -> None:
    try:
        flash(stripe_api.check_connection(), "success")
    except stripe_api.StripeProblem as exc:
        flash(
            _("Connection to Stripe failed: %(message)s", message=exc.message),
            "error",
        )


def render_settings() -> ResponseReturnValue:
    action = request.form.get("action") if request.method == "POST" else None
    stored_key = api.get_option(config.LICENSE_KEY)
    license_form = LicenseForm(formdata=None, data={"license_key": stored_key})
    form = stripe_form()
    if action == "activate":
        license_form = LicenseForm()
        if _activate(license_form):
            return redirect(settings_url())
    elif action in ("verify", "deactivate", "check"):
        if FlaskForm().validate_on_submit():  # the CSRF token (the key field is not used)
            {"verify": _verify, "deactivate": _deactivate, "check": _check_connection}[action]()
        return redirect(settings_url())
    elif action == "save-stripe":
        form = stripe_form(request.form)
        if _save_stripe(form):
            return redirect(settings_url())
    elif action is not None:
        return redirect(settings_url())
    check = config.license_check()
    return render_template(
        "premium/settings.html",
        license_form=license_form,
        stripe_form=form,
        license_check=check,
        license_message=config.license_message(check),
        license_expires=format_date(check.license.expires, "long") if check.license else None,
        site=config.site_origin(),
        problems=config.problems(),
        mode=config.current_mode(),
        mode_label=config.mode_label(config.current_mode()),
        modes=[(m, config.mode_label(m)) for m in config.MODES],
        key_names=KEY_NAMES,
        webhook_url=config.webhook_url(),
        webhook_events=config.WEBHOOK_EVENTS,
        stripe_secret_set=bool(config.stripe_keys().secret_key),
    )


# -- hooks ------------------------------------------------------------------------------


@hookimpl
def settings_sections(user: User) -> list[Tab]:
    if user.role != api.Role.ADMIN:
        return []
    return [Tab(TAB_KEY, _("Premium"), render_settings, order=50)]


@hookimpl
def addon_status() -> AddonStatus:
    found = config.problems()
    if not found:
        mode = config.mode_label(config.current_mode())
        return AddonStatus("ok", _("Ready to take payments (%(mode)s mode)", mode=mode))
    return AddonStatus("warning", found[0], settings_url(), _("Open settings"))


@hookimpl
def content_security_policy() -> dict[str, list[str]]:
    """Stripe's hosted page in form-action, only while payments can start."""
    if not config.is_ready():
        return {}
    return {"form-action": [config.checkout_origin()]}


@hookimpl
def register_cli_commands(cli: click.Group) -> None:
    cli.add_command(license_cli())
