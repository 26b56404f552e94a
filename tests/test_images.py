"""Uploaded images are decoded in full, and size-checked from the header, before acceptance."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image

from core.images import MAX_SIDE, ImageError, raster_kind, store
from tests.helpers import image_bytes

LOGO_KINDS = ("png", "jpg", "webp")


def noisy_png(size: tuple[int, int] = (200, 200)) -> bytes:
    """A PNG whose pixel data is large (random pixels do not compress)."""
    out = io.BytesIO()
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize(("fmt", "kind"), [("PNG", "png"), ("JPEG", "jpg"), ("WEBP", "webp")])
def test_complete_images_are_accepted_with_the_kind_found(fmt: str, kind: str) -> None:
    assert raster_kind(image_bytes(fmt), LOGO_KINDS) == kind


def test_the_largest_accepted_side() -> None:
    assert raster_kind(image_bytes("PNG", (MAX_SIDE, 1), mode="1"), LOGO_KINDS) == "png"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "The logo must be a PNG, JPEG or WebP image."),
        (b"<html><script>alert(1)</script></html>", "must be a PNG, JPEG or WebP image"),
        (image_bytes("GIF"), "must be a PNG, JPEG or WebP image"),  # GIF not asked for
        (noisy_png()[:3000], "damaged or incomplete"),  # cut in the middle of the pixels
        (image_bytes("JPEG", (200, 200))[:-200], "damaged or incomplete"),
        (image_bytes("PNG", (15000, 15000), mode="1"), "too many pixels; at most 4000 × 4000"),
        (image_bytes("PNG", (4001, 10), mode="1"), "4001 × 10 pixels; at most 4000 × 4000"),
        (image_bytes("PNG", (10, 5000), mode="1"), "10 × 5000 pixels"),
    ],
)
def test_refused_images(data: bytes, message: str) -> None:
    with pytest.raises(ImageError, match=message):
        raster_kind(data, LOGO_KINDS)


def test_a_png_with_a_broken_checksum_is_refused() -> None:
    data = bytearray(noisy_png())
    data[60] ^= 0xFF  # inside the first IDAT chunk: its CRC no longer matches
    with pytest.raises(ImageError, match="damaged or incomplete"):
        raster_kind(bytes(data), LOGO_KINDS)


def test_animations_are_refused() -> None:
    frames = [Image.new("RGB", (20, 20), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, "PNG", save_all=True, append_images=frames[1:])
    with pytest.raises(ImageError, match="still image"):
        raster_kind(out.getvalue(), LOGO_KINDS)
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:])
    with pytest.raises(ImageError, match="still image"):
        raster_kind(out.getvalue(), ("gif",))
    assert raster_kind(image_bytes("GIF"), ("gif",)) == "gif"


def test_files_are_named_by_content_and_written_once(tmp_path: Path) -> None:
    first, other = image_bytes("PNG"), image_bytes("PNG", (10, 10))
    path = store(tmp_path / "logos", first, "png", "logo-")
    assert path.name.startswith("logo-") and path.suffix == ".png"
    assert path.read_bytes() == first
    assert store(tmp_path / "logos", first, "png", "logo-") == path
    assert store(tmp_path / "logos", other, "png", "logo-") != path
    assert sorted(p.name for p in (tmp_path / "logos").iterdir()) == sorted(
        [path.name, store(tmp_path / "logos", other, "png", "logo-").name]
    )  # no temporary file left behind
