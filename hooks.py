# Hook specifications declare signatures only: their bodies are empty on purpose.
# mypy: disable-error-code="empty-body"
"""The Coachdesk add-on contract.

An add-on is an importable module (or package) named in the ``coachdesk.addons``
entry-point group of an installed distribution::

    [options.entry_points]
    coachdesk.addons =
        reviews = coachdesk_reviews

The module implements any of the hooks below with ``@hookimpl``; it needs none of
them. Module attributes describe it:

``TITLE``        name shown on the Add-ons page (default: the entry-point name)
``DESCRIPTION``  one sentence shown under it; a lazy translation
                 (``translations.lazy_gettext("…")``) shows in the reader's language
``VERSION``      shown on the Add-ons page (default: the distribution's version)
``REQUIRES``     names of add-ons that must be active first, e.g. ``("premium",)``
``CONTRACT``     the range of this contract's versions it was written for, as a
                 PEP 440 specifier (``">=1.0,<2"``); activation outside it is refused.
                 Default: any 1.x. The running contract is :data:`CONTRACT_VERSION`.

What an add-on may import: this module, ``core.api`` (the public API of the core,
documented there) and third-party libraries. Everything else under ``core`` is
private and may change in any release.

Rules the host guarantees:

* Discovered is not active. Hooks of an add-on are called only while the site owner
  has it activated (Admin → Add-ons, or ``coachdesk addons activate NAME``), and
  only while every add-on in ``REQUIRES`` is active too. A change takes effect in
  every process on its next request.
* The hooks marked *installed* are the exception: they are called for every
  installed add-on at start-up, because Flask and Alembic need their answers
  before any request. What they register is hidden again (404, not listed) while
  the add-on is inactive.
* An add-on that fails to import, implements a hook this contract does not declare
  (a misspelt name), or raises inside a hook, is logged and reported on the Add-ons
  page; the call goes on without it and the site, the CLI and the worker keep working.
* A hook that raises leaves nothing half-done: the *event* hooks (``session_*``,
  ``payment_*``, ``before_email_queued``, ``email_queued``) run inside a database
  savepoint that is rolled back when they raise, and an email whose
  ``before_email_queued`` raised is queued exactly as it was before that add-on's hook.
* Keys are first come, first served: a tab, menu item, card, settings section, email
  type or capability whose key the core or an add-on activated earlier already uses is
  refused for the newcomer (left out and reported), never a silent hijack.
* Deactivating hides an add-on's features; its tables and data stay.
* The core registers its own tabs, menu entries, cards and email types through these
  same hooks: read ``core/*/plugin.py`` for worked examples.

Hooks that return lists may return ``None`` or an empty list to add nothing.
Ordering of tabs, menu items and cards is by their ``order`` field (lower first).
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click
    from flask import Blueprint, Flask
    from markupsafe import Markup
    from werkzeug.wrappers import Response

    from core.accounts.models import User
    from core.programs.models import Bundle
    from core.sessions.models import CoachingSession

PROJECT = "coachdesk"
#: The version of this contract. Minor versions only add; a major version may break.
CONTRACT_VERSION = "1.0"
hookspec = pluggy.HookspecMarker(PROJECT)
#: Decorate your hook implementations with this.
hookimpl = pluggy.HookimplMarker(PROJECT)


# --------------------------------------------------------------------------
# Values that hooks return
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Tab:
    """A tab of a tabbed page (client area, client profile, settings).

    ``render`` is called only for the tab being shown, inside the request, and may
    read ``flask.request`` (a tab can handle its own form posts: the tab's URL
    accepts POST). It returns HTML (a ``Markup`` or string, e.g. from
    ``render_template``) or a ``Response`` such as a redirect.
    """

    key: str  # URL segment; lower-case letters, digits and dashes
    label: str
    render: Callable[[], Markup | str | Response]
    order: int = 100
    badge: str | None = None  # a short count or flag shown beside the label


@dataclass(frozen=True)
class MenuItem:
    """An entry in the navigation bar."""

    key: str
    label: str
    url: str
    order: int = 100
    icon: str | None = None  # name of an icon of the default theme's sprite


@dataclass(frozen=True)
class StatCard:
    """A small figure with a label, shown in a row of cards."""

    key: str
    label: str
    value: str
    hint: str | None = None
    order: int = 100


@dataclass(frozen=True)
class EmailType:
    """A kind of email the site sends.

    Its templates are ``emails/<key>.html`` and ``emails/<key>.txt`` (a theme may
    override both). Each type gets an on/off switch and a subject field in
    Settings → Emails; ``default_subject`` is used until the site owner sets one and
    may use ``{placeholders}`` from the email's context (``site_name``,
    ``session_title``, ``session_date``, ``client_name``, ``coach_name`` …).
    """

    key: str
    label: str
    recipient: str  # "client", "coach", "admin" or "user": who it goes to, for the settings page
    default_subject: str
    description: str = ""
    default_enabled: bool = True


@dataclass(frozen=True)
class EmailParagraph:
    """A paragraph an add-on adds to an email's body (see ``email_context``)."""

    text: str
    link_url: str | None = None
    link_label: str | None = None


@dataclass
class OutgoingEmail:
    """An email about to be written to the outbox.

    ``before_email_queued`` receives it and may change it (``subject``,
    ``body_text``, ``body_html``), add to it (:meth:`add_attachment`,
    :meth:`append_line`) or stop it (:meth:`veto`). Nothing has been written yet.
    """

    email_type: str
    to_address: str
    subject: str
    body_text: str
    body_html: str | None = None
    to_name: str | None = None
    session_id: int | None = None
    user_id: int | None = None
    dedupe_key: str | None = None
    locale: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)
    vetoed_by: str | None = None

    def veto(self, reason: str) -> None:
        """Stop this email; ``reason`` is logged."""
        self.vetoed_by = reason

    def add_attachment(self, filename: str, content_type: str, data: bytes) -> None:
        self.attachments.append((filename, content_type, data))

    def append_line(self, text: str) -> None:
        """Add a paragraph at the end of both the text and the HTML body."""
        from markupsafe import escape

        self.body_text = f"{self.body_text.rstrip()}\n\n{text}\n"
        if self.body_html is not None:
            self.body_html = f"{self.body_html}<p>{escape(text)}</p>"


@dataclass(frozen=True)
class AddonStatus:
    """What an add-on wants the site owner to know, shown on its Add-ons card."""

    level: str  # "ok", "warning" or "error"
    message: str
    url: str | None = None  # e.g. the add-on's settings page
    link_label: str | None = None


@dataclass(frozen=True)
class Job:
    """Work the worker runs every ``every_seconds`` (in each worker process).

    ``run`` is called inside an app context with no request; it must be safe to run
    in several workers at once (claim rows, or make it idempotent). An exception is
    logged and reported, and the job runs again next time.
    """

    key: str
    every_seconds: int
    run: Callable[[], None]


@dataclass(frozen=True)
class Capability:
    """A permission an add-on introduces; it appears in Settings → Permissions.

    Administrators always have it; ``coach_default`` says whether coaches have it until
    the site owner changes it. Check it with ``core.api.has_capability``.
    """

    key: str
    label: str
    description: str = ""
    coach_default: bool = False


@dataclass(frozen=True)
class Asset:
    """A stylesheet or script added to every page's ``<head>`` (served by your blueprint)."""

    kind: str  # "css" or "js"
    url: str


class PaymentProvider(abc.ABC):
    """A way for a client to pay a session online (one class per provider).

    The host creates one instance per request. Keep state in site options or your
    own tables, never on the instance.
    """

    #: Stable identifier, stored on payments (``Payment.provider``).
    key: str = ""
    #: Shown to the client on the Pay button and on receipts.
    label: str = ""

    @abc.abstractmethod
    def is_ready(self) -> bool:
        """True when configured (keys present, license valid): buttons show only then."""

    @abc.abstractmethod
    def payment_button(self, session: CoachingSession, client: User) -> Markup | None:
        """HTML for the Pay button of one unpaid session, or None if it cannot be paid."""

    def refund(self, payment_id: int, amount: int, actor_id: int | None) -> None:
        """Give back ``amount`` (minor units) of a payment made through this provider.

        Called by the core when staff refund from a client's Finances tab (the core has
        checked who may, and that ``amount`` is no more than what is left). Make the
        refund at the provider, then record it with ``core.api.record_refund`` (the
        caller commits). Raise ``core.api.PaymentError`` with a message for the user when
        the provider refuses. The default says the provider cannot refund.
        """
        raise NotImplementedError(f"{self.key} cannot refund")


# --------------------------------------------------------------------------
# Lifecycle
# --------------------------------------------------------------------------


@hookspec
def app_startup(app: Flask) -> None:
    """*Installed.* Called once per process after the app is built, for every installed add-on.

    Register ``app.before_request`` functions, Jinja filters and the like here. Do
    not assume the add-on is active: check with ``core.api.is_active(NAME)``.

    Example: ``app.add_template_filter(stars, "stars")``.
    """


@hookspec
def addon_activated(app: Flask) -> None:
    """Called on one add-on only, right after the site owner activates it.

    Its migrations have already run. Create default site options here.

    Example: ``set_option("feedback.intro", "Tell us how it went.")`` then ``db.commit()``.
    """


@hookspec
def addon_deactivated(app: Flask) -> None:
    """Called on one add-on only, right after it is deactivated. Keep its data.

    Example: ``app.logger.info("feedback deactivated; its notes are kept")``.
    """


@hookspec(firstresult=True)
def addon_can_activate(app: Flask) -> str | None:
    """Called on one add-on only, before it is activated: return a reason to refuse.

    The reason is shown to the site owner as is; ``None`` lets activation go on.
    Example: ``return None if shutil.which("pdftoppm") else "install poppler-utils first"``.
    """


@hookspec(firstresult=True)
def addon_status() -> AddonStatus | None:
    """Called on one add-on only, for its card on the Add-ons page and ``addons doctor``.

    Example: ``AddonStatus("warning", "License missing", url_for("premium.settings"))``.
    """


@hookspec
def periodic_jobs() -> list[Job]:
    """Jobs the worker runs on a schedule while the add-on is active.

    Example: ``[Job("premium-expire", 3600, expire_stale_checkouts)]``.
    """


# --------------------------------------------------------------------------
# Code and files the add-on brings
# --------------------------------------------------------------------------


@hookspec
def register_blueprints() -> list[Blueprint]:
    """*Installed.* Blueprints (views, static files) to register at start-up.

    Every URL of these blueprints answers 404 while the add-on is inactive. A
    blueprint's ``static_folder`` is how an add-on serves its CSS, JS and images.

    Example: ``[Blueprint("feedback", __name__, url_prefix="/feedback", static_folder="static")]``.
    """


@hookspec
def template_folders() -> list[str | Path]:
    """Folders of Jinja templates, searched after the active theme and before the core.

    Use a sub-folder named after your add-on (``reviews/tab.html``) to avoid
    clashes; to override a core template, use its exact name.

    Example: ``[Path(__file__).parent / "templates"]``.
    """


@hookspec
def migration_folders() -> list[str | Path]:
    """*Installed.* Folders of Alembic revisions for the add-on's own tables.

    The add-on's revisions form their own branch: the first one has
    ``down_revision = None``, ``branch_labels = ("<addon name>",)`` and
    ``depends_on = None``; the host always brings the core to its head first, so
    core tables exist. ``coachdesk db upgrade`` applies every branch; activation
    applies the add-on's; ``coachdesk db revision --addon NAME`` writes a new one.
    Models subclass ``core.api.Base`` so that the schema check sees them.

    Example: ``[Path(__file__).parent / "migrations"]``.
    """


@hookspec
def register_cli_commands(cli: click.Group) -> None:
    """*Installed.* Add click commands or groups to the ``coachdesk`` command line.

    Run inside an app context; a command should refuse to act while the add-on is
    inactive (``core.api.is_active``).

    Example: ``cli.add_command(feedback_group)`` (a ``click.Group`` of your commands).
    """


# --------------------------------------------------------------------------
# Screens
# --------------------------------------------------------------------------


@hookspec
def content_security_policy() -> dict[str, list[str]]:
    """Sources to add to the Content-Security-Policy of every page, per directive.

    The core's policy is strict (``'self'`` only). A payment page on another host needs
    its origin in ``form-action`` (a form posted to your view is redirected there) and
    a payment script in ``script-src``/``frame-src``. ``'unsafe-inline'`` and
    ``'unsafe-eval'`` are refused. Example: ``{"form-action": ["https://checkout.stripe.com"]}``.
    """


@hookspec
def page_assets(user: User | None) -> list[Asset]:
    """Stylesheets and scripts for every page (``user`` is None when signed out).

    Example: ``[Asset("css", url_for("reviews.static", filename="reviews.css"))]``.
    """


@hookspec
def menu_items(user: User) -> list[MenuItem]:
    """Navigation entries for a signed-in user. Check ``user.role`` to target a role.

    Example: ``[MenuItem("feedback", _("Feedback"), url_for("feedback.index"))]``.
    """


@hookspec
def client_area_tabs(client: User) -> list[Tab]:
    """Tabs of the client area; each is served at ``/<client area slug>/<tab key>``.

    Example: ``[Tab("notes", _("My notes"), lambda: render_notes(client))]``.
    """


@hookspec
def client_profile_tabs(client: User, viewer: User) -> list[Tab]:
    """Tabs of a client's profile as seen by staff (``/customer/<id>/<tab key>``).

    ``viewer`` (coach or admin) has already been checked to reach ``client``.

    Example: ``[Tab("measures", _("Measures"), lambda: render_measures(client))]``.
    """


@hookspec
def client_finances_sections(client: User, viewer: User) -> list[Markup]:
    """HTML sections at the top of a client's Finances tab, as staff see it.

    ``viewer`` (coach or admin) has already been checked to reach ``client``; show only
    what they may see. The core's programs add one line per bundle here.

    Example: ``[Markup(render_template("loyalty/finances.html", points=points(client)))]``.
    """


@hookspec
def settings_sections(user: User) -> list[Tab]:
    """Tabs of the admin Settings page (``/admin/settings/<key>``); admins only.

    Example: ``[Tab("feedback", "Feedback", render_settings)]`` (it saves on POST).
    """


@hookspec
def session_editor_sections(session: CoachingSession | None, viewer: User) -> list[Tab]:
    """Extra sections below the coach's session editor (``session`` is None for a new one).

    ``render`` returns an HTML fragment shown in its own card; it may read
    ``flask.request`` but the editor's own form is posted to the core: give the
    section its own form and view. Example: a "Refund" section for a paid session.
    """


@hookspec
def capabilities() -> list[Capability]:
    """Permissions this add-on introduces (shown in Settings → Permissions).

    Example: ``[Capability("feedback.export", _("Export feedback"), coach_default=True)]``.
    """


@hookspec
def client_statistics_cards(client: User) -> list[StatCard]:
    """Figures shown above the client-area tabs.

    The site owner picks which keys show in Settings → General; new keys show by default.

    Example: ``[StatCard("notes", _("Notes"), str(count_notes(client)))]``.
    """


@hookspec
def coach_statistics_cards(viewer: User) -> list[StatCard]:
    """Figures on the coach home Statistics tab. ``viewer`` is a coach or an admin.

    Example: ``[StatCard("ratings", _("Average rating"), "4.6", hint=_("30 days"))]``.
    """


# --------------------------------------------------------------------------
# Session events (inside the transaction of the change: queue emails here)
# --------------------------------------------------------------------------


@hookspec
def session_created(session: CoachingSession, actor: User) -> None:
    """A session was just booked (flushed, not yet committed). ``actor`` booked it.

    Example: ``db.add(FeedbackRequest(session_id=session.id))`` (committed with the booking).
    """


@hookspec
def session_cancelled(session: CoachingSession, actor: User) -> None:
    """A session was just cancelled by ``actor`` (its client, its coach or an admin).

    Example: ``db.execute(delete(Reminder).where(Reminder.session_id == session.id))``.
    """


@hookspec
def session_paid(session: CoachingSession, payment_id: int) -> None:
    """A payment was just recorded and the session marked paid (manually or online).

    Example: ``db.add(LoyaltyPoint(client_id=session.client_id, payment_id=payment_id))``.
    """


@hookspec
def payment_refunded(session: CoachingSession, payment_id: int, refund_id: int) -> None:
    """A refund (full or partial) of one payment was just recorded (manually or online).

    Example: ``db.execute(delete(LoyaltyPoint).where(LoyaltyPoint.payment_id == payment_id))``.
    """


@hookspec
def payment_status_changed(session: CoachingSession, old: str, new: str) -> None:
    """A session's payment status just changed (``pending``, ``paid``, ``refunded``…).

    Called after ``session_paid`` or ``payment_refunded`` for the same change.

    Example: ``if new == "refunded": db.add(AccountingNote(session_id=session.id))``.
    """


# --------------------------------------------------------------------------
# Payments
# --------------------------------------------------------------------------


@hookspec
def payment_providers() -> list[type[PaymentProvider]]:
    """Payment-provider classes this add-on brings (see :class:`PaymentProvider`).

    Example: ``[BankTransferProvider]`` (a :class:`PaymentProvider` subclass).
    """


@hookspec
def session_payment_buttons(session: CoachingSession, client: User) -> list[Markup]:
    """Extra HTML buttons beside an unpaid session in the client area.

    Buttons of ready payment providers are added by the host already.

    Example: ``[Markup('<a class="button" href="{}">Pay by transfer</a>').format(url)]``.
    """


@hookspec
def client_payment_actions(client: User) -> list[Markup]:
    """Actions in the "Total due" card of the client's Payments tab.

    For what concerns everything the client owes rather than one session, e.g. a
    "Pay all" form. Return ``[]`` when there is nothing to offer.

    Example: ``[Markup(render_template("reviews/pay_all.html", client=client))]``.
    """


@hookspec
def bundle_payment_buttons(bundle: Bundle, client: User) -> list[Markup]:
    """Buttons that pay a whole bundle (a pack of sessions) online, for its client.

    Shown on the bundle in the client area (and in the Payments tab's "Total due" card)
    while the bundle has sessions left to pay. Pay exactly the bundle's unpaid sessions:
    ``core.api.bundle_unpaid_sessions(bundle)``, then ``record_online_payment`` with all of
    them under one provider reference.

    Example: ``[Markup(render_template("reviews/pay_bundle.html", bundle=bundle))]``.
    """


# --------------------------------------------------------------------------
# Emails
# --------------------------------------------------------------------------


@hookspec
def email_types() -> list[EmailType]:
    """Kinds of email this add-on sends (they get settings and templates like the core's).

    Example: ``[EmailType("feedback", _("Feedback"), "client", _("How was {session_title}?"))]``.
    """


@hookspec
def before_email_queued(email: OutgoingEmail) -> None:
    """Observe, change or veto an email before it is written to the outbox.

    Runs inside the transaction of the change that caused the email. Call
    ``email.veto("why")`` to stop it; change its fields or call
    ``email.add_attachment(...)`` / ``email.append_line(...)`` to add to it.

    Example: ``if email.email_type == "reminder": email.append_line(_("Bring water."))``.
    """


@hookspec
def email_context(email_type: str, recipient: User, context: dict[str, Any]) -> dict[str, Any]:
    """Extra values for an email's templates, before it is rendered.

    Return a dict merged into ``context``. Every core email prints the list
    ``extra_paragraphs`` (each an ``EmailParagraph``) in its body, so an add-on can
    add a "Pay online" link to a reminder.
    Example: ``{"extra_paragraphs": [*context.get("extra_paragraphs", []), EmailParagraph(...)]}``.
    """


@hookspec
def email_queued(email: OutgoingEmail) -> None:
    """Observe an email just written to the outbox (not called for vetoed ones).

    Example: ``log.info("queued %s to %s", email.email_type, email.to_address)``.
    """


# --------------------------------------------------------------------------
# Personal data (export and erasure, GDPR articles 15, 17 and 20)
# --------------------------------------------------------------------------


@hookspec
def personal_data_export(client: User) -> dict[str, Any] | None:
    """This add-on's data about ``client``, for the copy of their data they may ask for.

    Return a JSON-serialisable dict (strings, numbers, booleans, None, lists, dicts;
    dates as ISO 8601 strings), or None when you hold nothing about them. It appears in
    ``data.json`` under ``addons.<your add-on's name>`` (see docs/privacy.md); describe
    its fields in your own documentation. Staff-only notes may be left out.

    Example: ``{"measurements": [{"date": "2026-05-01", "weight_kg": 72.5}]}``.
    """


@hookspec
def personal_data_erase(client: User) -> str | None:
    """Erase or anonymise this add-on's data about ``client``: an administrator erases them.

    Runs inside the erasure's transaction, in a savepoint (a raise rolls back only your
    part and is reported in the audit log). Keep what a law obliges you to keep (money
    facts) but drop what identifies the person. Return a short summary for the audit
    log, or None when you held nothing.

    Example: ``n = delete_entries(client.id); return f"{n} measurement entries deleted"``.
    """
