"""The public API of the core: everything an add-on may use besides ``hooks``.

Import it as ``from core import api``. What is listed in ``__all__`` here keeps its
name and meaning for every 1.x version of the add-on contract
(``hooks.CONTRACT_VERSION``); everything else under ``core`` is private and may change
in any release. The bundled add-ons (Premium, Physical) use nothing else.

Groups:

* **Who may see what** — ``get_session_or_404``, ``get_client_or_404``,
  ``get_coach_or_404`` answer 404 (never 403: no existence leak) unless the viewer may
  reach the object; ``has_capability`` / ``require_capability`` check a permission
  (the core's or one an add-on declared with the ``capabilities`` hook), and
  ``capability_required(*keys)`` declares on a view the capabilities it needs (a test
  walks the URL map per capability and checks that coaches without it are refused).
* **Views** — every view declares who may open it with one of ``public``,
  ``signed_in``, ``client_required``, ``staff_required``, ``admin_required`` or
  ``roles_required(...)`` (a test walks the URL map and fails on a view without one).
  ``csrf_exempt`` is for webhooks whose body is signed by the sender, and for nothing
  else.
* **Money** — ``ensure_payable``, ``record_online_payment``, ``record_refund``,
  ``refundable_amount``, ``issue_receipt``; errors are ``PaymentError`` with a message
  for the user. Amounts are integers in the currency's minor unit; ``parse_amount``
  reads one a person typed ("45,50"), ``amount_field`` writes one into a form field.
  Staff refund any payment from the client's Finances tab: the core calls the
  payment's ``PaymentProvider.refund`` for an online one (capability
  ``refund_payments``).
* **Programs** — ``Bundle`` (a pack of sessions sold to one client for one total
  price; its sessions carry ``CoachingSession.bundle_id``), ``get_bundle_or_404`` (its
  coach, its client and admins reach it), ``bundle_unpaid_sessions`` (what paying the
  whole bundle pays, for the ``bundle_payment_buttons`` hook).
* **Emails** — ``queue_email`` writes an email of a registered type (``email_types``
  hook) to the outbox in the current transaction.
* **Site options** — ``define_option`` (at import time, keys prefixed with the add-on's
  name), ``get_option``, ``set_option`` (the caller commits).
* **Data** — ``Base`` for an add-on's models (its tables come from its own migration
  branch), ``db`` the request's SQLAlchemy session, ``utcnow``; the core models an add-on
  may read: ``User``, ``Role``, ``CoachingSession``, ``SessionStatus``,
  ``PaymentStatus``, ``Payment``, ``Refund``.
* **Add-ons and text** — ``is_active``, ``AddonTranslations`` (an add-on's own catalog),
  ``local_datetime`` and ``format_money`` for display in the site's zone and language.
* **Charts** — ``line_chart``, ``bar_chart``, ``donut_chart`` draw ``Series`` (or
  slices) as inline SVG in the theme's colours, without JavaScript, each with the same
  data as a table for screen readers and a "No data yet" state (``core/charts.py``).
"""

from __future__ import annotations

from typing import Any

from flask import abort

from core.accounts.access import (
    admin_required,
    client_required,
    get_client_or_404,
    public,
    roles_required,
    signed_in,
    staff_required,
)
from core.accounts.models import Role, User
from core.accounts.permissions import capability_required, has_capability, require_capability
from core.charts import Series, bar_chart, donut_chart, line_chart
from core.db import Base, db, utcnow
from core.emails.outbox import queue_email
from core.extensions import csrf
from core.i18n import amount_field, parse_amount
from core.i18n import money as format_money
from core.payments.models import Payment, Refund
from core.payments.receipts import issue_receipt
from core.payments.service import (
    PaymentError,
    ensure_payable,
    record_online_payment,
    record_refund,
    refundable_amount,
)
from core.plugins import is_active
from core.plugins.translations import AddonTranslations
from core.programs.access import get_bundle_or_404
from core.programs.models import Bundle
from core.programs.service import payable_sessions as bundle_unpaid_sessions
from core.sessions.access import get_session_or_404
from core.sessions.models import CoachingSession, PaymentStatus, SessionStatus
from core.settings import define, get_option, set_option

__all__ = [
    "AddonTranslations",
    "Base",
    "Bundle",
    "CoachingSession",
    "Payment",
    "PaymentError",
    "PaymentStatus",
    "Refund",
    "Role",
    "Series",
    "SessionStatus",
    "User",
    "admin_required",
    "amount_field",
    "bar_chart",
    "bundle_unpaid_sessions",
    "capability_required",
    "client_required",
    "csrf_exempt",
    "db",
    "define_option",
    "donut_chart",
    "ensure_payable",
    "format_money",
    "get_bundle_or_404",
    "get_client_or_404",
    "get_coach_or_404",
    "get_option",
    "get_session_or_404",
    "has_capability",
    "is_active",
    "issue_receipt",
    "line_chart",
    "local_datetime",
    "parse_amount",
    "public",
    "queue_email",
    "record_online_payment",
    "record_refund",
    "refundable_amount",
    "require_capability",
    "roles_required",
    "set_option",
    "signed_in",
    "staff_required",
    "utcnow",
]


def get_coach_or_404(viewer: User, coach_id: int) -> User:
    """The coach with this id if ``viewer`` may see them, else 404.

    Admins see every coach, a coach sees themself, a client sees the coaches they have
    a session with.
    """
    from sqlalchemy import exists

    coach = db.get(User, coach_id)
    if coach is None or coach.role != Role.COACH:
        abort(404)
    if viewer.role == Role.ADMIN or viewer.id == coach.id:
        return coach
    if viewer.role == Role.CLIENT and db.scalar(
        exists()
        .where(CoachingSession.coach_id == coach.id, CoachingSession.client_id == viewer.id)
        .select()
    ):
        return coach
    abort(404)


def csrf_exempt(view: Any) -> Any:
    """Exempt ``view`` from the CSRF check: only for a sender that signs its requests.

    The view must verify that signature on the raw body (``request.get_data()``) before
    it trusts anything, and answer 400 when it does not hold. The core leaves that body
    unparsed for it (``raw_body``), so the bytes are there to check.
    """
    view.raw_body = True
    return csrf.exempt(view)


def define_option(addon: str, key: str, default: Any) -> None:
    """Declare a site option of add-on ``addon``; ``key`` must start with ``"<addon>."``.

    A key already declared by the core or another add-on is refused (``ValueError``),
    which makes the newcomer fail to load with that message on the Add-ons page.
    """
    if not key.startswith(f"{addon}."):
        raise ValueError(f"option {key!r} of add-on {addon} must start with {addon + '.'!r}")
    define(key, default, owner=addon)


def local_datetime(instant: Any) -> Any:
    """A stored UTC instant in the site's time zone (for display and local dates)."""
    from core.i18n import local_time, site_timezone

    return local_time(instant, site_timezone())
