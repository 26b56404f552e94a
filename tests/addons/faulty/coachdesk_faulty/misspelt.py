"""Implements a hook the contract does not declare (``client_area_tab``, singular)."""

from __future__ import annotations

from hooks import Tab, hookimpl

TITLE = "Misspelt"


@hookimpl
def client_area_tab(client) -> list[Tab]:  # type: ignore[no-untyped-def]
    return [Tab("misspelt", "Misspelt", lambda: "never shown")]
