"""A strict local stand-in for Stripe's HTTP API, for tests that drive the official library.

Start it (``with StripeStandin() as standin:``, or the ``stripe_standin`` fixture from
``tests.stripe_standin.fixtures``) and point the library at it::

    client = stripe.StripeClient("sk_test_x", base_addresses={"api": standin.api_base},
                                 max_network_retries=0)     # or standin.client()

Covered: Checkout Sessions in payment mode (create, retrieve with expand, list, expire),
PaymentIntents, Charges, Refunds, Events, ``/v1/balance`` and ``/v1/account``; API keys,
idempotency keys, Stripe's error shapes; a hosted payment page at ``/pay/{session_id}``;
signed webhook delivery (``webhook_endpoint``, ``deliver``, ``wait_for_deliveries``).

``stripe_fixtures.json`` holds Stripe's own example objects, unchanged, from the
``openapi/fixtures3.json`` file of https://github.com/stripe/openapi (MIT licence, see
``stripe_fixtures.LICENSE``; snapshot of 2026-08-21).
"""

from .server import ApiError, Delivery, RecordedRequest, StripeStandin, format_amount

__all__ = ["ApiError", "Delivery", "RecordedRequest", "StripeStandin", "format_amount"]
