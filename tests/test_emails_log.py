"""The email log: every email, searchable and filterable, one email's detail, resend; the
coach's log of their own clients; a constant number of queries."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Flask

from core.db import db, utcnow
from core.emails.models import OutboxEmail
from tests.conftest import post
from tests.test_clientarea_queries import counting
from tests.test_coach_support import assign
from tests.test_emails_support import add_session, outbox


def add_email(app: Flask, to: Any, *, age_minutes: int = 0, **fields: Any) -> int:
    """Commit one outbox row to user ``to`` (sent unless ``status`` says otherwise)."""
    values: dict[str, Any] = {
        "email_type": "reminder",
        "to_address": to.email,
        "to_name": to.full_name,
        "from_address": "Coachdesk <noreply@example.test>",
        "subject": "Your session tomorrow",
        "body_text": "See you tomorrow.",
        "body_html": "<p>See you <b>tomorrow</b>.</p>",
        "user_id": to.id,
        "status": "sent",
        "created_at": utcnow() - timedelta(minutes=age_minutes),
    }
    values.update(fields)
    with app.app_context():
        row = OutboxEmail(**values)
        db.add(row)
        db.commit()
        return row.id


def detail_ids(page: str) -> list[int]:
    """The emails a log page lists (each row links to its detail page), in order."""
    ids = re.findall(r'href="/emails/log/(\d+)"><strong>', page)
    return [int(i) for i in ids]


def test_admin_log_lists_sent_queued_failed_and_dead_emails(
    app: Flask, as_role: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    browser, _admin = as_role("admin")
    client = make_user("client")
    sent = add_email(app, client, age_minutes=4)
    dead = add_email(app, client, age_minutes=3, status="dead", last_error="550 no such user")
    failed = add_email(app, client, age_minutes=2, status="pending", last_error="timeout")
    queued = add_email(app, client, age_minutes=1, status="pending")
    page = browser.get("/admin/outbox").get_data(as_text=True)
    assert detail_ids(page) == [queued, failed, dead, sent]
    assert client.email in page and client.full_name in page
    for status, expected in (
        ("sent", sent),
        ("dead", dead),
        ("failed", failed),
        ("pending", queued),
    ):
        filtered = browser.get(f"/admin/outbox?status={status}").get_data(as_text=True)
        assert detail_ids(filtered) == [expected], status
    # The retry actions are still there.
    response = post(app, browser, f"/admin/outbox/{dead}/retry")
    assert response.status_code == 302
    assert {e.id: e.status for e in outbox(app)}[dead] == "pending"


def test_search_by_recipient_or_client_name_and_filter_by_type(
    app: Flask, as_role: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    browser, _admin = as_role("admin")
    alice = make_user("client", first_name="Alice", last_name="Martin", email="a.m@example.test")
    bob = make_user("client", first_name="Bob", last_name="Stone", email="bob@example.test")
    to_alice = add_email(app, alice, email_type="welcome")
    to_bob = add_email(app, bob)
    assert detail_ids(browser.get("/admin/outbox?q=ALICE+mar").get_data(as_text=True)) == [to_alice]
    assert detail_ids(browser.get("/admin/outbox?q=bob@exa").get_data(as_text=True)) == [to_bob]
    assert detail_ids(browser.get("/admin/outbox?type=welcome").get_data(as_text=True)) == [
        to_alice
    ]
    nothing = browser.get("/admin/outbox?q=%25zz").get_data(as_text=True)
    assert detail_ids(nothing) == [] and "No email matches" in nothing
    # An unknown filter value is ignored, not an error.
    assert len(detail_ids(browser.get("/admin/outbox?status=bogus").get_data(as_text=True))) == 2


def test_paging(app: Flask, as_role: Callable[..., Any], make_user: Callable[..., Any]) -> None:
    browser, _admin = as_role("admin")
    client = make_user("client")
    ids = [add_email(app, client, age_minutes=100 - i) for i in range(60)]
    first = detail_ids(browser.get("/admin/outbox").get_data(as_text=True))
    second_page = browser.get("/admin/outbox?page=2").get_data(as_text=True)
    assert first == ids[::-1][:50]
    assert detail_ids(second_page) == ids[::-1][50:]
    assert "Page 2 of 2" in second_page and "60 email(s)" in second_page


def test_detail_shows_headers_text_and_sandboxed_html(
    app: Flask, as_role: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    browser, _admin = as_role("admin")
    client = make_user("client")
    email_id = add_email(
        app,
        client,
        reply_to="Coach <coach@example.test>",
        body_html='<p onclick="x()">Hi</p><script>alert("boom")</script>',
    )
    page = browser.get(f"/emails/log/{email_id}").get_data(as_text=True)
    assert "Coachdesk &lt;noreply@example.test&gt;" in page
    assert "Coach &lt;coach@example.test&gt;" in page
    assert f"&lt;coachdesk.{email_id}." in page  # the Message-ID the worker uses
    assert "See you tomorrow." in page
    frame = re.search(r"<iframe[^>]*>", page)
    assert frame is not None
    assert 'sandbox=""' in frame.group(0)
    srcdoc = re.search(r'srcdoc="([^"]*)"', frame.group(0))
    assert srcdoc is not None
    assert html.unescape(srcdoc.group(1)).endswith('<script>alert("boom")</script>')
    assert "<script>alert" not in page  # never as markup of the page itself


def test_resend_queues_a_copy_and_needs_csrf(
    app: Flask, as_role: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    browser, _admin = as_role("admin")
    client = make_user("client")
    original = add_email(app, client, message_id="<old@example.test>")
    assert browser.post(f"/emails/log/{original}/resend").status_code == 400
    assert len(outbox(app)) == 1
    response = post(app, browser, f"/emails/log/{original}/resend")
    assert response.status_code == 302
    rows = outbox(app)
    assert len(rows) == 2
    copy = rows[1]
    assert response.headers["Location"].endswith(f"/emails/log/{copy.id}")
    assert (copy.status, copy.to_address, copy.subject, copy.body_html, copy.message_id) == (
        "pending",
        client.email,
        "Your session tomorrow",
        "<p>See you <b>tomorrow</b>.</p>",
        None,
    )
    assert rows[0].status == "sent"


def test_coach_sees_only_their_clients(
    app: Flask, as_role: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    browser, coach = as_role("coach")
    other_coach = make_user("coach")
    mine, theirs = make_user("client"), make_user("client")
    assign(app, coach.id, mine.id)
    assign(app, other_coach.id, theirs.id)
    my_session = add_session(app, coach.id, mine.id)
    other_session = add_session(app, other_coach.id, mine.id)  # same client, other coach
    visible = add_email(app, mine, session_id=my_session)
    account = add_email(app, mine, email_type="welcome")
    about_other_session = add_email(app, mine, session_id=other_session)
    hidden = add_email(app, theirs)
    assert detail_ids(browser.get("/emails/log").get_data(as_text=True)) == [account, visible]
    by_session = browser.get(f"/emails/log?session={my_session}").get_data(as_text=True)
    assert detail_ids(by_session) == [visible]
    assert detail_ids(browser.get(f"/emails/log?client={theirs.id}").get_data(as_text=True)) == []
    for email_id in (hidden, about_other_session):
        assert browser.get(f"/emails/log/{email_id}").status_code == 404
        assert post(app, browser, f"/emails/log/{email_id}/resend").status_code == 404
    assert browser.get(f"/emails/log/{visible}").status_code == 200
    assert len(outbox(app)) == 4
    # The coach reaches the log from the client's Contact tab and from the session editor.
    contact = browser.get(f"/customer/{mine.id}/contact").get_data(as_text=True)
    assert f'href="/emails/log?client={mine.id}"' in contact
    # The admin outbox stays the admin's.
    assert browser.get("/admin/outbox").status_code == 403


def test_log_query_count_does_not_grow(
    app: Flask, as_role: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    admin_browser, _admin = as_role("admin")
    coach_browser, coach = as_role("coach")
    client = make_user("client")
    assign(app, coach.id, client.id)
    session_id = add_session(app, coach.id, client.id)
    urls = [
        (admin_browser, "/admin/outbox"),
        (admin_browser, "/admin/outbox?q=client&status=sent"),
        (coach_browser, "/emails/log"),
        (coach_browser, f"/emails/log?client={client.id}"),
    ]

    def counts() -> list[int]:
        result = []
        for browser, url in urls:
            with counting(app) as statements:
                assert browser.get(url).status_code == 200
            result.append(len(statements))
        return result

    for i in range(10):
        add_email(app, client, session_id=session_id if i % 2 else None)
    small = counts()
    with app.app_context():
        now = utcnow()
        db.add_all(
            OutboxEmail(
                email_type="reminder",
                to_address=client.email,
                from_address="noreply@example.test",
                subject="Hello",
                body_text="Hi",
                user_id=client.id,
                session_id=session_id if i % 2 else None,
                status="sent",
                created_at=now - timedelta(seconds=i),
            )
            for i in range(190)
        )
        db.commit()
    assert counts() == small
    assert max(small) <= 12, small
