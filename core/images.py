"""Uploaded raster images, accepted only once they have been decoded in full.

A logo is drawn on every page, in every email and on receipts. Judging it by its
first bytes let through files that only start like a PNG (browsers, mail clients
and the PDF renderer then failed on them) and images whose pixels take gigabytes to
decode. Here the header is read first (Pillow opens lazily), the dimensions are
checked before any pixel is decoded, and only then is the whole image verified and
decoded. The file is stored as uploaded, named by its content and the format found.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from flask_babel import gettext as _
from PIL import Image

#: Largest width or height accepted (a logo is shown a few hundred pixels wide).
MAX_SIDE = 4000
#: Our kind (also the stored file's extension) → Pillow's format name.
PIL_FORMATS = {"png": "PNG", "jpg": "JPEG", "webp": "WEBP", "gif": "GIF"}
#: How each kind is named to the site owner.
KIND_LABELS = {"png": "PNG", "jpg": "JPEG", "webp": "WebP", "gif": "GIF", "svg": "SVG"}
CONTENT_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
    "svg": "image/svg+xml",
}


class ImageError(ValueError):
    """The upload is refused; the message is for the site owner."""


def kinds_label(kinds: Iterable[str]) -> str:
    """'PNG, JPEG or SVG', in the viewer's language."""
    labels = [KIND_LABELS[k] for k in kinds]
    if len(labels) == 1:
        return labels[0]
    return _("%(first)s or %(last)s", first=", ".join(labels[:-1]), last=labels[-1])


def wrong_kind(kinds: Iterable[str]) -> ImageError:
    return ImageError(_("The logo must be a %(kinds)s image.", kinds=kinds_label(kinds)))


def raster_kind(data: bytes, kinds: Iterable[str]) -> str:
    """The kind of ``data`` among ``kinds`` (raster ones), after decoding it whole.

    Raises :class:`ImageError` for anything else: another format, a damaged or
    truncated file, an animation, or more than :data:`MAX_SIDE` pixels a side.
    """
    allowed = {PIL_FORMATS[k]: k for k in kinds if k in PIL_FORMATS}
    kind = None
    try:
        # formats=: only the decoders asked for ever see the bytes.
        with Image.open(io.BytesIO(data), formats=list(allowed)) as image:
            width, height = image.size  # from the header: no pixel decoded yet
            if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
                raise ImageError(
                    _(
                        "The image is %(width)s × %(height)s pixels; at most %(max)s × %(max)s "
                        "are accepted.",
                        width=width,
                        height=height,
                        max=MAX_SIDE,
                    )
                )
            if getattr(image, "is_animated", False):
                raise ImageError(_("The logo must be a still image, not an animation."))
            kind = allowed[str(image.format)]
            image.verify()  # checksums and structure (PNG chunks' CRCs, for instance)
        with Image.open(io.BytesIO(data), formats=[PIL_FORMATS[kind]]) as image:
            image.load()  # every pixel, so that a truncated file fails here, not in a browser
    except ImageError:
        raise
    except Image.DecompressionBombError:  # far larger than MAX_SIDE: refused by the header
        raise ImageError(
            _(
                "The image has too many pixels; at most %(max)s × %(max)s are accepted.",
                max=MAX_SIDE,
            )
        ) from None
    except Exception as exc:  # any decoder failure means: not a usable image
        if kind is None:
            raise wrong_kind(kinds) from exc
        raise ImageError(
            _("This image is damaged or incomplete; save it again and upload the new file.")
        ) from exc
    return kind


def store(folder: Path, data: bytes, kind: str, prefix: str = "") -> Path:
    """Write ``data`` under a name made from its content, once; return the file's path.

    The same image always gets the same name, and a name never points to other bytes,
    so whatever refers to a name (a receipt, an email already sent) keeps its image.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{prefix}{hashlib.sha256(data).hexdigest()[:32]}.{kind}"
    if not path.exists():
        fd, partial = tempfile.mkstemp(dir=folder, prefix=".upload-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(partial, path)  # never a half-written image under its final name
    return path
