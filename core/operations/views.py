"""``/healthz``: the site's health for load balancers and monitoring, without signing in."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

from core.accounts.access import public
from core.operations.health import check

bp = Blueprint("operations", __name__)


@bp.route("/healthz")
@public
def healthz() -> ResponseReturnValue:
    """200 with {"status": "ok", …} when every check passes, 503 otherwise (same body)."""
    report = check(current_app._get_current_object())  # type: ignore[attr-defined]
    response = jsonify(report)
    response.status_code = 200 if report["status"] == "ok" else 503
    response.headers["Cache-Control"] = "no-store"
    return response
