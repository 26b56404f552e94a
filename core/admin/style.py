"""Style: the site owner's colours, logo and sign-in page, applied to every page.

Colours become CSS custom properties in the ``style_vars`` block of base.html
(components derive every shade from them). Logos are validated by content,
stored in the instance storage under random names and served by a public route.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from flask import Blueprint, abort, current_app, send_from_directory, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from markupsafe import Markup
from wtforms import BooleanField, Field, StringField
from wtforms.validators import Length, Optional, Regexp, ValidationError

from core.accounts.access import public
from core.admin.blueprint import bp
from core.admin.settings import OptionForm, option_section, strip
from core.settings import define, get_option, set_option

COLOUR_OPTIONS = {"accent": "style.accent", "text": "style.text", "background": "style.background"}
#: CSS custom property each colour option sets (see core/static/css/coachdesk.css).
CSS_VARIABLES = {"accent": "--accent", "text": "--text", "background": "--bg"}
LOGO_OPTIONS = {"logo": "style.logo", "login_logo": "style.login_logo"}
for _key in (*COLOUR_OPTIONS.values(), *LOGO_OPTIONS.values(), "style.login_title"):
    define(_key, "")

LOGO_MAX_BYTES = 2 * 1024 * 1024
HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
STORED_NAME = re.compile(r"^[0-9a-f]{32}\.(png|jpg|svg)$")
CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "svg": "image/svg+xml"}
SVG_NAMESPACE = "{http://www.w3.org/2000/svg}"

branding = Blueprint("branding", __name__)
bp.record_once(lambda state: state.app.register_blueprint(branding))


# -- logos ------------------------------------------------------------------------


class LogoError(ValueError):
    """The uploaded image is refused; the message is for the site owner."""


def _safe_svg(data: bytes) -> bool:
    """A self-contained SVG: no DTD, scripts, event handlers, foreign content or external refs."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    if re.search(r"<!(DOCTYPE|ENTITY)", text, re.IGNORECASE):
        return False
    try:
        root = ElementTree.fromstring(text)  # noqa: S314 (no DTD, so no entity expansion)
    except ElementTree.ParseError:
        return False
    if root.tag not in ("svg", SVG_NAMESPACE + "svg"):
        return False
    for element in root.iter():
        tag = str(element.tag).rsplit("}", 1)[-1].lower()
        if tag in ("script", "foreignobject", "iframe", "embed", "object"):
            return False
        for name, value in element.attrib.items():
            local = name.rsplit("}", 1)[-1].lower()
            if local.startswith("on"):
                return False
            if local == "href" and not value.startswith(("#", "data:image/")):
                return False
    return True


def image_kind(data: bytes) -> str:
    """'png', 'jpg' or 'svg' from the bytes themselves (never the name). Raises LogoError."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<svg", b"<?xml", b"<!--")) and b"<svg" in data[:4096].lower():
        if _safe_svg(data):
            return "svg"
        raise LogoError(
            _("This SVG has scripts or external references; export it as a plain image.")
        )
    raise LogoError(_("The logo must be a PNG, JPEG or SVG image."))


def read_logo(stream: Any) -> tuple[bytes, str]:
    """The upload's bytes and kind, within the size limit. Raises LogoError."""
    data = stream.read(LOGO_MAX_BYTES + 1)
    if not data:
        raise LogoError(_("The file is empty."))
    if len(data) > LOGO_MAX_BYTES:
        raise LogoError(_("The logo is larger than %(mb)s MB.", mb=LOGO_MAX_BYTES // 2**20))
    return data, image_kind(data)


def branding_dir() -> Path:
    path = Path(current_app.config["STORAGE_PATH"]) / "branding"
    path.mkdir(parents=True, exist_ok=True)
    return path


def store_logo(data: bytes, kind: str) -> str:
    """Write the image under a new random name and return that name."""
    name = f"{secrets.token_hex(16)}.{kind}"
    (branding_dir() / name).write_bytes(data)
    return name


def remove_logo_file(name: str) -> None:
    if STORED_NAME.match(name or ""):
        (branding_dir() / name).unlink(missing_ok=True)


def logo_url(option: str) -> str | None:
    name = get_option(option)
    return url_for("branding.logo", name=name) if name else None


@branding.route("/branding/<name>")
@public
def logo(name: str) -> ResponseReturnValue:
    """A current logo. Old names 404; SVGs are sandboxed by their own CSP."""
    if not STORED_NAME.match(name) or name not in {get_option(k) for k in LOGO_OPTIONS.values()}:
        abort(404)
    response = send_from_directory(
        branding_dir(), name, mimetype=CONTENT_TYPES[name.rsplit(".", 1)[1]], max_age=31536000
    )
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    )
    return response


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
    site_logo = logo_url("style.logo")
    return {
        "style_css": style_css(),
        "site_logo_url": site_logo,
        "login_logo_url": logo_url("style.login_logo") or site_logo,
        "login_title": get_option("style.login_title"),
    }


# -- the Style settings tab ---------------------------------------------------------


def validate_logo(form: Any, field: Field) -> None:
    """Read and check an upload now, so that a refused file changes nothing."""
    field.image = None
    if field.data and getattr(field.data, "filename", ""):
        try:
            field.image = read_logo(field.data.stream)
        except LogoError as exc:
            raise ValidationError(str(exc)) from exc


def colour_field(label: Any) -> StringField:
    return StringField(
        label,
        validators=[
            Optional(),
            Regexp(HEX_COLOUR, message=_l("Use a colour such as #0f766e (# and six hex digits).")),
        ],
        filters=[lambda v: v.strip().lower() if isinstance(v, str) else v],
        description=_l("Leave empty to use the theme's colour."),
        render_kw={"placeholder": "#rrggbb", "maxlength": 7, "spellcheck": "false"},
    )


class StyleForm(OptionForm):
    OPTIONS = {**COLOUR_OPTIONS, "login_title": "style.login_title"}

    accent = colour_field(_l("Accent colour"))
    text = colour_field(_l("Text colour"))
    background = colour_field(_l("Background colour"))
    logo = FileField(
        _l("Logo"),
        validators=[validate_logo],
        description=_l("PNG, JPEG or SVG, 2 MB at most. Shown in the top bar."),
        render_kw={"accept": "image/png,image/jpeg,image/svg+xml"},
    )
    remove_logo = BooleanField(_l("Remove the logo"))
    login_logo = FileField(
        _l("Sign-in page logo"),
        validators=[validate_logo],
        description=_l("Defaults to the logo above."),
        render_kw={"accept": "image/png,image/jpeg,image/svg+xml"},
    )
    remove_login_logo = BooleanField(_l("Remove the sign-in page logo"))
    login_title = StringField(
        _l("Sign-in page title"),
        validators=[Optional(), Length(max=120)],
        filters=[strip],
        description=_l("Defaults to “Welcome back”."),
    )


def save_logos(form: OptionForm) -> None:
    """Store new logos, forget removed ones; old files are deleted."""
    for field_name, key in LOGO_OPTIONS.items():
        image = getattr(form[field_name], "image", None)
        if image is None and not form["remove_" + field_name].data:
            continue
        old = get_option(key)
        set_option(key, store_logo(*image) if image else "")
        remove_logo_file(old)


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
        template="admin/settings/style.html",
        after_save=save_logos,
    )
