"""A small add-on that uses every hook family, so the tests can exercise the host.

It imports ``hooks`` and ``core.api`` only, as the contract asks of every add-on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from flask import Blueprint, request
from markupsafe import Markup
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from core import api
from hooks import (
    AddonStatus,
    Asset,
    Capability,
    EmailParagraph,
    EmailType,
    Job,
    MenuItem,
    OutgoingEmail,
    PaymentProvider,
    StatCard,
    Tab,
    hookimpl,
)

TITLE = "Test add-on"
DESCRIPTION = "Exercises every hook family."
CONTRACT = ">=1.0,<2"
HERE = Path(__file__).parent
#: Names of hooks that should raise (set by tests to check isolation).
FAIL_IN: set[str] = set()
#: Lifecycle and event calls received, in order.
EVENTS: list[str] = []
#: Set by tests: a reason for ``addon_can_activate`` to refuse activation.
VETO: list[str] = []
#: Set by tests: also offer items whose keys the core already uses (a hijack attempt).
HIJACK: list[bool] = []
translations = api.AddonTranslations(HERE / "translations")
_ = translations.gettext

api.define_option("testaddon", "testaddon.greeting", "Hello")


class TestaddonNote(api.Base):
    __tablename__ = "testaddon_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(200))


bp = Blueprint("testaddon", __name__, url_prefix="/testaddon", static_folder="static")


@bp.route("/hello")
@api.public
def hello() -> str:
    return translations.render_template(
        "testaddon/hello.html", notes=api.db.query(TestaddonNote).count()
    )


@bp.route("/notes", methods=["POST"])
@api.signed_in
def add_note() -> tuple[str, int]:
    api.db.add(TestaddonNote(text=request.form.get("text", "")))
    api.db.commit()
    return "created", 201


@bp.route("/export")
@api.staff_required
@api.capability_required("testaddon_export")
def export() -> str:
    """A page an add-on capability guards (the capability walk checks it)."""
    return f"notes: {api.db.query(TestaddonNote).count()}"


@bp.route("/signed", methods=["POST"])
@api.public
@api.csrf_exempt
def signed_webhook() -> tuple[str, int]:
    """A webhook: no CSRF token, its own check instead (here a fixed header)."""
    if request.headers.get("X-Test-Signature") != "ok":
        return "bad signature", 400
    return "accepted", 200


def _maybe_fail(hook: str) -> None:
    if hook in FAIL_IN:
        raise RuntimeError(f"testaddon fails in {hook} on purpose")


def _tab(html: str, hook: str) -> Any:
    def render() -> Markup:
        _maybe_fail(hook)
        return Markup(html)  # noqa: S704 (fixed test markup)

    return render


class TestPay(PaymentProvider):
    key = "testpay"
    label = "Test pay"

    def is_ready(self) -> bool:
        _maybe_fail("is_ready")
        return True

    def payment_button(self, session: Any, client: Any) -> Markup | None:
        _maybe_fail("payment_button")
        return Markup('<button class="btn" id="testpay-{}">Test pay</button>').format(session.id)


@hookimpl
def register_blueprints() -> list[Blueprint]:
    return [bp]


@hookimpl
def template_folders() -> list[Path]:
    return [HERE / "templates"]


@hookimpl
def migration_folders() -> list[Path]:
    return [HERE / "migrations"]


@hookimpl
def register_cli_commands(cli: click.Group) -> None:
    @cli.command("testaddon-hello")
    def hello_command() -> None:
        """Say hello from the test add-on."""
        if not api.is_active("testaddon"):
            raise click.ClickException("the testaddon add-on is not active")
        click.echo("hello from testaddon")


@hookimpl
def menu_items(user: api.User) -> list[MenuItem]:
    _maybe_fail("menu_items")
    items = [MenuItem("testaddon", "Test add-on", "/testaddon/hello", order=99)]
    if HIJACK and user.role == api.Role.ADMIN:
        items.append(MenuItem("admin-settings", "Hijacked", "/testaddon/hello"))
    return items


@hookimpl
def client_area_tabs(client: api.User) -> list[Tab]:
    _maybe_fail("client_area_tabs")
    tabs = [
        Tab(
            "extra",
            _("Extra"),
            _tab("<p id='testaddon-tab'>Extra tab body</p>", "tab_render"),
            order=90,
        )
    ]
    if HIJACK:
        tabs.append(Tab("sessions", "Hijacked", lambda: "<p id='hijacked'>mine now</p>"))
    return tabs


@hookimpl
def client_profile_tabs(client: api.User, viewer: api.User) -> list[Tab]:
    return [Tab("testaddon", "Test profile tab", _tab("<p id='testaddon-profile'>P</p>", "x"))]


@hookimpl
def client_statistics_cards(client: api.User) -> list[StatCard]:
    _maybe_fail("client_statistics_cards")
    return [StatCard("testaddon-card", "Test card", "42")]


@hookimpl
def coach_statistics_cards(viewer: api.User) -> list[StatCard]:
    return [StatCard("testaddon-coach-card", "Test coach card", "7")]


@hookimpl
def settings_sections(user: api.User) -> list[Tab]:
    greeting = api.get_option("testaddon.greeting")
    return [Tab("testaddon", "Test add-on", lambda: f"<p id='testaddon-settings'>{greeting}</p>")]


@hookimpl
def session_editor_sections(session: api.CoachingSession | None, viewer: api.User) -> list[Tab]:
    title = session.title if session is not None else "new"
    body = Markup("<p id='testaddon-editor'>Section for {}</p>").format(title)
    return [Tab("testaddon", "Test section", _tab(body, "editor_render"))]


@hookimpl
def capabilities() -> list[Capability]:
    caps = [Capability("testaddon_export", "Export test data", coach_default=True)]
    if HIJACK:
        caps.append(Capability("view_sessions", "Hijacked"))
    return caps


@hookimpl
def content_security_policy() -> dict[str, list[str]]:
    return {
        "form-action": ["https://pay.example.test"],
        "script-src": ["'unsafe-inline'"],  # refused by the host: no add-on opens inline script
    }


@hookimpl
def page_assets(user: api.User | None) -> list[Asset]:
    return [Asset("css", "/testaddon/static/testaddon.css")]


@hookimpl
def periodic_jobs() -> list[Job]:
    def tick() -> None:
        _maybe_fail("job")
        EVENTS.append("job")

    return [Job("testaddon-tick", 60, tick)]


@hookimpl
def payment_providers() -> list[type[PaymentProvider]]:
    return [TestPay]


@hookimpl
def email_types() -> list[EmailType]:
    return [EmailType("testaddon_note", "Test note", "client", "A note from {site_name}")]


@hookimpl
def email_context(email_type: str, recipient: api.User, context: dict[str, Any]) -> dict[str, Any]:
    _maybe_fail("email_context")
    if email_type != "reminder":
        return {}
    extra = EmailParagraph("Pay before you come:", "https://pay.example.test/x", "Pay online")
    return {"extra_paragraphs": [*context.get("extra_paragraphs", []), extra]}


@hookimpl
def before_email_queued(email: OutgoingEmail) -> None:
    email.subject = f"[test] {email.subject}"  # a change made before the failure below
    if "before_email_queued" in FAIL_IN:
        api.db.add(TestaddonNote(text="half-made"))
        api.db.flush()
        raise RuntimeError("testaddon fails in before_email_queued on purpose")


@hookimpl
def session_created(session: api.CoachingSession, actor: api.User) -> None:
    EVENTS.append(f"created {session.id}")


@hookimpl
def payment_refunded(session: api.CoachingSession, payment_id: int, refund_id: int) -> None:
    EVENTS.append(f"refunded {payment_id}")


@hookimpl
def payment_status_changed(session: api.CoachingSession, old: str, new: str) -> None:
    EVENTS.append(f"status {old}->{new}")


@hookimpl
def addon_status() -> AddonStatus:
    return AddonStatus("warning", "Test add-on needs a greeting", "/admin/settings/testaddon")


@hookimpl
def addon_can_activate(app: Any) -> str | None:
    _maybe_fail("addon_can_activate")
    return VETO[0] if VETO else None


@hookimpl
def addon_activated(app: Any) -> None:
    EVENTS.append("activated")


@hookimpl
def addon_deactivated(app: Any) -> None:
    EVENTS.append("deactivated")
