"""Add-ons and themes: what the site owner switches on."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from core.accounts.access import admin_required
from core.admin.blueprint import bp
from core.db import db
from core.plugins import AddonError, get_host
from core.plugins.models import AddonState
from core.settings import get_option, set_option
from core.themes import themes


@bp.route("/addons")
@admin_required
def addons() -> ResponseReturnValue:
    host = get_host()
    states = {s.name: s for s in db.scalars(select(AddonState))}
    active = host.active_names()
    return render_template(
        "admin/addons.html",
        addons=sorted(host.addons.values(), key=lambda a: a.title.lower()),
        # Each add-on's requirements as (title, active): listed on its card, and the
        # inactive ones named beside its Activate button.
        requirements={
            a.name: [(host.title_of(r), r in active) for r in a.requires]
            for a in host.addons.values()
        },
        states=states,
        active=active,
        statuses={name: host.status(name) for name in active},
        missing=[s for name, s in sorted(states.items()) if name not in host.addons],
    )


@bp.route("/addons/<name>", methods=["POST"])
@admin_required
def addon_toggle(name: str) -> ResponseReturnValue:
    host = get_host()
    wanted = request.form.get("action")
    try:
        if wanted == "activate":
            host.activate(current_app._get_current_object(), name)  # type: ignore[attr-defined]
            flash(_("%(title)s is active.", title=host.addons[name].title), "success")
        elif wanted == "deactivate":
            host.deactivate(current_app._get_current_object(), name)  # type: ignore[attr-defined]
            flash(
                _("%(title)s is deactivated; its data is kept.", title=host.addons[name].title),
                "success",
            )
        else:
            flash(_("Unknown action."), "error")
    except AddonError as exc:
        flash(str(exc), "error")
    return redirect(url_for("admin.addons"))


@bp.route("/themes", methods=["GET", "POST"])
@admin_required
def themes_page() -> ResponseReturnValue:
    available = themes()
    if request.method == "POST":
        name = request.form.get("theme", "")
        if name not in available:
            flash(_("Unknown theme."), "error")
        else:
            set_option("theme.active", name)
            db.commit()
            title, _description = available[name].about(str(get_locale()))
            flash(_("Theme %(title)s is active.", title=title), "success")
        return redirect(url_for("admin.themes_page"))
    return render_template(
        "admin/themes.html",
        themes=available.values(),
        active=get_option("theme.active"),
        locale=str(get_locale()),
    )
