"""Forgot your password: a reset link by email, one answer for unknown addresses, rate limited.

The request only records what was typed; the worker's pass looks the account up and
queues the email (same work in the request whether or not the account exists).
"""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import PASSWORD, links_in, login, post
from tests.test_emails_support import outbox, work

URL = "/password/forgot"
NEW_PASSWORD = "a brand new passphrase 42"


def test_login_page_links_to_it(app: Flask, client: FlaskClient) -> None:
    page = client.get("/" + app.config["SLUGS"]["login"])
    assert URL.encode() in page.data
    assert client.get(URL).status_code == 200


def test_reset_by_email_end_to_end(app: Flask, client: FlaskClient, make_user, mailbox) -> None:
    user = make_user("client")
    known = post(app, client, URL, {"email": user.email.upper()}, follow_redirects=True)
    unknown = post(app, client, URL, {"email": "nobody@example.test"}, follow_redirects=True)
    assert b"If an account uses this address" in known.data
    assert known.data.count(b"If an account") == unknown.data.count(b"If an account") == 1
    assert outbox(app) == []  # nothing decided in the request
    work(app)
    assert [e.email_type for e in outbox(app)] == ["password_reset"]
    (message,) = mailbox.messages
    (link,) = [u for u in links_in(message) if "/password/" in u]
    path = link.removeprefix(app.config["BASE_URL"])
    response = post(app, client, path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert client.get(path).status_code == 410  # single use
    fresh = app.test_client()
    assert login(app, fresh, user, PASSWORD).status_code == 200  # old password refused
    assert login(app, fresh, user, NEW_PASSWORD).status_code == 302


def test_disabled_accounts_get_nothing(app: Flask, client: FlaskClient, make_user) -> None:
    user = make_user("client", is_active=False)
    assert post(app, client, URL, {"email": user.email}).status_code == 302
    work(app)
    assert outbox(app) == []


def test_rate_limited_per_email(app: Flask, client: FlaskClient, make_user) -> None:
    user = make_user("client")
    codes = [post(app, client, URL, {"email": user.email}).status_code for _ in range(4)]
    assert codes == [302, 302, 302, 429]
    work(app)
    assert len(outbox(app)) == 3


def test_the_worker_process_answers_requests_in_its_outbox_job(
    app: Flask, client: FlaskClient, make_user, mailbox
) -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    from core.worker.scheduler import build_scheduler

    user = make_user("client")
    post(app, client, URL, {"email": user.email})
    scheduler = build_scheduler(app, scheduler_class=BackgroundScheduler)
    scheduler.get_job("outbox").func()  # what `coachdesk worker` runs every few seconds
    (message,) = mailbox.messages
    assert user.email in message["To"] and "/password/" in "".join(links_in(message))
