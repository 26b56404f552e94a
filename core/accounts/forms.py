"""Sign-in and password forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from core.accounts.models import User
from core.validation import max_length


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), max_length(User.email)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


class SetPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=1024)])
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The two passwords differ."))],
    )


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), max_length(User.email)])


class ConfirmEmailForm(FlaskForm):
    """Confirm a new email address; the view drops the password when signed in as that user."""

    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


class CancelEmailChangeForm(FlaskForm):
    """Cancel a pending email change (a button: CSRF only)."""
