"""The new-bundle wizard: offer, scheduling, confirmation.

Its state lives server-side in a :class:`BundleDraft` (one per started wizard, only
its author reaches it), so going back and forth keeps every field, uploaded
document and date. Each step is validated on the server when it is left; the last
one creates the bundle and all its sessions in one transaction, or nothing.

Draft data::

    {"offer": {coach_id, template_id, title, planned_count, price (as typed),
               total_price (minor units), currency, duration_minutes, location, video_url},
     "documents": [{filename, storage_name, size_bytes, sha256}],   # files already stored
     "slots": [{"day": "2026-03-16", "time": "09:00"}, ...],        # one per session
     "generator": {start, weekdays, at, every}}                     # the last "generate dates"
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core.accounts.access import get_client_or_404
from core.accounts.models import Role, User
from core.accounts.permissions import capability_required
from core.coach.queries import clients_query
from core.db import db, utcnow
from core.i18n import from_minor, site_timezone
from core.programs.blueprint import bp, coach_choices, exact_minor, manager_view
from core.programs.catalog import uploads
from core.programs.documents import (
    discard_entries,
    entry_of,
    roll_back,
    store_uploads,
    template_entries,
)
from core.programs.forms import GenerateForm, OfferForm
from core.programs.models import BundleDraft, ProgramTemplate
from core.programs.pricing import spread_price
from core.programs.queries import offered_templates
from core.programs.schedule import (
    HORIZON_WEEKS,
    Slot,
    busy_intervals,
    clashing_slots,
    generate_slots,
)
from core.programs.service import BundleError, Offer, create_bundle
from core.sessions.documents import DocumentError
from core.sessions.service import SessionRuleError
from core.settings import get_option
from core.validation import db_int

STEPS = ("offer", "schedule", "confirm")


def step_labels() -> list[str]:
    return [_("Offer"), _("Scheduling"), _("Confirmation")]


def render_step(step: str, client: User, draft: BundleDraft | None, **context: Any) -> str:
    return render_template(
        f"programs/wizard_{step}.html",
        step=STEPS.index(step) + 1,
        steps=step_labels(),
        client=client,
        draft=draft,
        zone_name=str(site_timezone()),
        **context,
    )


def load_draft(draft_id: int) -> tuple[BundleDraft, User]:
    """The viewer's own draft and its client (still reachable), else 404."""
    draft = db.get(BundleDraft, draft_id)
    if draft is None or draft.created_by_id != current_user.id:
        abort(404)
    return draft, get_client_or_404(current_user, draft.client_id)


# --------------------------------------------------------------------------
# Step 1: the offer
# --------------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@manager_view
@capability_required("view_clients")  # choosing a client lists them with their details
def new_bundle() -> ResponseReturnValue:
    """Step 1 for ``?client=<id>``; without a client, choose one first."""
    client_id = request.args.get("client", type=db_int)
    if client_id is None:
        if request.method == "POST":
            abort(400)
        clients = db.scalars(
            clients_query(current_user)
            .where(User.is_active)
            .order_by(User.last_name, User.first_name)
        ).all()
        return render_template("programs/choose_client.html", clients=clients)
    return offer_step(get_client_or_404(current_user, client_id), None)


@bp.route("/drafts/<int:draft_id>/offer", methods=["GET", "POST"])
@manager_view
def draft_offer(draft_id: int) -> ResponseReturnValue:
    draft, client = load_draft(draft_id)
    return offer_step(client, draft)


def offer_form() -> OfferForm:
    form = OfferForm()
    if current_user.role == Role.ADMIN:
        form.coach_id.choices = coach_choices()
    else:
        del form.coach_id  # a coach sells their own sessions
    return form


def template_offer(template: ProgramTemplate) -> dict[str, Any]:
    return {
        "template_id": template.id,
        "title": template.title,
        "planned_count": template.planned_count,
        "total_price": template.total_price,
        "currency": template.currency,
        "duration_minutes": template.duration_minutes,
        "location": template.location or "",
        "video_url": template.video_url or "",
    }


def fill_offer(form: OfferForm, values: dict[str, Any]) -> None:
    """Show stored values (a draft's, or a template's) in the form."""
    for name in ("title", "planned_count", "currency", "duration_minutes", "location", "video_url"):
        if name in values:
            form[name].data = values[name]
    if "total_price" in values:
        form.price.data = from_minor(values["total_price"], values["currency"])
    form.template_id.data = str(values.get("template_id") or "")
    if "coach_id" in form and values.get("coach_id"):
        form.coach_id.data = values["coach_id"]


def chosen_template(form: OfferForm) -> ProgramTemplate | None:
    """The template named by ``?template=`` (GET) or the form's hidden field, if offered."""
    raw = request.args.get("template") if request.method == "GET" else form.template_id.data
    try:
        template_id = db_int(raw or "")
    except ValueError:
        return None
    template = db.get(
        ProgramTemplate, template_id, options=[selectinload(ProgramTemplate.documents)]
    )
    if template is None or (template.archived_at is not None and request.method == "GET"):
        return None
    return template


def offer_step(client: User, draft: BundleDraft | None) -> ResponseReturnValue:
    form = offer_form()
    data = draft.data if draft is not None else {}
    template = chosen_template(form)
    applying = template is not None and template.id != data.get("offer", {}).get("template_id")
    if request.method == "GET":
        if data:
            fill_offer(form, data["offer"])
        else:
            form.currency.data = get_option("general.currency")
            if "coach_id" in form:
                form.coach_id.data = current_user.id
        if applying and template is not None:
            fill_offer(form, template_offer(template))
    elif form.validate_on_submit():
        saved = save_offer(form, client, draft, template if applying else None)
        if saved is not None:
            return redirect(url_for("programs.draft_schedule", draft_id=saved))
    return render_step(
        "offer",
        client,
        draft,
        form=form,
        templates=offered_templates(),
        template=template if applying else None,
        documents_stored=data.get("documents", []),
        max_mb=get_option("uploads.max_mb"),
        files_dropped=request.method == "POST" and bool(uploads()),
    )


def save_offer(
    form: OfferForm, client: User, draft: BundleDraft | None, template: ProgramTemplate | None
) -> int | None:
    """Validate what step 1 cannot check field by field, store files, save the draft."""
    currency = form.currency.data or ""
    total = exact_minor(form.price.data, currency)
    if total is None:
        form.price.errors = [_("The price has more decimals than the currency allows.")]
        return None
    data = dict(draft.data) if draft is not None else {}
    count = form.planned_count.data or 1
    offer = {
        "coach_id": form.coach_id.data if "coach_id" in form else current_user.id,
        "template_id": template.id if template else data.get("offer", {}).get("template_id"),
        "title": form.title.data or "",
        "planned_count": count,
        "total_price": total,
        "currency": currency,
        "duration_minutes": form.duration_minutes.data or 60,
        "location": form.location.data or "",
        "video_url": form.video_url.data or "",
    }
    removed = set(request.form.getlist("remove_document"))
    documents = data.get("documents", [])
    kept = [e for e in documents if e["storage_name"] not in removed]
    written: list[Path] = []
    try:
        added = [entry_of(item) for item in store_uploads(uploads(), written)]
        if template is not None:
            ids = {int(v) for v in request.form.getlist("template_document") if v.isdigit()}
            added += template_entries(template, ids, written)
        if draft is None:
            sweep_drafts()  # wizards started a week ago and left: no worker job needed
            draft = BundleDraft(created_by_id=current_user.id, client_id=client.id)
            db.add(draft)
        slots = list(data.get("slots", []))[:count]
        draft.data = {
            **data,
            "offer": offer,
            "documents": kept + added,
            "slots": slots + [{"day": "", "time": ""}] * (count - len(slots)),
        }
        discard_entries([e for e in documents if e["storage_name"] in removed])
        db.commit()
    except DocumentError as exc:
        roll_back(written)
        form.documents.errors = [str(exc)]
        return None
    return draft.id


# --------------------------------------------------------------------------
# Step 2: scheduling
# --------------------------------------------------------------------------


def parse_slot(raw: dict[str, str]) -> tuple[date, time] | None:
    try:
        return date.fromisoformat(raw.get("day", "")), time.fromisoformat(raw.get("time", ""))
    except ValueError:
        return None


def check_slots(
    raw_slots: list[dict[str, str]], coach_id: int, duration: int
) -> tuple[list[Slot], dict[int, str]]:
    """The slots as instants, and a message per card that is not right (index → message).

    A card needs a date and a time that exists that day (the clocks may skip it), and
    must not overlap the coach's other sessions or another card.
    """
    tz = site_timezone()
    slots: dict[int, Slot] = {}
    errors: dict[int, str] = {}
    for index, raw in enumerate(raw_slots):
        parsed = parse_slot(raw)
        if parsed is None:
            errors[index] = _("Choose a date and a time.")
            continue
        try:
            slots[index] = Slot.local(*parsed, tz)
        except SessionRuleError as exc:
            errors[index] = str(exc)
    if slots:
        ordered = sorted(slots.items(), key=lambda item: item[1].starts_at)
        start = ordered[0][1].starts_at
        end = ordered[-1][1].starts_at + timedelta(minutes=duration)
        busy = busy_intervals(coach_id, start, end)
        for position in clashing_slots([slot for _, slot in ordered], duration, busy):
            errors[ordered[position][0]] = _(
                "This overlaps another session of the coach, or another date of this bundle."
            )
    return [slot for index, slot in sorted(slots.items()) if index not in errors], errors


def raw_slots_from_form(count: int) -> list[dict[str, str]]:
    return [
        {"day": request.form.get(f"day-{i}", "").strip(), "time": request.form.get(f"time-{i}", "")}
        for i in range(count)
    ]


def generator_defaults(data: dict[str, Any]) -> dict[str, Any]:
    """The last rhythm used, else: from tomorrow, that weekday, at 9:00, every week."""
    stored = data.get("generator")
    if stored:
        return {
            "start": date.fromisoformat(stored["start"]),
            "weekdays": stored["weekdays"],
            "at": time.fromisoformat(stored["at"]),
            "every": stored["every"],
        }
    tomorrow = datetime.now(site_timezone()).date() + timedelta(days=1)
    return {"start": tomorrow, "weekdays": [tomorrow.weekday()], "at": time(9), "every": 1}


def generate(form: GenerateForm, offer: dict[str, Any]) -> list[dict[str, str]]:
    """Fill the cards from the rhythm; say which dates were passed over and why."""
    tz = site_timezone()
    start = form.start.data
    at = form.at.data
    assert start is not None and at is not None  # validated
    first = datetime.combine(start, time(0), tzinfo=tz)
    busy = busy_intervals(offer["coach_id"], first, first + timedelta(weeks=HORIZON_WEEKS))
    found = generate_slots(
        start=start,
        weekdays=set(form.weekdays.data or []),
        at=at,
        every_weeks=form.every.data or 1,
        count=offer["planned_count"],
        duration_minutes=offer["duration_minutes"],
        tz=tz,
        busy=busy,
    )
    if found.clashes:
        days = ", ".join(format_date(d, "medium") for d in found.clashes)
        flash(_("Skipped, the coach has another session then: %(days)s.", days=days), "info")
    if found.skipped_times:
        days = ", ".join(format_date(d, "medium") for d in found.skipped_times)
        flash(
            _("Skipped, that time does not exist then (clocks change): %(days)s.", days=days),
            "info",
        )
    missing = offer["planned_count"] - len(found.slots)
    if missing:
        flash(_("%(num)s dates could not be found: choose them below.", num=missing), "warning")
    cards = [{"day": s.day.isoformat(), "time": s.at.strftime("%H:%M")} for s in found.slots]
    return cards + [{"day": "", "time": ""}] * missing


@bp.route("/drafts/<int:draft_id>/schedule", methods=["GET", "POST"])
@manager_view
def draft_schedule(draft_id: int) -> ResponseReturnValue:
    draft, client = load_draft(draft_id)
    data = dict(draft.data)
    offer = data["offer"]
    here = url_for("programs.draft_schedule", draft_id=draft.id)
    generator = GenerateForm(prefix="gen")
    errors: dict[int, str] = {}
    if request.method == "GET":
        generator.process(data=generator_defaults(data))
        # Point at what is wrong with the dates already chosen; blank cards are just to do.
        _slots, found = check_slots(data["slots"], offer["coach_id"], offer["duration_minutes"])
        errors = {i: m for i, m in found.items() if parse_slot(data["slots"][i]) is not None}
    else:
        action = request.form.get("action")
        data["slots"] = raw_slots_from_form(offer["planned_count"])
        if action == "generate" and generator.validate():
            data["slots"] = generate(generator, offer)
            data["generator"] = {
                "start": generator.start.data.isoformat(),  # type: ignore[union-attr]
                "weekdays": list(generator.weekdays.data or []),
                "at": generator.at.data.strftime("%H:%M"),  # type: ignore[union-attr]
                "every": generator.every.data,
            }
        draft.data = data
        db.commit()  # what was typed is kept, whatever happens next
        if action == "back":
            return redirect(url_for("programs.draft_offer", draft_id=draft.id))
        if action == "generate" and not generator.errors:
            return redirect(here + "#sessions")
        if action == "next":
            _slots, errors = check_slots(
                data["slots"], offer["coach_id"], offer["duration_minutes"]
            )
            if not errors:
                return redirect(url_for("programs.draft_confirm", draft_id=draft.id))
    return render_step(
        "schedule",
        client,
        draft,
        offer=offer,
        slots=data["slots"],
        errors=errors,
        generator=generator,
    )


# --------------------------------------------------------------------------
# Step 3: confirmation
# --------------------------------------------------------------------------


def offer_of(draft: BundleDraft) -> Offer:
    values = draft.data["offer"]
    return Offer(
        coach_id=values["coach_id"],
        client_id=draft.client_id,
        title=values["title"],
        planned_count=values["planned_count"],
        total_price=values["total_price"],
        currency=values["currency"],
        duration_minutes=values["duration_minutes"],
        location=values["location"] or None,
        video_url=values["video_url"] or None,
        template_id=values.get("template_id"),
        documents=list(draft.data.get("documents", [])),
    )


def check_coach(offer: Offer) -> User:
    """The coach chosen on step 1, if they may still coach (active coach or administrator)."""
    coach = db.get(User, offer.coach_id)
    if coach is None or not coach.is_active or coach.role not in (Role.COACH, Role.ADMIN):
        raise BundleError(_("Choose an active coach for this bundle."))
    if current_user.role != Role.ADMIN and coach.id != current_user.id:
        raise BundleError(_("Choose an active coach for this bundle."))
    return coach


@bp.route("/drafts/<int:draft_id>/confirm", methods=["GET", "POST"])
@manager_view
def draft_confirm(draft_id: int) -> ResponseReturnValue:
    draft, client = load_draft(draft_id)
    offer = offer_of(draft)
    slots, errors = check_slots(draft.data["slots"], offer.coach_id, offer.duration_minutes)
    if errors:
        flash(_("Some dates need your attention before the bundle can be created."), "error")
        return redirect(url_for("programs.draft_schedule", draft_id=draft.id))
    if request.method == "POST":
        if request.form.get("action") == "back":
            return redirect(url_for("programs.draft_schedule", draft_id=draft.id))
        return create(draft, offer, slots, client)
    prices = spread_price(offer.total_price, len(slots)) if offer.total_price else []
    coach = db.get(User, offer.coach_id)
    return render_step(
        "confirm",
        client,
        draft,
        offer=offer,
        coach=coach,
        rows=list(zip(slots, prices or [None] * len(slots), strict=True)),
    )


def create(
    draft: BundleDraft, offer: Offer, slots: list[Slot], client: User
) -> ResponseReturnValue:
    """Everything in one transaction: the bundle, its sessions and their documents, or nothing."""
    written: list[Path] = []
    try:
        check_coach(offer)
        bundle = create_bundle(offer, slots, client, current_user, written)
        discard_entries(offer.documents)  # the sessions have their own copies now
        db.delete(draft)
        db.commit()
    except (BundleError, SessionRuleError, DocumentError) as exc:
        roll_back(written)
        flash(str(exc), "error")
        return redirect(url_for("programs.draft_confirm", draft_id=draft.id))
    except Exception:
        roll_back(written)
        raise
    flash(
        _(
            "Bundle created with its %(num)s sessions. No email was sent: use “Send "
            "confirmations” when the client should hear about it.",
            num=len(slots),
        ),
        "success",
    )
    return redirect(url_for("programs.bundle", bundle_id=bundle.id))


@bp.route("/drafts/<int:draft_id>/discard", methods=["POST"])
@manager_view
def discard_draft(draft_id: int) -> ResponseReturnValue:
    draft, client = load_draft(draft_id)
    discard_entries(draft.data.get("documents", []))
    db.delete(draft)
    db.commit()
    flash(_("The new bundle was abandoned; nothing was created."), "info")
    return redirect(url_for("coach.profile", client_id=client.id, tab="programs"))


def sweep_drafts(max_age_days: int = 7) -> int:
    """Forget drafts nobody touched for a week, and their files once the transaction commits."""
    old = db.scalars(
        select(BundleDraft).where(BundleDraft.updated_at < utcnow() - timedelta(days=max_age_days))
    ).all()
    for draft in old:
        discard_entries(draft.data.get("documents", []))
        db.delete(draft)
    return len(old)
