"""Premium: Stripe payments, refunds, payment emails and the license.

A bundled add-on like any third-party one: it imports ``hooks`` and ``core.api`` only,
and everything it adds goes through hooks. Its hook implementations live in the
sub-modules named below and are gathered here, where pluggy looks for them.
"""

from __future__ import annotations

from addons.premium.i18n import translations

TITLE = "Premium"
DESCRIPTION = translations.lazy_gettext(
    "Online card payments with Stripe, refunds, payment emails."
)
CONTRACT = ">=1.0,<2"

from addons.premium.blueprint import (  # noqa: F401, E402
    migration_folders,
    page_assets,
    register_blueprints,
    template_folders,
)
from addons.premium.checkout import (  # noqa: F401, E402
    bundle_payment_buttons,
    client_payment_actions,
    payment_providers,
)
from addons.premium.emails import email_context, email_types  # noqa: F401, E402
from addons.premium.privacy import personal_data_erase, personal_data_export  # noqa: F401, E402
from addons.premium.refunds import client_profile_tabs, session_editor_sections  # noqa: F401, E402
from addons.premium.settings import (  # noqa: F401, E402
    addon_status,
    content_security_policy,
    register_cli_commands,
    settings_sections,
)
from addons.premium.webhooks import stripe_webhook  # noqa: F401, E402 (the webhook route)
