"""Documents of programs: a template's default PDFs, and the copies sessions get.

Every session keeps its own document rows (so that removing a PDF from one session
leaves the others alone); their files are hard links to the same bytes where the
file system allows, copies elsewhere.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path
from typing import Any

from werkzeug.datastructures import FileStorage

from core.db import db
from core.programs.models import ProgramTemplate, TemplateDocument
from core.sessions.documents import (
    StoredFile,
    storage_dir,
    store_pdf,
    unlink_after_commit,
)
from core.sessions.models import CoachingSession, SessionDocument


def stored_path(storage_name: str) -> Path:
    return storage_dir() / storage_name


def clone_file(storage_name: str) -> str:
    """A new storage name holding the same bytes (a hard link, or a copy); returns it."""
    new_name = secrets.token_hex(16) + ".pdf"
    source, target = stored_path(storage_name), stored_path(new_name)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
    return new_name


def store_uploads(uploads: list[FileStorage], written: list[Path]) -> list[StoredFile]:
    """Validate and store uploaded PDFs; every file written is appended to ``written``.

    Raises ``DocumentError`` at the first refused file (the caller removes ``written``).
    """
    stored = []
    for upload in uploads:
        item = store_pdf(upload.stream, upload.filename)
        written.append(stored_path(item.storage_name))
        stored.append(item)
    return stored


Document = StoredFile | TemplateDocument | SessionDocument


def entry_of(item: Document, storage_name: str | None = None) -> dict[str, Any]:
    """A stored PDF as the wizard keeps it in its draft (JSON), optionally under another name."""
    return {
        "filename": item.filename,
        "storage_name": storage_name or item.storage_name,
        "size_bytes": item.size_bytes,
        "sha256": item.sha256,
    }


def template_entries(
    template: ProgramTemplate, ids: set[int], written: list[Path]
) -> list[dict[str, Any]]:
    """Own copies of the template's documents ``ids``, as draft entries."""
    entries = []
    for document in template.documents:
        if document.id in ids:
            name = clone_file(document.storage_name)
            written.append(stored_path(name))
            entries.append(entry_of(document, name))
    return entries


def add_template_document(template: ProgramTemplate, item: StoredFile, actor_id: int) -> None:
    db.add(
        TemplateDocument(
            template_id=template.id,
            filename=item.filename,
            storage_name=item.storage_name,
            size_bytes=item.size_bytes,
            sha256=item.sha256,
            uploaded_by_id=actor_id,
        )
    )


def remove_template_document(document: TemplateDocument) -> None:
    """Delete the row now and the file once the transaction commits."""
    path = stored_path(document.storage_name)
    db.delete(document)
    unlink_after_commit(path)


def attach_copies(
    session: CoachingSession, entries: list[dict[str, Any]], actor_id: int, written: list[Path]
) -> None:
    """Give ``session`` its own copy of each document entry (files go to ``written``)."""
    for entry in entries:
        name = clone_file(entry["storage_name"])
        written.append(stored_path(name))
        db.add(
            SessionDocument(
                session_id=session.id,
                filename=entry["filename"],
                storage_name=name,
                size_bytes=entry["size_bytes"],
                sha256=entry["sha256"],
                uploaded_by_id=actor_id,
            )
        )


def roll_back(written: list[Path]) -> None:
    """Undo a refused change: roll the transaction back and remove the files it wrote."""
    db.rollback()
    for path in written:
        path.unlink(missing_ok=True)


def discard_entries(entries: list[dict[str, Any]]) -> None:
    """Remove draft files once the transaction commits (the draft no longer needs them)."""
    for entry in entries:
        unlink_after_commit(stored_path(entry["storage_name"]))
