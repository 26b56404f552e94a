"""Physical's site options (Settings → Physical)."""

from __future__ import annotations

from addons.physical.units import System
from core import api

UNITS = "physical.units"
CLIENTS_CAN_EDIT = "physical.clients_can_edit"

api.define_option("physical", UNITS, System.METRIC.value)
api.define_option("physical", CLIENTS_CAN_EDIT, True)


def site_units() -> str:
    """The site's default units (what staff see and type in, and new clients' default)."""
    value = api.get_option(UNITS)
    return value if value in {s.value for s in System} else System.METRIC.value


def clients_can_edit() -> bool:
    return bool(api.get_option(CLIENTS_CAN_EDIT))
