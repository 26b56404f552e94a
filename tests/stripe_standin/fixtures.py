"""pytest fixtures for the Stripe stand-in.

Import them into a test module (``from tests.stripe_standin.fixtures import
stripe_standin, stripe_standin_server, webhook_receiver``) or list this module in a
root ``pytest_plugins``. ``stripe_standin`` is one server for the whole run, reset
before each test.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
import stripe

from .server import StripeStandin, serve_in_thread, stop_server

stripe.enable_telemetry = False
WEBHOOK_SECRET = "whsec_standin_test_secret"


@dataclass
class ReceivedWebhook:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def signature(self) -> str:
        return self.headers.get("Stripe-Signature", "")

    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


class WebhookReceiver:
    """A tiny endpoint that keeps every POST as it came and answers ``status`` (200)."""

    def __init__(self) -> None:
        self.received: list[ReceivedWebhook] = []
        self.status = 200
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {key.title(): value for key, value in self.headers.items()}
                with receiver.lock:
                    receiver.received.append(ReceivedWebhook(self.path, headers, body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server, self.thread = serve_in_thread(Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/stripe"

    def types(self) -> list[str]:
        with self.lock:
            return [item.json()["type"] for item in self.received]

    def close(self) -> None:
        stop_server(self.server, self.thread)


@pytest.fixture(scope="session")
def stripe_standin_server() -> Iterator[StripeStandin]:
    with StripeStandin() as standin:
        yield standin


@pytest.fixture
def stripe_standin(stripe_standin_server: StripeStandin) -> Iterator[StripeStandin]:
    stripe_standin_server.reset()
    yield stripe_standin_server
    stripe_standin_server.wait_for_deliveries()
    errors = list(stripe_standin_server.errors)
    stripe_standin_server.reset()
    assert not errors, f"the Stripe stand-in failed:\n{errors[0]}"


@pytest.fixture
def webhook_receiver(stripe_standin: StripeStandin) -> Iterator[WebhookReceiver]:
    """A receiver registered as the stand-in's endpoint, secret ``WEBHOOK_SECRET``."""
    receiver = WebhookReceiver()
    stripe_standin.webhook_endpoint(receiver.url, WEBHOOK_SECRET)
    yield receiver
    receiver.close()
