"""Small helpers shared by several test modules (this module holds no test)."""

from __future__ import annotations

from typing import Any

from flask import Flask

from core.db import db
from core.settings import get_option, set_option
from tests.conftest import post


def upload(app: Flask, web: Any, url: str, data: dict[str, Any]) -> Any:
    """POST ``data`` as a multipart form (files as ``(stream, filename)``), CSRF token added."""
    return post(app, web, url, data, content_type="multipart/form-data")


def option(app: Flask, key: str) -> Any:
    """A site option as stored, read outside any request."""
    with app.app_context():
        return get_option(key)


def set_options(app: Flask, **values: Any) -> None:
    """Set site options and commit; keys use ``__`` for dots (``emails__max_attempts=2``)."""
    with app.app_context():
        for key, value in values.items():
            set_option(key.replace("__", "."), value)
        db.commit()
