"""The ``coachdesk`` command line, built on Flask's CLI.

Every failure an operator can cause (bad configuration, unreachable database,
wrong arguments) ends with one line on stderr and a non-zero exit code.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, ScriptInfo, routes_command, shell_command, with_appcontext
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from core import create_app
from core.config import ConfigError

_database_url: str | None = None


def _make_app() -> Flask:
    global _database_url
    app = create_app()
    _database_url = app.config["DATABASE_URL"]
    return app


class CoachdeskGroup(FlaskGroup):
    """Flask's group, minus the traceback when the app cannot even be built."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        try:
            ctx.ensure_object(ScriptInfo).load_app()
        except ConfigError:
            return sorted(super(FlaskGroup, self).list_commands(ctx))
        return super().list_commands(ctx)


@click.group(
    cls=CoachdeskGroup,
    create_app=_make_app,
    add_default_commands=False,
    add_version_option=False,
    load_dotenv=False,
    set_debug_flag=False,
)
def cli() -> None:
    """Coachdesk: sessions, payments and a client area for coaches.

    Configuration comes from COACHDESK_* environment variables and the instance
    file coachdesk.toml (see the README).
    """


cli.add_command(shell_command)
cli.add_command(routes_command)


def _app() -> Flask:
    return current_app._get_current_object()  # type: ignore[attr-defined,no-any-return]


def _ensure_reachable() -> None:
    from core.db import get_database

    get_database().ping()


def _require_schema() -> None:
    from core.db import close_session
    from core.migrations.runner import is_up_to_date

    _ensure_reachable()
    up_to_date = is_up_to_date(_app())
    # The check read which add-ons are active: end that read, or SQLite keeps the
    # write lock for as long as the command runs (the worker: forever).
    close_session()
    if not up_to_date:
        raise click.ClickException(
            "the database schema is not up to date: run `coachdesk db upgrade` "
            "(or `coachdesk init` on a new database)"
        )


def _is_empty() -> bool:
    """Whether the database has no user yet, read in a transaction of its own.

    On SQLite every transaction holds the write lock (``BEGIN IMMEDIATE``): a read
    left open in the command's session would make the command's next connection wait
    for itself until "database is locked" (``run --demo`` on a filled database did).
    """
    from core.accounts.models import User
    from core.db import get_database

    with get_database().sessionmaker() as session:
        return not session.scalar(select(func.count()).select_from(User))


# -- run ---------------------------------------------------------------------


@cli.command("run")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--demo",
    is_flag=True,
    help="Migrate the database and, if it is empty, fill it with the demo site first.",
)
@with_appcontext
def run_command(host: str, port: int, demo: bool) -> None:
    """Serve the site with the development server (use gunicorn in production)."""
    from werkzeug.serving import run_simple

    from core.demo import DEMO_PASSWORD, demo_logins, load_demo
    from core.migrations.runner import upgrade

    app = _app()
    if demo:
        _ensure_reachable()
        _report_addon_failures(upgrade(app))
        if _is_empty():
            click.echo("Loading the demo site…")
            load_demo()
        click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for role, email in demo_logins():
            click.echo(f"  {role:<7} {email}")
    _require_schema()
    if app.config.get("TEMPLATES_AUTO_RELOAD") is None:
        # Whoever writes a theme or an add-on sees an edited template at the next page;
        # gunicorn (production) reads templates and theme files once per process.
        app.config["TEMPLATES_AUTO_RELOAD"] = True
    click.echo(f"Coachdesk is running at http://{host}:{port}/  (Ctrl+C to stop)")
    run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)


# -- init --------------------------------------------------------------------


@cli.command("init")
@click.option("--email", help="Email of the first administrator.")
@click.option("--password", help="Password of the first administrator (prompted if absent).")
@click.option("--first-name", help="First name of the first administrator.")
@click.option("--last-name", help="Last name of the first administrator.")
@with_appcontext
def init_command(
    email: str | None, password: str | None, first_name: str | None, last_name: str | None
) -> None:
    """Migrate an empty database and create the first administrator."""
    from core.migrations.runner import upgrade

    _ensure_reachable()
    _report_addon_failures(upgrade(_app()))
    if not _is_empty():
        raise click.ClickException("the database already has users: nothing to initialise")
    email = email or click.prompt("Administrator email")
    first_name = first_name or click.prompt("First name")
    last_name = last_name or click.prompt("Last name")
    password = password or click.prompt("Password", hide_input=True, confirmation_prompt=True)
    _create_user("admin", email, password, first_name, last_name, None)
    click.echo(f"Database ready; administrator {email} created.")


# -- db ----------------------------------------------------------------------


@cli.group("db")
def db_group() -> None:
    """Apply, inspect or write database migrations (core and add-ons)."""


@db_group.command("upgrade")
@click.argument("revision", default="heads")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Upgrade the schema to REVISION (default: the head of every branch)."""
    from core.migrations.runner import current, upgrade

    _ensure_reachable()
    failures = upgrade(_app(), revision)
    _report_addon_failures(failures)
    click.echo("Database at: " + (", ".join(current(_app())) or "empty"))
    if failures:
        sys.exit(1)


def _report_addon_failures(failures: dict[str, str]) -> None:
    """One line per add-on whose migration failed (the core and the others went on)."""
    from core.plugins import get_host

    for name, reason in failures.items():
        get_host().record_error(name, f"migration failed: {reason}")
        click.echo(
            f"coachdesk: add-on {name}: migration failed, left as it was: {reason}", err=True
        )


@db_group.command("downgrade")
@click.argument("revision")
@with_appcontext
def db_downgrade(revision: str) -> None:
    """Downgrade the schema to REVISION (e.g. -1, or base to drop everything)."""
    from core.migrations.runner import current, downgrade

    _ensure_reachable()
    downgrade(_app(), revision)
    click.echo("Database at: " + (", ".join(current(_app())) or "empty"))


@db_group.command("current")
@with_appcontext
def db_current() -> None:
    """Show the revisions the database is at, and whether that is the latest."""
    from core.migrations.runner import current, heads, is_up_to_date

    _ensure_reachable()
    click.echo(", ".join(current(_app())) or "empty (run `coachdesk db upgrade`)")
    if is_up_to_date(_app()):
        click.echo("up to date")
    else:
        click.echo("behind: latest is " + ", ".join(sorted(heads(_app()))))


@db_group.command("revision")
@click.option("-m", "--message", required=True, help="What the revision changes.")
@click.option("--addon", metavar="NAME", help="In add-on NAME's branch (default: the core's).")
@click.option("--autogenerate", is_flag=True, help="Fill it with what the models changed.")
@with_appcontext
def db_revision(message: str, addon: str | None, autogenerate: bool) -> None:
    """Create a new migration file at the head of the core's or an add-on's branch."""
    from core.migrations.runner import MigrationError, new_revision
    from core.plugins import get_host

    if addon is not None and addon not in get_host().addons:
        raise click.ClickException(f"no add-on named {addon!r} is installed")
    if autogenerate:
        _ensure_reachable()
    try:
        path = new_revision(_app(), message, addon=addon, autogenerate=autogenerate)
    except MigrationError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Created {path}")


# -- users -------------------------------------------------------------------


def _create_user(
    role: str, email: str, password: str, first: str, last: str, phone: str | None
) -> None:
    from core.accounts.passwords import password_problem
    from core.accounts.service import AccountError, create_user
    from core.db import db

    problem = password_problem(password, email=email, names=(first, last))
    if problem:
        raise click.ClickException(problem)
    try:
        create_user(
            email=email, password=password, first_name=first, last_name=last, role=role, phone=phone
        )
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    db.commit()


@cli.group("users")
def users_group() -> None:
    """Manage user accounts."""


@users_group.command("create")
@click.option("--role", type=click.Choice(["admin", "coach", "client"]), required=True)
@click.option("--email", required=True)
@click.option("--password", help="Prompted (hidden) if absent.")
@click.option("--first-name", required=True)
@click.option("--last-name", required=True)
@click.option("--phone")
@with_appcontext
def users_create(
    role: str, email: str, password: str | None, first_name: str, last_name: str, phone: str | None
) -> None:
    """Create an administrator, a coach or a client."""
    from core.emails.outbox import InvalidAddress, normalize_address

    _require_schema()
    try:
        normalize_address(email)
    except InvalidAddress:
        raise click.ClickException(f"invalid email {email!r}") from None
    password = password or click.prompt("Password", hide_input=True, confirmation_prompt=True)
    _create_user(role, email, password, first_name, last_name, phone)
    click.echo(f"Created {role} {email}.")


# -- demo --------------------------------------------------------------------


@cli.command("demo")
@click.option("--force", is_flag=True, help="Add the demo data even if the database has users.")
@with_appcontext
def demo_command(force: bool) -> None:
    """Load the demo site (one admin, two coaches, twenty clients, a few hundred sessions)."""
    from core.demo import DEMO_PASSWORD, demo_logins, load_demo

    _require_schema()
    if not force and not _is_empty():
        raise click.ClickException("the database is not empty; use --force to add the demo anyway")
    load_demo()
    click.echo(f"Demo site loaded. Logins (password {DEMO_PASSWORD}):")
    for role, email in demo_logins():
        click.echo(f"  {role:<7} {email}")


# -- addons ------------------------------------------------------------------


@cli.group("addons")
def addons_group() -> None:
    """List, activate, deactivate, check and create add-ons."""


@addons_group.command("list")
@with_appcontext
def addons_list() -> None:
    """Show installed add-ons and whether each is active."""
    from core.plugins import get_host

    _require_schema()
    host = get_host()
    if not host.addons:
        click.echo("No add-on installed.")
    active = host.active_names()
    for addon in sorted(host.addons.values(), key=lambda a: a.name):
        state = "broken" if addon.load_error or addon.contract_problem else "inactive"
        state = "active" if addon.name in active else state
        requires = f"  (requires {', '.join(addon.requires)})" if addon.requires else ""
        click.echo(f"{addon.name:<20} {state:<9} {addon.title}{requires}")
        if addon.load_error or addon.contract_problem:
            click.echo(f"{'':<20} {addon.load_error or addon.contract_problem}")
    for state in host.missing():
        click.echo(f"{state.name:<20} {'missing':<9} not installed; its data is kept")


def _toggle(name: str, activate: bool) -> None:
    from core.plugins import AddonError, get_host

    _require_schema()
    host = get_host()
    try:
        (host.activate if activate else host.deactivate)(_app(), name)
    except AddonError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{name} {'activated' if activate else 'deactivated'}.")


@addons_group.command("activate")
@click.argument("name")
@with_appcontext
def addons_activate(name: str) -> None:
    """Activate add-on NAME (runs its migrations first)."""
    _toggle(name, True)


@addons_group.command("deactivate")
@click.argument("name")
@with_appcontext
def addons_deactivate(name: str) -> None:
    """Deactivate add-on NAME; its data is kept."""
    _toggle(name, False)


@addons_group.command("purge")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def addons_purge(name: str, yes: bool) -> None:
    """Remove add-on NAME's tables and state for good (it must be inactive or uninstalled)."""
    from core.plugins import AddonError, get_host

    _require_schema()
    if not yes:
        click.confirm(f"Remove every table and setting state of {name} for good?", abort=True)
    try:
        tables = get_host().purge(_app(), name)
    except AddonError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{name}: data removed ({', '.join(tables) or 'no recorded tables'}).")


@addons_group.command("new")
@click.argument("name")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(),
    help="Folder to create coachdesk-NAME in (default: the current one).",
)
def addons_new(name: str, directory: Path) -> None:
    """Write coachdesk-NAME/, a ready-to-install add-on with tests, to start from."""
    from importlib.metadata import entry_points

    from core.plugins.host import ENTRY_POINT_GROUP
    from core.plugins.scaffold import ScaffoldError, scaffold

    installed = {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
    try:
        project = scaffold(name, directory, installed)
    except ScaffoldError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Created {project}. Next:")
    click.echo(f"  pip install -e '{project}[test]'   then restart Coachdesk")
    click.echo(f"  coachdesk addons activate {name}")
    click.echo(f"  python -m pytest {project / 'tests'}")


@addons_group.command("doctor")
@with_appcontext
def addons_doctor() -> None:
    """Check every add-on: load, contract, requirements, hooks, migrations, errors.

    Exits with 1 when an add-on has a problem, 0 otherwise.
    """
    from core.plugins import get_host
    from core.plugins.doctor import examine

    _ensure_reachable()
    reports = examine(_app(), get_host())
    if not reports:
        click.echo("No add-on installed.")
    for report in reports:
        click.echo("\n".join(report.lines))
    problems = [p for r in reports for p in r.problems]
    if problems:
        click.echo(f"\n{len(problems)} problem(s):", err=True)
        for problem in problems:
            click.echo(f"- {problem}", err=True)
        sys.exit(1)
    click.echo("\nNo problem found.")


# -- themes ------------------------------------------------------------------


@cli.group("themes")
def themes_group() -> None:
    """List and switch themes."""


@themes_group.command("list")
@with_appcontext
def themes_list() -> None:
    """Show available themes; the active one is starred."""
    from core.settings import get_option
    from core.themes import themes

    _require_schema()
    active = get_option("theme.active")
    for theme in themes().values():
        click.echo(f"{'*' if theme.name == active else ' '} {theme.name:<16} {theme.title}")


@themes_group.command("activate")
@click.argument("name")
@with_appcontext
def themes_activate(name: str) -> None:
    """Make theme NAME the site's theme."""
    from core.db import db
    from core.settings import set_option
    from core.themes import themes

    _require_schema()
    if name not in themes():
        raise click.ClickException(f"no theme named {name!r} (available: {', '.join(themes())})")
    set_option("theme.active", name)
    db.commit()
    click.echo(f"Theme {name} activated.")


def _database_message(exc: SQLAlchemyError) -> str:
    from sqlalchemy.engine import make_url

    url = make_url(_database_url).render_as_string(hide_password=True) if _database_url else "?"
    reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
    return f"cannot use the database {url}: {reason}"


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point: one clear line instead of a traceback for operator errors."""
    try:
        return cli.main(args=argv, prog_name="coachdesk", standalone_mode=True)
    except ConfigError as exc:
        click.echo(f"coachdesk: configuration error: {exc}", err=True)
        sys.exit(2)
    except OperationalError as exc:
        click.echo(f"coachdesk: {_database_message(exc)}", err=True)
        sys.exit(2)


from core.worker.cli import worker_command  # noqa: E402 (kept last: the worker registers itself)

cli.add_command(worker_command)

from core.operations.backup import backup_command, restore_command  # noqa: E402

cli.add_command(backup_command)
cli.add_command(restore_command)
