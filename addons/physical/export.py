"""CSV of one client's measurements, for the client and for staff who reach them.

One row per entry, oldest first; a column per measure that has data (units in the
header, in the client's chosen units), then the note. Numbers use a decimal point
whatever the language, so that spreadsheets read them; text cells that a spreadsheet
would run as a formula are prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io

from flask import Response
from flask.typing import ResponseReturnValue
from flask_login import current_user

from addons.physical.blueprint import bp
from addons.physical.display import Display
from addons.physical.forms import today
from addons.physical.history import client_units, load_history
from addons.physical.i18n import _
from addons.physical.measures import all_measures
from core import api

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def measurements_csv(client: api.User) -> str:
    history = load_history(client.id)
    display = Display(client_units(client.id), locale="en")
    with_data = history.measures_with_data()
    measures = [m for m in all_measures() if m.id in with_data]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    header = [_("Date")]
    for measure in measures:
        symbol = measure.unit(display.system).symbol
        header.append(f"{measure.label} ({symbol})" if symbol else measure.label)
    writer.writerow([_cell(h) for h in [*header, _("Note")]])
    for row in history.entries:
        writer.writerow(
            [
                row.entry.measured_on.isoformat(),
                *(
                    display.field_value(m, row.values[m.id]) if m.id in row.values else ""
                    for m in measures
                ),
                _cell(row.entry.note or ""),
            ]
        )
    return out.getvalue()


def csv_response(client: api.User) -> Response:
    name = f"measurements-{client.id}-{today().isoformat()}.csv"
    return Response(
        "\ufeff" + measurements_csv(client),  # the BOM tells spreadsheets it is UTF-8
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, no-store",
        },
    )


@bp.route("/export.csv")
@api.client_required
def export_mine() -> ResponseReturnValue:
    return csv_response(current_user)


@bp.route("/clients/<int:client_id>/export.csv")
@api.staff_required
def export_client(client_id: int) -> ResponseReturnValue:
    api.require_capability(current_user, "view_clients")
    return csv_response(api.get_client_or_404(current_user, client_id))
