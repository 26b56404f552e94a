"""Forms of the client's own profile."""

from __future__ import annotations

from functools import cache

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from core.accounts.models import User
from core.coach.rows import FixedChoice, LongSelect
from core.emails.outbox import valid_address
from core.i18n import LANGUAGES, timezone_names
from core.validation import known_timezone, max_length


@cache
def _zones() -> tuple[FixedChoice, ...]:
    """Every region/city zone (read from disk once: listing them walks the tz database;
    each option's markup is escaped once too)."""
    names = sorted(z for z in timezone_names() if "/" in z and not z.startswith("Etc/"))
    return tuple(FixedChoice(z, z.replace("_", " ")) for z in names)


def timezone_choices(site_zone: str) -> list[SelectChoice]:
    """The site's zone (empty value) first, then every region/city zone."""
    first = SelectChoice("", str(_l("Same as the site (%(zone)s)", zone=site_zone)))
    return [first, *_zones()]


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class ProfileForm(FlaskForm):
    """Choices are checked as sent: blank means "automatic", anything else must be offered
    (no ``Optional()``, which would wave a blank-looking value through unchecked)."""

    first_name = StringField(
        _l("First name"), validators=[DataRequired(), max_length(User.first_name)]
    )
    last_name = StringField(
        _l("Last name"), validators=[DataRequired(), max_length(User.last_name)]
    )
    email = EmailField(
        _l("Email"),
        validators=[DataRequired(), max_length(User.email), valid_address],
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
    phone = StringField(_l("Phone"), validators=[Optional(), max_length(User.phone)])
    timezone = SelectField(
        _l("Time zone"),
        validators=[known_timezone],
        filters=[_strip],
        description=_l("Session times are shown in this time zone."),
        widget=LongSelect(),
    )
    locale = SelectField(
        _l("Language"),
        choices=[SelectChoice("", _l("Automatic (browser)"))]
        + [SelectChoice(code, name) for code, name in LANGUAGES.items()],
        filters=[_strip],
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
