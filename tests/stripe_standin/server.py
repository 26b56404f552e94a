"""A local, strict stand-in for the part of Stripe's HTTP API that Coachdesk Premium uses.

The official ``stripe`` library talks to it over plain HTTP; see the package docstring for
how a test starts it. Objects start from Stripe's own example objects
(``stripe_fixtures.json``) with the fields that the request determines filled in.
Everything runs under one lock, so requests are handled one at a time; webhook deliveries
happen outside that lock, after the API response or page redirect has been written.
"""

from __future__ import annotations

import copy
import html
import json
import queue
import re
import secrets
import string
import threading
import time
import traceback
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import stripe

FIXTURES: dict[str, dict[str, Any]] = json.loads(
    Path(__file__).with_name("stripe_fixtures.json").read_text(encoding="utf-8")
)["resources"]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


API_VERSION = stripe.api_version
MAX_AMOUNT = 99_999_999  # Stripe's limit: eight digits in the minor unit
SESSION_LIFETIME = 24 * 3600
MIN_SESSION_LIFETIME = 30 * 60
ZERO_DECIMAL = _words("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf")
# The minimum charge per currency, in the minor unit, for the common ones (Stripe's table).
MINIMUM_AMOUNT = {"usd": 50, "eur": 50, "gbp": 30, "chf": 50, "cad": 50, "aud": 50, "jpy": 50}
CURRENCIES = _words(
    """usd aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bif bmd bnd bob brl bsd bwp
    byn bzd cad cdf chf clp cny cop crc cve czk djf dkk dop dzd egp etb eur fjd fkp gbp gel gip
    gmd gnf gtq gyd hkd hnl htg huf idr ils inr isk jmd jpy kes kgs khr kmf krw kyd kzt lak lbp
    lkr lrd lsl mad mdl mga mkd mmk mnt mop mur mvr mwk mxn myr mzn nad ngn nio nok npr nzd pab
    pen pgk php pkr pln pyg qar ron rsd rub rwf sar sbd scr sek sgd shp sle sos srd std szl thb
    tjs top try ttd twd tzs uah ugx uyu uzs vnd vuv wst xaf xcd xof xpf yer zar zmw"""
)
PAYMENT_METHOD_TYPES = _words(
    """card link paypal klarna afterpay_clearpay affirm ideal bancontact eps giropay p24 sofort
    sepa_debit bacs_debit us_bank_account au_becs_debit acss_debit twint revolut_pay
    mobilepay amazon_pay alipay wechat_pay blik multibanco"""
)
# Methods whose payment is confirmed later: complete_checkout(paid=False) models them.
DELAYED_METHODS = _words("sepa_debit bacs_debit us_bank_account au_becs_debit acss_debit sofort")
UI_MODES = ("hosted_page", "embedded_page", "elements", "form")
SESSION_PARAMS = _words(
    """mode line_items success_url cancel_url customer_email client_reference_id metadata
    payment_intent_data expires_at locale ui_mode payment_method_types expand"""
)
EXPANDABLE = {
    "checkout.session": {"payment_intent", "customer"},
    "payment_intent": {"latest_charge", "customer"},
    "charge": {"payment_intent", "customer"},
    "refund": {"charge", "payment_intent"},
    "event": set(),
}
REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")
_ALNUM = string.ascii_letters + string.digits


# -- errors and parameters ------------------------------------------------------------------


class ApiError(Exception):
    """An error answer in Stripe's shape: ``{"error": {"type", "message", "param", "code"}}``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        type: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.events: list[dict[str, Any]] = []
        self.error: dict[str, Any] = {"type": type, "message": message}
        if param is not None:
            self.error["param"] = param
        if code is not None:
            self.error["code"] = code
            self.error["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"


def _invalid(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, param=param, code=code)


_KEY = re.compile(r"([^\[\]]+)((?:\[[^\[\]]*\])*)")


def parse_params(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Form pairs as Stripe reads them: ``a[b]=1`` nests, ``a[0]=x`` / ``a[]=x`` make lists."""
    root: dict[str, Any] = {}
    for raw_key, value in pairs:
        match = _KEY.fullmatch(raw_key)
        if not match:
            raise _invalid(f"Invalid parameter name: {raw_key}", raw_key)
        parts = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        node = root
        for depth, part in enumerate(parts):
            key = part if part != "" else str(len(node))
            if depth == len(parts) - 1:
                if key in node:
                    raise _invalid(f"Parameter {raw_key} was given more than once.", raw_key)
                node[key] = value
            else:
                child = node.setdefault(key, {})
                if not isinstance(child, dict):
                    raise _invalid(
                        f"Invalid parameter: {raw_key} mixes a value and a hash.", raw_key
                    )
                node = child
    return _listify(root)


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    items = {key: _listify(value) for key, value in node.items()}
    if items and all(key.isdigit() for key in items):
        indexes = sorted(int(key) for key in items)
        if indexes == list(range(len(indexes))):
            return [items[str(index)] for index in indexes]
    return items


def _name(prefix: str, key: str) -> str:
    return f"{prefix}[{key}]" if prefix else key


def _only(params: dict[str, Any], allowed: Iterable[str], prefix: str = "") -> None:
    allowed = set(allowed)
    for key in params:
        if key not in allowed:
            raise _invalid(f"Received unknown parameter: {_name(prefix, key)}", _name(prefix, key))


def _required(params: dict[str, Any], key: str, prefix: str = "") -> Any:
    if key not in params or params[key] == "":
        raise _invalid(f"Missing required param: {_name(prefix, key)}.", _name(prefix, key))
    return params[key]


def _hash(value: Any, param: str) -> dict[str, Any]:
    if isinstance(value, list):  # digit keys only: a hash all the same (metadata[0]=...)
        return {str(index): item for index, item in enumerate(value)}
    if not isinstance(value, dict):
        raise _invalid(f"Invalid object: {param} must be a hash.", param)
    return value


def _array(value: Any, param: str) -> list[Any]:
    if not isinstance(value, list):
        raise _invalid(
            f"Invalid array: {param} must be sent as {param}[0]=..., {param}[1]=...", param
        )
    return value


def _text(value: Any, param: str, *, max_length: int = 5000) -> str:
    if not isinstance(value, str):
        raise _invalid(f"Invalid string: {param} must be a string.", param)
    if len(value) > max_length:
        raise _invalid(f"Invalid string: {param} must be at most {max_length} characters.", param)
    return value


def _integer(value: Any, param: str, *, minimum: int) -> int:
    if not isinstance(value, str) or not re.fullmatch(r"-?\d+", value):
        raise _invalid(f"Invalid integer: {value}", param)
    number = int(value)
    if number < minimum:
        raise _invalid(f"This value must be greater than or equal to {minimum}.", param)
    return number


def _choice(value: Any, param: str, choices: Iterable[str]) -> str:
    choices = list(choices)
    if value not in choices:
        raise _invalid(f"Invalid {param}: must be one of {', '.join(choices)}", param)
    return value


def _url(value: Any, param: str) -> str:
    text = _text(value, param, max_length=5000)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _invalid("Not a valid URL", param, "url_invalid")
    return text


def _metadata(value: Any, param: str) -> dict[str, str]:
    if value == "":
        return {}
    data = _hash(value, param)
    if len(data) > 50:
        raise _invalid("Metadata can have at most 50 keys.", param)
    for key, item in data.items():
        if len(key) > 40:
            raise _invalid("Metadata keys can be at most 40 characters long.", _name(param, key))
        _text(item, _name(param, key), max_length=500)
    return dict(data)


def _expand_list(params: dict[str, Any]) -> list[str]:
    if "expand" not in params:
        return []
    return [_text(path, "expand") for path in _array(params["expand"], "expand")]


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(length))


def format_amount(amount: int, currency: str) -> str:
    """``1250, "eur"`` → ``"12.50 EUR"``; zero-decimal currencies have no minor unit."""
    if currency in ZERO_DECIMAL:
        return f"{amount} {currency.upper()}"
    return f"{amount // 100}.{amount % 100:02d} {currency.upper()}"


# -- records ----------------------------------------------------------------------------------


@dataclass
class RecordedRequest:
    """One call to ``/v1/…`` as the stand-in received it (headers in Title-Case)."""

    method: str
    path: str
    params: dict[str, Any] | None
    headers: dict[str, str]
    body: str
    status: int | None = None
    response: dict[str, Any] | None = None


@dataclass
class Delivery:
    """One webhook POST: ``status`` is None when the endpoint could not be reached."""

    event_id: str
    type: str
    status: int | None
    body: str
    error: str | None = None


@dataclass
class _Call:
    """What a route handler gets: the parsed parameters and the caller's context."""

    params: dict[str, Any]
    livemode: bool
    request_id: str
    idempotency_key: str | None
    events: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Answer:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    gate: threading.Event | None = None  # set once the answer is on the wire


def _json_answer(status: int, data: Any, headers: dict[str, str] | None = None) -> _Answer:
    body = json.dumps(data, indent=2).encode()
    return _Answer(status, body, headers=dict(headers or {}))


# -- the server ------------------------------------------------------------------------------


def serve_in_thread(
    handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1", port: int = 0
) -> tuple[ThreadingHTTPServer, threading.Thread]:
    """A ThreadingHTTPServer on a free port, serving from a daemon thread."""
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    return server, thread


def stop_server(server: ThreadingHTTPServer, thread: threading.Thread) -> None:
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    server_version = "StripeStandin/1.0"
    standin: StripeStandin  # set on the subclass made by StripeStandin.start()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def do_DELETE(self) -> None:
        self._answer("DELETE")

    def _answer(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        headers = {key.title(): value for key, value in self.headers.items()}
        answer = self.standin._handle(method, self.path, headers, body)
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            for key, value in answer.headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(answer.body)
            self.wfile.flush()
        finally:
            if answer.gate is not None:  # queued webhooks may go now
                answer.gate.set()


Route = tuple[str, re.Pattern[str], Callable[..., dict[str, Any]]]


class StripeStandin:
    """A strict local Stripe: API under ``api_base + "/v1"``, hosted page at ``/pay/{id}``.

    ``async_delivery`` (default True) sends webhooks from a background worker, in order,
    after the API response or page redirect that caused them has been written;
    ``wait_for_deliveries()`` waits for all of them (they are queued before the response
    goes out, so it never returns early). With False, every event is delivered before
    what caused it returns: the helper call, the API response, the page redirect (the
    "webhook arrives before the return page" case).
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, async_delivery: bool = True):
        self.host = host
        self.port = port
        self._default_async = async_delivery
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._queue: queue.Queue[tuple[threading.Event, dict[str, Any]] | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._routes: list[Route] = [
            ("POST", re.compile(r"/v1/checkout/sessions"), self._create_session),
            ("GET", re.compile(r"/v1/checkout/sessions"), self._list_sessions),
            ("GET", re.compile(r"/v1/checkout/sessions/(?P<id>[^/]+)"), self._get_session),
            (
                "POST",
                re.compile(r"/v1/checkout/sessions/(?P<id>[^/]+)/expire"),
                self._expire_session,
            ),
            (
                "GET",
                re.compile(r"/v1/payment_intents/(?P<id>[^/]+)"),
                self._getter("payment_intent"),
            ),
            ("GET", re.compile(r"/v1/charges/(?P<id>[^/]+)"), self._getter("charge")),
            ("POST", re.compile(r"/v1/refunds"), self._create_refund),
            ("GET", re.compile(r"/v1/refunds/(?P<id>[^/]+)"), self._getter("refund")),
            ("GET", re.compile(r"/v1/events/(?P<id>[^/]+)"), self._getter("event")),
            ("GET", re.compile(r"/v1/balance"), self._balance),
            ("GET", re.compile(r"/v1/account"), self._account),
        ]
        self.reset()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> StripeStandin:
        if self._server is not None:
            return self
        handler = type("StandinHandler", (_Handler,), {"standin": self})
        self._server, self._thread = serve_in_thread(handler, self.host, self.port)
        self.port = self._server.server_address[1]
        self._worker = threading.Thread(target=self._deliver_queued, daemon=True)
        self._worker.start()
        return self

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        stop_server(self._server, self._thread)
        self._queue.put(None)
        if self._worker is not None:
            self._worker.join(timeout=5)
        self._server = self._thread = self._worker = None

    def __enter__(self) -> StripeStandin:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def api_base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def client(self, api_key: str = "sk_test_standin", **options: Any) -> stripe.StripeClient:
        """An official StripeClient pointed at the stand-in, without retries."""
        options.setdefault("max_network_retries", 0)
        return stripe.StripeClient(api_key, base_addresses={"api": self.api_base}, **options)

    def reset(self) -> None:
        """Forget all objects, requests, events, keys and the webhook endpoint."""
        if self._worker is not None:
            self.wait_for_deliveries()
        with self._lock:
            self.async_delivery = self._default_async
            self.valid_keys: set[str] = set()
            self.revoked_keys: set[str] = set()
            self.requests: list[RecordedRequest] = []
            self.objects: dict[str, dict[str, Any]] = {}
            self.events: list[dict[str, Any]] = []
            self.deliveries: list[Delivery] = []
            self.errors: list[str] = []  # tracebacks of stand-in bugs (answered with 500)
            self.webhook_url: str | None = None
            self.webhook_secret: str | None = None
            self._idempotency: dict[tuple[str, str], tuple[tuple[Any, ...], _Answer]] = {}
            self._line_items: dict[str, list[dict[str, Any]]] = {}
            self._intent_data: dict[str, dict[str, Any]] = {}

    # -- test helpers ----------------------------------------------------------------------

    def webhook_endpoint(self, url: str, secret: str) -> None:
        """Deliver every event from now on to ``url``, signed with ``secret`` (``whsec_…``)."""
        self.webhook_url = url
        self.webhook_secret = secret

    def complete_checkout(self, session_id: str, *, paid: bool = True) -> dict[str, Any]:
        """The customer pays on the hosted page; ``paid=False`` is a delayed method."""
        with self._lock:
            session, events = self._complete(session_id, paid=paid)
        self._dispatch(events)
        return session

    def async_payment(self, session_id: str, succeeded: bool) -> dict[str, Any]:
        """The delayed payment of a completed, unpaid session settles (or fails)."""
        with self._lock:
            session, events = self._settle(session_id, succeeded)
        self._dispatch(events)
        return session

    def expire_checkout(self, session_id: str) -> dict[str, Any]:
        """The session runs out of time: status ``expired`` and ``checkout.session.expired``."""
        with self._lock:
            session = self._stored("checkout.session", session_id)
            if session["status"] != "open":
                raise ValueError(f"{session_id} is {session['status']}, not open")
            events = self._expire(session, None)
        self._dispatch(events)
        return copy.deepcopy(session)

    def make_event(
        self,
        type: str,
        obj: dict[str, Any],
        *,
        previous_attributes: dict[str, Any] | None = None,
        request_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """A stored ``event`` object about a snapshot of ``obj`` (it is not delivered)."""
        event = self._fixture("event", "evt_", obj.get("livemode", False))
        event.update(
            api_version=API_VERSION,
            data={"object": copy.deepcopy(obj)},
            pending_webhooks=1 if self.webhook_url else 0,
            request={
                "id": request_id,
                "idempotency_key": idempotency_key,
            },
            type=type,
        )
        if previous_attributes is not None:
            event["data"]["previous_attributes"] = copy.deepcopy(previous_attributes)
        with self._lock:
            self.objects[event["id"]] = event
            self.events.append(event)
        return copy.deepcopy(event)

    def deliver(
        self,
        event: dict[str, Any],
        *,
        signature: str | None = None,
        secret: str | None = None,
        timestamp: int | None = None,
        url: str | None = None,
    ) -> tuple[int, str]:
        """POST ``event`` to the endpoint with a ``Stripe-Signature``; return (status, body).

        ``signature`` replaces the header as a whole; ``secret`` / ``timestamp`` sign with
        another secret or time (a stale one, say). Raises OSError if nobody answers.
        """
        target = url or self.webhook_url
        if target is None:
            raise RuntimeError("no webhook endpoint: call webhook_endpoint(url, secret) first")
        payload = json.dumps(event, indent=2)
        if signature is None:
            key = secret or self.webhook_secret
            if not key:
                raise RuntimeError("no webhook secret to sign with")
            signature = stripe.WebhookSignature.generate_signature_header(payload, key, timestamp)
        if urlsplit(target).scheme not in ("http", "https"):
            raise RuntimeError(f"webhook endpoint must be an http(s) URL: {target}")
        request = urllib.request.Request(  # noqa: S310 (scheme checked above)
            target,
            data=payload.encode(),
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": signature,
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            },
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=10) as response:
                status, body = response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read().decode("utf-8", "replace")
        with self._lock:
            self.deliveries.append(Delivery(event["id"], event["type"], status, body))
        return status, body

    def _event(
        self,
        type: str,
        obj: dict[str, Any],
        call: _Call | None,
        previous_attributes: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """An event caused by an API call (``call``) or by the customer (None)."""
        return self.make_event(
            type,
            obj,
            previous_attributes=previous_attributes,
            request_id=call.request_id if call else None,
            idempotency_key=call.idempotency_key if call else None,
        )

    def wait_for_deliveries(self, timeout: float = 5.0) -> None:
        """Wait until every queued webhook has been sent (and answered)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                raise TimeoutError("webhook deliveries still pending")
            time.sleep(0.005)

    def events_of_type(self, type: str) -> list[dict[str, Any]]:
        with self._lock:
            return [copy.deepcopy(event) for event in self.events if event["type"] == type]

    # -- delivery --------------------------------------------------------------------------

    def _dispatch(self, events: list[dict[str, Any]], *, hold: bool = False):
        """Queue (or, synchronously, deliver) ``events``; with ``hold``, the queued ones
        wait for the returned gate to be set."""
        if not events or self.webhook_url is None:
            return None
        if not self.async_delivery:
            for event in events:
                self._deliver_quietly(event)
            return None
        gate = threading.Event()
        if not hold:
            gate.set()
        for event in events:
            self._queue.put((gate, event))
        return gate

    def _deliver_queued(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                gate, event = item
                gate.wait(timeout=5)
                self._deliver_quietly(event)
            finally:
                self._queue.task_done()

    def _deliver_quietly(self, event: dict[str, Any]) -> None:
        try:
            self.deliver(event)
        except (OSError, RuntimeError) as error:
            with self._lock:
                self.deliveries.append(Delivery(event["id"], event["type"], None, "", str(error)))

    # -- request handling ------------------------------------------------------------------

    def _handle(self, method: str, raw_path: str, headers: dict[str, str], body: str) -> _Answer:
        answer = self._answer_for(method, raw_path, headers, body)
        answer.gate = self._dispatch(answer.events, hold=True)
        return answer

    def _answer_for(
        self, method: str, raw_path: str, headers: dict[str, str], body: str
    ) -> _Answer:
        parts = urlsplit(raw_path)
        if parts.path.startswith("/pay/"):
            with self._lock:
                try:
                    return self._page(method, parts.path, body)
                except Exception as error:
                    self.errors.append(traceback.format_exc())
                    return _html(
                        500, "Error", f"<p>Stand-in failed: {html.escape(repr(error))}</p>"
                    )
        record = RecordedRequest(method, parts.path, None, headers, body)
        request_id = new_id("req_", 14)
        with self._lock:
            self.requests.append(record)
            try:
                record.params = parse_params(
                    parse_qsl(parts.query if method == "GET" else body, keep_blank_values=True)
                )
                answer = self._api(method, parts.path, headers, record.params, request_id)
            except ApiError as error:
                answer = _json_answer(error.status, {"error": error.error})
                answer.events = error.events
            except Exception as error:  # a bug in the stand-in: say so instead of hanging up
                self.errors.append(traceback.format_exc())
                message = f"Stripe stand-in failed: {error!r} (see StripeStandin.errors)"
                answer = _json_answer(500, {"error": {"type": "api_error", "message": message}})
            record.status = answer.status
            record.response = json.loads(answer.body)
        answer.headers.setdefault("Request-Id", request_id)
        answer.headers.setdefault("Stripe-Version", headers.get("Stripe-Version", API_VERSION))
        return answer

    def _api(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        params: dict[str, Any],
        request_id: str,
    ) -> _Answer:
        api_key = self._authenticate(headers.get("Authorization"))
        handler, match = self._route(method, path)
        if handler is None or match is None:
            raise ApiError(
                404,
                f"Unrecognized request URL ({method}: {path}). Please see "
                "https://stripe.com/docs or we can help at https://support.stripe.com/.",
            )
        key = headers.get("Idempotency-Key") if method == "POST" else None
        fingerprint = (method, path, params)
        if key is not None:
            if len(key) > 255:
                raise _invalid("Idempotency-Key must be at most 255 characters long.")
            seen = self._idempotency.get((api_key, key))
            if seen is not None:
                if seen[0] != fingerprint:
                    raise ApiError(
                        400,
                        "Keys for idempotent requests can only be used with the same parameters "
                        "they were first used with. Try using a key other than "
                        f"'{key}' if you meant to execute a different request.",
                        type="idempotency_error",
                    )
                first = seen[1]
                return _Answer(
                    first.status,
                    first.body,
                    headers={**first.headers, "Idempotent-Replayed": "true"},
                )
        call = _Call(params, api_key.startswith(("sk_live_", "rk_live_")), request_id, key)
        try:
            answer = _json_answer(200, handler(call, **match.groupdict()))
        except ApiError as error:
            error.events = call.events  # e.g. a session found expired on the way
            raise
        if key is not None:
            answer.headers.update({"Idempotency-Key": key, "Original-Request": request_id})
            self._idempotency[(api_key, key)] = (fingerprint, copy.deepcopy(answer))
        answer.events = call.events
        return answer

    def _route(self, method: str, path: str):
        for route_method, pattern, handler in self._routes:
            match = pattern.fullmatch(path)
            if match and route_method == method:
                return handler, match
        return None, None

    def _authenticate(self, header: str | None) -> str:
        if not header or not header.startswith("Bearer ") or not header[7:].strip():
            raise ApiError(
                401,
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth "
                "(e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
            )
        key = header[7:].strip()
        if self.valid_keys:
            valid = key in self.valid_keys
        else:
            valid = key.startswith(("sk_test_", "sk_live_", "rk_test_", "rk_live_"))
        if not valid or key in self.revoked_keys:
            shown = key[: key.find("_", 3) + 1] if key.count("_") >= 2 else ""
            raise ApiError(401, f"Invalid API Key provided: {shown}****{key[-4:]}")
        return key

    # -- objects ---------------------------------------------------------------------------

    def _fixture(self, kind: str, prefix: str, livemode: bool, length: int = 24) -> dict[str, Any]:
        obj = copy.deepcopy(FIXTURES[kind])
        obj.update(id=new_id(prefix, length), created=int(time.time()), livemode=livemode)
        return obj

    def _stored(self, kind: str, object_id: str) -> dict[str, Any]:
        obj = self.objects.get(object_id)
        if obj is None or obj["object"] != kind:
            raise KeyError(f"no {kind} {object_id!r} in the stand-in")
        return obj

    def _find(self, kind: str, object_id: str, call: _Call, param: str, status: int = 404):
        obj = self.objects.get(object_id)
        if obj is None or obj["object"] != kind or obj["livemode"] != call.livemode:
            raise ApiError(
                status, f"No such {kind}: '{object_id}'", param=param, code="resource_missing"
            )
        return obj

    def _render(self, obj: dict[str, Any], call: _Call, prefix: str = "") -> dict[str, Any]:
        """A copy of ``obj`` with the ``expand`` paths (under ``prefix``) replaced by objects."""
        out = copy.deepcopy(obj)
        for path in _expand_list(call.params):
            if prefix:
                if not path.startswith(prefix):
                    raise _invalid(f"This property cannot be expanded ({path}).", "expand")
                path = path[len(prefix) :]
            self._expand(out, path.split("."), path)
        return out

    def _expand(self, obj: dict[str, Any], steps: list[str], path: str) -> None:
        first, rest = steps[0], steps[1:]
        if first not in EXPANDABLE.get(obj.get("object", ""), set()):
            raise _invalid(f"This property cannot be expanded ({path}).", "expand")
        value = obj.get(first)
        if isinstance(value, str):
            value = copy.deepcopy(self.objects[value])
            obj[first] = value
        if rest and isinstance(value, dict):
            self._expand(value, rest, path)

    def _getter(self, kind: str) -> Callable[..., dict[str, Any]]:
        def get(call: _Call, id: str) -> dict[str, Any]:
            _only(call.params, ["expand"])
            return self._render(self._find(kind, id, call, "id"), call)

        return get

    # -- checkout sessions -----------------------------------------------------------------

    def _create_session(self, call: _Call) -> dict[str, Any]:
        params = call.params
        _only(params, SESSION_PARAMS)
        mode = _choice(_required(params, "mode"), "mode", ("payment", "setup", "subscription"))
        if mode != "payment":
            raise _invalid("The stand-in only models mode=payment.", "mode")
        ui_mode = _choice(params.get("ui_mode", "hosted_page"), "ui_mode", UI_MODES)
        if ui_mode != "hosted_page":
            raise _invalid("The stand-in only models ui_mode=hosted_page.", "ui_mode")
        currency, lines = self._line_items_from(params)
        total = sum(line["amount_total"] for line in lines)
        if total > MAX_AMOUNT:
            raise _invalid(
                f"Amount must be no more than {format_amount(MAX_AMOUNT, currency)}",
                "line_items",
                "amount_too_large",
            )
        if total < MINIMUM_AMOUNT.get(currency, 1):
            raise _invalid(
                "The Checkout Session's total amount due must add up to at least "
                f"{format_amount(MINIMUM_AMOUNT[currency], currency)}",
                "line_items",
                "amount_too_small",
            )
        now = int(time.time())
        expires_at = now + SESSION_LIFETIME
        if "expires_at" in params:
            expires_at = _integer(params["expires_at"], "expires_at", minimum=0)
            if not now + MIN_SESSION_LIFETIME <= expires_at <= now + SESSION_LIFETIME:
                raise _invalid(
                    "The `expires_at` timestamp must be between 30 minutes and 24 hours "
                    "after the Checkout Session was created.",
                    "expires_at",
                )
        methods = ["card"]
        if "payment_method_types" in params:
            raw = _array(params["payment_method_types"], "payment_method_types")
            methods = [
                _choice(item, f"payment_method_types[{i}]", sorted(PAYMENT_METHOD_TYPES))
                for i, item in enumerate(raw)
            ]
        intent_data = _hash(params.get("payment_intent_data", {}), "payment_intent_data")
        _only(intent_data, ["metadata", "description", "receipt_email"], "payment_intent_data")
        email = None
        if "customer_email" in params:
            email = _text(params["customer_email"], "customer_email", max_length=800)
            if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
                raise _invalid(f"Invalid email address: {email}", "customer_email", "email_invalid")
        locale = params.get("locale")
        if locale is not None and not re.fullmatch(r"auto|[a-z]{2}(-[A-Z]{2}|-[0-9]{3})?", locale):
            raise _invalid(f"Invalid locale: {locale}", "locale")

        prefix = "cs_live_a1" if call.livemode else "cs_test_a1"
        session = self._fixture("checkout.session", prefix, call.livemode, 56)
        session.update(
            amount_subtotal=total,
            amount_total=total,
            currency=currency,
            metadata=_metadata(params.get("metadata", {}), "metadata"),
            client_reference_id=(
                _text(params["client_reference_id"], "client_reference_id", max_length=200)
                if "client_reference_id" in params
                else None
            ),
            customer_email=email,
            customer_details=None,
            success_url=_url(_required(params, "success_url"), "success_url"),
            cancel_url=_url(params["cancel_url"], "cancel_url") if "cancel_url" in params else None,
            expires_at=expires_at,
            locale=locale,
            mode="payment",
            payment_intent=None,  # created when the customer pays (API 2022-08-01 and later)
            payment_method_types=methods,
            payment_status="unpaid",
            status="open",
            ui_mode=ui_mode,
            # The fixture's sample values that a fresh, plain session does not have:
            adaptive_pricing={"enabled": False},
            after_expiration=None,
            collected_information=None,
            consent_collection=None,
            currency_conversion=None,
            custom_text={
                "after_submit": None,
                "shipping_address": None,
                "submit": None,
                "terms_of_service_acceptance": None,
            },
            invoice_creation={
                "enabled": False,
                "invoice_data": FIXTURES["checkout.session"]["invoice_creation"]["invoice_data"],
            },
            managed_payments={"enabled": False},
            payment_method_configuration_details=None,
            shipping_address_collection=None,
            shipping_cost=None,
            total_details={"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        )
        session["url"] = f"{self.api_base}/pay/{session['id']}"
        intent_data["metadata"] = _metadata(
            intent_data.get("metadata", {}), "payment_intent_data[metadata]"
        )
        self.objects[session["id"]] = session
        self._line_items[session["id"]] = lines
        self._intent_data[session["id"]] = intent_data
        return self._render(session, call)

    def _line_items_from(self, params: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        items = _array(_required(params, "line_items"), "line_items")
        currency: str | None = None
        lines = []
        for index, item in enumerate(items):
            prefix = f"line_items[{index}]"
            item = _hash(item, prefix)
            if "price" in item:
                raise _invalid(
                    "The stand-in only models line items with price_data.", f"{prefix}[price]"
                )
            _only(item, ["quantity", "price_data"], prefix)
            quantity = _integer(
                _required(item, "quantity", prefix), f"{prefix}[quantity]", minimum=1
            )
            price_prefix = f"{prefix}[price_data]"
            price = _hash(_required(item, "price_data", prefix), price_prefix)
            _only(price, ["currency", "unit_amount", "product_data", "tax_behavior"], price_prefix)
            line_currency = _text(
                _required(price, "currency", price_prefix), f"{price_prefix}[currency]"
            ).lower()
            if line_currency not in CURRENCIES:
                raise _invalid(f"Invalid currency: {line_currency}", f"{price_prefix}[currency]")
            if currency is not None and line_currency != currency:
                raise _invalid(
                    "All line items must use the same currency.", f"{price_prefix}[currency]"
                )
            currency = line_currency
            unit_amount = _integer(
                _required(price, "unit_amount", price_prefix),
                f"{price_prefix}[unit_amount]",
                minimum=1,
            )
            product_prefix = f"{price_prefix}[product_data]"
            product = _hash(_required(price, "product_data", price_prefix), product_prefix)
            _only(product, ["name", "description", "metadata", "images"], product_prefix)
            lines.append(
                {
                    "description": _text(
                        _required(product, "name", product_prefix),
                        f"{product_prefix}[name]",
                        max_length=250,
                    ),
                    "quantity": quantity,
                    "unit_amount": unit_amount,
                    "amount_total": unit_amount * quantity,
                    "currency": line_currency,
                }
            )
        if not lines:
            raise _invalid("Missing required param: line_items.", "line_items")
        assert currency is not None
        return currency, lines

    def _session_for(self, call: _Call, session_id: str) -> dict[str, Any]:
        session = self._find("checkout.session", session_id, call, "session")
        call.events.extend(self._expire_if_due(session))
        return session

    def _get_session(self, call: _Call, id: str) -> dict[str, Any]:
        _only(call.params, ["expand"])
        return self._render(self._session_for(call, id), call)

    def _list_sessions(self, call: _Call) -> dict[str, Any]:
        params = call.params
        _only(params, ["limit", "payment_intent", "status", "starting_after", "expand"])
        limit = _integer(params.get("limit", "10"), "limit", minimum=1)
        if limit > 100:
            raise _invalid("This value must be less than or equal to 100.", "limit")
        status = params.get("status")
        if status is not None:
            _choice(status, "status", ("open", "complete", "expired"))
        sessions = [
            obj
            for obj in reversed(list(self.objects.values()))
            if obj["object"] == "checkout.session" and obj["livemode"] == call.livemode
        ]
        for session in sessions:
            call.events.extend(self._expire_if_due(session))
        if "starting_after" in params:
            ids = [session["id"] for session in sessions]
            if params["starting_after"] not in ids:
                raise ApiError(
                    400,
                    f"No such checkout.session: '{params['starting_after']}'",
                    param="starting_after",
                    code="resource_missing",
                )
            sessions = sessions[ids.index(params["starting_after"]) + 1 :]
        wanted = [
            session
            for session in sessions
            if params.get("payment_intent") in (None, session["payment_intent"])
            and status in (None, session["status"])
        ]
        return {
            "object": "list",
            "data": [self._render(session, call, "data.") for session in wanted[:limit]],
            "has_more": len(wanted) > limit,
            "url": "/v1/checkout/sessions",
        }

    def _expire_session(self, call: _Call, id: str) -> dict[str, Any]:
        _only(call.params, ["expand"])
        session = self._session_for(call, id)
        if session["status"] != "open":
            raise _invalid(
                f'Only Checkout Sessions with a status in ["open"] can be expired. '
                f'This Checkout Session has a status of "{session["status"]}".',
                "session",
            )
        call.events.extend(self._expire(session, call))
        return self._render(session, call)

    def _expire(self, session: dict[str, Any], call: _Call | None) -> list[dict[str, Any]]:
        session["status"] = "expired"
        return [self._event("checkout.session.expired", session, call)]

    def _expire_if_due(self, session: dict[str, Any]) -> list[dict[str, Any]]:
        if session["status"] == "open" and time.time() >= session["expires_at"]:
            return self._expire(session, None)
        return []

    def _complete(self, session_id: str, *, paid: bool):
        session = self._stored("checkout.session", session_id)
        events = self._expire_if_due(session)
        if session["status"] != "open":
            raise ValueError(f"{session_id} is {session['status']}, not open")
        amount, currency, live = session["amount_total"], session["currency"], session["livemode"]
        intent_data = self._intent_data[session_id]
        email = session["customer_email"] or "customer@example.com"
        method = next((m for m in session["payment_method_types"] if m in DELAYED_METHODS), None)
        method_type = "card" if paid or method is None else method

        intent = self._fixture("payment_intent", "pi_", live)
        charge = self._fixture("charge", "ch_", live)
        intent.update(
            amount=amount,
            amount_capturable=0,
            amount_details={"tip": {}},
            amount_received=amount if paid else 0,
            automatic_payment_methods=None,
            canceled_at=None,
            client_secret=f"{intent['id']}_secret_{new_id('', 25)}",
            currency=currency,
            description=intent_data.get("description"),
            last_payment_error=None,
            latest_charge=charge["id"],
            managed_payments={"enabled": False},
            metadata=intent_data["metadata"],
            next_action=None,
            payment_method=new_id("pm_"),
            payment_method_configuration_details=None,
            payment_method_types=session["payment_method_types"],
            processing=None if paid else {"type": method_type},
            receipt_email=intent_data.get("receipt_email"),
            shipping=None,
            status="succeeded" if paid else "processing",
            transfer_data=None,
        )
        charge.update(
            amount=amount,
            amount_captured=amount,
            amount_refunded=0,
            balance_transaction=new_id("txn_") if paid else None,
            billing_details={**charge["billing_details"], "email": email, "name": None},
            captured=True,
            currency=currency,
            description=intent["description"],
            metadata=copy.deepcopy(intent["metadata"]),
            outcome={
                **charge["outcome"],
                "network_status": "approved_by_network",
                "type": "authorized",
            },
            paid=paid,
            payment_intent=intent["id"],
            payment_method=intent["payment_method"],
            payment_method_details=(
                charge["payment_method_details"] if method_type == "card" else {"type": method_type}
            ),
            receipt_email=intent["receipt_email"],
            receipt_url=f"{self.api_base}/receipts/{charge['id']}",
            refunded=False,
            refunds={
                "data": [],
                "has_more": False,
                "object": "list",
                "total_count": 0,
                "url": f"/v1/charges/{charge['id']}/refunds",
            },
            shipping=None,
            source=None,
            status="succeeded" if paid else "pending",
            transfer_data=None,
        )
        session.update(
            customer_details={**FIXTURES["checkout.session"]["customer_details"], "email": email},
            payment_intent=intent["id"],
            payment_status="paid" if paid else "unpaid",
            status="complete",
        )
        for obj in (intent, charge):
            self.objects[obj["id"]] = obj
        events.append(self.make_event("checkout.session.completed", session))
        return copy.deepcopy(session), events

    def _settle(self, session_id: str, succeeded: bool):
        session = self._stored("checkout.session", session_id)
        if session["status"] != "complete" or session["payment_status"] != "unpaid":
            raise ValueError(f"{session_id} has no delayed payment waiting to settle")
        intent = self.objects[session["payment_intent"]]
        charge = self.objects[intent["latest_charge"]]
        if succeeded:
            session["payment_status"] = "paid"
            intent.update(status="succeeded", amount_received=intent["amount"], processing=None)
            charge.update(status="succeeded", paid=True, balance_transaction=new_id("txn_"))
            kind = "checkout.session.async_payment_succeeded"
        else:
            failure = {"code": "payment_method_not_available", "message": "The payment failed."}
            intent.update(
                status="requires_payment_method",
                processing=None,
                last_payment_error={
                    "type": "card_error"
                    if charge["payment_method_details"]["type"] == "card"
                    else "invalid_request_error",
                    **failure,
                },
            )
            charge.update(
                status="failed",
                paid=False,
                failure_code=failure["code"],
                failure_message=failure["message"],
            )
            kind = "checkout.session.async_payment_failed"
        return copy.deepcopy(session), [self.make_event(kind, session)]

    # -- refunds ---------------------------------------------------------------------------

    def _create_refund(self, call: _Call) -> dict[str, Any]:
        params = call.params
        _only(params, ["payment_intent", "charge", "amount", "metadata", "reason", "expand"])
        if ("payment_intent" in params) == ("charge" in params):
            raise _invalid(
                "You must pass exactly one of these parameters: charge, payment_intent.",
                "payment_intent",
            )
        if "payment_intent" in params:
            intent = self._find(
                "payment_intent", params["payment_intent"], call, "payment_intent", 400
            )
            charge = self.objects.get(intent["latest_charge"] or "")
            source = f"This PaymentIntent ({intent['id']})"
        else:
            charge = self._find("charge", params["charge"], call, "charge", 400)
            source = f"This charge ({charge['id']})"
        if charge is None or charge["status"] != "succeeded":
            raise _invalid(
                f"{source} does not have a successful charge to refund.",
                code="charge_not_refundable",
            )
        amount = _integer(params["amount"], "amount", minimum=1) if "amount" in params else None
        left = charge["amount"] - charge["amount_refunded"]
        if left == 0:
            raise _invalid(
                f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded"
            )
        amount = left if amount is None else amount
        if amount > left:
            raise _invalid(
                f"Refund amount ({format_amount(amount, charge['currency'])}) is greater than "
                f"unrefunded amount on charge ({format_amount(left, charge['currency'])})",
                "amount",
                "amount_too_large",
            )
        refund = self._fixture("refund", "re_", call.livemode)
        refund.update(
            amount=amount,
            balance_transaction=new_id("txn_"),
            charge=charge["id"],
            currency=charge["currency"],
            metadata=_metadata(params.get("metadata", {}), "metadata"),
            payment_intent=charge["payment_intent"],
            reason=_choice(params["reason"], "reason", REFUND_REASONS)
            if "reason" in params
            else None,
            status="succeeded",
        )
        previous = {
            "amount_refunded": charge["amount_refunded"],
            "refunded": charge["refunded"],
            "refunds": copy.deepcopy(charge["refunds"]),
        }
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        charge["refunds"]["data"].insert(0, copy.deepcopy(refund))
        charge["refunds"]["total_count"] = len(charge["refunds"]["data"])
        self.objects[refund["id"]] = refund
        call.events.append(self._event("charge.refunded", charge, call, previous))
        call.events.append(self._event("refund.created", refund, call))
        return self._render(refund, call)

    # -- account ---------------------------------------------------------------------------

    def _balance(self, call: _Call) -> dict[str, Any]:
        _only(call.params, ["expand"])
        empty = [{"amount": 0, "currency": "usd", "source_types": {"card": 0}}]
        return {
            "object": "balance",
            "available": empty,
            "pending": copy.deepcopy(empty),
            "livemode": call.livemode,
        }

    def _account(self, call: _Call) -> dict[str, Any]:
        _only(call.params, ["expand"])
        return {
            "id": "acct_1StandinCoachdesk",
            "object": "account",
            "business_profile": {"name": "Stand-in account", "url": None},
            "charges_enabled": True,
            "country": "US",
            "default_currency": "usd",
            "details_submitted": True,
            "email": "owner@example.com",
            "payouts_enabled": True,
            "type": "standard",
        }

    # -- hosted page -----------------------------------------------------------------------

    def _page(self, method: str, path: str, body: str) -> _Answer:
        match = re.fullmatch(r"/pay/(?P<id>[^/]+)(?P<cancel>/cancel)?", path)
        session = self.objects.get(match["id"]) if match else None
        if session is None or session["object"] != "checkout.session":
            return _html(404, "Not found", "<p>No such Checkout Session.</p>")
        events = self._expire_if_due(session)
        answer = self._page_for(session, method, bool(match["cancel"]), body)
        answer.events = events + answer.events
        return answer

    def _page_for(self, session: dict[str, Any], method: str, cancel: bool, body: str) -> _Answer:
        if session["status"] != "open":
            state = "has expired" if session["status"] == "expired" else "is already complete"
            status = 409 if method == "POST" else 200
            back = ""
            if session["status"] == "complete":
                link = html.escape(_success_url(session))
                back = f'<p><a href="{link}">Return to the merchant</a></p>'
            return _html(
                status,
                "Session " + session["status"],
                f"<p>This Checkout Session {state}.</p>{back}",
            )
        if cancel:
            if method != "GET" or not session["cancel_url"]:
                return _html(404, "Not found", "<p>This Checkout Session has no cancel URL.</p>")
            return _Answer(303, b"", "text/plain", {"Location": session["cancel_url"]})
        if method == "POST":
            choice = dict(parse_qsl(body)).get("outcome", "paid")
            if choice not in ("paid", "delayed"):
                return _html(400, "Bad request", "<p>Unknown outcome.</p>")
            _, events = self._complete(session["id"], paid=choice == "paid")
            return _Answer(303, b"", "text/plain", {"Location": _success_url(session)}, events)
        if method != "GET":
            return _html(405, "Method not allowed", "<p>Method not allowed.</p>")
        return _html(200, "Pay", self._checkout_form(session))

    def _checkout_form(self, session: dict[str, Any]) -> str:
        action = f"/pay/{session['id']}"
        total = format_amount(session["amount_total"], session["currency"])
        parts = ["<ul>"]
        for line in self._line_items[session["id"]]:
            amount = format_amount(line["amount_total"], line["currency"])
            name = html.escape(line["description"])
            parts.append(f"<li>{name} × {line['quantity']}: {amount}</li>")
        parts.append(f'</ul><p>Total: <strong id="amount">{total}</strong></p>')
        if session["customer_email"]:
            parts.append(f"<p>Email: {html.escape(session['customer_email'])}</p>")
        parts.append(f'<form method="post" action="{action}">')
        parts.append('<button type="submit" name="outcome" value="paid">Pay</button>')
        if any(method in DELAYED_METHODS for method in session["payment_method_types"]):
            parts.append(
                '<button type="submit" name="outcome" value="delayed">Pay by bank debit</button>'
            )
        parts.append("</form>")
        if session["cancel_url"]:
            parts.append(f'<p><a href="{action}/cancel">Cancel</a></p>')
        return "".join(parts)


def _success_url(session: dict[str, Any]) -> str:
    return session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"])


def _html(status: int, title: str, content: str) -> _Answer:
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)} – Stand-in Stripe Checkout</title></head>"
        f"<body><h1>Stand-in Stripe Checkout</h1>{content}</body></html>\n"
    )
    return _Answer(status, page.encode(), "text/html; charset=utf-8")
