"""Settings → Physical: units, whether clients enter values, and the measures.

The tab (``/admin/settings/physical``) handles its own posts; the submit button's
``action`` says what to do: ``save-general``, ``save-measures`` (which shows, custom
labels; ``up-<id>`` / ``down-<id>`` also move one), ``add-measure`` or
``delete-<id>`` (a custom measure without any value; one with values can be hidden).
Every post that changes something redirects back to the tab; an invalid one changes
nothing and shows the form again with its messages.
"""

from __future__ import annotations

import secrets

from flask import flash, redirect, request
from flask.typing import ResponseReturnValue
from flask_wtf import FlaskForm
from sqlalchemy import exists, func, select
from wtforms import BooleanField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from addons.physical.i18n import _, _l, render_template
from addons.physical.measures import all_measures, forget_measures, kind_labels
from addons.physical.models import PhysicalMeasure, PhysicalValue
from addons.physical.options import CLIENTS_CAN_EDIT, UNITS, clients_can_edit, site_units
from addons.physical.units import Kind, System
from core import api
from hooks import Tab, hookimpl

TAB_KEY = "physical"
LABEL_MAX = 60


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def unit_choices() -> list[tuple[str, str]]:
    return [
        (System.METRIC.value, _("Metric (kg, cm)")),
        (System.IMPERIAL.value, _("Imperial (lb, in)")),
    ]


class GeneralForm(FlaskForm):
    units = RadioField(_l("Default units"), validators=[InputRequired()])
    clients_can_edit = BooleanField(
        _l("Clients can add and correct their own measurements"),
        description=_l("Otherwise they only see what their coach enters."),
    )


class CustomMeasureForm(FlaskForm):
    label = StringField(
        _l("Name"),
        validators=[
            DataRequired(message=_l("Give the measure a name.")),
            Length(max=LABEL_MAX),
        ],
        filters=[_strip],
    )
    kind = SelectField(_l("Unit"), validators=[InputRequired()])


def general_form(formdata: object = None) -> GeneralForm:
    form = GeneralForm(
        formdata=formdata, data={"units": site_units(), "clients_can_edit": clients_can_edit()}
    )
    form.units.choices = unit_choices()
    form.units.description = _("Each client can choose their own units on their Physical tab.")
    return form


def custom_form(formdata: object = None) -> CustomMeasureForm:
    form = CustomMeasureForm(formdata=formdata)
    form.kind.choices = list(kind_labels().items())
    return form


def _rows() -> list[PhysicalMeasure]:
    return list(
        api.db.scalars(
            select(PhysicalMeasure).order_by(PhysicalMeasure.position, PhysicalMeasure.id)
        )
    )


def _save_measures(action: str) -> list[str]:
    """Shown flags and custom labels from the form, then a move; returns the problems."""
    rows = _rows()
    shown = set(request.form.getlist("shown"))
    problems = []
    for row in rows:
        row.shown = str(row.id) in shown
        if not row.builtin:
            label = (request.form.get(f"label-{row.id}") or "").strip()
            if not label or len(label) > LABEL_MAX:
                problems.append(
                    _("A custom measure needs a name of 1 to %(n)s characters.", n=LABEL_MAX)
                )
            else:
                row.label = label
    verb, _sep, target = action.partition("-")
    if verb in {"up", "down"}:
        at = next((i for i, row in enumerate(rows) if str(row.id) == target), None)
        other = None if at is None else at - 1 if verb == "up" else at + 1
        if at is not None and other is not None and 0 <= other < len(rows):
            rows[at], rows[other] = rows[other], rows[at]
    for position, row in enumerate(rows, start=1):
        row.position = position
    return problems


def _delete(measure_id: str) -> None:
    row = api.db.get(PhysicalMeasure, int(measure_id)) if measure_id.isdigit() else None
    if row is None or row.builtin:
        flash(_("Only custom measures can be deleted."), "error")
        return
    used = api.db.scalar(select(exists().where(PhysicalValue.measure_id == row.id)))
    if used:
        flash(
            _(
                "“%(name)s” has measurements: untick “Shown” to hide it instead.",
                name=row.label,
            ),
            "error",
        )
        return
    api.db.delete(row)
    api.db.commit()
    flash(_("“%(name)s” deleted.", name=row.label), "success")


def render_settings() -> ResponseReturnValue:
    action = request.form.get("action", "") if request.method == "POST" else None
    general, custom = general_form(), custom_form()
    if action == "save-general":
        general = general_form(request.form)
        if general.validate():
            api.set_option(UNITS, general.units.data)
            api.set_option(CLIENTS_CAN_EDIT, bool(general.clients_can_edit.data))
            api.db.commit()
            flash(_("Physical settings saved."), "success")
            return redirect(request.path)
    elif action == "add-measure":
        custom = custom_form(request.form)
        if custom.validate():
            position = api.db.scalar(select(func.max(PhysicalMeasure.position))) or 0
            api.db.add(
                PhysicalMeasure(
                    key=f"custom_{secrets.token_hex(4)}",
                    label=custom.label.data,
                    kind=Kind(custom.kind.data).value,
                    position=position + 1,
                    shown=True,
                    builtin=False,
                )
            )
            api.db.commit()
            flash(_("“%(name)s” added.", name=custom.label.data), "success")
            return redirect(request.path)
    elif action == "save-measures" or (action and action.startswith(("up-", "down-"))):
        if FlaskForm().validate_on_submit():
            problems = _save_measures(action)
            if problems:
                api.db.rollback()
                for problem in problems:
                    flash(problem, "error")
            else:
                api.db.commit()
                flash(_("Measures saved."), "success")
        return redirect(request.path)
    elif action and action.startswith("delete-"):
        if FlaskForm().validate_on_submit():
            _delete(action.removeprefix("delete-"))
        return redirect(request.path)
    elif action is not None:
        return redirect(request.path)
    forget_measures()
    return render_template(
        "physical/settings.html",
        general=general,
        custom=custom,
        measures=all_measures(),
        kinds=kind_labels(),
    )


@hookimpl
def settings_sections(user: api.User) -> list[Tab]:
    if user.role != api.Role.ADMIN:
        return []
    return [Tab(TAB_KEY, _("Physical"), render_settings, order=60)]
