"""Every page is valid HTML, as the Nu HTML checker (vnu.jar) sees it.

Each role (anonymous, client, coach, administrator) walks the URL map with real ids (the
capabilities walk's world, plus a program bundle, Premium and Physical active), then
follows the links of the pages it finds (settings tabs, setup steps, client area and
profile tabs, filters). The pages are written to files and checked in one vnu run.

vnu needs Java and the ``vnu-jar`` npm package: .ci/run installs both when missing, and
in CI (``CI`` set) a missing validator fails this test instead of skipping it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import defaultdict, deque
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.exceptions import MethodNotAllowed, NotFound

from core.accounts.models import Role
from core.plugins import get_host
from tests.conftest import login
from tests.test_capabilities_walk import Targets, tab_keys, urls_for, world  # noqa: F401
from tests.test_programs_service import make_bundle

pytestmark = pytest.mark.html_validity

ROOT = Path(__file__).resolve().parent.parent
VNU_JAR = Path(
    os.environ.get("VNU_JAR", ROOT / ".tools" / "node_modules" / "vnu-jar" / "build" / "dist")
)
NOT_WALKED = {"accounts.logout"}
#: The test add-on's plain-text page is a fixture of the suite, not a page of the product.
TEST_ADDON = {"testaddon.export"}
#: Links followed per endpoint: enough for every tab or step, never an endless calendar.
PER_ENDPOINT = 8


def vnu_command() -> list[str]:
    """``java -jar vnu.jar``; skips without them, but fails in CI (.ci/run installs them)."""
    jar = VNU_JAR / "vnu.jar" if VNU_JAR.is_dir() else VNU_JAR
    java = shutil.which("java")
    if java and jar.is_file():
        return [java, "-Xss4m", "-jar", str(jar)]
    reason = f"the Nu HTML checker needs java ({java}) and {jar}"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: .ci/run installs them")
    pytest.skip(f"{reason} (optional outside CI; .ci/run installs them)")


def crawl(app: Flask, browser: FlaskClient, seeds: list[str]) -> dict[str, str]:
    """The HTML pages (200) reached from ``seeds`` by same-site GET links."""
    adapter = app.url_map.bind("localhost")
    queue, seen = deque(seeds), set()
    per_endpoint: dict[str, int] = defaultdict(int)
    pages: dict[str, str] = {}
    while queue:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        try:
            endpoint, _args = adapter.match(urlsplit(url).path, method="GET")
        except (NotFound, MethodNotAllowed):
            continue
        if endpoint in NOT_WALKED or endpoint.endswith("static") or endpoint in TEST_ADDON:
            continue
        per_endpoint[endpoint] += 1
        if per_endpoint[endpoint] > PER_ENDPOINT:
            continue
        response = browser.get(url)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        pages[url] = body = response.get_data(as_text=True)
        targets = Targets(url)
        targets.feed(body)
        queue.extend(target for method, target in sorted(targets.found) if method == "GET")
    return pages


def test_every_page_is_valid_html(
    app: Flask,
    world: dict[str, Any],  # noqa: F811
    as_role: Callable[..., Any],
    tmp_path: Path,
) -> None:
    command = vnu_command()
    with app.app_context():
        get_host(app).activate(app, "physical")
    bundle_id = make_bundle(app, world["coach"], world["client"])
    ids = {**world["ids"], "bundle_id": bundle_id}
    tabs = tab_keys(app, world)
    mapped = [
        url
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or set())
        for url in urls_for(rule, ids, tabs)
    ]
    setup_steps = [f"/admin/setup/{step}" for step in range(1, 7)]
    client_browser = app.test_client()
    assert login(app, client_browser, world["client"]).status_code == 302
    admin_browser, _admin = as_role(Role.ADMIN)
    browsers = {
        "anonymous": app.test_client(),
        "client": client_browser,
        "coach": world["browser"],
        "admin": admin_browser,
    }
    files: dict[str, str] = {}
    for role, browser in browsers.items():
        pages = crawl(app, browser, ["/", *mapped, *setup_steps])
        assert pages, role
        for url, body in pages.items():
            path = tmp_path / f"{len(files):04d}.html"
            path.write_text(body, encoding="utf-8")
            files[str(path)] = f"{role} {url}"
    urls = set(files.values())
    # The walk does reach the pages the validator is there for.
    for expected in (
        "coach /coach/sessions/{}".format(ids["session_id"]),
        "admin /admin/settings/general",
        "admin /admin/setup/1",
        "admin /admin/outbox",
        "coach /emails/log",
        f"coach /programs/bundles/{bundle_id}",
        "client /accueil-client/profile",
    ):
        assert expected in urls, expected
    result = subprocess.run(
        [*command, "--format", "json", "--errors-only", "--exit-zero-always", *sorted(files)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    messages = json.loads(result.stderr or result.stdout)["messages"]
    assert len(messages) < len(files) or messages, "vnu read no file"

    def page(message: dict[str, Any]) -> str:
        """vnu names a file ``file:/path``: back to the role and URL it came from."""
        url = message.get("url", "")
        return files.get(urlsplit(url).path, url)

    errors = [
        f"{page(m)}:{m.get('lastLine')}: {m.get('message')}\n    {m.get('extract', '').strip()}"
        for m in messages
        if m.get("type") in ("error", "non-document-error")
    ]
    assert errors == [], f"{len(errors)} HTML error(s):\n" + "\n".join(errors)
