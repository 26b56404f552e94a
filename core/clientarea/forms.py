"""Forms of the client's own profile."""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from core.emails.outbox import valid_address
from core.i18n import LANGUAGES


@cache
def _zones() -> tuple[SelectChoice, ...]:
    """Every region/city zone (read from disk once: listing them walks the tz database)."""
    names = sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc/"))
    return tuple(SelectChoice(z, z.replace("_", " ")) for z in names)


def timezone_choices(site_zone: str) -> list[SelectChoice]:
    """The site's zone (empty value) first, then every region/city zone."""
    first = SelectChoice("", str(_l("Same as the site (%(zone)s)", zone=site_zone)))
    return [first, *_zones()]


class ProfileForm(FlaskForm):
    first_name = StringField(_l("First name"), validators=[DataRequired(), Length(max=100)])
    last_name = StringField(_l("Last name"), validators=[DataRequired(), Length(max=100)])
    email = EmailField(
        _l("Email"),
        validators=[DataRequired(), Length(max=254), valid_address],
        description=_l(
            "You sign in with it and receive your session emails there. A new address is "
            "used once you confirm it from the email we send to it."
        ),
    )
    current_password = PasswordField(
        _l("Current password"),
        validators=[Optional(), Length(max=1024)],
        description=_l("Needed only to change your email."),
    )
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    timezone = SelectField(
        _l("Time zone"),
        validators=[Optional()],
        description=_l("Session times are shown in this time zone."),
    )
    locale = SelectField(
        _l("Language"),
        choices=[SelectChoice("", _l("Automatic (browser)"))]
        + [SelectChoice(code, name) for code, name in LANGUAGES.items()],
        validators=[Optional()],
    )


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=1024)])
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(max=1024)],
        description=_l("At least 10 characters; not your name or email."),
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The two passwords differ."))],
    )
