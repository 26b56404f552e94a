"""The coach blueprint and the helpers its views share (routes live in one module per page)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, redirect, request
from werkzeug.wrappers import Response

from core.coach.rows import first_choice, option_tags, row_url

bp = Blueprint("coach", __name__)
F = TypeVar("F", bound=Callable[..., Any])


def slug_route(slug_key: str, suffix: str = "", **options: Any) -> Callable[[F], F]:
    """Register a view at a configurable front-page slug (``SLUGS[slug_key]`` + ``suffix``)."""

    def decorator(view: F) -> F:
        @bp.record_once
        def _register(state: Any) -> None:
            rule = "/" + state.app.config["SLUGS"][slug_key] + suffix
            state.add_url_rule(rule, view.__name__, view, **options)

        return view

    return decorator


def local_target(target: str | None) -> str | None:
    """``target`` if it is a path on this site (never an open redirect), else None."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc or "\\" in target else target


def back(default: str) -> Response:
    """Redirect to the form's ``next`` (a local path) or to ``default``."""
    return redirect(local_target(request.values.get("next")) or default)


@bp.app_template_global("coach_today_iso")
def today_iso() -> str:
    """Today in the site's zone (ISO), the default "paid on" date of payment forms."""
    from datetime import datetime

    from core.i18n import site_timezone

    return datetime.now(site_timezone()).date().isoformat()


bp.add_app_template_global(row_url, "row_url")
bp.add_app_template_global(option_tags, "option_tags")
bp.add_app_template_global(first_choice, "first_choice")
