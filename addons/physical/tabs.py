"""The "Physical" tabs: the client's (client area) and the coach's (client profile).

Both are one page (:func:`physical_page`) that handles its own posts, so that a form
with a mistake comes back with what was typed and each field's message. The core has
already checked who may open the page: the client themself, or staff who reach this
client. What the page then checks itself:

* an entry named in the URL (``?edit=``) or a form (``entry_id``) must be this
  client's, and for the client one they made themself: anything else answers 404 and
  changes nothing;
* clients add and correct entries only while Settings → Physical lets them (else 403);
* deleting entries and setting targets are for staff.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app, flash, make_response, redirect, request, url_for
from werkzeug.exceptions import Forbidden, HTTPException, NotFound
from werkzeug.wrappers import Response
from wtforms.validators import ValidationError

from addons.physical.display import Display, chart, long_date, summaries
from addons.physical.forms import EntryForm, MeasureValue, TargetForm, entry_form, today
from addons.physical.history import (
    EntryRow,
    History,
    client_units,
    delete_entry,
    load_history,
    remove_target,
    save_entry,
    set_client_units,
    set_target,
)
from addons.physical.i18n import _, render_template
from addons.physical.measures import all_measures, shown_measures
from addons.physical.options import clients_can_edit, site_units
from addons.physical.units import System
from core import api
from hooks import Tab, hookimpl

TAB_KEY = "physical"
PER_PAGE = 20
#: Periods the charts can show (days back from today; None: everything). Five years of
#: weekly values make 260 points a chart: a year is the default, all is a click away.
PERIODS: dict[str, int | None] = {"3m": 91, "1y": 365, "all": None}
DEFAULT_PERIOD = "1y"


def period_labels() -> dict[str, str]:
    return {"3m": _("3 months"), "1y": _("1 year"), "all": _("All")}


def refuse(error: HTTPException) -> Response:
    """The site's own error page, from inside a tab (a tab returns it; it cannot abort)."""
    return make_response(current_app.handle_http_exception(error))


@dataclass(frozen=True)
class Row:
    """An entry as the history list shows it."""

    id: int
    measured_on: date
    values: list[tuple[str, str]]  # (measure label, value with unit)
    note: str | None
    by: str | None  # who entered it, when not the client
    editable: bool


def _entry_id(text: str | None) -> int | None:
    try:
        return int(text or "")
    except ValueError:
        return None


class PhysicalPage:
    """One request to a client's Physical tab, by the client (``staff=False``) or staff."""

    def __init__(self, client: api.User, viewer: api.User, *, staff: bool) -> None:
        self.client = client
        self.viewer = viewer
        self.staff = staff
        self.history: History = load_history(client.id)
        self.display = Display(site_units() if staff else client_units(client.id))
        self.measures = shown_measures()
        self.may_add = staff or clients_can_edit()

    # -- what the viewer may touch ------------------------------------------------
    def may_edit(self, row: EntryRow) -> bool:
        if self.staff:
            return True
        return self.may_add and row.entry.created_by_id == self.viewer.id

    def editable_entry(self, text: str | None) -> EntryRow | None:
        """The entry with this id if it is this client's and the viewer may change it."""
        entry_id = _entry_id(text)
        row = self.history.entry(entry_id) if entry_id is not None else None
        return row if row is not None and self.may_edit(row) else None

    # -- requests ---------------------------------------------------------------
    def handle(self) -> str | Response:
        editing: EntryRow | None = None
        form: EntryForm | None = None
        target_form = self.target_form()
        if request.method == "POST":
            action = request.form.get("action", "")
            if action == "save":
                if not self.may_add:
                    return refuse(Forbidden())
                editing = None
                if request.form.get("entry_id"):
                    editing = self.editable_entry(request.form.get("entry_id"))
                    if editing is None:
                        return refuse(NotFound())
                form = entry_form(
                    self.measures,
                    self.display,
                    request.form,
                    stored=editing.values if editing else None,
                )
                if self.save(form, editing):
                    return redirect(request.path)
            elif action in {"delete", "target", "target-remove"}:
                if not self.staff:
                    return refuse(Forbidden())
                done = {
                    "delete": self.delete,
                    "target": lambda: self.save_target(target_form),
                    "target-remove": self.remove_target,
                }[action]()
                if done is not None:
                    return done
            elif action == "units" and not self.staff:
                if request.form.get("units") in {s.value for s in System}:
                    set_client_units(self.client.id, request.form["units"])
                    api.db.commit()
                    flash(_("Units saved."), "success")
                return redirect(request.path)
            else:
                return redirect(request.path)
        elif request.args.get("edit"):
            editing = self.editable_entry(request.args.get("edit"))
            if editing is None:
                return refuse(NotFound())
        if form is None and editing is not None:
            form = entry_form(
                self.measures,
                self.display,
                stored=editing.values,
                measured_on=editing.entry.measured_on,
                note=editing.entry.note,
            )
        if form is None and self.may_add:
            form = entry_form(self.measures, self.display, measured_on=today())
        return self.render(form, editing, target_form)

    def save(self, form: EntryForm, editing: EntryRow | None) -> bool:
        if not form.validate():
            return False
        day = form.measured_on.data
        other = self.history.on(day)
        if other is not None and other is not editing:
            form.measured_on.errors = [
                _(
                    "There is already an entry on %(date)s: correct that one instead.",
                    date=long_date(day),
                )
            ]
            return False
        values = form.values()
        kept = set(editing.values) - {m.id for m in self.measures} if editing else set()
        if all(v is None for v in values.values()) and not kept:
            form.form_errors.append(_("Enter at least one measurement."))
            return False
        save_entry(
            self.client.id,
            self.viewer,
            day,
            form.note.data,
            values,
            entry=editing.entry if editing else None,
        )
        api.db.commit()
        flash(_("Measurements of %(date)s saved.", date=long_date(day)), "success")
        return True

    def delete(self) -> Response:
        row = self.editable_entry(request.form.get("entry_id"))
        if row is None:
            return refuse(NotFound())
        day = row.entry.measured_on
        delete_entry(row.entry)
        api.db.commit()
        flash(_("Measurements of %(date)s deleted.", date=long_date(day)), "success")
        return redirect(request.path)

    def target_form(self) -> TargetForm:
        form = TargetForm(formdata=request.form if request.method == "POST" else None)
        form.measure.choices = [(m.key, m.label) for m in self.measures]
        return form

    def save_target(self, form: TargetForm) -> Response | None:
        if not form.validate():
            return None
        measure = next(m for m in self.measures if m.key == form.measure.data)
        try:
            MeasureValue(measure, self.display, None)(form, form.value)
        except ValidationError as problem:
            form.value.errors = [str(problem)]
            return None
        points = self.history.points(measure.id)
        set_target(
            self.client.id,
            measure.id,
            form.value.stored,
            form.due_on.data,
            self.viewer,
            start=points[-1][1] if points else None,
        )
        api.db.commit()
        flash(_("Target for %(measure)s saved.", measure=measure.label), "success")
        return redirect(request.path)

    def remove_target(self) -> Response:
        measure = next((m for m in all_measures() if m.key == request.form.get("measure")), None)
        target = self.history.targets.get(measure.id) if measure else None
        if measure is None or target is None:
            return refuse(NotFound())
        remove_target(target)
        api.db.commit()
        flash(_("Target for %(measure)s removed.", measure=measure.label), "success")
        return redirect(request.path)

    # -- the page ---------------------------------------------------------------
    def rows(self, page: int) -> tuple[list[Row], int]:
        """One page of the history, newest first, and the number of pages."""
        newest = list(reversed(self.history.entries))
        pages = max(1, -(-len(newest) // PER_PAGE))
        page = min(max(page, 1), pages)
        rows = []
        for row in newest[(page - 1) * PER_PAGE : page * PER_PAGE]:
            creator = row.creator
            rows.append(
                Row(
                    id=row.entry.id,
                    measured_on=row.entry.measured_on,
                    values=[
                        (m.label, self.display.value(m, row.values[m.id]))
                        for m in self.measures
                        if m.id in row.values
                    ],
                    note=row.entry.note,
                    by=creator.full_name
                    if creator is not None and creator.id != self.client.id
                    else None,
                    editable=self.may_edit(row),
                )
            )
        return rows, pages

    def render(
        self, form: EntryForm | None, editing: EntryRow | None, target_form: TargetForm
    ) -> str:
        page = _entry_id(request.args.get("page")) or 1
        rows, pages = self.rows(page)
        shown = summaries(self.history, self.measures, self.display)
        period = request.args.get("period", DEFAULT_PERIOD)
        if period not in PERIODS:
            period = DEFAULT_PERIOD
        days = PERIODS[period]
        since = today() - timedelta(days=days) if days is not None else None
        drawn = {s.measure.id: chart(self.history, s.measure, self.display, since) for s in shown}
        charts = {key: svg for key, svg in drawn.items() if svg is not None}
        return render_template(
            "physical/tab.html",
            client=self.client,
            staff=self.staff,
            summaries=shown,
            charts=charts,
            period=period,
            periods=period_labels(),
            rows=rows,
            page=min(max(page, 1), pages),
            pages=pages,
            form=form,
            editing=editing,
            target_form=target_form,
            measures=self.measures,
            may_add=self.may_add,
            units=self.display.system,
            has_entries=bool(self.history.entries),
            here=request.path,
            long_date=long_date,
            export_url=url_for("physical.export_client", client_id=self.client.id)
            if self.staff
            else url_for("physical.export_mine"),
        )


@hookimpl
def client_area_tabs(client: api.User) -> list[Tab]:
    return [
        Tab(
            TAB_KEY,
            _("Physical"),
            lambda: PhysicalPage(client, client, staff=False).handle(),
            order=60,
        )
    ]


@hookimpl
def client_profile_tabs(client: api.User, viewer: api.User) -> list[Tab]:
    return [
        Tab(
            TAB_KEY,
            _("Physical"),
            lambda: PhysicalPage(client, viewer, staff=True).handle(),
            order=40,
        )
    ]
