"""url_pattern: the URLs url_for gives, built once for a whole list."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, url_for
from werkzeug.routing import MapAdapter

from core.urls import url_pattern


def test_url_pattern_gives_url_for_s_urls(app: Flask) -> None:
    with app.test_request_context():
        edit = url_pattern("coach.edit_session", "session_id")
        with_query = url_pattern("coach.edit_session", "session_id", next="/a b?c=1")
        by_query = url_pattern("admin.sessions", "coach", status="booked")
        for row_id in (1, 42, 987_654_321, 2_147_483_647):
            assert edit(row_id) == url_for("coach.edit_session", session_id=row_id)
            assert with_query(row_id) == url_for(
                "coach.edit_session", session_id=row_id, next="/a b?c=1"
            )
            assert by_query(row_id) == url_for("admin.sessions", status="booked", coach=row_id)


def test_a_list_of_urls_builds_one_route(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []
    original = MapAdapter.build

    def counting(self: MapAdapter, endpoint: str, *args: Any, **kwargs: Any) -> str:
        built.append(endpoint)
        return original(self, endpoint, *args, **kwargs)

    monkeypatch.setattr(MapAdapter, "build", counting)
    with app.test_request_context():
        edit = url_pattern("coach.edit_session", "session_id")
        urls = [edit(n) for n in range(100)]
    assert len(set(urls)) == 100
    assert built == ["coach.edit_session"]
