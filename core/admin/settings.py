"""Settings: a page of tabs, each a ``settings_sections`` hook result (core, emails, add-ons).

The core's own sections (General, Style, Permissions) are registered from
``core/admin/plugin.py`` like any add-on's. Each section handles its own GET and
POST; :func:`option_section` is the shared "form bound to site options" flow.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from babel.numbers import list_currencies
from flask import abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import (
    BooleanField,
    Field,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from core.accounts.access import admin_required
from core.accounts.permissions import CAPABILITIES, all_capabilities, coach_capabilities
from core.admin.blueprint import bp, choices
from core.admin.logos import logo_field, logo_url, replace_logo
from core.clientarea.cards import HIDDEN_CARDS, card_choices, set_hidden_cards
from core.coach.queries import ADMIN_SCOPES
from core.db import db
from core.i18n import timezone_names
from core.plugins import render_tab, tabs_from
from core.settings import get_option, set_option
from core.validation import known_timezone
from hooks import Tab

CANCELLATION_WINDOWS = (0, 12, 24, 48, 72)
#: Receipts are PDFs drawn by reportlab, which does not draw SVG.
RECEIPT_IMAGE_KINDS = ("png", "jpg")
#: Prefix of the General form's checkbox fields, one per client statistics card.
CARD_PREFIX = "card-"
#: A group of a settings form: (heading, help text or None, field names).
Group = tuple[Any, Any, Sequence[str]]


@dataclass(frozen=True)
class Preview:
    """Shown beside a settings field: the current image, or a colour swatch."""

    image_url: str | None = None
    colour: str | None = None


def sections() -> list[Tab]:
    return tabs_from("settings_sections", user=current_user)


@bp.route("/settings", methods=["GET", "POST"])
@bp.route("/settings/<key>", methods=["GET", "POST"])
@admin_required
def settings_page(key: str | None = None) -> ResponseReturnValue:
    tabs = sections()
    if not tabs:
        abort(404)
    if key is None:
        return redirect(url_for("admin.settings_page", key=tabs[0].key))
    tab, body = render_tab(tabs, key)
    if isinstance(body, Response):
        return body
    return render_template("admin/settings.html", sections=tabs, active=tab, body=body)


# -- the shared flow ------------------------------------------------------------


def validate_currency(form: FlaskForm, field: Field) -> None:
    if (field.data or "") not in list_currencies():
        raise ValidationError(
            _("“%(code)s” is not an ISO currency code (for example EUR).", code=field.data)
        )


def upper_strip(value: str | None) -> str | None:
    return value.strip().upper() if isinstance(value, str) else value


def strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class OptionForm(FlaskForm):
    """A form whose fields map to site options: ``OPTIONS`` maps field name → option key.

    Fields a subclass removes (``field = None``) are neither shown nor saved.
    """

    OPTIONS: dict[str, str] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "data" not in kwargs:
            kwargs["data"] = {f: get_option(k) for f, k in self.OPTIONS.items()}
        super().__init__(*args, **kwargs)

    def save(self) -> None:
        """Stage every option of the form (the caller commits)."""
        for name, key in self.OPTIONS.items():
            if name in self._fields:
                set_option(key, self[name].data)


def option_section(
    key: str,
    form: OptionForm,
    groups: Sequence[Group],
    *,
    intro: Any = None,
    previews: Callable[[OptionForm], dict[str, Preview]] | None = None,
) -> ResponseReturnValue:
    """GET shows the form; a valid POST saves, commits, flashes and redirects to the tab.

    An invalid POST changes nothing and shows the form again with each field's error.
    ``previews`` maps field names to what is shown beside them (a logo, a colour).
    """
    if form.validate_on_submit():
        form.save()
        db.commit()
        flash(_("Settings saved."), "success")
        return redirect(url_for("admin.settings_page", key=key))
    shown = [
        (title, help_text, [n for n in names if n in form]) for title, help_text, names in groups
    ]
    return render_template(
        "admin/settings/form.html",
        form=form,
        groups=[g for g in shown if g[2]],
        intro=intro,
        previews=previews(form) if previews else {},
    )


# -- General --------------------------------------------------------------------


def timezone_choices() -> list[SelectChoice]:
    return choices((name, name.replace("_", " ")) for name in sorted(timezone_names()))


class GeneralForm(OptionForm):
    OPTIONS = {
        "site_name": "general.site_name",
        "timezone": "general.timezone",
        "currency": "general.currency",
        "cancellation_window": "general.cancellation_window_hours",
        "admin_scope": "coach.admin_scope",
        "business_name": "receipts.business_name",
        "business_address": "receipts.business_address",
        "tax_id": "receipts.tax_id",
    }

    site_name = StringField(
        _l("Site name"), validators=[DataRequired(), Length(max=100)], filters=[strip]
    )
    timezone = SelectField(
        _l("Site time zone"),
        validators=[DataRequired(), known_timezone],
        validate_choice=False,
        description=_l("Session times, emails and reminders use it."),
    )
    currency = StringField(
        _l("Currency"),
        validators=[DataRequired(), validate_currency],
        filters=[upper_strip],
        description=_l("ISO code of the default price currency, for example EUR, CHF, USD."),
        render_kw={"maxlength": 3, "autocapitalize": "characters", "spellcheck": "false"},
    )
    cancellation_window = SelectField(
        _l("Cancellation window"),
        coerce=int,
        validators=[InputRequired()],
        choices=choices(
            [
                (0, _l("No limit")),
                *[(h, _l("%(num)s hours before", num=h)) for h in CANCELLATION_WINDOWS[1:]],
            ]
        ),
        description=_l("Clients can cancel a session themselves until this long before it."),
    )
    admin_scope = RadioField(
        _l("Coach home for administrators"),
        validators=[InputRequired()],
        choices=choices(
            zip(
                ADMIN_SCOPES,
                (_l("All sessions of the site"), _l("Only the sessions the administrator created")),
                strict=True,
            )
        ),
    )
    business_name = StringField(
        _l("Business name"), validators=[Optional(), Length(max=200)], filters=[strip]
    )
    business_address = TextAreaField(
        _l("Business address"),
        validators=[Optional(), Length(max=500)],
        filters=[strip],
        render_kw={"rows": 3},
    )
    tax_id = StringField(
        _l("Tax or company number"), validators=[Optional(), Length(max=100)], filters=[strip]
    )
    receipt_logo = logo_field(
        _l("Logo on receipts"),
        _l("PNG or JPEG, at most 2 MB and 4000 × 4000 pixels."),
        RECEIPT_IMAGE_KINDS,
    )
    remove_receipt_logo = BooleanField(_l("Remove the logo from receipts"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "timezone" in self:
            self.timezone.choices = timezone_choices()
        if "remove_receipt_logo" in self and not get_option("receipts.logo"):
            del self["remove_receipt_logo"]

    def save(self) -> None:
        super().save()
        if "receipt_logo" in self:
            replace_logo(self, "receipt_logo", "receipts.logo", absolute=True)
        boxes = {
            n.removeprefix(CARD_PREFIX): self[n].data
            for n in self._fields
            if n.startswith(CARD_PREFIX)
        }
        if boxes:
            # Cards of add-ons inactive right now are not on the form: keep their choice.
            kept = [key for key in get_option(HIDDEN_CARDS) if key not in boxes]
            set_hidden_cards(kept + [key for key, shown in boxes.items() if not shown])


def checkbox_form(base: type[OptionForm], boxes: dict[str, Any], checked: set[str]) -> Any:
    """An instance of ``base`` with one checkbox per ``boxes`` item (name → label)."""
    form_class = type(base.__name__, (base,), {n: BooleanField(lbl) for n, lbl in boxes.items()})
    data = {f: get_option(k) for f, k in base.OPTIONS.items()}
    data.update({name: name in checked for name in boxes})
    return form_class(data=data)


def general_form() -> GeneralForm:
    """The General form with a checkbox per statistics card the client area offers."""
    cards = card_choices(current_user)
    form: GeneralForm = checkbox_form(
        GeneralForm,
        {CARD_PREFIX + key: label for key, label, _shown in cards},
        {CARD_PREFIX + key for key, _label, shown in cards if shown},
    )
    return form


GENERAL_GROUPS: list[Group] = [
    (_l("Site"), None, ["site_name", "timezone", "currency", "cancellation_window"]),
    (_l("Coach home"), None, ["admin_scope"]),
    (
        _l("Business details"),
        _l("Printed on receipts."),
        ["business_name", "tax_id", "business_address", "receipt_logo", "remove_receipt_logo"],
    ),
]


def general_section() -> ResponseReturnValue:
    form = general_form()
    cards = [name for name in form._fields if name.startswith(CARD_PREFIX)]
    groups = [
        *GENERAL_GROUPS[:2],
        (
            _l("Client area"),
            _l("Figures shown above the client area's tabs. New cards show until you hide them."),
            cards,
        ),
        GENERAL_GROUPS[2],
    ]
    return option_section(
        "general",
        form,
        groups,
        previews=lambda f: {"receipt_logo": Preview(image_url=logo_url("receipts.logo"))},
    )


# -- Permissions ------------------------------------------------------------------


class PermissionsForm(OptionForm):
    """One checkbox per capability of the coach role (fields added per capability)."""

    def save(self) -> None:
        shown = list(all_capabilities())
        decided = set(get_option("permissions.decided")) | set(shown)
        kept = [c for c in get_option("permissions.coach") if c not in shown]  # inactive add-ons'
        set_option("permissions.coach", kept + [c for c in shown if self[c].data])
        set_option("permissions.decided", sorted(decided))


def permissions_form() -> PermissionsForm:
    labels = {key: cap.label for key, cap in all_capabilities().items()}
    form: PermissionsForm = checkbox_form(PermissionsForm, labels, coach_capabilities())
    return form


def permissions_section() -> ResponseReturnValue:
    core_keys = [k for k in all_capabilities() if k in CAPABILITIES]
    addon_keys = [k for k in all_capabilities() if k not in CAPABILITIES]
    groups: list[Group] = [(_l("What coaches may do"), None, core_keys)]
    if addon_keys:
        groups.append((_l("Add-ons"), _l("Capabilities that active add-ons bring."), addon_keys))
    return option_section(
        "permissions",
        permissions_form(),
        groups,
        intro=_l(
            "Administrators can do everything. A coach only ever reaches their own clients "
            "(assigned, or with a session with them) and their sessions."
        ),
    )
