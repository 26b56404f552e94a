"""Small helpers shared by several test modules (this module holds no test)."""

from __future__ import annotations

import io
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from core.db import db
from core.settings import get_option, set_option
from tests.conftest import database_url_for, post


@contextmanager
def fresh_database_url(tmp_path: Path) -> Iterator[str]:
    """The URL of a brand-new, empty database of the kind the suite runs on, dropped after."""
    url = make_url(database_url_for(tmp_path))
    if url.get_backend_name() != "postgresql":
        yield url.set(database=str(tmp_path / "fresh.sqlite3")).render_as_string(False)
        return
    name = f"coachdesk_fresh_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


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


def charts(html: str) -> list[Any]:
    """Every chart of core/charts.py on a page, parsed (the figure's markup is well-formed XML)."""
    import re
    from xml.etree import ElementTree

    return [
        ElementTree.fromstring(figure)  # noqa: S314 (the markup is our own)
        for figure in re.findall(r'<figure class="chart .*?</figure>', html, flags=re.S)
    ]


def chart_rows(figure: Any) -> list[list[str]]:
    """The rows of a chart's data table, as the text of each cell (header cell first)."""
    import re

    return [
        [re.sub(r"[ \t\n]+", " ", " ".join(cell.itertext())).strip() for cell in row]
        for row in figure.iter("tr")
        if row.find("th[@scope='row']") is not None
    ]


def image_bytes(
    fmt: str = "PNG", size: tuple[int, int] = (48, 24), mode: str = "RGB", **params: Any
) -> bytes:
    """A real, complete image file made with Pillow (``params`` go to ``Image.save``)."""
    from PIL import Image

    out = io.BytesIO()
    colour = 1 if mode == "1" else (15, 118, 110)
    Image.new(mode, size, colour).save(out, fmt, **params)
    return out.getvalue()


#: The Redis database tests may empty (``.ci/run`` gives the PostgreSQL run another one).
REDIS_URL = os.environ.get("COACHDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def empty_redis() -> Any:
    """The tests' Redis database, emptied; the test is skipped without Redis, except in CI."""
    import pytest
    import redis

    store = redis.Redis.from_url(REDIS_URL)
    try:
        store.flushdb()
    except redis.ConnectionError:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no Redis at {REDIS_URL} (optional outside CI; .ci/run starts one)")
    return store


def sqlite_plans(app: Flask, browser: Any, *urls: str) -> list[tuple[str, str, str]]:
    """(url, statement, SQLite's plan joined by " | ") of every SELECT the pages ``urls``
    run, each page answering 200. Skips the test elsewhere: these tests pin plans SQLite
    chooses without statistics (sites never run ``ANALYZE``); PostgreSQL plans from its own.
    """
    import pytest
    from sqlalchemy import event

    from core.db import get_database

    if get_database(app).dialect != "sqlite":
        pytest.skip("SQLite's planner without statistics; PostgreSQL plans from its own")
    engine = get_database(app).engine
    executed: list[tuple[str, str, Any]] = []
    url = ""

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_a: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            executed.append((url, statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        for url in urls:
            assert browser.get(url).status_code == 200, url
    finally:
        event.remove(engine, "before_cursor_execute", record)
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        return [
            (
                page,
                statement,
                " | ".join(
                    r[-1] for r in raw.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
                ),
            )
            for page, statement, parameters in executed
        ]


def current_menu_entry(page: str) -> str:
    """The label of the menu entry marked current (the wide menu; the phone panel repeats it)."""
    found = set(re.findall(r'aria-current="page">(?:<svg.*?</svg>)?<span>([^<]+)</span>', page))
    assert len(found) == 1, found
    return found.pop()
