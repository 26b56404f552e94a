"""Health: /healthz for load balancers, the worker's heartbeat, request ids in logs and pages."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from core import create_app
from core.accounts.models import Role
from core.config import ConfigError, load_config
from core.db import get_database, utcnow
from core.operations.health import HEARTBEAT
from core.operations.logs import JsonFormatter, RequestIdFilter
from core.worker import run_once
from tests.helpers import fresh_database_url, set_options
from tests.test_admin_dashboard import add_email, mark_setup_done, stat_figures


def health(client: FlaskClient) -> tuple[int, dict[str, Any]]:
    response = client.get("/healthz")
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    return response.status_code, response.get_json()


def queue_email(app: Flask, due: timedelta) -> None:
    """One pending email to chloe@example.test, due ``due`` ago."""
    add_email(
        app,
        "pending",
        to_address="chloe@example.test",
        subject="Hello Chloé",
        next_attempt_at=utcnow() - due,
    )


def test_healthy_after_a_worker_pass_without_signing_in(app: Flask, client: FlaskClient) -> None:
    status, body = health(client)
    assert status == 503 and body["status"] == "fail"
    assert body["checks"]["database"]["ok"] and body["checks"]["migrations"]["ok"]
    assert body["checks"]["worker"] == {"ok": False, "last_run_seconds_ago": None}
    with app.app_context():
        run_once()
    status, body = health(client)
    assert status == 200 and body["status"] == "ok"
    assert body["checks"]["worker"]["last_run_seconds_ago"] <= 5
    assert body["checks"]["outbox"] == {
        "ok": True,
        "backlog": 0,
        "dead": 0,
        "oldest_due_seconds_ago": None,
    }


def test_a_silent_worker_fails_the_check(app: Flask, client: FlaskClient) -> None:
    long_ago = (utcnow() - timedelta(minutes=6)).isoformat()
    set_options(app, **{HEARTBEAT.replace(".", "__"): {"at": long_ago, "pid": 1}})
    status, body = health(client)
    assert status == 503 and not body["checks"]["worker"]["ok"]
    assert 355 <= body["checks"]["worker"]["last_run_seconds_ago"] <= 370


def test_a_stuck_outbox_fails_and_shows_no_personal_data(app: Flask, client: FlaskClient) -> None:
    set_options(app, **{HEARTBEAT.replace(".", "__"): {"at": utcnow().isoformat(), "pid": 1}})
    queue_email(app, timedelta(minutes=5))
    status, body = health(client)
    assert status == 200 and body["checks"]["outbox"]["backlog"] == 1
    queue_email(app, timedelta(minutes=20))
    response = client.get("/healthz")
    body = response.get_json()
    assert response.status_code == 503 and not body["checks"]["outbox"]["ok"]
    assert body["checks"]["outbox"]["backlog"] == 2
    assert body["checks"]["outbox"]["oldest_due_seconds_ago"] >= 20 * 60
    text = response.get_data(as_text=True)
    assert "chloe" not in text and "Hello" not in text and "example" not in text


@pytest.fixture
def bare_app(tmp_path: Path) -> Iterator[Flask]:
    """An app on a new database that was never migrated."""
    with fresh_database_url(tmp_path) as url:
        application = create_app(
            {"DATABASE_URL": url, "SECRET_KEY": "x" * 40}, instance_path=str(tmp_path)
        )
        yield application
        get_database(application).engine.dispose()


def test_an_unmigrated_database_fails_the_migrations_check(bare_app: Flask) -> None:
    status, body = health(bare_app.test_client())
    assert status == 503 and body["checks"]["database"] == {"ok": True}
    assert body["checks"]["migrations"]["ok"] is False


def test_an_unreachable_database_fails_without_telling_its_address(tmp_path: Path) -> None:
    url = "postgresql+psycopg://secretuser:secretpw@127.0.0.1:1/nowhere?connect_timeout=2"
    application = create_app({"DATABASE_URL": url, "SECRET_KEY": "x" * 40}, str(tmp_path))
    response = application.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body == {"status": "fail", "checks": {"database": {"ok": False, "error": "unreachable"}}}
    assert "secret" not in response.get_data(as_text=True)


def test_the_dashboard_shows_the_worker(app: Flask, as_role) -> None:
    mark_setup_done(app)
    web, _admin = as_role(Role.ADMIN)
    html = web.get("/admin/").get_data(as_text=True)
    assert stat_figures(html)["Worker last run"] == "Never"
    assert "No worker has run yet: emails and reminders are not being sent." in html
    with app.app_context():
        run_once()
    html = web.get("/admin/").get_data(as_text=True)
    assert stat_figures(html)["Worker last run"].endswith("ago")
    assert "not being sent" not in html
    set_options(app, **{HEARTBEAT.replace(".", "__"): {"at": "2026-01-01T00:00:00+00:00"}})
    html = web.get("/admin/").get_data(as_text=True)
    assert "The worker last ran " in html and " ago: emails and reminders" in html


# -- request ids --------------------------------------------------------------


def test_every_response_carries_a_request_id_and_error_pages_print_it(
    client: FlaskClient,
) -> None:
    first, second = client.get("/healthz"), client.get("/healthz")
    assert len(first.headers["X-Request-ID"]) == 32
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]
    response = client.get("/no-such-page", headers={"X-Request-ID": "proxy-id-1234"})
    assert response.status_code == 404
    assert response.headers["X-Request-ID"] == "proxy-id-1234"
    assert "Reference: proxy-id-1234" in response.get_data(as_text=True)
    hostile = client.get("/healthz", headers={"X-Request-ID": "bad id <script>"})
    assert hostile.headers["X-Request-ID"] != "bad id <script>"
    assert len(hostile.headers["X-Request-ID"]) == 32


def test_log_records_of_a_request_carry_its_id_as_json(app: Flask) -> None:
    record = logging.LogRecord("coachdesk", logging.ERROR, __file__, 1, "boom %s", ("x",), None)
    with app.test_request_context("/", headers={"X-Request-ID": "abc-123-def"}):
        assert RequestIdFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "abc-123-def" and line["message"] == "boom x"
    assert line["level"] == "ERROR" and line["logger"] == "coachdesk"
    outside = logging.LogRecord("coachdesk", logging.INFO, __file__, 1, "idle", (), None)
    RequestIdFilter().filter(outside)
    assert outside.request_id == "-"  # type: ignore[attr-defined]


def test_log_format_is_checked_at_start(tmp_path: Path) -> None:
    assert load_config(tmp_path, environ={"COACHDESK_LOG_FORMAT": "JSON"})["LOG_FORMAT"] == "json"
    assert load_config(tmp_path, environ={})["LOG_FORMAT"] == "text"
    with pytest.raises(ConfigError, match="COACHDESK_LOG_FORMAT must be one of text, json"):
        load_config(tmp_path, environ={"COACHDESK_LOG_FORMAT": "xml"})
