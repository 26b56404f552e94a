"""Translation catalogs: one per area, so that each area owns its strings.

    python -m core.i18n.catalogs update   # extract strings, merge them into every .po
    python -m core.i18n.catalogs compile  # .po -> .mo (the .mo files are committed)
    python -m core.i18n.catalogs check    # exit 1 if a string lacks a translation or a .mo is stale

An area is a package under ``core/`` (its ``*.py`` and ``templates/``); the core's
own top-level modules and ``core/templates`` form the root area. Catalogs live in
``<area>/translations/<lang>/LC_MESSAGES/messages.po``.

Each bundled add-on (a package under ``addons/``) is one area with its own catalog,
loaded through its own domain (``core.api.AddonTranslations``), never merged into
the core's.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po

CORE = Path(__file__).resolve().parents[1]
ADDONS = CORE.parent / "addons"
LANGS = ("fr",)
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "lazy_ngettext": (1, 2)}
NOT_AREAS = {"i18n", "migrations", "static", "templates", "translations", "__pycache__"}


def _sources(area: Path) -> list[Path]:
    files = (
        sorted(area.glob("**/*.py"))
        + sorted(area.glob("**/*.html"))
        + sorted(area.glob("**/*.txt"))
    )
    return [f for f in files if "translations" not in f.parts]


def areas(root: Path = CORE) -> Iterator[tuple[Path, list[Path]]]:
    """(catalog folder, source files) for the root area, each area package and each add-on."""
    if root == CORE and ADDONS.is_dir():
        for addon in sorted(p for p in ADDONS.iterdir() if (p / "__init__.py").exists()):
            if files := _sources(addon):
                yield addon / "translations", files
    root_files = sorted(root.glob("*.py")) + sorted((root / "templates").glob("**/*.html"))
    yield root / "translations", root_files
    for area in sorted(p for p in root.iterdir() if p.is_dir() and p.name not in NOT_AREAS):
        if files := _sources(area):
            yield area / "translations", files


def extract(files: list[Path], root: Path) -> Catalog:
    template = Catalog(project="coachdesk")
    for path in files:
        method = "python" if path.suffix == ".py" else "jinja2.ext:babel_extract"
        options = {} if path.suffix == ".py" else {"trimmed": "true"}
        for lineno, message, comments, context in extract_from_file(
            method, str(path), keywords=KEYWORDS, options=options
        ):
            template.add(
                message,
                locations=[(str(path.relative_to(root.parent)), lineno)],
                auto_comments=comments,
                context=context,
            )
    return template


def _po_path(folder: Path, lang: str) -> Path:
    return folder / lang / "LC_MESSAGES" / "messages.po"


def _read(path: Path, lang: str) -> Catalog:
    if not path.exists():
        return Catalog(locale=lang, project="coachdesk")
    with path.open("rb") as handle:
        return read_po(handle, locale=lang)


def update(root: Path = CORE) -> None:
    for folder, files in areas(root):
        template = extract(files, root)
        if not len(template):
            continue
        for lang in LANGS:
            path = _po_path(folder, lang)
            catalog = _read(path, lang)
            if path.exists():  # keep the header's date: only real changes make a diff
                template.creation_date = catalog.creation_date
            catalog.update(template, no_fuzzy_matching=True)
            catalog.obsolete.clear()
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as handle:
                write_po(handle, catalog, width=100, omit_header=False, sort_output=True)


def _mo_bytes(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    return buffer.getvalue()


def _po_messages(catalog: Catalog) -> dict[object, object]:
    """What a compiled catalog holds: translated, non-fuzzy messages (header aside)."""
    return {_key(m.id): _key(m.string) for m in catalog if m.id and m.string and not m.fuzzy}


def _key(value: object) -> object:
    return tuple(value) if isinstance(value, list | tuple) else value


def _messages(mo: Path) -> dict[object, object]:
    """A .mo file's messages: compared by content, as Babel versions lay bytes out differently."""
    with mo.open("rb") as handle:
        return {_key(m.id): _key(m.string) for m in read_mo(handle) if m.id}


def compile_all(root: Path = CORE) -> None:
    folders = [root] + ([ADDONS] if root == CORE and ADDONS.is_dir() else [])
    for po in sorted(
        p for f in folders for p in f.glob("**/translations/*/LC_MESSAGES/messages.po")
    ):
        lang = po.parent.parent.name
        po.with_suffix(".mo").write_bytes(_mo_bytes(_read(po, lang)))


def check(root: Path = CORE) -> list[str]:
    """Problems: strings without a translation, and .mo files that do not match their .po."""
    problems = []
    for folder, files in areas(root):
        template = extract(files, root)
        for lang in LANGS:
            path = _po_path(folder, lang)
            catalog = _read(path, lang)
            for message in template:
                if not message.id:
                    continue
                found = catalog.get(message.id, context=message.context)
                text = found.string if found else None
                missing = not text or (isinstance(text, tuple) and not all(text))
                if missing or (found is not None and found.fuzzy):
                    where = message.locations[0] if message.locations else ("?", 0)
                    problems.append(
                        f"{lang}: no translation for {message.id!r} ({where[0]}:{where[1]})"
                    )
            mo = path.with_suffix(".mo")
            if path.exists() and (not mo.exists() or _messages(mo) != _po_messages(catalog)):
                problems.append(f"{mo} is stale: run `python -m core.i18n.catalogs compile`")
    return problems


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else ""
    if command == "update":
        update()
    elif command == "compile":
        compile_all()
    elif command == "check":
        problems = check()
        print("\n".join(problems) or "all strings translated")
        return 1 if problems else 0
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
