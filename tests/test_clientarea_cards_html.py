"""The session card macro writes the same card from a call block as from ``body``/``actions``;
the cancel page's card is the same macro's, as a <div> with an <h2> title."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, render_template_string
from sqlalchemy.orm import joinedload

from core.accounts.models import Role
from core.db import db, utcnow
from core.sessions.models import CoachingSession

IMPORT = '{% from "clientarea/_macros.html" import session_card %}'
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
ALONE = IMPORT + (
    "{{ session_card(s, none, with_video=video, actions_class=none, body='', tag='div', "
    "heading='h2') }}"
)


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
            assert ("video.test" in called) is video
            alone = render_template_string(ALONE, s=found, video=video)
            assert alone.startswith('<div class="session-card">') and alone.endswith("</div>")
            assert '<h2 class="session-title">Run &lt;fast&gt;</h2>' in alone
            head = called.split('<h3 class="session-title">')[0].split(">", 1)[1]
            assert head in alone and "session-actions" not in alone
