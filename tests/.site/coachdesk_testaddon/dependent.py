"""An add-on that requires the test add-on."""

from __future__ import annotations

from hooks import MenuItem, hookimpl

TITLE = "Dependent add-on"
REQUIRES = ("testaddon",)


@hookimpl
def menu_items(user) -> list[MenuItem]:  # type: ignore[no-untyped-def]
    return [MenuItem("dependent", "Dependent", "/testaddon/hello", order=98)]
