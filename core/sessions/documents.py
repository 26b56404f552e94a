"""PDF documents attached to sessions: validated on the way in, stored outside the web root.

A file is accepted only if its content is a PDF (not its name or declared type),
it fits the size limit (Settings, default 10 MB) and its name is a plain file
name. Anything refused leaves nothing on disk.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from flask import current_app
from flask_babel import gettext as _

from core.db import db
from core.sessions.models import CoachingSession, SessionDocument
from core.settings import define, get_option

define("uploads.max_mb", 10)
CHUNK = 64 * 1024
PDF_MAGIC = b"%PDF-"


class DocumentError(ValueError):
    """The upload was refused; the message says why, for the person who sent it."""


def storage_dir() -> Path:
    path = Path(current_app.config["STORAGE_PATH"]) / "documents"
    path.mkdir(parents=True, exist_ok=True)
    return path


def document_path(document: SessionDocument) -> Path:
    return storage_dir() / document.storage_name


def clean_filename(name: str | None) -> str:
    """The name as given, if it is a plain file name; refuse paths and control characters."""
    name = unicodedata.normalize("NFC", (name or "").strip())
    if not name:
        raise DocumentError(_("The file has no name."))
    if "/" in name or "\\" in name or name.startswith(".") or ".." in name:
        raise DocumentError(_("“%(name)s” is not a plain file name.", name=name))
    if any(unicodedata.category(c).startswith("C") for c in name) or len(name) > 200:
        raise DocumentError(_("The file name has characters that are not allowed."))
    if not name.lower().endswith(".pdf"):
        name += ".pdf"
    return name


@dataclass(frozen=True)
class StoredFile:
    """A PDF written to the storage folder, not yet attached to anything."""

    filename: str  # as shown and downloaded
    storage_name: str  # random, on disk
    size_bytes: int
    sha256: str


def store_pdf(stream: IO[bytes], filename: str | None) -> StoredFile:
    """Validate and write one PDF to the storage folder. Raises :class:`DocumentError`."""
    name = clean_filename(filename)
    limit = int(get_option("uploads.max_mb")) * 1024 * 1024
    target_dir = storage_dir()
    storage_name = secrets.token_hex(16) + ".pdf"
    temp = target_dir / f".{storage_name}.part"
    digest = hashlib.sha256()
    size = 0
    try:
        with temp.open("xb") as out:
            first = stream.read(CHUNK)
            if not first.startswith(PDF_MAGIC):
                raise DocumentError(_("“%(name)s” is not a PDF document.", name=name))
            chunk = first
            while chunk:
                size += len(chunk)
                if size > limit:
                    raise DocumentError(
                        _("“%(name)s” is larger than %(mb)s MB.", name=name, mb=limit // 2**20)
                    )
                digest.update(chunk)
                out.write(chunk)
                chunk = stream.read(CHUNK)
        os.replace(temp, target_dir / storage_name)
    finally:
        temp.unlink(missing_ok=True)
    return StoredFile(name, storage_name, size, digest.hexdigest())


def save_document(
    session: CoachingSession, stream: IO[bytes], filename: str | None, uploaded_by_id: int | None
) -> SessionDocument:
    """Validate and store one PDF; return its (flushed) row. Raises :class:`DocumentError`."""
    stored = store_pdf(stream, filename)
    document = SessionDocument(
        session_id=session.id,
        filename=stored.filename,
        storage_name=stored.storage_name,
        size_bytes=stored.size_bytes,
        sha256=stored.sha256,
        uploaded_by_id=uploaded_by_id,
    )
    db.add(document)
    db.flush()
    return document


def delete_document(document: SessionDocument) -> None:
    """Remove the row now and the file once the transaction commits."""
    path = document_path(document)
    db.delete(document)
    db.flush()
    unlink_after_commit(path)


def unlink_after_commit(path: Path) -> None:
    """Remove ``path`` once the current transaction commits (a rollback keeps the file)."""
    from sqlalchemy import event

    @event.listens_for(db._get_current_object(), "after_commit", once=True)  # type: ignore[attr-defined]
    def _remove_file(_session: object) -> None:
        path.unlink(missing_ok=True)
