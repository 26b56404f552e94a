"""What ``pip install .`` brings is enough to load everything the package ships.

The README installs the app without extras; a library the core or a bundled add-on
imports when it loads, but that only the test extra brought, would leave the site
without that part (it happened: Premium's ``stripe`` came with the test extra only, so a
fresh install could not load Premium, nor Physical, which needs it).
"""

from __future__ import annotations

import ast
import configparser
import functools
import sys
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
#: What the package ships and loads (core/testing is the pytest plugin for add-on
#: authors: pytest loads it, and only where pytest and the test extra are installed).
SHIPPED = ["core", "addons", "themes"]
OWN = {*SHIPPED, "hooks"}


def requirements(section: str, key: str) -> list[Requirement]:
    """A requirement list of setup.cfg (``install_requires``, an extra)."""
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    lines = config[section][key].splitlines()
    return [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]


def install_requires() -> list[Requirement]:
    return requirements("options", "install_requires")


def installed_with(requirements: list[Requirement]) -> set[str]:
    """The distributions these requirements install, their own requirements included."""
    environment = default_environment() | {"extra": ""}
    found: set[str] = set()
    todo = list(requirements)
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        applies = requirement.marker is None or requirement.marker.evaluate(environment)
        if name in found or not applies:
            continue
        found.add(name)
        try:
            todo += [Requirement(line) for line in requires(name) or []]
        except PackageNotFoundError:
            continue
    return found


def imported_on_load(path: Path, *, anywhere: bool = False) -> set[str]:
    """Top-level modules a file imports when it is loaded (not inside functions), or
    ``anywhere`` (inside functions too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree) if anywhere else tree.body:
        if isinstance(node, ast.Import):
            names |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.partition(".")[0])
    return names


def third_party(path: Path, *, anywhere: bool = False) -> set[str]:
    """The libraries (neither the standard library nor this package) a file imports."""
    return imported_on_load(path, anywhere=anywhere) - OWN - set(sys.stdlib_module_names)


@functools.cache
def distributions_of() -> Mapping[str, list[str]]:
    """Importable name → the installed distributions that provide it (read once: slow)."""
    return packages_distributions()


def comes_with(module: str, installed: set[str]) -> bool:
    """Whether one of these distributions provides the importable ``module``."""
    provided_by = distributions_of().get(module, [module])
    return bool({canonicalize_name(d) for d in provided_by} & installed)


def test_every_library_the_shipped_code_loads_comes_with_a_plain_install() -> None:
    installed = installed_with(install_requires())
    missing = {}
    for folder in SHIPPED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.is_relative_to(ROOT / "core" / "testing"):
                continue
            for module in third_party(path):
                if not comes_with(module, installed):
                    missing.setdefault(module, str(path.relative_to(ROOT)))
    assert missing == {}, f"imported on load but not in install_requires: {missing}"


def test_the_testing_extra_brings_what_the_pytest_plugin_imports() -> None:
    """An add-on's tests install ``coachdesk[testing]`` (the scaffold's ``test`` extra):
    it must bring every library the fixtures import, lazily imported ones too (without
    aiosmtpd, every fixture failed in a scaffolded add-on's tests)."""
    installed = installed_with(
        install_requires() + requirements("options.extras_require", "testing")
    )
    plugin = ROOT / "core" / "testing"
    needed = {m for path in plugin.rglob("*.py") for m in third_party(path, anywhere=True)}
    assert {"pytest", "aiosmtpd", "time_machine"} <= needed
    missing = {m for m in needed if not comes_with(m, installed)}
    assert missing == set()
    scaffold = (ROOT / "core" / "plugins" / "scaffold_template" / "pyproject.toml.tmpl").read_text()
    assert 'test = ["coachdesk[testing]"]' in scaffold
