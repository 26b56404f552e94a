"""Rendering an email for its recipient: their language, their time zone, the site's branding.

The worker has no request, so nothing here relies on one: the language is forced
with ``flask_babel.force_locale``, instants are converted with zoneinfo
explicitly, and links are built from the configured ``BASE_URL``.
"""

from __future__ import annotations

import logging
import re
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time, get_timezone_name
from flask import current_app, g
from flask_babel import force_locale
from jinja2 import Environment, FileSystemLoader
from sqlalchemy import Select, select
from sqlalchemy import inspect as sa_inspect
from werkzeug.routing import MapAdapter

from core.accounts.models import Role, User
from core.db import db
from core.emails.options import custom_subject, sender
from core.emails.types import all_email_types
from core.i18n import LANGUAGES, local_time, money, site_timezone, zone
from core.plugins import call
from core.sessions.models import CoachingSession, SessionDocument, SessionLink
from core.settings import get_option
from hooks import EmailType

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    body_text: str
    body_html: str
    locale: str


def recipient_locale(user: User) -> str:
    """The profile language; when automatic, the one the browser used at the last sign-in."""
    for choice in (user.locale, user.last_locale):
        if choice in LANGUAGES:
            return str(choice)
    default = current_app.config.get("BABEL_DEFAULT_LOCALE", "en")
    return default if default in LANGUAGES else "en"


def recipient_zone(user: User) -> ZoneInfo:
    return zone(user.timezone) if user.timezone else site_timezone()


def _url_adapter() -> MapAdapter:
    base = urlsplit(current_app.config["BASE_URL"])
    return current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme
    )


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute URL on the configured BASE_URL (works without a request)."""
    return _url_adapter().build(endpoint, values, force_external=True)


class Lookups:
    """People and links that the emails of one batch show again and again, looked up once.

    Holding the people also keeps them in the session's identity map for the batch.
    """

    def __init__(self) -> None:
        self._users: dict[int, User | None] = {}
        self._children: dict[tuple[int, str], Sequence[Any]] = {}
        self._urls: dict[tuple[str, tuple[tuple[str, Any], ...]], str] = {}
        self._adapter: MapAdapter | None = None

    def user(self, user_id: int | None) -> User | None:
        if user_id is None:
            return None
        if user_id not in self._users:
            self._users[user_id] = db.get(User, user_id)
        return self._users[user_id]

    def children(
        self, session: CoachingSession, name: str, query: Callable[[], Select[Any]]
    ) -> Sequence[Any]:
        """A relationship of the session: as the caller preloaded it (a sweep uses
        selectinload), else read with ``query`` once for the batch."""
        loaded = sa_inspect(session).dict
        if name in loaded:
            return loaded[name]  # type: ignore[no-any-return]
        if (session.id, name) not in self._children:
            self._children[session.id, name] = db.scalars(query()).all()
        return self._children[session.id, name]

    def url(self, endpoint: str, **values: Any) -> str:
        """Like :func:`external_url`."""
        key = (endpoint, tuple(sorted(values.items())))
        if key not in self._urls:
            self._adapter = self._adapter or _url_adapter()
            self._urls[key] = self._adapter.build(endpoint, values, force_external=True)
        return self._urls[key]


class Formatter:
    """Dates, times and money in one recipient's language and time zone."""

    def __init__(self, locale: str, tz: ZoneInfo) -> None:
        self.locale = locale
        self.tz = tz
        #: Parsed once: babel would parse the name (and load its data) on every call.
        self._babel = Locale.parse(locale)
        #: A batch's sessions fall on few days: each day is formatted once per formatter.
        self._dates: dict[tuple[date, str], str] = {}

    def date(self, dt: datetime | None, fmt: str = "full") -> str:
        if dt is None:
            return ""
        day = local_time(dt, self.tz).date()
        if (day, fmt) not in self._dates:
            self._dates[day, fmt] = format_date(day, fmt, locale=self._babel)
        return self._dates[day, fmt]

    def time(self, dt: datetime | None, fmt: str = "short") -> str:
        if dt is None:
            return ""
        local = local_time(dt, self.tz)
        return format_time(local, fmt, tzinfo=local.tzinfo, locale=self._babel)

    def zone_name(self, dt: datetime) -> str:
        return get_timezone_name(local_time(dt, self.tz), locale=self._babel)


def session_context(
    session: CoachingSession, recipient: User, fmt: Formatter, lookups: Lookups
) -> dict[str, Any]:
    """What every session email may show. Coach notes are private and never included."""
    coach = lookups.user(session.coach_id)
    client = lookups.user(session.client_id)
    documents = lookups.children(
        session,
        "documents",
        lambda: (
            select(SessionDocument)
            .where(SessionDocument.session_id == session.id)
            .order_by(SessionDocument.id)
        ),
    )
    links = lookups.children(
        session,
        "links",
        lambda: (
            select(SessionLink)
            .where(SessionLink.session_id == session.id)
            .order_by(SessionLink.position, SessionLink.id)
        ),
    )
    if recipient.role == Role.CLIENT:
        session_url = lookups.url("clientarea.index")
    else:
        session_url = lookups.url("coach.home", open_session=session.id)
    return {
        "session": session,
        "session_title": session.title,
        "session_date": fmt.date(session.starts_at),
        "session_time": fmt.time(session.starts_at),
        "session_end_time": fmt.time(session.ends_at),
        "session_zone": fmt.zone_name(session.starts_at),
        "session_price": money(session.price_amount, session.currency)
        if session.price_amount
        else "",
        "location": session.location or "",
        "video_url": session.video_url or "",
        "duration": session.duration_minutes,
        "coach": coach,
        "coach_name": coach.sender_name if coach else "",
        "client": client,
        "client_name": client.full_name if client else "",
        "documents": [
            (d.filename, lookups.url("sessions.document", document_id=d.id)) for d in documents
        ],
        "links": [(link.label, link.url) for link in links],
        "session_url": session_url,
    }


def format_subject(template: str, context: Mapping[str, Any]) -> str:
    """Fill ``{name}`` placeholders with text or numbers; print everything else as typed.

    Nothing is ever formatted: a spec or conversion (``{site_name:>300000000}``,
    ``{x!r}``, which settings refuse but older rows or add-ons may hold), an attribute
    or index (``{recipient.password_hash}``) or an unknown name stays literal text. One
    line, at most 300 characters.
    """
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError:  # stray braces: the subject as typed
        fields = [(template, None, None, None)]
    parts: list[str] = []
    for literal, name, spec, conversion in fields:
        parts.append(literal)
        if name is None:
            continue
        value = context.get(name)
        if spec or conversion or not isinstance(value, str | int):
            conversion = f"!{conversion}" if conversion else ""
            parts.append("{" + name + conversion + (f":{spec}" if spec else "") + "}")
        else:
            parts.append(str(value))
    return " ".join("".join(parts).split())[:300]


def _environment(folders: list[Path]) -> Environment:
    """A Jinja environment reading exactly these folders, in order, kept for the app's life.

    Equivalent to the site's theme → add-ons → core loader for one resolved search
    path, but without re-resolving that path for every template of every email (the
    worker renders thousands per pass); a theme or add-on change gives another path.
    """
    key = tuple(str(p) for p in folders)
    environments: dict[tuple[str, ...], Environment] = current_app.extensions.setdefault(
        "coachdesk.emails.environments", {}
    )
    if key not in environments:
        # Edited files are read again when Flask would read a page template again (debug,
        # or TEMPLATES_AUTO_RELOAD): checking costs one stat() per template of each email.
        reload = current_app.config.get("TEMPLATES_AUTO_RELOAD")
        environments[key] = current_app.jinja_env.overlay(
            loader=FileSystemLoader(list(key)),
            auto_reload=current_app.debug if reload is None else bool(reload),
        )
    return environments[key]


def _search_path() -> tuple[list[Path], Path | None]:
    """(template folders, the active theme's folder or None), resolved once per app context."""
    if "_email_search_path" not in g:
        from core.themes import active_theme

        theme = active_theme()
        theme_folder = theme.templates if theme is not None else None
        folders = [Path(p) for p in current_app.jinja_env.loader.search_path()]  # type: ignore[union-attr]
        g._email_search_path = (folders, theme_folder)
    return g._email_search_path  # type: ignore[no-any-return]


def render_template_file(name: str, context: dict[str, Any]) -> str:
    """Render with the theme; if the theme's version fails, log it and use the core's."""
    folders, theme_folder = _search_path()
    try:
        return _environment(folders).get_template(name).render(context)
    except Exception:
        if theme_folder is None or not (theme_folder / "emails").is_dir():
            raise
        log.exception("theme email template %s failed; falling back to the core template", name)
        without_theme = [f for f in folders if f != theme_folder]
        return _environment(without_theme).get_template(name).render(context)


def _tidy(text: str) -> str:
    """Plain text without trailing spaces or runs of blank lines left by template logic."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"


class Renderer:
    """Renders the emails of one batch; what every email of the batch shares is read once.

    The worker renders thousands of reminders per pass. Site options, the sender, each
    language's email type and subject, each (language, zone) formatter, people and
    links are looked up once per renderer; the recipient, the session, the
    ``email_context`` hook and the templates are per email. A renderer lives for one
    batch (one transaction), so a setting changed meanwhile applies from the next one.
    """

    def __init__(self) -> None:
        self.lookups = Lookups()
        self._site: dict[str, Any] = {
            "site_name": get_option("general.site_name"),
            "base_url": current_app.config["BASE_URL"],
            "sender_name": parseaddr(sender())[0],
            "logo_url": get_option("emails.logo_url"),
            "signature": get_option("emails.signature"),
        }
        self._locales: dict[str, Locale] = {}
        self._formatters: dict[tuple[str, str | None], Formatter] = {}
        self._types: dict[tuple[str, str], tuple[EmailType, str]] = {}

    def _formatter(self, locale: str, to: User) -> Formatter:
        key = (locale, to.timezone)
        if key not in self._formatters:
            self._formatters[key] = Formatter(locale, recipient_zone(to))
        return self._formatters[key]

    def _email_type(self, email_type: EmailType, locale: str) -> tuple[EmailType, str]:
        """The type as declared in ``locale`` (labels, default subject) and its subject template.

        Called with ``locale`` forced.
        """
        key = (locale, email_type.key)
        if key not in self._types:
            declared = all_email_types().get(email_type.key, email_type)
            subject = custom_subject(declared) or str(declared.default_subject)
            self._types[key] = (declared, subject)
        return self._types[key]

    def render(
        self,
        email_type: EmailType,
        to: User,
        context: dict[str, Any],
        session: CoachingSession | None = None,
    ) -> RenderedEmail:
        """Subject, text and HTML of one email, in the recipient's language and time zone."""
        locale = recipient_locale(to)
        fmt = self._formatter(locale, to)
        if locale not in self._locales:
            self._locales[locale] = Locale.parse(locale)
        with force_locale(self._locales[locale]):
            # Labels and default subjects are built when asked for: ask in the recipient's
            # language.
            email_type, subject_template = self._email_type(email_type, locale)
            values: dict[str, Any] = {
                **self._site,
                "recipient": to,
                "recipient_name": to.first_name or to.full_name,
                "fmt": fmt,
                "email_type": email_type,
                "locale": locale,
            }
            if session is not None:
                values.update(session_context(session, to, fmt, self.lookups))
            values.update(context)
            for extra in call(
                "email_context", email_type=email_type.key, recipient=to, context=values
            ):
                values.update(extra)
            subject = format_subject(subject_template, values)
            values["subject"] = subject
            return RenderedEmail(
                subject=subject,
                body_text=_tidy(render_template_file(f"emails/{email_type.key}.txt", values)),
                body_html=render_template_file(f"emails/{email_type.key}.html", values),
                locale=locale,
            )
