"""The new-bundle wizard over HTTP: each step validated on the server, going back keeps
everything, starting from a template, and creation in one transaction (or nothing)."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from core.accounts.models import User
from core.db import db
from core.emails.models import OutboxEmail
from core.programs import service
from core.programs.models import Bundle, BundleDraft, ProgramTemplate, TemplateDocument
from core.sessions.models import CoachingSession, SessionDocument
from tests.conftest import post
from tests.helpers import upload
from tests.test_coach_support import PDF, add_session, coach_with_client


def count(app: Flask, model: Any) -> int:
    with app.app_context():
        return int(db.scalar(select(func.count()).select_from(model)) or 0)


def offer_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "Spring reset",
        "planned_count": "6",
        "price": "100",
        "currency": "EUR",
        "duration_minutes": "60",
        "location": "Studio 4",
        "video_url": "https://meet.example/spring",
    }
    data.update(overrides)
    return data


def draft_id_of(response: Any) -> int:
    match = re.search(r"/programs/drafts/(\d+)/", response.headers.get("Location", ""))
    assert match, (response.status_code, response.data[-1500:])
    return int(match.group(1))


def generate(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "action": "generate",
        "gen-start": "2030-03-18",  # a Monday; Paris changes to summer time on 31 March 2030
        "gen-weekdays": ["0"],
        "gen-at": "09:00",
        "gen-every": "1",
    }
    data.update(overrides)
    return data


def cards(draft_id: int, app: Flask) -> list[dict[str, str]]:
    with app.app_context():
        draft = db.get(BundleDraft, draft_id)
        assert draft is not None
        return list(draft.data["slots"])


def card_form(slots: list[dict[str, str]], action: str) -> dict[str, Any]:
    data: dict[str, Any] = {"action": action}
    for i, slot in enumerate(slots):
        data[f"day-{i}"] = slot["day"]
        data[f"time-{i}"] = slot["time"]
    return data


@pytest.fixture
def scene(app: Flask, as_role: Callable[..., Any], make_user: Callable[..., Any]) -> Any:
    return coach_with_client(app, as_role, make_user)


def start(app: Flask, web: Any, client: User, **overrides: Any) -> int:
    response = post(app, web, f"/programs/new?client={client.id}", offer_data(**overrides))
    return draft_id_of(response)


# --------------------------------------------------------------------------
# Step 1
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("title", "", "This field is required."),
        ("planned_count", "0", "Number must be between 1 and 60."),
        ("planned_count", "61", "Number must be between 1 and 60."),
        ("price", "-5", "Number must be at least 0."),
        ("price", "10.005", "more decimals than the currency allows"),
        ("price", "ten", "Not a valid decimal value."),
        ("currency", "XYZ", "three-letter currency code"),
        ("video_url", "meet.example/x", "must start with http:// or https://"),
        ("duration_minutes", "0", "Number must be between 1 and 1440."),
    ],
)
def test_offer_step_refuses_bad_input_and_keeps_the_rest(
    app: Flask, scene: Any, field: str, value: str, message: str
) -> None:
    web, _coach, client = scene
    response = post(app, web, f"/programs/new?client={client.id}", offer_data(**{field: value}))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert message in page
    assert 'value="Studio 4"' in page  # what was typed stays
    assert count(app, BundleDraft) == 0


def test_a_refused_pdf_stores_nothing(app: Flask, scene: Any) -> None:
    web, _coach, client = scene
    storage = Path(app.config["STORAGE_PATH"]) / "documents"
    before = set(storage.iterdir()) if storage.exists() else set()
    data = offer_data(documents=[(io.BytesIO(b"not a pdf"), "plan.pdf")])
    response = upload(app, web, f"/programs/new?client={client.id}", data)
    assert response.status_code == 200
    assert "is not a PDF document" in response.get_data(as_text=True)
    assert count(app, BundleDraft) == 0
    assert (set(storage.iterdir()) if storage.exists() else set()) == before


def test_going_back_keeps_the_offer_documents_and_dates(app: Flask, scene: Any) -> None:
    web, _coach, client = scene
    data = offer_data(documents=[(io.BytesIO(PDF), "plan.pdf")])
    draft_id = draft_id_of(upload(app, web, f"/programs/new?client={client.id}", data))
    url = f"/programs/drafts/{draft_id}"
    assert post(app, web, f"{url}/schedule", generate()).status_code == 302
    slots = cards(draft_id, app)
    slots[2] = {"day": "2030-04-03", "time": "18:30"}  # one card edited by hand
    back = post(app, web, f"{url}/schedule", card_form(slots, "back"))
    assert back.headers["Location"].endswith(f"{url}/offer")
    page = web.get(f"{url}/offer").get_data(as_text=True)
    assert 'value="Spring reset"' in page and 'value="Studio 4"' in page
    assert 'value="100.00"' in page and "plan.pdf" in page
    # Forward again with a shorter title: the dates come back as they were left.
    assert post(app, web, f"{url}/offer", offer_data(title="Spring")).status_code == 302
    assert cards(draft_id, app) == slots
    schedule = web.get(f"{url}/schedule").get_data(as_text=True)
    assert 'value="2030-04-03"' in schedule and 'value="18:30"' in schedule


def test_fewer_sessions_keep_the_first_dates_more_add_blank_cards(app: Flask, scene: Any) -> None:
    web, _coach, client = scene
    draft_id = start(app, web, client)
    url = f"/programs/drafts/{draft_id}"
    post(app, web, f"{url}/schedule", generate())
    first = cards(draft_id, app)
    post(app, web, f"{url}/offer", offer_data(planned_count="4"))
    assert cards(draft_id, app) == first[:4]
    post(app, web, f"{url}/offer", offer_data(planned_count="5"))
    assert cards(draft_id, app) == [*first[:4], {"day": "", "time": ""}]


# --------------------------------------------------------------------------
# Step 2
# --------------------------------------------------------------------------


def test_generated_dates_keep_local_time_across_the_clock_change(app: Flask, scene: Any) -> None:
    web, _coach, client = scene
    draft_id = start(app, web, client)
    response = post(app, web, f"/programs/drafts/{draft_id}/schedule", generate())
    assert response.status_code == 302
    assert [c["day"] for c in cards(draft_id, app)] == [
        "2030-03-18", "2030-03-25", "2030-04-01", "2030-04-08", "2030-04-15", "2030-04-22",
    ]  # fmt: skip
    assert {c["time"] for c in cards(draft_id, app)} == {"09:00"}


def test_generation_skips_the_coachs_other_sessions_and_says_so(app: Flask, scene: Any) -> None:
    web, coach, client = scene
    add_session(app, coach.id, client.id, starts_at=datetime(2030, 3, 25, 8, 30, tzinfo=UTC))
    draft_id = start(app, web, client)
    response = post(app, web, f"/programs/drafts/{draft_id}/schedule", generate())
    days = [c["day"] for c in cards(draft_id, app)]
    assert "2030-03-25" not in days and days[-1] == "2030-04-29"
    page = web.get(response.headers["Location"]).get_data(as_text=True)
    assert "Skipped, the coach has another session then: Mar 25, 2030." in page


def test_generation_needs_a_weekday(app: Flask, scene: Any) -> None:
    web, _coach, client = scene
    draft_id = start(app, web, client)
    response = post(
        app, web, f"/programs/drafts/{draft_id}/schedule", generate(**{"gen-weekdays": []})
    )
    assert response.status_code == 200
    assert "Choose at least one day of the week." in response.get_data(as_text=True)
    assert {c["day"] for c in cards(draft_id, app)} == {""}


def test_schedule_step_refuses_missing_skipped_and_clashing_dates(app: Flask, scene: Any) -> None:
    web, coach, client = scene
    add_session(app, coach.id, client.id, starts_at=datetime(2030, 4, 2, 8, 0, tzinfo=UTC))
    draft_id = start(app, web, client, planned_count="4")
    slots = [
        {"day": "2030-03-31", "time": "02:30"},  # the clocks skip 2:00–3:00 that night
        {"day": "2030-04-02", "time": "10:15"},  # overlaps the coach's 10:00–11:00 session
        {"day": "", "time": ""},
        {"day": "2030-04-09", "time": "10:00"},
    ]
    url = f"/programs/drafts/{draft_id}/schedule"
    response = post(app, web, url, card_form(slots, "next"))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "02:30 does not exist on that day (the clocks change)." in page
    assert "This overlaps another session of the coach" in page
    assert "Choose a date and a time." in page
    assert "3 dates need your attention." in page
    assert cards(draft_id, app) == slots  # kept as typed
    # The confirmation step cannot be reached around it.
    jumped = web.get(f"/programs/drafts/{draft_id}/confirm")
    assert jumped.headers["Location"].endswith(url)
    # Two cards of the bundle cannot overlap each other either.
    same = [{"day": "2030-04-09", "time": "10:00"}] * 2 + slots[3:] * 2
    page = post(app, web, url, card_form(same, "next")).get_data(as_text=True)
    assert "another date of this bundle" in page


# --------------------------------------------------------------------------
# Step 3 and creation
# --------------------------------------------------------------------------


def schedule_all(app: Flask, web: Any, draft_id: int) -> None:
    url = f"/programs/drafts/{draft_id}"
    assert post(app, web, f"{url}/schedule", generate()).status_code == 302
    response = post(app, web, f"{url}/schedule", card_form(cards(draft_id, app), "next"))
    assert response.headers["Location"].endswith(f"{url}/confirm")


def test_confirmation_summarises_then_creates_bundle_and_sessions(app: Flask, scene: Any) -> None:
    web, coach, client = scene
    data = offer_data(planned_count="3", documents=[(io.BytesIO(PDF), "plan.pdf")])
    draft_id = draft_id_of(upload(app, web, f"/programs/new?client={client.id}", data))
    schedule_all(app, web, draft_id)
    summary = web.get(f"/programs/drafts/{draft_id}/confirm").get_data(as_text=True)
    assert "Spring reset" in summary and "Alice Martin" in summary
    assert summary.count("€33.34") == 1 and summary.count("€33.33") == 2
    assert "Monday, March 18, 2030" in summary and "plan.pdf" in summary
    storage = Path(app.config["STORAGE_PATH"]) / "documents"
    with app.app_context():
        draft_file = db.get(BundleDraft, draft_id).data["documents"][0]["storage_name"]  # type: ignore[union-attr]
    files_before = {p.name for p in storage.iterdir()}
    response = post(app, web, f"/programs/drafts/{draft_id}/confirm", {"action": "create"})
    assert response.status_code == 302
    with app.app_context():
        bundle = db.scalars(select(Bundle)).one()
        sessions = db.scalars(select(CoachingSession).order_by(CoachingSession.starts_at)).all()
        assert (bundle.client_id, bundle.coach_id, bundle.total_price) == (
            client.id,
            coach.id,
            10000,
        )
        assert [s.bundle_id for s in sessions] == [bundle.id] * 3
        assert [s.price_amount for s in sessions] == [3334, 3333, 3333]
        assert {s.location for s in sessions} == {"Studio 4"}
        copies = set(db.scalars(select(SessionDocument.storage_name)))
        assert len(copies) == 3
        assert db.get(BundleDraft, draft_id) is None
    assert count(app, OutboxEmail) == 0  # nothing is emailed at creation
    page = web.get(response.headers["Location"]).get_data(as_text=True)
    assert "No email was sent" in page and "0 / 3 sessions" in page
    # The draft's own copy of the PDF is gone; the sessions have theirs.
    assert {p.name for p in storage.iterdir()} == files_before - {draft_file} | copies


def test_a_failure_during_creation_leaves_nothing_and_the_draft_intact(
    app: Flask, scene: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    web, _coach, client = scene
    data = offer_data(planned_count="3", documents=[(io.BytesIO(PDF), "plan.pdf")])
    draft_id = draft_id_of(upload(app, web, f"/programs/new?client={client.id}", data))
    schedule_all(app, web, draft_id)
    storage = Path(app.config["STORAGE_PATH"]) / "documents"
    files_before = set(storage.iterdir())
    real = service.create_session
    made: list[int] = []

    def fails_on_the_third(*args: Any) -> Any:
        if len(made) == 2:
            raise service.SessionRuleError("the database went away")
        made.append(1)
        return real(*args)

    monkeypatch.setattr(service, "create_session", fails_on_the_third)
    response = post(app, web, f"/programs/drafts/{draft_id}/confirm", {"action": "create"})
    assert response.headers["Location"].endswith(f"/programs/drafts/{draft_id}/confirm")
    assert len(made) == 2  # two sessions (and their PDFs) were made before the failure
    assert count(app, Bundle) == 0
    assert count(app, CoachingSession) == 0
    assert count(app, SessionDocument) == 0
    assert set(storage.iterdir()) == files_before  # the copies made meanwhile are removed
    assert count(app, BundleDraft) == 1  # the coach can try again
    monkeypatch.setattr(service, "create_session", real)
    assert (
        post(app, web, f"/programs/drafts/{draft_id}/confirm", {"action": "create"}).status_code
        == 302
    )
    assert count(app, CoachingSession) == 3


def test_starting_from_a_template_copies_it_and_its_documents(app: Flask, scene: Any) -> None:
    web, _coach, client = scene
    data = offer_data(title="Ten sessions", planned_count="10", price="500", location="Dojo")
    data["documents"] = [(io.BytesIO(PDF), "welcome.pdf")]
    assert upload(app, web, "/programs/templates/new", data).status_code == 302
    with app.app_context():
        template = db.scalars(select(ProgramTemplate)).one()
        (document,) = db.scalars(select(TemplateDocument)).all()
    page = web.get(f"/programs/new?client={client.id}&template={template.id}").get_data(
        as_text=True
    )
    assert 'value="Ten sessions"' in page and 'value="500.00"' in page and 'value="Dojo"' in page
    assert f'name="template_document" value="{document.id}" checked' in page
    step1 = {
        **offer_data(title="Ten sessions", planned_count="10", price="500"),
        "template_id": str(template.id),
    }
    step1["template_document"] = str(document.id)
    draft_id = draft_id_of(post(app, web, f"/programs/new?client={client.id}", step1))
    with app.app_context():
        draft = db.get(BundleDraft, draft_id)
        assert draft.data["offer"]["template_id"] == template.id  # type: ignore[union-attr]
        (entry,) = draft.data["documents"]  # type: ignore[union-attr]
        assert entry["filename"] == "welcome.pdf" and entry["storage_name"] != document.storage_name
    assert len(cards(draft_id, app)) == 10


# --------------------------------------------------------------------------
# Who may
# --------------------------------------------------------------------------


def test_coaches_reach_only_their_clients_and_their_own_drafts(
    app: Flask, scene: Any, as_role: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    web, _coach, client = scene
    stranger = make_user("client")
    assert web.get(f"/programs/new?client={stranger.id}").status_code == 404
    assert post(app, web, f"/programs/new?client={stranger.id}", offer_data()).status_code == 404
    draft_id = start(app, web, client)
    other_web, _other = as_role("coach")
    for step in ("offer", "schedule", "confirm"):
        assert other_web.get(f"/programs/drafts/{draft_id}/{step}").status_code == 404
    assert post(app, other_web, f"/programs/drafts/{draft_id}/discard").status_code == 404
    admin_web, _admin = as_role("admin")
    assert admin_web.get(f"/programs/drafts/{draft_id}/offer").status_code == 404  # not theirs
    client_web, _client = as_role("client")
    assert client_web.get(f"/programs/new?client={client.id}").status_code == 403


def test_without_the_capability_a_coach_is_refused(app: Flask, scene: Any) -> None:
    from tests.helpers import set_options

    web, _coach, client = scene
    set_options(app, permissions__coach=["view_clients", "view_sessions", "edit_sessions"])
    assert web.get(f"/programs/new?client={client.id}").status_code == 403
    assert web.get("/programs/").status_code == 403
    assert web.get("/programs/templates").status_code == 403
    profile = web.get(f"/customer/{client.id}").get_data(as_text=True)
    assert "/programs/" not in profile
    assert web.get(f"/customer/{client.id}/programs").status_code == 404


def test_an_admin_chooses_the_coach(app: Flask, scene: Any, as_role: Callable[..., Any]) -> None:
    _web, coach, client = scene
    admin_web, admin = as_role("admin")
    page = admin_web.get(f"/programs/new?client={client.id}").get_data(as_text=True)
    assert 'name="coach_id"' in page
    draft_id = draft_id_of(
        post(
            app,
            admin_web,
            f"/programs/new?client={client.id}",
            offer_data(planned_count="2", coach_id=str(coach.id)),
        )
    )
    schedule_all(app, admin_web, draft_id)
    assert (
        post(
            app, admin_web, f"/programs/drafts/{draft_id}/confirm", {"action": "create"}
        ).status_code
        == 302
    )
    with app.app_context():
        bundle = db.scalars(select(Bundle)).one()
        assert bundle.coach_id == coach.id and bundle.created_by_id == admin.id
        assert db.scalar(select(func.count()).select_from(OutboxEmail)) == 0


def test_abandoning_a_draft_removes_it_and_its_files(app: Flask, scene: Any) -> None:
    web, _coach, client = scene
    data = offer_data(documents=[(io.BytesIO(PDF), "plan.pdf")])
    draft_id = draft_id_of(upload(app, web, f"/programs/new?client={client.id}", data))
    storage = Path(app.config["STORAGE_PATH"]) / "documents"
    with app.app_context():
        draft_file = db.get(BundleDraft, draft_id).data["documents"][0]["storage_name"]  # type: ignore[union-attr]
    assert (storage / draft_file).is_file()
    response = post(app, web, f"/programs/drafts/{draft_id}/discard")
    assert response.headers["Location"].endswith(f"/customer/{client.id}/programs")
    assert count(app, BundleDraft) == 0
    assert not (storage / draft_file).exists()


def test_drafts_left_for_a_week_are_swept_with_their_files(app: Flask, scene: Any) -> None:
    from datetime import timedelta

    from core.db import utcnow

    web, _coach, client = scene
    data = offer_data(documents=[(io.BytesIO(PDF), "plan.pdf")])
    old_id = draft_id_of(upload(app, web, f"/programs/new?client={client.id}", data))
    recent_id = start(app, web, client)
    storage = Path(app.config["STORAGE_PATH"]) / "documents"
    with app.app_context():
        old = db.get(BundleDraft, old_id)
        old.updated_at = utcnow() - timedelta(days=8)  # type: ignore[union-attr]
        old_file = storage / old.data["documents"][0]["storage_name"]  # type: ignore[union-attr]
        db.commit()
    assert old_file.is_file()
    newest_id = start(app, web, client)  # starting a wizard sweeps the abandoned ones
    with app.app_context():
        assert db.get(BundleDraft, old_id) is None
        assert db.get(BundleDraft, recent_id) is not None and db.get(BundleDraft, newest_id)
    assert not old_file.exists()
