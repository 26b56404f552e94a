"""docs/deploy.md's systemd units, run for real: gunicorn and two workers, healthy together.

The commands are read from the guide's ``ExecStart=`` lines (only the venv's folder and
the port change), so the guide cannot drift from what is tested.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.request import urlopen

import pytest

from core.testing.plugin import free_port
from tests.conftest import PASSWORD
from tests.helpers import fresh_database_url
from tests.test_config import cli_environment, run_cli

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "deploy.md"
VENV_BIN = "/srv/coachdesk/venv/bin/"


def unit_commands() -> dict[str, list[str]]:
    """Unit file name → its ExecStart command, as the guide writes them."""
    text = GUIDE.read_text()
    units = re.findall(r"`/etc/systemd/system/([\w@.-]+)`.*?```ini\n(.*?)```", text, re.S)
    return {
        name: shlex.split(re.search(r"^ExecStart=(.+)$", body, re.M).group(1))  # type: ignore[union-attr]
        for name, body in units
    }


def runnable(command: list[str], port: int) -> list[str]:
    """The guide's command with this venv's programs and a free port."""
    here = str(Path(sys.executable).parent) + "/"
    args = [arg.replace(VENV_BIN, here) for arg in command]
    return [f"127.0.0.1:{port}" if arg == "127.0.0.1:8000" else arg for arg in args]


def healthz(port: int) -> tuple[int, dict[str, Any]]:
    try:
        with urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            return response.status, json.load(response)
    except HTTPError as error:
        return error.code, json.load(error)


def test_the_guide_has_a_web_and_a_worker_unit() -> None:
    commands = unit_commands()
    assert set(commands) == {"coachdesk-web.service", "coachdesk-worker@.service"}
    web, worker = commands["coachdesk-web.service"], commands["coachdesk-worker@.service"]
    assert Path(web[0]).name == "gunicorn" and web[-1] == "core:create_app()"
    assert Path(worker[0]).name == "coachdesk" and worker[1:] == ["worker"]


def test_web_and_workers_from_the_guide_serve_a_healthy_site(
    tmp_path: Path, smtp_server: tuple[str, int, Any]
) -> None:
    commands = unit_commands()
    port = free_port()
    host, smtp_port, _mailbox = smtp_server
    with fresh_database_url(tmp_path) as url:
        env = cli_environment(
            tmp_path,
            {
                "COACHDESK_DATABASE_URL": url,
                "COACHDESK_BASE_URL": f"http://127.0.0.1:{port}",
                "COACHDESK_SMTP_URL": f"smtp://{host}:{smtp_port}",
                "COACHDESK_LOG_FORMAT": "json",
            },
        )
        init = run_cli(
            tmp_path,
            "init",
            "--email=admin@example.test",
            f"--password={PASSWORD}",
            "--first-name=Ada",
            "--last-name=Admin",
            env=env,
        )
        assert init.returncode == 0, init.stderr
        logs = {name: (tmp_path / f"{name}.log").open("w") for name in ("web", "w1", "w2")}
        web = runnable(commands["coachdesk-web.service"], port)
        worker = runnable(commands["coachdesk-worker@.service"], port)
        processes = {
            name: subprocess.Popen(cmd, stdout=logs[name], stderr=subprocess.STDOUT, env=env)
            for name, cmd in (("web", web), ("w1", worker), ("w2", worker))
        }
        try:
            deadline, status, body = time.monotonic() + 60, 0, {}
            while time.monotonic() < deadline:
                for name, process in processes.items():
                    if process.poll() is not None:
                        pytest.fail(f"{name} exited:\n{(tmp_path / f'{name}.log').read_text()}")
                try:
                    status, body = healthz(port)
                except OSError:
                    status = 0
                started = all(
                    "Worker started" in (tmp_path / f"{name}.log").read_text()
                    for name in ("w1", "w2")
                )
                if status == 200 and started:  # then SIGTERM is a clean stop for all
                    break
                time.sleep(0.5)
            assert status == 200, body
            assert body["checks"]["worker"]["last_run_seconds_ago"] < 60
        finally:
            for process in processes.values():
                process.terminate()
            codes = [process.wait(timeout=60) for process in processes.values()]
            for handle in logs.values():
                handle.close()
        assert codes == [0, 0, 0]
        lines = [line for line in (tmp_path / "w1.log").read_text().splitlines() if "{" in line]
        records = [json.loads(line) for line in lines]  # COACHDESK_LOG_FORMAT=json
        assert records and all(r["request_id"] == "-" and r["level"] for r in records)
