"""Uploaded images (site logo, sign-in logo, receipt logo): checked by content, stored, served.

Files live in the instance storage under random names; an option holds the name
(or, for receipts, the absolute path the PDF renderer reads). Only the images
that options currently point to are served, by a public route.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from flask import Blueprint, abort, current_app, send_from_directory, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf.file import FileField
from wtforms import Field
from wtforms.validators import ValidationError

from core.accounts.access import public
from core.admin.blueprint import bp
from core.settings import get_option, set_option

LOGO_MAX_BYTES = 2 * 1024 * 1024
STORED_NAME = re.compile(r"^[0-9a-f]{32}\.(png|jpg|svg)$")
CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "svg": "image/svg+xml"}
SVG_NAMESPACE = "{http://www.w3.org/2000/svg}"
#: Options whose image the public route serves.
SERVED_OPTIONS = ("style.logo", "style.login_logo", "receipts.logo")

branding = Blueprint("branding", __name__)
bp.record_once(lambda state: state.app.register_blueprint(branding))


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


def image_kind(data: bytes, allowed: Iterable[str]) -> str:
    """'png', 'jpg' or 'svg' from the bytes themselves (never the name). Raises LogoError."""
    allowed = tuple(allowed)
    kind = None
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        kind = "png"
    elif data.startswith(b"\xff\xd8\xff"):
        kind = "jpg"
    elif b"<svg" in data[:4096].lower() and "svg" in allowed:
        if not _safe_svg(data):
            raise LogoError(
                _("This SVG has scripts or external references; export it as a plain image.")
            )
        kind = "svg"
    if kind not in allowed:
        if "svg" in allowed:
            raise LogoError(_("The logo must be a PNG, JPEG or SVG image."))
        raise LogoError(_("The logo must be a PNG or JPEG image."))
    return kind


def read_logo(stream: Any, allowed: Iterable[str]) -> tuple[bytes, str]:
    """The upload's bytes and kind, within the size limit. Raises LogoError."""
    data = stream.read(LOGO_MAX_BYTES + 1)
    if not data:
        raise LogoError(_("The file is empty."))
    if len(data) > LOGO_MAX_BYTES:
        raise LogoError(_("The logo is larger than %(mb)s MB.", mb=LOGO_MAX_BYTES // 2**20))
    return data, image_kind(data, allowed)


def branding_dir() -> Path:
    path = Path(current_app.config["STORAGE_PATH"]) / "branding"
    path.mkdir(parents=True, exist_ok=True)
    return path


def stored_name(option: str) -> str:
    """File name of the image an option points to ('' when none)."""
    return Path(get_option(option) or "").name


def logo_url(option: str) -> str | None:
    name = stored_name(option)
    return url_for("branding.logo", name=name) if STORED_NAME.match(name) else None


def logo_field(label: Any, description: Any, kinds: tuple[str, ...]) -> FileField:
    """A file input whose validator reads and checks the image (a refused file changes nothing)."""

    def validate(form: Any, field: Field) -> None:
        field.image = None
        if field.data and getattr(field.data, "filename", ""):
            try:
                field.image = read_logo(field.data.stream, kinds)
            except LogoError as exc:
                raise ValidationError(str(exc)) from exc

    accept = ",".join(CONTENT_TYPES[k] for k in kinds)
    return FileField(
        label, validators=[validate], description=description, render_kw={"accept": accept}
    )


def replace_logo(form: Any, field_name: str, option: str, *, absolute: bool = False) -> None:
    """Store the field's new image (or forget it if ``remove_<field>`` is ticked) in ``option``.

    ``absolute`` stores the full path (what the receipt renderer reads) instead of the name.
    """
    image = getattr(form[field_name], "image", None)
    remove = "remove_" + field_name
    if image is None and not (remove in form and form[remove].data):
        return
    old = stored_name(option)
    value = ""
    if image is not None:
        data, kind = image
        name = f"{secrets.token_hex(16)}.{kind}"
        (branding_dir() / name).write_bytes(data)
        value = str(branding_dir() / name) if absolute else name
    set_option(option, value)
    if STORED_NAME.match(old):
        (branding_dir() / old).unlink(missing_ok=True)


@branding.route("/branding/<name>")
@public
def logo(name: str) -> ResponseReturnValue:
    """A current logo. Old names 404; SVGs are sandboxed by their own CSP."""
    if not STORED_NAME.match(name) or name not in {stored_name(k) for k in SERVED_OPTIONS}:
        abort(404)
    response = send_from_directory(
        branding_dir(), name, mimetype=CONTENT_TYPES[name.rsplit(".", 1)[1]], max_age=31536000
    )
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    )
    return response
