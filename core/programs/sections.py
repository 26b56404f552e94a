"""What programs add to other pages, through hooks: the client profile's Programs tab, the
client area's My programs tab, a Finances section, a card in the session editor, the pay
actions of the Payments tab and Settings → Programs."""

from __future__ import annotations

from flask import render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import exists, select
from wtforms import RadioField
from wtforms.fields.choices import SelectChoice

from core.accounts.models import User
from core.admin.settings import OptionForm, option_section
from core.db import db, utcnow
from core.plugins import collect
from core.programs.emails import CONFIRMATION_MODES
from core.programs.models import Bundle
from core.programs.queries import client_bundles, progress_of, sessions_by_bundle
from core.sessions.models import CoachingSession


def profile_tab(client: User) -> str:
    """Staff: the client's bundles (running, then completed) and a New bundle button."""
    bundles = client_bundles(current_user, client.id)
    return render_template(
        "programs/profile_tab.html",
        client=client,
        bundles=bundles,
        progress=progress_of(bundles, utcnow()),
    )


def pay_buttons(bundle: Bundle, client: User) -> list[Markup]:
    """Online payment buttons add-ons offer for the whole bundle (``bundle_payment_buttons``)."""
    return [Markup(b) for b in collect("bundle_payment_buttons", bundle=bundle, client=client) if b]  # noqa: S704 (add-ons return HTML)


def client_tab() -> str:
    """The client: each of their bundles with its progress, money and sessions."""
    client: User = current_user._get_current_object()  # type: ignore[attr-defined]
    bundles = client_bundles(client, client.id)
    now = utcnow()
    return render_template(
        "programs/client_tab.html",
        client=client,
        bundles=bundles,
        progress=progress_of(bundles, now),
        sessions=sessions_by_bundle([b.id for b in bundles]),
        buttons={b.id: pay_buttons(b, client) for b in bundles},
        now=now,
    )


def has_bundles(client: User) -> bool:
    return bool(db.scalar(select(exists().where(Bundle.client_id == client.id))))


def payment_actions(client: User) -> list[Markup]:
    """Pay a whole bundle from the Payments tab's Total due card (when an add-on can)."""
    bundles = client_bundles(client, client.id)
    progress = progress_of(bundles, utcnow())
    return [button for b in bundles if progress[b.id].due for button in pay_buttons(b, client)]


def finances_section(client: User, viewer: User) -> Markup | None:
    """Staff: one line per bundle of the client, with its total, paid and due amounts."""
    bundles = client_bundles(viewer, client.id)
    if not bundles:
        return None
    return Markup(  # noqa: S704 (our own template, autoescaped)
        render_template(
            "programs/finances_section.html",
            bundles=bundles,
            progress=progress_of(bundles, utcnow()),
        )
    )


def editor_section(session: CoachingSession) -> str:
    """The session editor's card: which bundle the session is part of, and how it stands."""
    bundle = db.get(Bundle, session.bundle_id)
    if bundle is None:
        return ""
    return render_template(
        "programs/editor_section.html",
        bundle=bundle,
        progress=progress_of([bundle], utcnow())[bundle.id],
        url=url_for("programs.bundle", bundle_id=bundle.id),
    )


class ProgramsSettingsForm(OptionForm):
    OPTIONS = {"confirmation_mode": "programs.confirmation_mode"}

    confirmation_mode = RadioField(
        _l("Send confirmations of a bundle as"),
        choices=[
            SelectChoice(mode, label)  # type: ignore[arg-type]
            for mode, label in zip(
                CONFIRMATION_MODES,
                (
                    _l("One email listing all its scheduled sessions"),
                    _l("One booking confirmation per session"),
                ),
                strict=True,
            )
        ],
    )


def settings_section() -> object:
    return option_section(
        "programs",
        ProgramsSettingsForm(),
        [(_l("Confirmations"), None, ["confirmation_mode"])],
        intro=_(
            "Creating or editing a bundle never emails the client: the bundle page’s “Send "
            "confirmations” button does, in the way chosen here."
        ),
    )
