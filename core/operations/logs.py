"""Logs: one request id per request, in every log line, a response header and error pages.

A client quotes the id shown on an error page ("Reference: …"); the operator finds
every line of that request with it. A sane incoming ``X-Request-ID`` (set by the
reverse proxy) is kept, so the proxy's logs and ours share it.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from typing import Any

from flask import Flask, g, has_request_context, request

HEADER = "X-Request-ID"
#: What an incoming id may look like: no spaces, quotes or control characters for the logs.
SANE_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


def request_id() -> str | None:
    """The current request's id, chosen on first use (None outside a request).

    Lazy rather than a ``before_request``: an error raised before our hook (a CSRF
    failure, an earlier hook) still gets an id on its page and in its log lines.
    """
    if not has_request_context():
        return None
    if "request_id" not in g:
        incoming = request.headers.get(HEADER, "")
        g.request_id = incoming if SANE_ID.fullmatch(incoming) else uuid.uuid4().hex
    return str(g.request_id)


class RequestIdFilter(logging.Filter):
    """Gives every record a ``request_id`` ("-" outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log collectors."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str, fmt: str) -> None:
    """Set up the root logger once per process, with request ids, as text or JSON."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    root.setLevel(level)
    formatter = JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT)
    for handler in root.handlers:
        if not any(isinstance(f, RequestIdFilter) for f in handler.filters):
            handler.addFilter(RequestIdFilter())
        if type(handler) is logging.StreamHandler:  # ours or basicConfig's, not a test's
            handler.setFormatter(formatter)


def init_app(app: Flask) -> None:
    @app.after_request
    def _send_request_id(response: Any) -> Any:
        response.headers[HEADER] = request_id()
        return response

    @app.context_processor
    def _request_id_context() -> dict[str, Any]:
        return {"request_id": request_id()}
