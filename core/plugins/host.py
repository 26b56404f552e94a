"""The add-on host: discovers add-ons, knows which are active, and calls their hooks safely.

Activation lives in the database (``addon_states``); each request reads it once,
so a change made by any process shows in every process on its next request.

Hooks are called through pluggy's own call path (wrappers, ``firstresult`` and the
unknown-hook check all apply). Containment is per implementation: when an add-on is
registered, each of its hook functions is wrapped in a guard that logs and reports
an exception and answers ``None`` (pluggy then leaves the result out), rolling back
what an event hook wrote. Core areas register as plugins too, are always active and
are not guarded: an exception in the core is a bug and must surface.
"""

from __future__ import annotations

import copy
import functools
import logging
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any, NamedTuple

import pluggy
from flask import Flask, current_app, g, has_app_context
from flask_babel import gettext as _
from flask_babel.speaklater import LazyString
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from sqlalchemy import select

import hooks
from core.db import db, get_database, utcnow, writes_ahead
from core.plugins.models import AddonState

log = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "coachdesk.addons"
CORE_PREFIX = "core:"
DEFAULT_CONTRACT = ">=1.0,<2"

#: Hooks called for every installed add-on, active or not (see hooks.py).
INSTALLED_HOOKS = frozenset(
    {"app_startup", "register_blueprints", "migration_folders", "register_cli_commands"}
)
#: Hooks that run inside the transaction of a change: a failure rolls back what they wrote.
EVENT_HOOKS = frozenset(
    {
        "session_created",
        "session_cancelled",
        "session_paid",
        "payment_refunded",
        "payment_status_changed",
        "before_email_queued",
        "email_queued",
        "personal_data_erase",
    }
)
#: Hooks whose items carry a ``key`` that must be unique (first come, first served).
KEYED_HOOKS = frozenset(
    {
        "client_area_tabs",
        "client_profile_tabs",
        "settings_sections",
        "menu_items",
        "client_statistics_cards",
        "coach_statistics_cards",
        "email_types",
        "capabilities",
        "session_editor_sections",
        "periodic_jobs",
        "payment_providers",
    }
)


class AddonError(Exception):
    """An add-on operation the site owner asked for cannot be done; the message says why."""


@dataclass
class Addon:
    """An installed add-on as discovered, whether or not it could be imported."""

    name: str
    title: str
    description: str | LazyString = ""  # a lazy translation shows in the reader's language
    version: str = ""
    requires: tuple[str, ...] = ()
    contract: str = DEFAULT_CONTRACT
    module: ModuleType | None = None
    load_error: str | None = None
    blueprints: list[str] = field(default_factory=list)

    @property
    def loaded(self) -> bool:
        return self.module is not None

    @property
    def contract_problem(self) -> str | None:
        """Why this add-on does not fit the running contract, or None."""
        try:
            fits = hooks.CONTRACT_VERSION in SpecifierSet(self.contract)
        except InvalidSpecifier:
            return _("its CONTRACT %(contract)r is not a version range", contract=self.contract)
        if fits:
            return None
        return _(
            "it supports add-on contract %(range)s, this Coachdesk has contract %(version)s",
            range=self.contract,
            version=hooks.CONTRACT_VERSION,
        )


@dataclass(frozen=True)
class Owned:
    """A result of a guarded add-on hook, labelled with the add-on that gave it."""

    addon: str
    value: Any


class StoredState(NamedTuple):
    """An add-on's row of ``addon_states``, as :meth:`PluginHost.stored_states` reads it."""

    name: str
    active: bool
    changed_at: datetime
    last_error: str | None
    last_error_at: datetime | None


#: Built once: every request reads it.
_STORED_STATES = select(*(getattr(AddonState, f) for f in StoredState._fields))


class PluginHost:
    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hooks.PROJECT)
        self.pm.add_hookspecs(hooks)
        self.addons: dict[str, Addon] = {}
        #: Failures raised by add-on hooks in this process, not yet written to the database.
        self._pending_errors: dict[str, str] = {}
        self._callers: dict[tuple[str, frozenset[str]], Callable[..., Any]] = {}
        #: Add-ons whose migrations this process has checked, and those that failed them.
        self._migrated: set[str] = set()
        self._providers: dict[type[hooks.PaymentProvider], type[hooks.PaymentProvider]] = {}
        self._broken: set[str] = set()

    # Registration ----------------------------------------------------------
    def register_core(self, module: ModuleType, area: str) -> None:
        self.pm.register(module, name=CORE_PREFIX + area)

    def discover(self) -> None:
        """Import every add-on of the entry-point group; a failure is recorded, not raised."""
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name in self.addons:
                continue
            dist = ep.dist
            addon = Addon(name=ep.name, title=ep.name, version=dist.version if dist else "")
            self.addons[ep.name] = addon
            module: ModuleType | None = None
            try:
                module = ep.load()
                addon.title = str(getattr(module, "TITLE", ep.name))
                addon.description = getattr(module, "DESCRIPTION", "")
                addon.version = str(getattr(module, "VERSION", addon.version))
                addon.requires = tuple(getattr(module, "REQUIRES", ()))
                addon.contract = str(getattr(module, "CONTRACT", DEFAULT_CONTRACT))
                self.pm.register(module, name=ep.name)
                self._check_hook_names()
                self._guard_impls(ep.name, module)
                addon.module = module
            except Exception as exc:
                if module is not None and self.pm.is_registered(module):
                    self.pm.unregister(module)
                addon.load_error = f"{type(exc).__name__}: {exc}"
                log.exception("add-on %s could not be loaded", ep.name)

    def _check_hook_names(self) -> None:
        """pluggy's own check: a hook this contract does not declare (a misspelling) is refused."""
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            raise AddonError(str(exc)) from None

    def _guard_impls(self, name: str, module: ModuleType) -> None:
        for caller in self.pm.get_hookcallers(module) or []:
            for impl in caller.get_hookimpls():
                if impl.plugin is module and not (impl.wrapper or impl.hookwrapper):
                    impl.function = self._guard(name, caller.name, impl.function, impl.argnames)

    def _guard(
        self,
        addon: str,
        hook_name: str,
        function: Callable[..., Any],
        argnames: tuple[str, ...],
    ) -> Callable[..., Any]:
        """``function`` made safe: pluggy calls it with the arguments in ``argnames`` order."""
        event = hook_name in EVENT_HOOKS
        keyed = hook_name in KEYED_HOOKS
        email_at = argnames.index("email") if "email" in argnames else None

        @functools.wraps(function)
        def guarded(*args: Any) -> Any:
            email = args[email_at] if email_at is not None else None
            before = _snapshot(email) if isinstance(email, hooks.OutgoingEmail) else None
            savepoint = db.begin_nested() if event and has_app_context() else None
            try:
                result = function(*args)
            except Exception:
                if savepoint is not None and savepoint.is_active:
                    savepoint.rollback()
                if before is not None:
                    _restore(email, before)
                self.report_failure(addon, hook_name)
                return None
            if savepoint is not None and savepoint.is_active:
                savepoint.commit()
            if keyed and result is not None:
                return Owned(addon, result)
            return result

        return guarded

    # Activation state --------------------------------------------------------
    def stored_states(self) -> dict[str, StoredState]:
        """What the database says of each add-on (once per app context): read on every
        request, so as plain rows, not objects of the session."""
        cached: dict[str, StoredState] | None = (
            g.get("_addon_states") if has_app_context() else None
        )
        if cached is None:
            rows = db.execute(_STORED_STATES)
            cached = {row.name: StoredState(*row) for row in rows}
            if has_app_context():
                g._addon_states = cached
        return cached

    def active_names(self) -> frozenset[str]:
        """Add-ons switched on, loaded, and whose requirements are all active (transitively)."""
        if has_app_context() and "_active_addons" in g:
            return g._active_addons  # type: ignore[no-any-return]
        wanted = {n for n, s in self.stored_states().items() if s.active}
        active = {
            n
            for n in wanted
            if n in self.addons
            and self.addons[n].loaded
            and not self.addons[n].contract_problem
            and n not in self._broken
        }
        changed = True
        while changed:
            changed = False
            for name in list(active):
                if any(req not in active for req in self.addons[name].requires):
                    active.discard(name)
                    changed = True
        result = frozenset(active)
        if has_app_context():
            g._active_addons = result
        return result

    def activation_order(self) -> list[str]:
        """Active add-ons, earliest activated first: who came first keeps a contested key."""
        states = self.stored_states()
        return sorted(self.active_names(), key=lambda n: (states[n].changed_at, n))

    def missing(self) -> list[AddonState]:
        """Add-ons the database knows (active, or with data) that are no longer installed."""
        query = select(AddonState).where(AddonState.name.not_in(list(self.addons)))
        return list(db.scalars(query.order_by(AddonState.name)))

    def forget_state(self) -> None:
        """Drop this app context's cached state (after activating or deactivating)."""
        for key in ("_addon_states", "_active_addons"):
            g.pop(key, None)

    def is_active(self, name: str) -> bool:
        return name in self.active_names()

    def activate(self, app: Flask, name: str) -> None:
        """Switch ``name`` on: checks, then its migrations, then the state, then its hook.

        Any refusal raises :class:`AddonError` with the reason and changes nothing; a
        failing migration is rolled back whole (each run is one transaction).
        """
        addon = self._get(name)
        if not addon.loaded:
            raise AddonError(
                _(
                    "%(name)s cannot be activated: it failed to load (%(error)s)",
                    name=name,
                    error=addon.load_error,
                )
            )
        if addon.contract_problem:
            raise AddonError(self._refusal(addon.title, addon.contract_problem))
        missing = [r for r in addon.requires if not self.is_active(r)]
        if missing:
            raise AddonError(
                _(
                    "%(title)s requires %(names)s: activate that first",
                    title=addon.title,
                    names=", ".join(self.title_of(m) for m in missing),
                )
            )
        self._pending_errors.pop(name, None)
        veto = self.call("addon_can_activate", only=[name], app=app)
        if name in self._pending_errors:  # the check itself raised: refuse, do not guess
            veto = _("its activation check failed (see the error below)")
        if veto:
            raise AddonError(self._refusal(addon.title, veto))
        self.migrate(app, name)
        self._store(name, active=True)
        self.call("addon_activated", only=[name], app=app)

    def migrate(self, app: Flask, name: str) -> None:
        """Apply add-on ``name``'s pending migrations and record what they created."""
        from core.migrations.runner import MigrationError, upgrade_addon

        # Migrations use their own connection: end this context's transaction first
        # (on SQLite it holds the write lock the migration needs).
        db.commit()
        try:
            created = upgrade_addon(app, name)
        except MigrationError as exc:
            self.record_error(name, f"migration failed: {exc}")
            raise AddonError(
                self._refusal(self.title_of(name), _("its migration failed: %(error)s", error=exc))
            ) from exc
        self.record_migration(app, name, created)
        self.forget_state()

    def record_migration(self, app: Flask, name: str, created: list[str]) -> None:
        """Remember the tables and revisions of ``name``'s branch, for a later purge.

        Written on its own connection, so that it works from the CLI and within a request.
        """
        from core.migrations.runner import branch_revisions

        revisions = branch_revisions(app, name)
        if not created and not revisions:
            return
        session = get_database(app).sessionmaker()
        try:
            state = session.get(AddonState, name) or AddonState(name=name, active=False)
            state.tables = sorted({*(state.tables or []), *created})
            state.revisions = sorted({*(state.revisions or []), *revisions})
            session.add(state)
            session.commit()
        finally:
            session.close()

    def ensure_migrated(self, app: Flask) -> None:
        """Before serving a page: apply what an active, (re)installed add-on still needs.

        Runs once per add-on and process; an add-on whose migration fails is reported
        and treated as inactive by this process, the site goes on without it.
        """
        from core.migrations.runner import is_up_to_date

        todo = [n for n in self.active_names() if n not in self._migrated]
        if not todo:
            return
        writes_ahead()  # ``_migrated`` changes as it goes: this request must not restart
        db.commit()  # SQLite: the check reads on its own connection
        for name in todo:
            self._migrated.add(name)
            if not self.migration_folders(name) or is_up_to_date(app, [name]):
                continue
            try:
                self.migrate(app, name)
            except AddonError:
                self._broken.add(name)
                log.exception("add-on %s could not be migrated; it stays off here", name)

    def purge(self, app: Flask, name: str) -> list[str]:
        """Remove an inactive (or uninstalled) add-on's tables and state for good."""
        from core.migrations.runner import drop_tables

        state = db.get(AddonState, name)
        if state is None and name not in self.addons:
            raise AddonError(_("no add-on named %(name)r is known to this site", name=name))
        if state is not None and state.active:
            raise AddonError(
                _(
                    "%(title)s is active: deactivate it before removing its data",
                    title=self.title_of(name),
                )
            )
        tables = list(state.tables or []) if state else []
        revisions = list(state.revisions or []) if state else []
        db.commit()
        if name in self.addons and self.addons[name].loaded and self.migration_folders(name):
            from core.migrations.runner import downgrade

            downgrade(app, f"{name}@base")  # installed: its own downgrades know best
        drop_tables(app, tables, revisions)
        if state is not None:
            db.delete(state)
            db.commit()
        self.forget_state()
        return tables

    def deactivate(self, app: Flask, name: str) -> None:
        if name not in self.addons and name in self.stored_states():
            self._store(name, active=False)  # a missing add-on: only its state can change
            return
        self._get(name)
        dependents = [
            a.title for a in self.addons.values() if name in a.requires and self.is_active(a.name)
        ]
        if dependents:
            raise AddonError(
                _(
                    "%(title)s cannot be deactivated while %(names)s depends on it: "
                    "deactivate that first",
                    title=self.title_of(name),
                    names=", ".join(dependents),
                )
            )
        self._store(name, active=False)
        self.call("addon_deactivated", only=[name], app=app)

    def _get(self, name: str) -> Addon:
        try:
            return self.addons[name]
        except KeyError:
            known = ", ".join(sorted(self.addons)) or _("none installed")
            raise AddonError(
                _("no add-on named %(name)r (installed: %(known)s)", name=name, known=known)
            ) from None

    @staticmethod
    def _refusal(title: str, why: object) -> str:
        return _("%(title)s cannot be activated: %(why)s", title=title, why=why)

    def title_of(self, name: str) -> str:
        """An add-on's title; its name when it is not installed."""
        return self.addons[name].title if name in self.addons else name

    def _store(self, name: str, *, active: bool) -> None:
        state = db.get(AddonState, name) or AddonState(name=name)
        state.active = active
        state.changed_at = utcnow()
        db.add(state)
        db.commit()
        self.forget_state()

    def record_error(self, name: str, message: str) -> None:
        """Keep ``message`` as the add-on's last error (shown on the Add-ons page)."""
        db.rollback()
        state = db.get(AddonState, name) or AddonState(name=name, active=False)
        state.last_error = message[-4000:]
        state.last_error_at = utcnow()
        db.add(state)
        db.commit()
        self.forget_state()

    def status(self, name: str) -> hooks.AddonStatus | None:
        """What the add-on says about itself (``addon_status``), or None."""
        result = self.call("addon_status", only=[name])
        return result if isinstance(result, hooks.AddonStatus) else None

    # Calling hooks ------------------------------------------------------------
    def _caller(self, hook_name: str, keep: frozenset[str] | None) -> Callable[..., Any]:
        """pluggy's caller for ``hook_name`` restricted to the plugins in ``keep`` (None: all)."""
        cache_key = (hook_name, keep if keep is not None else frozenset({"*"}))
        caller = self._callers.get(cache_key)
        if caller is None:
            if keep is None:
                caller = getattr(self.pm.hook, hook_name)
            else:
                remove = [
                    p for n, p in self.pm.list_name_plugin() if n not in keep and p is not None
                ]
                caller = self.pm.subset_hook_caller(hook_name, remove_plugins=remove)
            self._callers[cache_key] = caller
        return caller

    def _callable_plugins(
        self, hook_name: str, only: Iterable[str] | None
    ) -> frozenset[str] | None:
        if only is not None:
            return frozenset(only)
        if hook_name in INSTALLED_HOOKS:
            return None
        core = {n for n, _ in self.pm.list_name_plugin() if n.startswith(CORE_PREFIX)}
        return frozenset(core | self.active_names())

    def call(self, hook_name: str, only: Iterable[str] | None = None, **kwargs: Any) -> Any:
        """Call a hook on the core and the active add-ons (or on ``only``) through pluggy.

        Returns pluggy's answer: the list of non-None results, or the first one for a
        ``firstresult`` hook. An add-on's exception is logged and reported, and its
        result left out. Results of keyed hooks arrive labelled (:class:`Owned`).
        """
        caller = self._caller(hook_name, self._callable_plugins(hook_name, only))
        return caller(**kwargs)

    def call_each(self, hook_name: str, **kwargs: Any) -> tuple[dict[str, Any], list[str]]:
        """Call a hook on each active add-on in turn: its answer by add-on name (None left
        out), and the names of the add-ons whose implementation raised.

        For hooks whose answers belong to one add-on each (personal data sections), where
        the caller must say which add-on failed (an erasure that left data behind).
        """
        answers: dict[str, Any] = {}
        failed: list[str] = []
        for name in self.activation_order():
            failures = len(self._failures_here())
            results = self.call(hook_name, only=[name], **kwargs)
            if results:
                answers[name] = results[0]
            if len(self._failures_here()) > failures:
                failed.append(name)
        return answers, failed

    @staticmethod
    def _failures_here() -> list[tuple[str, str]]:
        """(add-on, hook) failures reported in this app context (one request, one command)."""
        return g.setdefault("_addon_failures", []) if has_app_context() else []

    def collect(self, hook_name: str, **kwargs: Any) -> list[Any]:
        """Call a hook whose implementations return lists; return one flat list.

        For keyed hooks, an item whose key was already taken (by the core, then by the
        add-ons in activation order) is left out and reported against its add-on.
        """
        results = self.call(hook_name, **kwargs)
        if hook_name not in KEYED_HOOKS:
            return [item for result in results for item in result]
        core_items = [item for r in results if not isinstance(r, Owned) for item in r]
        by_addon: dict[str, list[Any]] = {}
        for r in results:
            if isinstance(r, Owned):
                by_addon.setdefault(r.addon, []).extend(r.value)
        taken = {item.key for item in core_items}
        items = list(core_items)
        for addon in self.activation_order():
            for item in by_addon.get(addon, []):
                if item.key in taken:
                    self.report_conflict(addon, hook_name, item.key)
                    continue
                taken.add(item.key)
                items.append(self._contain(addon, hook_name, item))
        return items

    def _contain(self, addon: str, hook_name: str, item: Any) -> Any:
        """An add-on's item whose callables report and contain their own failures."""
        if isinstance(item, hooks.Tab):
            return replace(item, render=self._guard_render(addon, f"{hook_name} {item.key}", item))
        if isinstance(item, type) and issubclass(item, hooks.PaymentProvider):
            return self._guard_provider(addon, item)
        return item

    def _guard_render(self, addon: str, what: str, tab: hooks.Tab) -> Callable[[], Any]:
        def render() -> Any:
            try:
                return tab.render()
            except Exception:
                self.report_failure(addon, what)
                db.rollback()
                return broken_piece()

        return render

    def _guard_provider(
        self, addon: str, provider: type[hooks.PaymentProvider]
    ) -> type[hooks.PaymentProvider]:
        """A subclass whose ``is_ready`` and ``payment_button`` answer "not ready" on failure."""
        guarded = self._providers.get(provider)
        if guarded is None:
            host = self

            class Guarded(provider):  # type: ignore[valid-type,misc]
                def is_ready(self) -> bool:
                    try:
                        return bool(super().is_ready())
                    except Exception:
                        host.report_failure(addon, f"{provider.key}.is_ready")
                        return False

                def payment_button(self, session: Any, client: Any) -> Any:
                    try:
                        return super().payment_button(session, client)
                    except Exception:
                        host.report_failure(addon, f"{provider.key}.payment_button")
                        return None

                def refund(self, payment_id: int, amount: int, actor_id: int | None) -> None:
                    from core.payments.service import PaymentError

                    try:
                        super().refund(payment_id, amount, actor_id)
                    except (PaymentError, NotImplementedError):
                        raise
                    except Exception:
                        host.report_failure(addon, f"{provider.key}.refund")
                        raise PaymentError(refund_failed()) from None

            Guarded.__name__ = Guarded.__qualname__ = provider.__name__
            guarded = self._providers[provider] = Guarded
        return guarded

    def migration_folders(self, addon: str | None = None) -> list[str]:
        only = [addon] if addon else None
        return [str(p) for r in self.call("migration_folders", only=only) for p in r]

    # Failures -----------------------------------------------------------------
    def report_failure(self, addon: str, hook_name: str) -> None:
        message = f"{hook_name}: {traceback.format_exc(limit=3)}"
        log.error("add-on %s raised in %s; continuing without it\n%s", addon, hook_name, message)
        self._pending_errors[addon] = message
        self._failures_here().append((addon, hook_name))

    def report_conflict(self, addon: str, hook_name: str, key: str) -> None:
        message = (
            f"{hook_name}: the key {key!r} is already used by the core or an add-on "
            "activated earlier; this item of yours is left out"
        )
        log.error("add-on %s: %s", addon, message)
        self._pending_errors[addon] = message

    def flush_errors(self) -> None:
        """Write failures reported in this process to the database (outside any request)."""
        if not self._pending_errors:
            return
        pending, self._pending_errors = self._pending_errors, {}
        session = get_database().sessionmaker()
        try:
            for name, message in pending.items():
                state = session.get(AddonState, name) or AddonState(name=name, active=False)
                state.last_error = message[-4000:]
                state.last_error_at = utcnow()
                session.add(state)
            session.commit()
        except Exception:
            log.exception("could not record add-on failures")
            session.rollback()
        finally:
            session.close()


def _snapshot(email: hooks.OutgoingEmail) -> dict[str, Any]:
    return {f.name: copy.copy(getattr(email, f.name)) for f in fields(email)}


def _restore(email: hooks.OutgoingEmail, snapshot: dict[str, Any]) -> None:
    for name, value in snapshot.items():
        setattr(email, name, value)


def refund_failed() -> str:
    """What staff read when a payment add-on failed while refunding (the error is reported)."""
    from flask_babel import gettext as _

    return _(
        "The refund could not be made: the payment add-on failed. The site owner has been told."
    )


def broken_piece() -> Any:
    """What a page shows in place of an add-on's piece that failed (the error is reported)."""
    from flask_babel import gettext as _
    from markupsafe import Markup

    message = _("This section could not be shown. The site owner has been told.")
    return Markup(
        '<div class="flash flash-error" role="status"><p class="flash-text">{}</p></div>'
    ).format(message)


def get_host(app: Flask | None = None) -> PluginHost:
    return (app or current_app).extensions["coachdesk.plugins"]  # type: ignore[no-any-return]
