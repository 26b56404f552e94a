"""The coach workspace's blueprint, with every page module's routes attached.

Pages: coach home (home.py), session editor (editor.py) and quick actions
(actions.py), calendar (calendar.py), my clients (clients.py), client profile
(profile.py).
"""

from __future__ import annotations

from core.coach import actions, calendar, clients, editor, home, profile  # noqa: F401 (routes)
from core.coach.blueprint import bp

__all__ = ["bp"]
