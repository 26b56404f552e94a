"""``coachdesk addons new NAME``: write a ready-to-install add-on distribution.

The files come from ``scaffold_template/`` (package data): every ``*.tmpl`` file is
filled with :class:`string.Template` (``${name}``…) and written without its suffix,
with ``NAME`` in a path replaced by the add-on's name. The French catalog is compiled
here, so that the add-on speaks French as soon as it is installed.
"""

from __future__ import annotations

import re
from pathlib import Path
from string import Template

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

TEMPLATE_DIR = Path(__file__).resolve().parent / "scaffold_template"
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]*")


class ScaffoldError(Exception):
    """The add-on cannot be created; the message says why."""


def check_name(name: str, installed: set[str]) -> None:
    """Refuse a name that cannot be an entry-point, module and branch name, or is taken."""
    if not NAME_PATTERN.fullmatch(name):
        raise ScaffoldError(
            f"{name!r} is not a valid add-on name: use lower-case letters, digits and "
            "underscores, starting with a letter"
        )
    if name in installed:
        raise ScaffoldError(f"an add-on named {name!r} is already installed")


def values_for(name: str) -> dict[str, str]:
    """What the templates' placeholders become for add-on ``name``."""
    words = name.split("_")
    return {
        "name": name,
        "title": " ".join(words).capitalize(),
        "tab_key": name.replace("_", "-"),
        "model": "".join(w.capitalize() for w in words) + "Note",
        "table": f"{name}_notes",
    }


def scaffold(name: str, target_dir: Path, installed: set[str]) -> Path:
    """Write ``coachdesk-<name>/`` in ``target_dir`` and return its path."""
    check_name(name, installed)
    project = target_dir / f"coachdesk-{name}"
    if project.exists():
        raise ScaffoldError(f"{project} already exists: choose another folder or name")
    values = values_for(name)
    for source in sorted(TEMPLATE_DIR.rglob("*.tmpl")):
        relative = source.relative_to(TEMPLATE_DIR).with_suffix("")
        parts = [part.replace("NAME", name) for part in relative.parts]
        destination = project.joinpath(*parts)
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(Template(source.read_text("utf-8")).substitute(values), "utf-8")
    for po in project.rglob("translations/*/LC_MESSAGES/messages.po"):
        compile_catalog(po)
    return project


def compile_catalog(po: Path) -> Path:
    """Write the ``.mo`` beside ``po`` (what ``pybabel compile`` does)."""
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=po.parent.parent.name)
    mo = po.with_suffix(".mo")
    with mo.open("wb") as handle:
        write_mo(handle, catalog)
    return mo
