"""docs/hooks.md is generated from hooks.py and every hook documents itself with an example."""

from __future__ import annotations

import types
from pathlib import Path

import hooks
from core.plugins import docs


def test_the_committed_reference_is_up_to_date() -> None:
    assert docs.check() == []


def test_reference_shows_signature_kind_and_value_types() -> None:
    text = docs.DOC_PATH.read_text("utf-8")
    assert (
        "addon_can_activate(app: Flask) -> str | None\n```\n\n*active only* · *firstresult*" in text
    )
    assert "register_blueprints() -> list[Blueprint]\n```\n\n*installed* · *all results*" in text
    assert "## Screens" in text and "### `OutgoingEmail`" in text
    assert (
        "| `badge` | `str \\| None` | `None` | a short count or flag shown beside the label |"
        in text
    )
    assert "- `veto(self, reason: str) -> None`: Stop this email" in text


def fake_hooks(source: str) -> types.ModuleType:
    """A hooks-like module built from ``source`` (with the real value types)."""
    module = types.ModuleType("fake_hooks")
    module.__dict__.update({k: v for k, v in vars(hooks).items() if not k.startswith("__")})
    exec(compile("from hooks import hookspec\n" + source, "<fake>", "exec"), module.__dict__)  # noqa: S102
    return module


def test_check_fails_on_a_hook_without_docstring_or_example(tmp_path: Path) -> None:
    module = fake_hooks(
        "@hookspec\ndef silent() -> None: ...\n"
        "@hookspec\ndef vague() -> None:\n    '''Does things.'''\n"
    )
    found = docs.problems(module)
    assert "hook silent has no docstring" in found
    assert "hook vague has no 'Example' in its docstring" in found
    assert not any("app_startup" in p for p in found)
    stale = docs.check(module, tmp_path / "hooks.md")
    assert stale[-1].endswith("is stale: run `python -m core.plugins.docs write`")
