"""The hook reference (``docs/hooks.md``), generated from ``hooks.py`` so it cannot drift.

python -m core.plugins.docs write   # (re)write docs/hooks.md
python -m core.plugins.docs check   # exit 1 if it is stale, or a hook lacks a
                                    # docstring or an "Example"
"""

from __future__ import annotations

import ast
import inspect
import re
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import hooks
from core.plugins.host import INSTALLED_HOOKS

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "hooks.md"
VALUE_TYPES = (
    "Tab", "MenuItem", "StatCard", "EmailType", "OutgoingEmail", "EmailParagraph",
    "PaymentProvider", "AddonStatus", "Job", "Capability", "Asset",
)  # fmt: skip
_SECTION = re.compile(r"^# -{10,}\n# (.+)\n# -{10,}$", re.MULTILINE)


def hookspecs(module: ModuleType) -> list[tuple[str, Callable[..., Any]]]:
    """(name, function) of every hookspec of ``module``, in source order."""
    marker = f"{module.PROJECT}_spec"
    found = [(n, f) for n, f in vars(module).items() if callable(f) and hasattr(f, marker)]
    return sorted(found, key=lambda item: item[1].__code__.co_firstlineno)


def problems(module: ModuleType) -> list[str]:
    """Hookspecs a developer cannot learn from: no docstring, or no example."""
    found = []
    for name, function in hookspecs(module):
        doc = inspect.getdoc(function)
        if not doc:
            found.append(f"hook {name} has no docstring")
        elif "Example" not in doc:
            found.append(f"hook {name} has no 'Example' in its docstring")
    return found


def _signature(name: str, function: Callable[..., Any]) -> str:
    """The signature as written in the source (annotations are strings there)."""
    signature = inspect.signature(function)
    params = [
        f"{p.name}: {p.annotation}" if p.annotation is not p.empty else p.name
        for p in signature.parameters.values()
    ]
    returns = signature.return_annotation
    return f"{name}({', '.join(params)})" + (
        f" -> {returns}" if returns is not signature.empty else ""
    )


def _sections(module: ModuleType) -> list[tuple[int, str]]:
    """(line, title) of the ``# ---- / # Title / # ----`` banners of the source."""
    source = inspect.getsource(module)
    return [(source.count("\n", 0, m.start()) + 1, m.group(1)) for m in _SECTION.finditer(source)]


def _fields(module: ModuleType, class_name: str) -> list[str]:
    """Markdown rows for the fields of a value class, with their trailing comments."""
    source = inspect.getsource(module)
    lines = source.splitlines()
    tree = ast.parse(source)
    node = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == class_name)
    rows = []
    for item in node.body:
        if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
            default = ast.unparse(item.value) if item.value is not None else ""
            line = lines[item.end_lineno - 1] if item.end_lineno else ""
            note = line.split("#", 1)[1].strip() if "#" in line else ""
            cells = [
                f"`{item.target.id}`",
                f"`{ast.unparse(item.annotation)}`",
                f"`{default}`" if default else "",
                note,
            ]
            rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return rows


def render(module: ModuleType = hooks, installed: frozenset[str] = INSTALLED_HOOKS) -> str:
    """The whole reference as Markdown."""
    out = [
        "# Hook reference",
        "",
        "<!-- Generated from hooks.py by `python -m core.plugins.docs write`; do not edit. -->",
        "",
        f"Add-on contract version **{module.CONTRACT_VERSION}**. Implement a hook with "
        "`@hooks.hookimpl` on a function of the same name in your add-on's module. "
        "*Active only* hooks are called while the add-on is active; *installed* hooks are "
        "called for every installed add-on at start-up. *firstresult*: the first answer "
        "that is not `None` wins; otherwise every answer is collected.",
        "",
    ]
    sections = _sections(module)
    current = None
    for name, function in hookspecs(module):
        line = function.__code__.co_firstlineno
        title = next((t for start, t in reversed(sections) if start < line), None)
        if title != current and title is not None:
            out += [f"## {title}", ""]
            current = title
        spec = getattr(function, f"{module.PROJECT}_spec")
        kind = "installed" if name in installed else "active only"
        calls = "firstresult" if spec.get("firstresult") else "all results"
        out += [
            f"### `{name}`",
            "",
            "```python",
            _signature(name, function),
            "```",
            "",
            f"*{kind}* · *{calls}*",
            "",
            inspect.getdoc(function) or "",
            "",
        ]
    out += ["## Value types", "", "Import them from `hooks`.", ""]
    for class_name in VALUE_TYPES:
        cls = getattr(module, class_name)
        out += [f"### `{class_name}`", "", inspect.getdoc(cls) or "", ""]
        rows = _fields(module, class_name)
        if rows:
            out += ["| field | type | default | note |", "| --- | --- | --- | --- |", *rows, ""]
        methods = [
            (n, f) for n, f in vars(cls).items() if inspect.isfunction(f) and not n.startswith("_")
        ]
        for method_name, method in methods:
            first = (inspect.getdoc(method) or "").split("\n\n")[0]
            out.append(f"- `{_signature(method_name, method)}`" + (f": {first}" if first else ""))
        if methods:
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def check(module: ModuleType = hooks, path: Path = DOC_PATH) -> list[str]:
    found = problems(module)
    if not path.exists() or path.read_text("utf-8") != render(module):
        found.append(f"{path} is stale: run `python -m core.plugins.docs write`")
    return found


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else ""
    if command == "write":
        DOC_PATH.write_text(render(), "utf-8")
        print(f"wrote {DOC_PATH}")
        return 0
    if command == "check":
        found = check()
        print("\n".join(found) or "hook reference up to date")
        return 1 if found else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
