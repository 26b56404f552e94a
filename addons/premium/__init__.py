"""Premium: Stripe payments, refunds, payment emails and the license.

A bundled add-on like any third-party one: it imports ``hooks`` and ``core.api`` only,
and everything it adds goes through hooks. Its hook implementations live in the
sub-modules named below and are gathered here, where pluggy looks for them.
"""

from __future__ import annotations

TITLE = "Premium"
DESCRIPTION = "Online card payments with Stripe, refunds, payment emails."
CONTRACT = ">=1.0,<2"

from addons.premium.settings import (  # noqa: F401, E402  (hook implementations, found by pluggy)
    addon_status,
    capabilities,
    content_security_policy,
    register_cli_commands,
    settings_sections,
    template_folders,
)
