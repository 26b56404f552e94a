"""Themes: folders with ``templates/`` and ``static/`` that restyle the whole site.

Template lookup order, per template: the active theme, then active add-ons'
template folders, then the core's. Static files of the active theme are served
under ``/theme/<name>/``; :func:`asset_url` falls back to the core's static files.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask, abort, current_app, g, has_app_context, send_from_directory, url_for
from flask_babel import get_locale
from jinja2 import BaseLoader, Environment, Template, TemplateNotFound
from jinja2.environment import TemplateModule
from jinja2.loaders import split_template_path
from jinja2.runtime import Context
from werkzeug.wrappers import Response

from core.settings import get_option

BUNDLED_THEMES = Path(__file__).resolve().parents[2] / "themes"


@dataclass(frozen=True)
class Theme:
    name: str
    path: Path
    title: str
    description: str
    #: (title, description) per language, from ``THEME.<lang>.txt`` beside ``THEME.txt``.
    localized: dict[str, tuple[str, str]] = field(default_factory=dict, compare=False)

    def about(self, locale: str) -> tuple[str, str]:
        """Title and description in ``locale`` (``fr_CA`` falls back to ``fr``), else
        the ones of ``THEME.txt``."""
        for key in (locale, locale.partition("_")[0]):
            if key in self.localized:
                return self.localized[key]
        return self.title, self.description

    @property
    def templates(self) -> Path:
        return self.path / "templates"

    @property
    def static(self) -> Path:
        return self.path / "static"


def discover_themes(extra: Path | None) -> dict[str, Theme]:
    """Themes of the configured folder first (they win over bundled ones of the same name)."""
    found: dict[str, Theme] = {}
    for root in [p for p in (extra, BUNDLED_THEMES) if p is not None]:
        if not root.is_dir():
            continue
        for folder in sorted(root.iterdir()):
            if folder.name in found or not (folder / "templates").is_dir():
                continue
            title, description = _about(folder / "THEME.txt") or (folder.name.title(), "")
            found[folder.name] = Theme(
                name=folder.name,
                path=folder,
                title=title,
                description=description,
                localized={
                    path.name.split(".")[1]: _about(path) or (title, description)
                    for path in sorted(folder.glob("THEME.*.txt"))
                },
            )
    return found


def _about(path: Path) -> tuple[str, str] | None:
    """(title, description) of a THEME file: its first line, then the rest."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    return (lines[0].strip(), " ".join(lines[1:]).strip()) if lines else None


def themes(app: Flask | None = None) -> dict[str, Theme]:
    return (app or current_app).extensions["coachdesk.themes"]  # type: ignore[no-any-return]


def active_theme() -> Theme | None:
    available = themes()
    return available.get(get_option("theme.active")) or available.get("default")


def templates_reload(app: Flask) -> bool:
    """Whether edited template and theme files show without a restart (as in Flask)."""
    return bool(app.debug or app.config.get("TEMPLATES_AUTO_RELOAD"))


class ThemeLoader(BaseLoader):
    """Jinja loader that resolves each template through theme → add-ons → core."""

    def __init__(self, app: Flask, core_folders: list[Path]) -> None:
        self.app = app
        self.core_folders = core_folders

    def search_path(self) -> tuple[str, ...]:
        """Folders to search, worked out once per app context (every lookup asks, and each
        template's freshness check compares it: strings compare faster than paths)."""
        if not has_app_context():
            return tuple(map(str, self.core_folders))
        cached: tuple[str, ...] | None = g.get("_template_search_path")
        if cached is None:
            from core.plugins import collect

            theme = active_theme()
            folders = [theme.templates] if theme else []
            folders += [Path(p) for p in collect("template_folders")] + self.core_folders
            cached = g._template_search_path = tuple(map(str, folders))
        return cached

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        pieces = split_template_path(template)
        search_path = self.search_path()
        for folder in search_path:
            filename = os.path.join(folder, *pieces)
            if os.path.isfile(filename):
                with open(filename, encoding="utf-8") as handle:
                    source = handle.read()
                mtime = os.path.getmtime(filename)

                def uptodate(filename: str = filename, mtime: float = mtime) -> bool:
                    # Stale when the theme/add-ons now resolve elsewhere, or, while templates
                    # reload (debug), when the file changed: a deployed site's files do not.
                    if self.search_path() != search_path:
                        return False
                    if not templates_reload(self.app):
                        return True
                    try:
                        return os.path.getmtime(filename) == mtime
                    except OSError:
                        return False

                return source, filename, uptodate
        raise TemplateNotFound(template)

    def list_templates(self) -> list[str]:
        names: set[str] = set()
        for folder in self.search_path():
            for root, _dirs, files in os.walk(folder):
                for file in files:
                    rel = os.path.relpath(os.path.join(root, file), folder)
                    names.add(rel.replace(os.sep, "/"))
        return sorted(names)


#: A template whose name ends so holds only what depends on the language (and the theme):
#: translated labels and the markup of macros, made once per process and language.
LANGUAGE_TEMPLATE_SUFFIX = "_labels.html"
#: The globals such a template sees: translation and Jinja's own helpers, nothing of the
#: viewer or the request (a name outside this list is undefined there).
LANGUAGE_GLOBALS = frozenset(
    {"_", "gettext", "ngettext", "dict", "range", "namespace", "cycler", "joiner", "option_tags"}
)


class RequestTemplate(Template):
    """A template whose imported form (``{% from ... import %}``) lives for one request.

    Jinja keeps an imported template's module for the life of the process, so the
    top-level ``{% set %}`` of a macro file (translated labels, today's date) would be
    frozen by the first request. Here it is evaluated once per request and language.

    A ``*_labels.html`` template is evaluated once per language for the life of this
    template object (a theme or add-on switch, or an edited file in debug, loads a new
    one): a page's labels, badges and icons cost nothing after the first page. It sees
    only :data:`LANGUAGE_GLOBALS`, so it cannot keep one viewer's data for another.
    """

    def _get_default_module(self, ctx: Context | None = None) -> TemplateModule:
        if (ctx is not None and ctx.globals_keys - self.globals.keys()) or not has_app_context():
            return super()._get_default_module(ctx)  # Jinja does not cache these anyway
        # Keyed by language too: the worker renders emails in several, one context.
        language = str(get_locale())
        if self.name is not None and self.name.endswith(LANGUAGE_TEMPLATE_SUFFIX):
            by_language: dict[str, TemplateModule] = self.__dict__.setdefault("_by_language", {})
            if language not in by_language:
                allowed = {k: v for k, v in self.globals.items() if k in LANGUAGE_GLOBALS}
                by_language[language] = self.make_module(allowed, shared=True)
            return by_language[language]
        key = (id(self), language)
        modules: dict[tuple[int, str], TemplateModule] = g.setdefault("_template_modules", {})
        if key not in modules:
            modules[key] = self.make_module()
        return modules[key]


def asset_url(filename: str) -> str:
    """URL of a static file: the active theme's copy if it has one, else the core's."""
    theme = active_theme()
    if theme is not None and _theme_has(theme, filename):
        return url_for("theme_static", theme=theme.name, filename=filename)
    return url_for("static", filename=filename)


def _theme_has(theme: Theme, filename: str) -> bool:
    """Whether the theme ships ``filename``: looked up once per process (every page asks
    for the same few files), or every time while templates reload (a theme author's
    new file shows at once), as templates and email templates do."""
    if templates_reload(current_app):
        return (theme.static / filename).is_file()
    known: dict[tuple[Path, str], bool] = current_app.extensions["coachdesk.theme_files"]
    key = (theme.static, filename)
    if key not in known:
        known[key] = (theme.static / filename).is_file()
    return known[key]


def init_app(app: Flask) -> None:
    app.extensions["coachdesk.themes"] = discover_themes(app.config.get("THEMES_PATH"))
    app.extensions["coachdesk.theme_files"] = {}

    @app.route("/theme/<theme>/<path:filename>", endpoint="theme_static")
    def theme_static(theme: str, filename: str) -> Response:
        found = themes().get(theme)
        if found is None:
            abort(404)
        return send_from_directory(found.static, filename, max_age=3600)

    theme_static.access = "public"  # type: ignore[attr-defined]
    app.jinja_env.globals["asset_url"] = asset_url
    app.jinja_env.auto_reload = True  # lets ThemeLoader's uptodate() see theme switches
    app.jinja_env.template_class = RequestTemplate
