"""Style: the site owner's colours, logo and sign-in page, applied to every page.

Colours become CSS custom properties in the ``style_vars`` block of base.html
(components derive every shade from them). Logos are validated by content,
stored in the instance storage under random names and served by a public route.
"""

from __future__ import annotations

import re
from typing import Any

from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from wtforms import BooleanField, StringField
from wtforms.validators import Length, Optional, Regexp

from core.admin.blueprint import bp
from core.admin.logos import logo_field, logo_url, replace_logo
from core.admin.settings import OptionForm, Preview, option_section, strip
from core.settings import define, derived, get_option

COLOUR_OPTIONS = {"accent": "style.accent", "text": "style.text", "background": "style.background"}
#: CSS custom property each colour option sets (see core/static/css/coachdesk.css).
CSS_VARIABLES = {"accent": "--accent", "text": "--text", "background": "--bg"}
LOGO_OPTIONS = {"logo": "style.logo", "login_logo": "style.login_logo"}
IMAGE_KINDS = ("png", "jpg", "webp", "svg")
for _key in (*COLOUR_OPTIONS.values(), *LOGO_OPTIONS.values(), "style.login_title"):
    define(_key, "")

HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


# -- colours ----------------------------------------------------------------------


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_colour(colour: str) -> str:
    """White or near-black, whichever reads better on ``colour`` (WCAG contrast ratio)."""
    lum = _luminance(colour)
    return "#ffffff" if (1.05 / (lum + 0.05)) >= ((lum + 0.05) / (0.0313 + 0.05)) else "#111827"


def style_css() -> Markup:
    """The <style> element overriding the theme's palette, or nothing when no colour is set."""
    rules = []
    for name, key in COLOUR_OPTIONS.items():
        value = get_option(key)
        if value and HEX_COLOUR.match(value):  # only validated values ever reach the page
            rules.append(f"{CSS_VARIABLES[name]}: {value.lower()};")
            if name == "accent":
                rules.append(f"--accent-contrast: {contrast_colour(value)};")
    if not rules:
        return Markup("")
    declarations = Markup(" ".join(rules))  # noqa: S704 (#rrggbb values checked above)
    return Markup("<style>:root { %s }</style>") % declarations


@bp.app_context_processor
def _style_context() -> dict[str, Any]:
    def compute() -> dict[str, Any]:
        site_logo = logo_url("style.logo")
        return {
            "style_css": style_css(),
            "site_logo_url": site_logo,
            "login_logo_url": logo_url("style.login_logo") or site_logo,
            "login_title": get_option("style.login_title"),
        }

    return derived("style_context", compute)


# -- the Style settings tab ---------------------------------------------------------


def colour_field(label: Any) -> StringField:
    return StringField(
        label,
        validators=[
            Optional(),
            Regexp(HEX_COLOUR, message=_l("Use a colour such as #0f766e (# and six hex digits).")),
        ],
        filters=[lambda v: v.strip().lower() if isinstance(v, str) else v],
        description=_l("Leave empty to use the theme's colour."),
        # data-colour: admin.js adds a colour picker that fills this field.
        render_kw={
            "placeholder": "#rrggbb",
            "maxlength": 7,
            "spellcheck": "false",
            "data-colour": _l("Pick a colour"),
        },
    )


class StyleForm(OptionForm):
    OPTIONS = {**COLOUR_OPTIONS, "login_title": "style.login_title"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field_name, key in LOGO_OPTIONS.items():
            if not get_option(key):  # nothing to remove
                del self["remove_" + field_name]

    def save(self) -> None:
        super().save()
        for field_name, key in LOGO_OPTIONS.items():
            replace_logo(self, field_name, key)

    accent = colour_field(_l("Accent colour"))
    text = colour_field(_l("Text colour"))
    background = colour_field(_l("Background colour"))
    logo = logo_field(
        _l("Logo"),
        _l("PNG, JPEG, WebP or SVG, at most 2 MB and 4000 × 4000 pixels. Shown in the top bar."),
        IMAGE_KINDS,
    )
    remove_logo = BooleanField(_l("Remove the logo"))
    login_logo = logo_field(_l("Sign-in page logo"), _l("Defaults to the logo above."), IMAGE_KINDS)
    remove_login_logo = BooleanField(_l("Remove the sign-in page logo"))
    login_title = StringField(
        _l("Sign-in page title"),
        validators=[Optional(), Length(max=120)],
        filters=[strip],
        description=_l("Defaults to “Welcome back”."),
    )


def style_previews(form: OptionForm) -> dict[str, Preview]:
    """Current logos, and a swatch per colour: the value typed or saved, else the theme's."""
    shown = {name: Preview(image_url=logo_url(key)) for name, key in LOGO_OPTIONS.items()}
    for name in COLOUR_OPTIONS:
        value = form[name].data
        valid = value and not form[name].errors and HEX_COLOUR.match(value)
        shown[name] = Preview(colour=value if valid else f"var({CSS_VARIABLES[name]})")
    return shown


def style_section() -> ResponseReturnValue:
    return option_section(
        "style",
        StyleForm(),
        [
            (
                _l("Colours"),
                _l("Every shade of the site derives from these."),
                list(COLOUR_OPTIONS),
            ),
            (_l("Logo"), None, ["logo", "remove_logo"]),
            (_l("Sign-in page"), None, ["login_logo", "remove_login_logo", "login_title"]),
        ],
        previews=style_previews,
    )
