"""Written for a contract this Coachdesk does not have yet."""

from __future__ import annotations

from hooks import MenuItem, hookimpl

TITLE = "From the future"
CONTRACT = ">=2.0,<3"


@hookimpl
def menu_items(user) -> list[MenuItem]:  # type: ignore[no-untyped-def]
    return [MenuItem("future", "Future", "/")]
