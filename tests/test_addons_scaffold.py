"""`coachdesk addons new` and `db revision`: a scaffolded add-on installs, migrates and runs."""

from __future__ import annotations

import importlib
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from core import create_app
from core.db import Base, get_database
from core.migrations import runner
from core.migrations.runner import new_revision, upgrade
from core.plugins import get_host
from core.plugins.scaffold import ScaffoldError, scaffold
from tests.conftest import SITE, login, pip_install
from tests.test_config import cli_environment, run_cli


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str, Path], None]]:
    """Put a --target site on sys.path; forget its add-on's modules and tables afterwards."""
    names: list[str] = []

    def put(name: str, site: Path) -> None:
        names.append(name)
        monkeypatch.syspath_prepend(str(site))  # also invalidates import caches
        importlib.invalidate_caches()

    yield put
    for name in names:
        package = f"coachdesk_{name}"
        for module in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[module]
        table = Base.metadata.tables.get(f"{name}_notes")
        if table is not None:
            Base.metadata.remove(table)


def app_on(tmp_path: Path) -> Flask:
    return create_app(
        {"DATABASE_URL": f"sqlite:///{tmp_path / 'site.sqlite3'}", "SECRET_KEY": "s" * 40},
        instance_path=str(tmp_path),
    )


def test_scaffold_install_activate_and_see_the_tab_in_french(
    tmp_path: Path, installed: Callable[[str, Path], None]
) -> None:
    started = time.perf_counter()
    project = scaffold("feedback", tmp_path, installed=set())
    pip_install(project, tmp_path / "site")
    installed("feedback", tmp_path / "site")
    app = app_on(tmp_path)
    try:
        upgrade(app)
        with app.app_context():
            get_host(app).activate(app, "feedback")
            from core.accounts.service import create_user
            from core.db import db

            user = create_user(
                email="fr@example.test", first_name="Fanny", last_name="Roux", role="client",
                password="correct horse battery", locale="fr",
            )  # fmt: skip
            db.commit()
        client = app.test_client()
        assert login(app, client, user).status_code == 302
        page = client.get("/accueil-client/feedback")
        elapsed = time.perf_counter() - started
        print(f"scaffold → install → activate → tab visible: {elapsed:.1f} s")
        assert page.status_code == 200
        assert "Mes notes" in page.text and "Aucune note pour l’instant." in page.text
        assert elapsed < 60  # a sanity bound only
        # A normal install carries everything that is not Python.
        package = tmp_path / "site" / "coachdesk_feedback"
        for data in ("templates/feedback/tab.html", "migrations/feedback_0001_initial.py",
                     "translations/fr/LC_MESSAGES/messages.mo"):  # fmt: skip
            assert (package / data).is_file(), data
    finally:
        get_database(app).engine.dispose()


def test_the_scaffolds_own_tests_pass_as_its_author_runs_them(tmp_path: Path) -> None:
    """``python -m pytest tests`` in the new project, with Coachdesk's fixtures: the tab,
    its French, and the settings section (saved, and said so)."""
    project = scaffold("feedback", tmp_path, installed=set())
    pip_install(project, tmp_path / "site")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=project,
        env=cli_environment(tmp_path, {"PYTHONPATH": str(tmp_path / "site")}),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 passed" in run.stdout


def test_scaffold_refuses_bad_names_taken_names_and_existing_folders(tmp_path: Path) -> None:
    for bad in ("Feedback", "2fast", "my-addon", ""):
        with pytest.raises(ScaffoldError, match="not a valid add-on name"):
            scaffold(bad, tmp_path, installed=set())
    with pytest.raises(ScaffoldError, match="already installed"):
        scaffold("testaddon", tmp_path, installed={"testaddon"})
    scaffold("journal", tmp_path, installed=set())
    with pytest.raises(ScaffoldError, match="already exists"):
        scaffold("journal", tmp_path, installed=set())


def test_cli_new_refuses_an_installed_addon(tmp_path: Path) -> None:
    made = run_cli(tmp_path, "addons", "new", "journal", "--dir", str(tmp_path))
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "coachdesk-journal" / "pyproject.toml").is_file()
    env = {"PYTHONPATH": str(SITE)}
    taken = run_cli(tmp_path, "addons", "new", "testaddon", "--dir", str(tmp_path), env=env)
    assert taken.returncode == 1 and "already installed" in taken.stderr


def read_revision(path: Path) -> dict[str, object]:
    namespace: dict[str, object] = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)  # noqa: S102 (our own file)
    return namespace


def test_db_revision_continues_or_starts_an_addon_branch(
    tmp_path: Path, installed: Callable[[str, Path], None]
) -> None:
    project = scaffold("diary", tmp_path, installed=set())
    migrations = project / "coachdesk_diary" / "migrations"
    (migrations / "diary_0001_initial.py").unlink()  # start from an add-on with no revision
    installed("diary", project)  # its source folder stands for an editable install
    (project / "coachdesk_diary-0.1.dist-info").mkdir()
    (project / "coachdesk_diary-0.1.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: coachdesk-diary\nVersion: 0.1\n"
    )
    (project / "coachdesk_diary-0.1.dist-info" / "entry_points.txt").write_text(
        "[coachdesk.addons]\ndiary = coachdesk_diary\n"
    )
    importlib.invalidate_caches()
    app = app_on(tmp_path)
    try:
        first = new_revision(app, "create diary notes", addon="diary")
        assert first.parent == migrations and first.name == "diary_0001_create_diary_notes.py"
        values = read_revision(first)
        assert values["down_revision"] is None and values["branch_labels"] == ("diary",)
        assert values["depends_on"] is None
        second = read_revision(new_revision(app, "add a column", addon="diary"))
        assert second["revision"] == "diary_0002" and second["down_revision"] == "diary_0001"
        assert second["branch_labels"] is None
    finally:
        get_database(app).engine.dispose()


def test_db_revision_without_addon_continues_the_core(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    copy = tmp_path / "migrations"
    shutil.copytree(runner.MIGRATIONS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(runner, "MIGRATIONS_DIR", copy)
    app = app_on(tmp_path)
    try:
        (head,) = runner.branch_heads(app, "core")
        path = new_revision(app, "add a thing")
        assert path.parent == copy / "versions"
        values = read_revision(path)
        assert values["down_revision"] == head
        assert values["revision"] == f"{int(head) + 1:04d}"
    finally:
        get_database(app).engine.dispose()


def test_cli_db_revision_names_an_unknown_addon(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "db", "revision", "--addon", "nope", "-m", "x")
    assert result.returncode == 1 and "no add-on named 'nope' is installed" in result.stderr
