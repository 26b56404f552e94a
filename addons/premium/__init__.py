"""Premium: Stripe payments, refunds, payment emails and the license.

A bundled add-on like any third-party one: it imports ``hooks`` and ``core.api`` only,
and everything it adds goes through hooks. Its hook implementations live in the
sub-modules named below and are gathered here, where pluggy looks for them.
"""

from __future__ import annotations

TITLE = "Premium"
DESCRIPTION = "Online card payments with Stripe, refunds, payment emails."
CONTRACT = ">=1.0,<2"

from addons.premium.config import capabilities  # noqa: F401, E402 (TEMP stub)
