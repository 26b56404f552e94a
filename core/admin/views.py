"""The site owner's admin. Each feature lives in its own module; importing it adds its routes."""

from __future__ import annotations

from core.admin import addons, dashboard, sessions, settings, setup, style, users  # noqa: F401
from core.admin.blueprint import bp

__all__ = ["bp"]
