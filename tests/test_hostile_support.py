"""The hostile walker's parts: a scene, a crawler that reads links and forms, hostile values.

This module holds no test. ``tests/test_hostile_walk.py`` uses it to walk every route
of ``app.url_map`` and every form the pages show, for every role, with hostile values.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from flask import Flask
from flask.testing import FlaskClient
from hypothesis import strategies as st
from sqlalchemy import inspect, text
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter, Rule

from core.accounts.models import CoachClient, User, new_token
from core.accounts.tokens import make_password_token
from core.db import db, get_database, utcnow
from core.emails.accounts import send_password_reset
from core.emails.models import EmailStatus
from core.emails.options import cron_token
from core.payments.models import Payment
from core.payments.receipts import issue_receipt
from core.payments.service import record_payment
from core.plugins import get_host
from core.sessions.documents import save_document
from core.sessions.models import CoachingSession, SessionLink
from core.settings import set_option
from tests.conftest import login
from tests.test_coach_support import PDF

# -- hostile values -------------------------------------------------------------------

#: Canonical hostile values per kind of form control. Every one is tried on every field
#: of its kind; the Hypothesis strategies below start from them and add random ones.
NUL = "a\x00b"
TEXT = [
    NUL,
    "x" * 3000,
    " " * 300,
    "1e999999",
    "Zoë 🧘\u200d♀️ \u202egnp.exe <b>&amp;</b> ' OR 1=1 --",
]
NUMBERS = ["Infinity", "NaN", "sNaN", "1e309", "99999999999999999999", "-1"]
DATES = ["0001-01-01", "9999-12-31", "2201-01-01"]
TIMES = ["23:59", "24:00"]
CHOICES = [" " * 20, "not-a-choice", str(2**63)]
IDS = ["-1", str(2**63), "x"]
#: Ids in URL paths: just beyond PostgreSQL's integer, and beyond 64 bits.
PATH_IDS = [2**31, 10**30]
PATH_WORDS = ["\x00", "é" * 300, "../../etc/passwd"]
QUERY_VALUES = [NUL, *DATES[:2], "99999999999999999999", "x" * 3000]

KIND_VALUES: dict[str, list[str]] = {
    "text": TEXT,
    "hidden": TEXT[1:2] + IDS,
    "number": NUMBERS,
    "date": DATES,
    "time": TIMES,
    "choice": CHOICES,
}


def hostile_text() -> st.SearchStrategy[str]:
    """Any text a person or a script may send: the canonical values, then anything."""
    return st.one_of(
        st.sampled_from([v for values in KIND_VALUES.values() for v in values]),
        st.text(max_size=40),
        st.text(alphabet=st.characters(codec="utf-8"), min_size=250, max_size=600),
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.dates().map(lambda d: d.isoformat()),
        st.timezone_keys().map(lambda k: f" {k}" if len(k) % 2 else k),
    )


def hostile_value(kind: str) -> st.SearchStrategy[str]:
    """A hostile value for a control of this kind: mostly its own kind's, sometimes any."""
    return st.one_of(st.sampled_from(KIND_VALUES[kind]), hostile_text())


# -- the scene ------------------------------------------------------------------------

ROLES = ("anonymous", "client", "coach", "admin")


@dataclass
class Scene:
    """Ids of what every role may meet, and secrets no page links to."""

    users: dict[str, int] = field(default_factory=dict)
    sessions: list[int] = field(default_factory=list)
    payment_ids: list[int] = field(default_factory=list)
    document_ids: list[int] = field(default_factory=list)
    email_ids: list[int] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)

    def ids_for(self, argument: str) -> list[int]:
        """Real ids for a URL argument, by its name (unknown names: every id we have)."""
        known = {
            "session_id": self.sessions,
            "client_id": [self.users["client"]],
            "user_id": list(self.users.values()),
            "payment_id": self.payment_ids,
            "document_id": self.document_ids,
            "email_id": self.email_ids,
            "step": [1, 2, 3],
        }
        return known.get(argument) or [*self.sessions, *self.users.values()]


def _session(coach: int, client: int | None, starts: datetime, **fields: Any) -> CoachingSession:
    values: dict[str, Any] = {
        "coach_id": coach,
        "client_id": client,
        "title": "Mobility",
        "starts_at": starts,
        "duration_minutes": 60,
        "price_amount": 6000,
        "status": "booked" if client else "available",
        "created_by_id": coach,
    }
    values.update(fields)
    session = CoachingSession(**values)
    db.add(session)
    db.flush()
    return session


def build_scene(app: Flask, make_user: Callable[..., User]) -> Scene:
    """An admin, a coach and their client with sessions of every kind, documents, payments
    (manual and online), a receipt, a dead email, a calendar feed, and sessions stored at
    the edges of the calendar before dates were checked (they must still render)."""
    scene = Scene()
    for role in ROLES[1:]:
        scene.users[role] = make_user(role).id
    coach, client = scene.users["coach"], scene.users["client"]
    now = utcnow().replace(second=0, microsecond=0)
    with app.app_context():
        get_host(app).activate(app, "premium")
        get_host(app).activate(app, "testaddon")
        set_option("setup.completed", True)
        db.add(CoachClient(coach_id=coach, client_id=client))
        db.get(User, client).calendar_token = new_token()
        upcoming = _session(coach, client, now + timedelta(days=2))
        db.add(SessionLink(session_id=upcoming.id, label="Plan", url="https://example.com/x"))
        document = save_document(upcoming, io.BytesIO(PDF), "plan.pdf", coach)
        paid = _session(coach, client, now - timedelta(days=3), status="completed")
        record_payment(paid, method="cash", recorded_by_id=coach)
        issue_receipt(paid)
        online = _session(coach, client, now + timedelta(days=4))
        stripe = Payment(
            session_id=online.id,
            coach_id=online.coach_id,
            amount=6000,
            currency="EUR",
            method="card",
            paid_at=now,
            provider="stripe",
            provider_reference="pi_walker",
        )
        db.add(stripe)
        db.flush()
        online.payment_status = "paid"
        cancelled = _session(coach, client, now + timedelta(days=5), status="cancelled")
        slot = _session(coach, None, now + timedelta(days=6))
        far_end = _session(
            coach, client, datetime(9999, 12, 31, 22, 30, tzinfo=UTC), duration_minutes=1440
        )
        far_start = _session(coach, client, datetime(1, 1, 1, 0, 0, tzinfo=UTC))
        email = send_password_reset(db.get(User, client))
        assert email is not None
        email.status = EmailStatus.DEAD.value
        db.commit()
        scene.sessions = [
            s.id for s in (upcoming, paid, online, cancelled, slot, far_end, far_start)
        ]
        scene.payment_ids = [p.id for p in db.query(Payment).order_by(Payment.id)]
        scene.document_ids = [document.id]
        scene.email_ids = [email.id]
        scene.tokens = [
            str(db.get(User, client).calendar_token),
            make_password_token(db.get(User, client), "reset"),
            cron_token(),
        ]
    return scene


def signed_in(app: Flask, role: str, scene: Scene) -> FlaskClient:
    web = app.test_client()
    if role != "anonymous":
        with app.app_context():
            user = db.get(User, scene.users[role])
        response = login(app, web, user)  # type: ignore[arg-type]
        assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return web


# -- what a page offers: links and forms -----------------------------------------------


@dataclass
class Control:
    name: str
    kind: str  # text, hidden, number, date, time, choice
    value: str | None  # what the browser sends by default (None: nothing)


@dataclass
class Form:
    method: str
    action: str
    controls: list[Control]
    button: tuple[str, str] | None = None  # the named submit button pressed
    page: str = ""
    read_at: int = 0  # the walker's generation when its defaults were read

    @property
    def key(self) -> tuple[Any, ...]:
        return (self.method, self.action, tuple(sorted(c.name for c in self.controls)), self.button)

    def defaults(self) -> list[tuple[str, str]]:
        pairs = [(c.name, c.value) for c in self.controls if c.value is not None]
        if self.button:
            pairs.append(self.button)
        return pairs

    def fields(self) -> list[Control]:
        """What the walker tampers with: everything but the CSRF token."""
        return [c for c in self.controls if c.name != "csrf_token"]


INPUT_KINDS = {
    "hidden": "hidden",
    "number": "number",
    "range": "number",
    "date": "date",
    "time": "time",
    "checkbox": "choice",
    "radio": "choice",
}


class PageReader(HTMLParser):
    """Links (``href``) and forms of one HTML page, the way a browser would submit them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._buttons: list[tuple[str, str]] = []
        self._select: Control | None = None
        self._textarea: Control | None = None
        self._by_id: dict[str, Form] = {}
        self._outside: list[tuple[str, tuple[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        elif tag == "option" and self._select is not None:
            if self._select.value is None or "selected" in a:
                self._select.value = a.get("value", "")
        elif tag == "form":
            self._form = Form(a.get("method", "get").upper(), a.get("action", ""), [])
            self._buttons = []
            if a.get("id"):
                self._by_id[a["id"]] = self._form
        elif tag in ("button", "input") and "form" in a and "name" in a:
            # A submit button placed outside its form (``form="id"``): the editor's.
            if a.get("type", "submit") == "submit":
                self._outside.append((a["form"], (a["name"], a.get("value", ""))))
        elif self._form is None or "name" not in a:
            return
        elif tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image"):
                self._buttons.append((a["name"], a.get("value", "")))
            elif kind != "file":
                checked = kind not in ("checkbox", "radio") or "checked" in a
                value = a.get("value", "on" if kind == "checkbox" else "")
                existing = next((c for c in self._form.controls if c.name == a["name"]), None)
                if existing is not None and kind == "radio":  # one control per radio group
                    existing.value = value if checked else existing.value
                    return
                control = Control(a["name"], INPUT_KINDS.get(kind, "text"), None)
                control.value = value if checked else None
                self._form.controls.append(control)
        elif tag == "button" and a.get("type", "submit") == "submit":
            self._buttons.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select = Control(a["name"], "choice", None)
            self._form.controls.append(self._select)
        elif tag == "textarea":
            self._textarea = Control(a["name"], "text", "")
            self._form.controls.append(self._textarea)

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea.value = (self._textarea.value or "") + data

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form" and self._form is not None:
            for button in self._buttons or [None]:  # type: ignore[list-item]
                self.forms.append(
                    Form(self._form.method, self._form.action, self._form.controls, button)
                )
            self._form = None

    def close(self) -> None:
        super().close()
        for form_id, button in self._outside:
            if (form := self._by_id.get(form_id)) is not None:
                self.forms.append(Form(form.method, form.action, form.controls, button))


# -- the walk -------------------------------------------------------------------------


def is_refusal(web: FlaskClient, response: Any) -> bool:
    """The answer says no: an error status, the form again, or an error or warning message."""
    if response.status_code >= 400 or response.status_code == 200:
        return True
    with web.session_transaction() as session:
        flashes = session.get("_flashes", [])
    return any(category in ("error", "warning") for category, _message in flashes)


def fingerprint(app: Flask) -> str:
    """Every row of every table, hashed: equal fingerprints mean nothing was written."""
    engine = get_database(app).engine
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":  # hashed by the server
            # The catalog read directly: the inspector's query took 4 ms, half the hash's time.
            tables = conn.scalars(
                text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            ).all()
            parts = " UNION ALL ".join(
                f"SELECT '{t}' AS t, md5(coalesce(string_agg(x::text, ',' ORDER BY x::text), ''))"
                f' AS h FROM "{t}" x'
                for t in tables
            )
            return str(
                conn.scalar(text(f"SELECT md5(string_agg(t || h, '' ORDER BY t)) FROM ({parts}) s"))
            )
        digest = hashlib.sha256()
        for table in sorted(inspect(conn).get_table_names()):
            rows = conn.execute(text(f'SELECT * FROM "{table}"')).all()
            digest.update(table.encode())
            for row in sorted(repr(tuple(r)) for r in rows):
                digest.update(row.encode())
    return digest.hexdigest()


@dataclass
class Walker:
    """One role's client, the URLs it saw, the forms it was shown, and what went wrong."""

    app: Flask
    role: str
    web: FlaskClient
    scene: Scene
    seen: dict[str, list[str]] = field(default_factory=dict)  # endpoint → URLs fetched
    buckets: dict[tuple[str, Any], list[str]] = field(default_factory=dict)
    words: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # string arguments
    query_keys: set[str] = field(default_factory=lambda: set(COMMON_QUERY_KEYS))
    forms: dict[tuple[Any, ...], Form] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    failures: dict[str, tuple[str, int]] = field(default_factory=dict)
    requests: int = 0
    generation: int = 0  # goes up with every accepted write
    last_print: tuple[int, str] = (-1, "")  # (requests sent, fingerprint) when last taken

    # -- one request ------------------------------------------------------------------

    def send(self, method: str, url: str, data: Any = None) -> Any:
        """One request; a server error (or an exception escaping it) is recorded."""
        self.app.extensions["coachdesk.limiter"].reset()  # the walk is not an attack on login
        self.requests += 1
        try:
            response = self.web.open(url, method=method, data=MultiDict(data or []))
        except Exception as exc:
            self.problem(method, url, data, f"raised {exc!r}")
            return None
        health_check = response.status_code == 503 and url.split("?")[0] == "/healthz"
        if response.status_code >= 500 and not health_check:  # /healthz says 503 by design
            self.problem(method, url, data, f"answered {response.status_code}")
        return response

    def problem(self, method: str, url: str, data: Any, what: str) -> None:
        """Record a failure, once per page and kind (the first example, and how many)."""
        match = self.endpoint_of(url, method)
        key = f"{method} {match[0] if match else url}: {what}"
        example, seen = self.failures.get(key, (f"{url!r} {_short(data)}", 0))
        self.failures[key] = (example, seen + 1)
        self.problems.append(key)

    def report(self) -> str:
        return "\n".join(f"{n}× {key}\n    first: {ex}" for key, (ex, n) in self.failures.items())

    def endpoint_of(self, url: str, method: str = "GET") -> tuple[str, dict[str, Any]] | None:
        parts = urlsplit(url)
        adapter = self.app.url_map.bind("localhost")
        try:
            return adapter.match(parts.path, method=method)  # type: ignore[return-value]
        except HTTPException:
            return None
        except Exception:
            return None

    def fingerprint(self) -> str:
        """The database's fingerprint; taken again only once a request has been sent since
        (the walk itself writes nothing), so a submission's "after" is the next's "before"."""
        if self.last_print[0] != self.requests:
            self.last_print = (self.requests, fingerprint(self.app))
        return self.last_print[1]

    # -- discovery ---------------------------------------------------------------------

    def fetch(self, url: str) -> list[str]:
        """GET a page, remember its links and forms; return the links worth following."""
        response = self.send("GET", url)
        if response is None or response.status_code != 200:
            return []
        if not response.mimetype.startswith("text/html"):
            return []
        reader = PageReader()
        reader.feed(response.get_data(as_text=True))
        reader.close()
        for form in reader.forms:
            self._remember_form(form, url)
        follow = []
        for link in reader.links:
            if not link.startswith("/") or link.startswith("//"):
                continue
            self.query_keys.update(k for k, _v in parse_qsl(urlsplit(link).query))
            follow.append(link)
        return follow

    def _remember_form(self, form: Form, page: str) -> None:
        action = form.action or page
        match = self.endpoint_of(action, form.method)
        if match is None or match[0] in NOT_WALKED:
            return
        if form.method == "GET":
            self.query_keys.update(c.name for c in form.controls)
            return
        form.action, form.page, form.read_at = action, page, self.generation
        names = {c.name for c in form.controls}
        for key, known in list(self.forms.items()):
            if key[:2] != (match[0], form.button):
                continue
            known_names = {c.name for c in known.controls}
            if names <= known_names:
                return  # the same form (another session's, say) or a smaller one: known
            if known_names < names:
                del self.forms[key]
        self.forms[(match[0], form.button, tuple(sorted(names)))] = form

    def current(self, form: Form) -> Form | None:
        """``form`` as its page shows it now (after an accepted write: a new version field,
        a new CSRF token…); None when the page no longer offers it (its session deleted)."""
        if form.read_at == self.generation:
            return form
        response = self.send("GET", form.page)
        if response is None or response.status_code != 200:
            return None
        reader = PageReader()
        reader.feed(response.get_data(as_text=True))
        reader.close()
        for fresh in reader.forms:
            fresh.action = fresh.action or form.page
            fresh.page, fresh.read_at = form.page, self.generation
            if fresh.key == form.key:
                form.controls, form.read_at = fresh.controls, self.generation
                return form
        return None

    def discover(self, home: str) -> None:
        """Crawl from the role's home and from every rule of the URL map: rules with ids
        first (the scene's), then rules with words, filled with those the links used."""
        with_words = [r for r in self.rules() if not _only_ids(r)]
        first = [home]
        for rule in self.rules():
            if _only_ids(rule) and "GET" in (rule.methods or ()):
                first += self.sample_urls(rule, hostile=False)
        self.crawl(first)
        self.crawl(
            [
                u
                for r in with_words
                if "GET" in (r.methods or ())
                for u in self.sample_urls(r, False)
            ]
        )

    def crawl(self, start: list[str], limit: int = 160, per_endpoint: int = 3) -> None:
        queue = list(start)
        visited: set[str] = set()
        while queue and len(visited) < limit:
            url = queue.pop(0)
            if url in visited:
                continue
            match = self.endpoint_of(url)
            if match is None or match[0] in NOT_WALKED or match[0].endswith("static"):
                continue
            endpoint, values = match
            words = tuple(sorted((k, v) for k, v in values.items() if isinstance(v, str)))
            bucket = self.buckets.setdefault((endpoint, words), [])
            if len(bucket) >= per_endpoint:  # three ids or query strings of each page suffice
                continue
            visited.add(url)
            bucket.append(url)
            self.seen.setdefault(endpoint, []).append(url)
            for name, value in values.items():
                if isinstance(value, str):
                    self.words.setdefault((endpoint, name), set()).add(value)
            queue.extend(self.fetch(url))

    # -- URLs from the URL map ---------------------------------------------------------------

    def rules(self) -> Iterator[Rule]:
        for rule in self.app.url_map.iter_rules():
            if rule.endpoint in NOT_WALKED or rule.endpoint.endswith("static"):
                continue
            yield rule

    def sample_urls(self, rule: Rule, hostile: bool) -> list[str]:
        """The rule filled with real values, or (``hostile``) with one hostile value at a time."""
        real: dict[str, list[Any]] = {}
        for name in rule.arguments:
            if isinstance(rule._converters[name], IntegerConverter):
                real[name] = self.scene.ids_for(name)
            else:
                known = self.words.get((rule.endpoint, name), set())
                real[name] = sorted(known) or [*self.scene.tokens, "x"]
        base = {name: values[0] for name, values in real.items()}
        urls = []
        variants: list[dict[str, Any]] = [dict(base, **{n: v}) for n in real for v in real[n]]
        if hostile:
            variants = []
            for name in real:
                is_int = isinstance(rule._converters[name], IntegerConverter)
                for value in PATH_IDS if is_int else PATH_WORDS:
                    variants.append(dict(base, **{name: value}))
        for values in variants or [base]:
            try:
                urls.append(rule.build(values, append_unknown=False)[1])  # type: ignore[index]
            except ValueError:  # the converter refuses the value: nothing to send
                continue
        return list(dict.fromkeys(urls))


def _only_ids(rule: Rule) -> bool:
    return all(isinstance(rule._converters[n], IntegerConverter) for n in rule.arguments)


#: Query keys read on many pages (pagination, where to go back): sent even when no link of
#: the scene shows them. The others are learnt from the pages' links and GET forms.
COMMON_QUERY_KEYS = ("page", "next")
#: Endpoints the walker never calls: signing out would end the walk.
NOT_WALKED = {"accounts.logout"}


def with_query(url: str, pairs: list[tuple[str, str]]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query) + pairs
    return parts.path + ("?" + urlencode(query) if query else "")


def _short(data: Any) -> str:
    if not data:
        return ""
    shown = {k: (v[:40] + "…" if isinstance(v, str) and len(v) > 40 else v) for k, v in data}
    shown.pop("csrf_token", None)
    return re.sub(r"\s+", " ", repr(shown))[:400]
