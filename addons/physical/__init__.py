"""Physical: body measurements that the client and their coach follow over time.

A bundled add-on like any third-party one: it imports ``hooks`` and ``core.api`` only,
and everything it adds goes through hooks. Its hook implementations live in the
sub-modules named below and are gathered here, where pluggy looks for them.

What it brings: a "Physical" tab in the client area and on the client profile (latest
values, changes, charts, history, add/correct entries; staff also delete entries and
set targets), a CSV export for both, a statistics card with the latest weight (or the
first measure with data) and Settings → Physical (units, whether clients may enter
values, which measures show and in what order, custom measures). Its tables come from
its own migration branch ``physical``.

It requires Premium. The host's rule, kept as it is: Physical cannot be activated
while Premium is inactive (the message names Premium), and **Premium cannot be
deactivated while Physical is active** (the message says to deactivate Physical
first). Deactivate Physical, then Premium; reactivate Premium, then Physical. Should
Premium become inactive anyway (uninstalled, broken), Physical is treated as inactive
until it is back. In every case the measurements, targets and settings stay in the
database and show again once both are active.
"""

from __future__ import annotations

from addons.physical.i18n import translations

TITLE = "Physical"
DESCRIPTION = translations.lazy_gettext(
    "Body measurements over time for clients and coaches: charts, targets, export."
)
CONTRACT = ">=1.0,<2"
REQUIRES = ("premium",)

from flask import Flask  # noqa: E402

from addons.physical import options  # noqa: F401, E402 (declares the site options)
from addons.physical.blueprint import (  # noqa: F401, E402
    migration_folders,
    page_assets,
    register_blueprints,
    template_folders,
)
from addons.physical.cards import client_statistics_cards  # noqa: F401, E402
from addons.physical.export import export_client, export_mine  # noqa: F401, E402 (routes)
from addons.physical.measures import ensure_builtins  # noqa: E402
from addons.physical.privacy import personal_data_erase, personal_data_export  # noqa: F401, E402
from addons.physical.settings import settings_sections  # noqa: F401, E402
from addons.physical.tabs import client_area_tabs, client_profile_tabs  # noqa: F401, E402
from core import api  # noqa: E402
from hooks import hookimpl  # noqa: E402


@hookimpl
def addon_activated(app: Flask) -> None:
    """The built-in measures (on the first activation, and those a new version brings)."""
    ensure_builtins()
    api.db.commit()
