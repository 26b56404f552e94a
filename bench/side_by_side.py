"""Every main page under gunicorn and ``wrk``, each paired with a bare Flask + Jinja page.

How to run (from the repository root; ``wrk`` is the Debian package)::

    .venv/bin/python bench/side_by_side.py --sessions 5000 --duration 2     # quick look
    .venv/bin/python bench/side_by_side.py                                  # SQLite, 100,000
    .venv/bin/python bench/side_by_side.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_harness
    .venv/bin/python bench/side_by_side.py --pages admin "coach: home" --workers 1
    .venv/bin/python bench/side_by_side.py --pages "My clients" --workers 1 2     # scaling
    .venv/bin/python bench/side_by_side.py --soak 600                       # memory

The data set comes from ``dataset.py`` (built on first use, then reused). Coachdesk
(``core:create_app()``) and ``bare_app.py`` are served by gunicorn with the same
settings (``--workers`` sync workers each, separate ports; given several counts, one
server of each, run one after the other for each page). Each role signs in once
through the login form; its session cookie goes to ``wrk -H 'Cookie: …'`` (with the
User-Agent it signed in with: Flask-Login's strong sessions are bound to it). Every
page is first fetched over HTTP and must answer 200 (a redirect to the login page
would measure the wrong thing). Then, for each page, ``wrk -t2 -c20 -d<duration>s
--latency`` loads the bare page, then the page right after: a pair measured seconds
apart, so that the ratio holds on a shared, noisy machine even when absolute figures
do not. CPU ms per request is the CPU time (user + system, from ``/proc/<pid>/stat``)
of that server's worker processes over the run, divided by the requests ``wrk``
counted. "Asleep" is the share of the workers' time over the run spent neither on a
CPU nor waiting for one (``/proc/<pid>/schedstat``): a loaded sync worker sleeps only
while it waits for the database (SQLite's write lock, PostgreSQL's answer), so this is
the column that shows workers queueing behind each other even when the shared CPUs
hide it in req/s. SQL per request is counted once in this process with the Flask test client;
bytes per response come from the 200 check. The 1-minute load average is printed on
every row.

``--soak SECONDS`` loads a mix of all the pages for that long (with the first
``--workers`` count) while a ``coachdesk worker`` runs against the same database (and
a local SMTP sink), samples the resident memory (VmRSS, and the peak VmHWM) of each
web worker and of the worker process every ``--sample-every`` seconds, and says
whether it stayed flat.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clientarea_bench import Timed, measure, sign_in  # noqa: E402
from dataset import ADMIN, CLIENT, COACH, Facts, add_arguments, build, size_of  # noqa: E402

from core.db import get_database  # noqa: E402
from core.testing.plugin import free_port  # noqa: E402

WRK = shutil.which("wrk") or "/usr/bin/wrk"
TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")
#: A process whose resident memory grew less than this between the first and last samples.
FLAT_GROWTH = 0.05
ROLES = {"client": CLIENT, "coach": COACH, "admin": ADMIN}
TARGET = "core:create_app()"


@dataclass(frozen=True)
class Page:
    role: str  # client, coach or admin: whose cookie loads it
    label: str
    path: str

    @property
    def name(self) -> str:
        return f"{self.role}: {self.label}"


def main_pages(facts: Facts, slugs: dict[str, str]) -> list[Page]:
    """Every page target 1 of issue 15 names, with the data set's ids in the URLs."""
    area, client, today = slugs["client_area"], facts.client_id, facts.today
    admin_filters = [
        ("client", "client=martin"),
        ("coach", f"coach={facts.coach_id}"),
        ("status", "status=completed"),
        ("payment", "payment=paid"),
        ("from", f"start={today - timedelta(days=30)}"),
        ("to", f"end={today - timedelta(days=30)}"),
        ("never confirmed", "pending_confirmation=y"),
    ]
    return [
        Page("client", "My sessions", f"/{area}/sessions"),
        Page("client", "Payments", f"/{area}/payments"),
        Page("client", "History", f"/{area}/history"),
        Page("client", "My profile", f"/{area}/profile"),
        Page("client", "receipt", f"/receipts/{facts.receipt_id}"),
        Page("coach", "home", f"/{slugs['coach_home']}"),
        Page("coach", "statistics", f"/{slugs['coach_home']}?tab=statistics"),
        Page("coach", "calendar month", f"/{slugs['calendar']}"),
        Page("coach", "calendar week", f"/{slugs['calendar']}?view=week"),
        Page("coach", "My clients", f"/{slugs['my_clients']}"),
        *[
            Page("coach", f"profile {tab}", f"/customer/{client}/{tab}")
            for tab in ("overview", "sessions", "finances", "contact")
        ],
        Page("coach", "session editor", f"/coach/sessions/{facts.session_id}"),
        Page("admin", "dashboard", "/admin/"),
        Page("admin", "sessions", "/admin/sessions"),
        *[Page("admin", f"sessions by {f}", f"/admin/sessions?{q}") for f, q in admin_filters],
    ]


# -- the servers ---------------------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def workers(self) -> list[int]:
        """The pids of gunicorn's worker processes (the master's children)."""
        master = str(self.process.pid)
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError):
                if stat.read_text().rpartition(")")[2].split()[1] == master:
                    pids.append(int(stat.parent.name))
        return sorted(pids)


@contextlib.contextmanager
def gunicorn(target: str, workers: int, env: dict[str, str], *extra: str) -> Iterator[Server]:
    """``target`` under gunicorn (sync workers) until the block ends; waits until it answers."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}"]
    command += ["--no-control-socket", "--timeout", "120", "--log-level", "warning", *extra]
    process = subprocess.Popen([*command, target], env=env, cwd=ROOT)
    server = Server(process, port)
    try:
        deadline = time.monotonic() + 60
        while len(server.workers()) < workers or not _answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"gunicorn {target} did not start")
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=30)


def _answers(port: int) -> bool:
    try:
        fetch(f"http://127.0.0.1:{port}", "/", {})
    except OSError:
        return False
    return True


def fetch(base: str, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    """(status, body) of one GET, redirects not followed."""
    connection = http.client.HTTPConnection(base.removeprefix("http://"), timeout=60)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def cpu_ms(pids: Sequence[int]) -> float:
    """User + system CPU time used so far by ``pids``, in milliseconds."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks * TICK_MS


def ran_ms(pids: Sequence[int]) -> float:
    """Time ``pids`` spent on a CPU or waiting for one so far (``/proc/<pid>/schedstat``)."""
    total = 0
    for pid in pids:
        on_cpu, runnable, _slices = Path(f"/proc/{pid}/schedstat").read_text().split()
        total += int(on_cpu) + int(runnable)
    return total / 1e6


# -- wrk ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx/3xx answers and socket errors
    cpu_ms: float  # per request, the server's workers
    asleep: float = float("nan")  # share of the workers' time asleep (not runnable)

    @property
    def summary(self) -> str:
        return f"{self.rps:.1f} req/s, p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms"


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _latency(output: str, percent: str) -> float:
    found = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M)
    return float(found.group(1)) * _UNITS_MS[found.group(2)] if found else float("nan")


def wrk_command(seconds: int, *options: str) -> list[str]:
    """wrk -t2 -c20 for ``seconds``, with its 2 s timeout raised to 60 s (a slow page's
    queue is its latency, not an error)."""
    return [WRK, "-t2", "-c20", f"-d{seconds}s", "--latency", "--timeout", "60s", *options]


def parse_wrk(output: str, cpu_spent_ms: float) -> Load:
    """What wrk printed, with the server's CPU time over the run spread per request."""
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", output))
    socket_errors = re.search(r"Socket errors: (.*)", output)
    errors += sum(int(n) for n in re.findall(r"\d+", socket_errors[1] if socket_errors else ""))
    return Load(
        requests=requests,
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        p50_ms=_latency(output, "50"),
        p99_ms=_latency(output, "99"),
        errors=errors,
        cpu_ms=cpu_spent_ms / requests if requests else float("nan"),
    )


def wrk(server: Server, path: str, seconds: int, *options: str) -> Load:
    """Load ``path`` of ``server`` for ``seconds``; the workers' CPU and sleep around the run.

    A sync worker under load is asleep only when it waits for something other than a
    CPU: the database (SQLite's write lock, PostgreSQL's answer) or a connection.
    """
    pids = server.workers()
    cpu, ran, started = cpu_ms(pids), ran_ms(pids), time.monotonic()
    command = [*wrk_command(seconds, *options), server.base + path]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    awake = (ran_ms(pids) - ran) / (1000 * (time.monotonic() - started) * len(pids))
    return replace(parse_wrk(output, cpu_ms(pids) - cpu), asleep=1 - awake)


# -- the two modes ---------------------------------------------------------------------------


def coachdesk_env(app: Any, instance: str, facts: Facts) -> dict[str, str]:
    """What gunicorn's Coachdesk needs to serve the data set with this process's cookies."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COACHDESK_")}
    return env | {
        "COACHDESK_INSTANCE_PATH": instance,
        "COACHDESK_DATABASE_URL": facts.url,
        "COACHDESK_SECRET_KEY": app.config["SECRET_KEY"],
        "COACHDESK_LOG_LEVEL": "WARNING",
    }


def signed_in(app: Any) -> dict[str, dict[str, str]]:
    """The request headers of each role, signed in (real login form, real server session).

    The session is "strong" (Flask-Login): bound to the browser's address and User-Agent,
    so every request sends the User-Agent the login was made with.
    """
    name = app.config["SESSION_COOKIE_NAME"]
    headers = {}
    for role, email in ROLES.items():
        browser = sign_in(app, email)
        headers[role] = {
            "Cookie": f"{name}={browser.get_cookie(name).value}",
            "User-Agent": browser.environ_base["HTTP_USER_AGENT"],
        }
    return headers


def check(server: Server, pages: list[Page], headers: dict[str, dict[str, str]]) -> dict[str, int]:
    """Bytes of each page's response; stops the run if one does not answer 200."""
    sizes = {}
    for page in pages:
        status, body = fetch(server.base, page.path, headers[page.role])
        if status != 200:
            raise SystemExit(f"{page.name} ({page.path}) answered {status}, not 200: stopped")
        sizes[page.path] = len(body)
    return sizes


def sql_counts(app: Any, pages: list[Page]) -> dict[str, int]:
    """SQL statements per request of each page, counted in this process."""
    timed = Timed(app.wsgi_app)
    app.wsgi_app = timed
    browsers = {role: sign_in(app, email) for role, email in ROLES.items()}
    return {p.path: measure(app, timed, browsers[p.role], p.path, 1)[3] for p in pages}


TABLE_HEADER = (
    "| page | req/s | bare req/s | ratio % | p50 ms | p99 ms | bare p99 ms | p99 ratio "
    "| CPU ms/req | bare CPU ms/req | asleep % | SQL/req | KB/resp | load 1m | errors |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def side_by_side(args: argparse.Namespace, app: Any, facts: Facts, instance: str) -> None:
    pages = main_pages(facts, app.config["SLUGS"])
    wanted = [w.lower() for w in args.pages or []]
    pages = [p for p in pages if not wanted or any(w in p.name.lower() for w in wanted)]
    if not pages:
        raise SystemExit("no page matches --pages")
    sql = sql_counts(app, pages)
    headers = signed_in(app)
    get_database(app).engine.dispose()
    env = coachdesk_env(app, instance, facts)
    bare_env = {k: v for k, v in env.items() if not k.startswith("COACHDESK_")}
    pythonpath = ("--pythonpath", str(ROOT / "bench"))
    with contextlib.ExitStack() as stack:
        sites = {n: stack.enter_context(gunicorn(TARGET, n, env)) for n in args.workers}
        bares = {
            n: stack.enter_context(gunicorn("bare_app:app", n, bare_env, *pythonpath))
            for n in args.workers
        }
        sizes = check(sites[args.workers[0]], pages, headers)
        bare_kb = len(fetch(bares[args.workers[0]].base, "/", {})[1]) / 1024
        counts = " or ".join(map(str, args.workers))
        print(
            f"\n{get_database(app).dialect}, {args.coaches} coaches, {args.clients} clients,"
            f" {args.sessions} sessions; gunicorn {counts} sync workers each;"
            f" wrk -t2 -c20 -d{args.duration}s per run; bare page {bare_kb:.1f} KB;"
            f" {os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M')}\n"
        )
        print(TABLE_HEADER)
        for page in pages:
            sent = [f"-H{name}: {value}" for name, value in headers[page.role].items()]
            for workers in args.workers:
                ref = wrk(bares[workers], "/", args.duration, *sent)
                got = wrk(sites[workers], page.path, args.duration, *sent)
                name = page.name if len(args.workers) == 1 else f"{page.name}, {workers} w"
                print(
                    f"| {name} | {got.rps:.0f} | {ref.rps:.0f}"
                    f" | {100 * ratio(got.rps, ref.rps):.1f}"
                    f" | {got.p50_ms:.1f} | {got.p99_ms:.1f} | {ref.p99_ms:.1f}"
                    f" | {ratio(got.p99_ms, ref.p99_ms):.1f} | {got.cpu_ms:.1f} | {ref.cpu_ms:.1f}"
                    f" | {100 * got.asleep:.0f} | {sql[page.path]} | {sizes[page.path] / 1024:.1f}"
                    f" | {os.getloadavg()[0]:.1f} | {got.errors + ref.errors} |",
                    flush=True,
                )


def ratio(value: float, reference: float) -> float:
    """``value / reference``, NaN when the reference run completed nothing."""
    return value / reference if reference else float("nan")


def lua_table(headers: dict[str, str]) -> str:
    return ", ".join(f'["{name}"] = "{value}"' for name, value in headers.items())


def memory(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of ``pid`` in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss, hwm = (re.search(rf"^{key}:\s+(\d+) kB", status, re.M) for key in ("VmRSS", "VmHWM"))
    return int(rss.group(1)) / 1024, int(hwm.group(1)) / 1024  # type: ignore[union-attr]


def sample_memory(
    processes: dict[str, int],
    load: subprocess.Popen[str],
    worker: subprocess.Popen[bytes],
    every: int,
) -> tuple[dict[str, list[float]], dict[str, float]]:
    """RSS of each process every ``every`` seconds and once more at the end of ``load``.

    Returns the samples and the peak (VmHWM) of each process, printing each sample.
    """
    samples: dict[str, list[float]] = {name: [] for name in processes}
    peaks: dict[str, float] = {}
    started = next_sample = time.monotonic()
    print("  t s  load  " + "  ".join(processes))
    finished = False
    while not finished:
        next_sample += every
        try:
            load.wait(timeout=max(0.0, next_sample - time.monotonic()))
            finished = True
        except subprocess.TimeoutExpired:
            pass
        if finished and time.monotonic() < next_sample - every + 1:
            break  # the load ended right after a sample
        if worker.poll() is not None:
            raise SystemExit("the coachdesk worker stopped during the soak")
        for name, pid in processes.items():
            rss, peaks[name] = memory(pid)
            samples[name].append(rss)
        print(
            f"{time.monotonic() - started:5.0f} {os.getloadavg()[0]:5.1f}  "
            + "  ".join(f"{samples[n][-1]:>{len(n)}.1f}" for n in processes),
            flush=True,
        )
    return samples, peaks


def soak(args: argparse.Namespace, app: Any, facts: Facts, instance: str) -> None:
    """Load a mix of every page for ``--soak`` seconds; is each process's memory flat?"""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Sink

    pages = main_pages(facts, app.config["SLUGS"])
    headers = signed_in(app)
    get_database(app).engine.dispose()
    smtp_port = free_port()
    smtp = Controller(Sink(), hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    env = coachdesk_env(app, instance, facts)
    env["COACHDESK_SMTP_URL"] = f"smtp://127.0.0.1:{smtp_port}"
    coachdesk = str(Path(sys.executable).with_name("coachdesk"))
    worker = subprocess.Popen([coachdesk, "worker"], env=env, cwd=ROOT)
    script = Path(instance) / "mix.lua"
    script.write_text(
        "local requests = {\n"
        + "".join(
            f'  wrk.format("GET", "{p.path}", {{{lua_table(headers[p.role])}}}),\n' for p in pages
        )
        + "}\nlocal i = 0\nrequest = function()\n"
        "  i = i % #requests + 1\n  return requests[i]\nend\n"
    )
    try:
        with gunicorn(TARGET, args.workers[0], env) as site:
            check(site, pages, headers)
            processes = {f"web worker {pid}": pid for pid in site.workers()}
            processes[f"coachdesk worker {worker.pid}"] = worker.pid
            command = [*wrk_command(args.soak, "-s", str(script)), site.base + "/"]
            load = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
            print(f"\nsoak: {len(pages)} pages in turn for {args.soak} s; RSS MB per process")
            samples, peaks = sample_memory(processes, load, worker, args.sample_every)
            output = load.communicate()[0]
        result = parse_wrk(output, float("nan"))
        print(f"{result.requests} requests: {result.summary}, {result.errors} errors")
        print("\n| process | peak RSS (VmHWM) MB | RSS first MB | RSS last MB | growth | flat |")
        print("|---|---|---|---|---|---|")
        for name, series in samples.items():
            growth = (series[-1] - series[0]) / series[0]
            print(
                f"| {name} | {peaks[name]:.1f} | {series[0]:.1f} | {series[-1]:.1f}"
                f" | {100 * growth:+.1f} % | {'yes' if growth < FLAT_GROWTH else 'NO'} |"
            )
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        smtp.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[2],
        help="gunicorn workers per server; several counts (1 2) pair them page by page",
    )
    parser.add_argument("--pages", nargs="*", help="only pages whose name contains one of these")
    parser.add_argument("--soak", type=int, metavar="SECONDS", help="memory soak run instead")
    parser.add_argument("--sample-every", type=int, default=30, help="soak: seconds per sample")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as instance:
        app, facts = build(size_of(args), args.database_url, instance, args.rebuild)
        (soak if args.soak else side_by_side)(args, app, facts, instance)


if __name__ == "__main__":
    main()
