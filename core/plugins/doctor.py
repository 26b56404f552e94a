"""``coachdesk addons doctor``: everything known about each add-on, and what is wrong.

A problem is something that keeps an add-on the site owner wants from working: it
failed to load, does not fit the running contract, is active with pending migrations
or a recorded error, or is active but no longer installed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Flask

import hooks
from core.plugins.host import Addon, PluginHost


@dataclass
class Report:
    """What ``doctor`` prints about one add-on (``lines``) and its ``problems``."""

    name: str
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def add(self, label: str, text: str) -> None:
        self.lines.append(f"  {label:<12}{text}")


def examine(app: Flask, host: PluginHost) -> list[Report]:
    """One report per installed add-on, then one per add-on the database remembers."""
    from core.migrations.runner import applied, branch_heads

    done = applied(app)
    active = host.active_names()
    states = host.stored_states()
    reports = []
    for addon in sorted(host.addons.values(), key=lambda a: a.name):
        state = states.get(addon.name)
        wanted = bool(state and state.active)
        report = Report(addon.name)
        switched = "active" if addon.name in active else "on, but not running" if wanted else "off"
        report.lines.append(f"{addon.name} {addon.version} ({addon.title}): {switched}")
        if addon.load_error:
            report.add("load", f"FAILED: {addon.load_error}")
            report.problems.append(f"{addon.name} failed to load: {addon.load_error}")
        _contract(addon, report)
        if addon.requires:
            missing = [r for r in addon.requires if r not in active]
            report.add(
                "requires",
                ", ".join(
                    f"{r} ({'NOT active' if r in missing else 'active'})" for r in addon.requires
                ),
            )
            if wanted and missing:
                report.problems.append(f"{addon.name} needs {', '.join(missing)} active")
        if addon.module is not None:
            callers = host.pm.get_hookcallers(addon.module) or []
            report.add("hooks", ", ".join(sorted(c.name for c in callers)) or "none")
            heads = branch_heads(app, addon.name) if host.migration_folders(addon.name) else []
            pending = [h for h in heads if h not in done]
            if heads:
                report.add("migrations", f"pending: {', '.join(pending)}" if pending else "applied")
            if wanted and pending:
                report.problems.append(
                    f"{addon.name} is active with pending migrations: run `coachdesk db upgrade`"
                )
            status = host.status(addon.name) if addon.loaded else None
            if status is not None:
                report.add("status", f"{status.level}: {status.message}")
        if state is not None and state.last_error:
            report.add("last error", f"{state.last_error_at:%Y-%m-%d %H:%M} UTC")
            report.lines.extend(f"    {line}" for line in state.last_error.splitlines())
            if wanted:
                report.problems.append(f"{addon.name} recorded an error (see above)")
        reports.append(report)
    for state in host.missing():
        report = Report(state.name)
        report.lines.append(f"{state.name}: NOT INSTALLED ({'active' if state.active else 'off'})")
        if state.tables:
            report.add("tables", ", ".join(state.tables))
        if state.active:
            report.problems.append(
                f"{state.name} is active but not installed: reinstall it or deactivate it"
            )
        reports.append(report)
    return reports


def _contract(addon: Addon, report: Report) -> None:
    problem = addon.contract_problem
    fits = f"does not fit {hooks.CONTRACT_VERSION}" if problem else f"fits {hooks.CONTRACT_VERSION}"
    report.add("contract", f"{addon.contract} ({fits})")
    if problem:
        report.problems.append(f"{addon.name}: {problem}")
