"""The session card macro writes the same card from a call block as from ``body``/``actions``,
and the same date box and meta as the cancel page's own macros."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, render_template_string
from sqlalchemy.orm import joinedload

from core.accounts.models import Role
from core.db import db, utcnow
from core.sessions.models import CoachingSession

IMPORT = '{% from "clientarea/_macros.html" import session_card, session_when, session_meta %}'
CALLED = (
    IMPORT + "{% call(part) session_card(s, 'x', past=True, with_video=video) %}"
    "{% if part == 'body' %}<p>Body & {{ s.title }}</p>{% else %}<a>Act</a>{% endif %}"
    "{% endcall %}"
)
GIVEN = (
    IMPORT + "{% set body %}<p>Body & {{ s.title }}</p>{% endset %}"
    "{% set actions %}<a>Act</a>{% endset %}"
    "{{ session_card(s, 'x', past=True, with_video=video, body=body, actions=actions) }}"
)
PIECES = IMPORT + "{{ session_when(s) }}|{{ session_meta(s, with_video=video) }}"


def test_session_card_is_the_same_from_a_call_block_and_from_its_parts(
    app: Flask, make_user
) -> None:  # type: ignore[no-untyped-def]
    client, coach = make_user(Role.CLIENT), make_user(Role.COACH)
    with app.app_context():
        session = CoachingSession(
            coach_id=coach.id, client_id=client.id, title="Run <fast>", location="Park & co",
            video_url="https://video.test/1", starts_at=utcnow() + timedelta(days=2),
        )  # fmt: skip
        db.add(session)
        db.commit()
        session_id = session.id
    with app.test_request_context("/"):
        found = db.get(CoachingSession, session_id, options=[joinedload(CoachingSession.coach)])
        for video in (True, False):
            called = render_template_string(CALLED, s=found, video=video)
            assert render_template_string(GIVEN, s=found, video=video) == called
            assert "<p>Body & Run &lt;fast&gt;</p>" in called and "<a>Act</a>" in called
            when, meta = render_template_string(PIECES, s=found, video=video).split("|")
            assert when in called and meta in called
            assert ("video.test" in meta) is video
