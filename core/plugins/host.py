"""The add-on host: discovers add-ons, knows which are active, and calls their hooks safely.

Activation lives in the database (``addon_states``); each request reads it once,
so a change made by any process shows in every process on its next request.
Core areas register as plugins too, but are always active and are not guarded:
an exception in the core is a bug and must surface.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

import pluggy
from flask import Flask, current_app, g, has_app_context
from sqlalchemy import select

import hooks
from core.db import db, get_database, utcnow
from core.plugins.models import AddonState

log = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "coachdesk.addons"
CORE_PREFIX = "core:"

#: Hooks called for every installed add-on, active or not (see hooks.py).
INSTALLED_HOOKS = frozenset(
    {"app_startup", "register_blueprints", "migration_folders", "register_cli_commands"}
)


class AddonError(Exception):
    """An add-on operation the site owner asked for cannot be done; the message says why."""


@dataclass
class Addon:
    """An installed add-on as discovered, whether or not it could be imported."""

    name: str
    title: str
    description: str = ""
    version: str = ""
    requires: tuple[str, ...] = ()
    module: ModuleType | None = None
    load_error: str | None = None
    blueprints: list[str] = field(default_factory=list)

    @property
    def loaded(self) -> bool:
        return self.module is not None


class PluginHost:
    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hooks.PROJECT)
        self.pm.add_hookspecs(hooks)
        self.addons: dict[str, Addon] = {}
        #: Failures raised by add-on hooks in this process, not yet written to the database.
        self._pending_errors: dict[str, str] = {}

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
            try:
                module = ep.load()
                addon.title = str(getattr(module, "TITLE", ep.name))
                addon.description = str(getattr(module, "DESCRIPTION", ""))
                addon.version = str(getattr(module, "VERSION", addon.version))
                addon.requires = tuple(getattr(module, "REQUIRES", ()))
                self.pm.register(module, name=ep.name)
                addon.module = module
            except Exception as exc:
                addon.load_error = f"{type(exc).__name__}: {exc}"
                log.exception("add-on %s could not be loaded", ep.name)

    # Activation state --------------------------------------------------------
    def stored_states(self) -> dict[str, bool]:
        cached: dict[str, bool] | None = g.get("_addon_states") if has_app_context() else None
        if cached is None:
            cached = {s.name: s.active for s in db.scalars(select(AddonState))}
            if has_app_context():
                g._addon_states = cached
        return cached

    def active_names(self) -> frozenset[str]:
        """Add-ons switched on, loaded, and whose requirements are all active (transitively)."""
        if has_app_context() and "_active_addons" in g:
            return g._active_addons  # type: ignore[no-any-return]
        wanted = {n for n, on in self.stored_states().items() if on}
        active = {n for n in wanted if n in self.addons and self.addons[n].loaded}
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

    def forget_state(self) -> None:
        """Drop this app context's cached state (after activating or deactivating)."""
        for key in ("_addon_states", "_active_addons"):
            g.pop(key, None)

    def is_active(self, name: str) -> bool:
        return name in self.active_names()

    def activate(self, app: Flask, name: str) -> None:
        addon = self._get(name)
        if not addon.loaded:
            raise AddonError(f"{name} cannot be activated: it failed to load ({addon.load_error})")
        missing = [r for r in addon.requires if not self.is_active(r)]
        if missing:
            raise AddonError(
                f"{addon.title} requires {', '.join(self._title(m) for m in missing)}: "
                "activate that first"
            )
        from core.migrations.runner import upgrade

        # Migrations use their own connection: end this context's transaction first
        # (on SQLite it holds the write lock the migration needs).
        db.commit()
        upgrade(app, target=f"{name}@head" if self.migration_folders(name) else None)
        self._store(name, active=True)
        self.call_one(name, "addon_activated", app=app)

    def deactivate(self, app: Flask, name: str) -> None:
        self._get(name)
        dependents = [
            a.title for a in self.addons.values() if name in a.requires and self.is_active(a.name)
        ]
        if dependents:
            raise AddonError(
                f"{self._title(name)} cannot be deactivated while "
                f"{', '.join(dependents)} depends on it: deactivate that first"
            )
        self._store(name, active=False)
        self.call_one(name, "addon_deactivated", app=app)

    def _get(self, name: str) -> Addon:
        try:
            return self.addons[name]
        except KeyError:
            known = ", ".join(sorted(self.addons)) or "none installed"
            raise AddonError(f"no add-on named {name!r} (installed: {known})") from None

    def _title(self, name: str) -> str:
        return self.addons[name].title if name in self.addons else name

    def _store(self, name: str, *, active: bool) -> None:
        state = db.get(AddonState, name) or AddonState(name=name)
        state.active = active
        state.changed_at = utcnow()
        db.add(state)
        db.commit()
        self.forget_state()

    # Calling hooks ------------------------------------------------------------
    def _impls(self, hook_name: str, only: Iterable[str] | None = None) -> list[Any]:
        caller = getattr(self.pm.hook, hook_name)
        impls = list(reversed(caller.get_hookimpls()))  # pluggy's own call order
        if only is not None:
            wanted = set(only)
            return [i for i in impls if i.plugin_name in wanted]
        if hook_name in INSTALLED_HOOKS:
            return impls
        active = self.active_names()
        return [
            i for i in impls if i.plugin_name.startswith(CORE_PREFIX) or i.plugin_name in active
        ]

    def call(self, hook_name: str, only: Iterable[str] | None = None, **kwargs: Any) -> list[Any]:
        """Call a hook on the core and the active add-ons; return their non-None results.

        An add-on's exception is logged and reported, and its result left out.
        """
        results = []
        for impl in self._impls(hook_name, only):
            args = {name: kwargs[name] for name in impl.argnames}
            if impl.plugin_name.startswith(CORE_PREFIX):
                result = impl.function(**args)
            else:
                try:
                    result = impl.function(**args)
                except Exception:
                    self.report_failure(impl.plugin_name, hook_name)
                    continue
            if result is not None:
                results.append(result)
        return results

    def collect(self, hook_name: str, **kwargs: Any) -> list[Any]:
        """Call a hook whose implementations return lists; return one flat list."""
        return [item for result in self.call(hook_name, **kwargs) for item in result]

    def call_one(self, addon: str, hook_name: str, **kwargs: Any) -> list[Any]:
        """Call a hook on a single add-on only (lifecycle hooks)."""
        return self.call(hook_name, only=[addon], **kwargs)

    def migration_folders(self, addon: str | None = None) -> list[str]:
        only = [addon] if addon else None
        return [str(p) for r in self.call("migration_folders", only=only) for p in r]

    # Failures -----------------------------------------------------------------
    def report_failure(self, addon: str, hook_name: str) -> None:
        message = f"{hook_name}: {traceback.format_exc(limit=3)}"
        log.error("add-on %s raised in %s; continuing without it\n%s", addon, hook_name, message)
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


def get_host(app: Flask | None = None) -> PluginHost:
    return (app or current_app).extensions["coachdesk.plugins"]  # type: ignore[no-any-return]
