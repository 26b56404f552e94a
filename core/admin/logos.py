"""Uploaded images (site logo, sign-in logo, receipt logo): checked by content, stored, served.

Raster images are decoded in full before they are accepted (:mod:`core.images`);
SVG (site logos only) must be a self-contained drawing: no DTD, script, event
handler, foreign content or external reference, and it is served under a CSP that
forbids everything else. Files are named by their content, so a name always means
the same bytes; an option holds the name (or, for receipts, the absolute path the
PDF renderer reads). Only the images that options currently point to are served.
Replacing an image never removes a file an issued receipt prints (receipts freeze
the path), nor one another option still uses.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from flask import Blueprint, abort, current_app, send_from_directory, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf.file import FileField
from sqlalchemy import select
from wtforms import Field
from wtforms.validators import ValidationError

from core.accounts.access import public
from core.admin.blueprint import bp
from core.db import db
from core.images import CONTENT_TYPES, ImageError, raster_kind, store
from core.payments.models import Receipt
from core.settings import get_option, set_option

LOGO_MAX_BYTES = 2 * 1024 * 1024
STORED_NAME = re.compile(r"^[0-9a-f]{32}\.(png|jpg|webp|svg)$")
SVG_NAMESPACE = "{http://www.w3.org/2000/svg}"
#: Options whose image the public route serves.
SERVED_OPTIONS = ("style.logo", "style.login_logo", "receipts.logo")

branding = Blueprint("branding", __name__)
bp.record_once(lambda state: state.app.register_blueprint(branding))


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
            if local == "href" and not (value.startswith("#") or _safe_embedded(value)):
                return False
    return True


def _safe_embedded(uri: str) -> bool:
    """A ``data:`` raster image that passes the same checks as an uploaded one."""
    head, _comma, payload = uri.partition(",")
    if not head.startswith("data:image/") or not head.endswith(";base64"):
        return False
    try:
        data = base64.b64decode("".join(payload.split()), validate=True)
        raster_kind(data, ("png", "jpg", "webp", "gif"))
    except (binascii.Error, ImageError):
        return False
    return True


def image_kind(data: bytes, allowed: Iterable[str]) -> str:
    """'png', 'jpg', 'webp' or 'svg' from the bytes themselves (never the name).

    Raises :class:`ImageError`.
    """
    allowed = tuple(allowed)
    text_like = data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")  # rasters start in binary
    if "svg" in allowed and text_like and b"<svg" in data[:4096].lower():
        if not _safe_svg(data):
            raise ImageError(
                _("This SVG has scripts or external references; export it as a plain image.")
            )
        return "svg"
    return raster_kind(data, allowed)


def read_logo(stream: Any, allowed: Iterable[str]) -> tuple[bytes, str]:
    """The upload's bytes and kind, within the size limit. Raises :class:`ImageError`."""
    data = stream.read(LOGO_MAX_BYTES + 1)
    if not data:
        raise ImageError(_("The file is empty."))
    if len(data) > LOGO_MAX_BYTES:
        raise ImageError(_("The logo is larger than %(mb)s MB.", mb=LOGO_MAX_BYTES // 2**20))
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
            except ImageError as exc:
                raise ValidationError(str(exc)) from exc

    accept = ",".join(CONTENT_TYPES[k] for k in kinds)
    return FileField(
        label, validators=[validate], description=description, render_kw={"accept": accept}
    )


def replace_logo(form: Any, field_name: str, option: str, *, absolute: bool = False) -> None:
    """Store the field's new image (or forget it if ``remove_<field>`` is ticked) in ``option``.

    ``absolute`` stores the full path (what the receipt renderer reads) instead of the name.
    The previous file is removed only when nothing refers to it any more.
    """
    image = getattr(form[field_name], "image", None)
    remove = "remove_" + field_name
    if image is None and not (remove in form and form[remove].data):
        return
    old = stored_name(option)
    value = ""
    if image is not None:
        path = store(branding_dir(), *image)
        value = str(path) if absolute else path.name
    set_option(option, value)
    if STORED_NAME.match(old) and not _in_use(old):
        (branding_dir() / old).unlink(missing_ok=True)


def _in_use(name: str) -> bool:
    """Whether an option or an issued receipt (which froze the path) refers to file ``name``."""
    if name in {stored_name(key) for key in SERVED_OPTIONS}:
        return True
    frozen = Receipt.data[("business", "logo")].as_string()
    return db.scalar(select(Receipt.id).where(frozen.endswith("/" + name)).limit(1)) is not None


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
