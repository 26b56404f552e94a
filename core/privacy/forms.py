"""The erasure confirmation: the administrator types the client's name."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import InputRequired, Length


class EraseForm(FlaskForm):
    confirm_name = StringField(
        _l("Type the client's full name to confirm"),
        validators=[InputRequired(), Length(max=210)],
        render_kw={"autocomplete": "off"},
    )
