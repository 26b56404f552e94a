"""URLs for the rows of long lists: ``url_for`` once per list, not once per row."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, url_for

#: Stands in for the row's id while the list's URL is built once.
_MARKER = 987_654_321


def url_pattern(endpoint: str, name: str, **values: Any) -> Callable[[int], str]:
    """``lambda id: url_for(endpoint, **{name: id}, **values)`` with ``url_for`` run once.

    The URL is built with a marker number for ``name`` (an integer part of the route, or
    of the query string) and each row's id is put in its place: a string join instead
    of a route build (endpoint, defaults, converters) per row. Should the marker not
    come out once and as is, every call goes through ``url_for``.
    """
    built = url_for(endpoint, **values, **{name: _MARKER})
    head, found, tail = built.partition(str(_MARKER))
    if not found or str(_MARKER) in tail:
        return lambda row_id: url_for(endpoint, **values, **{name: row_id})
    return lambda row_id: f"{head}{int(row_id)}{tail}"


def init_app(app: Flask) -> None:
    """``url_pattern`` for templates: ``{% set edit = url_pattern('x.edit', 'item_id') %}``
    before the loop, ``edit(item.id)`` in it."""
    app.jinja_env.globals["url_pattern"] = url_pattern
