"""Instructions per request of some main pages, counted by callgrind: steady where times are not.

How to run (from the repository root; valgrind is a Debian package)::

    .venv/bin/python bench/instructions.py "coach: home" "client: My sessions"
    .venv/bin/python bench/instructions.py "coach: home" --against /tmp/base   # two checkouts

On this shared machine the same page's time moves ±15 % between runs (more when a
neighbour is busy), which hides a change of a few per cent. The number of instructions a
request executes hardly moves (±2 % between runs: hash seeds, garbage collection). Each page
runs ``page_loop.py --counted`` under ``valgrind --tool=callgrind``, counting only inside
``itertools.starmap`` (the timed loop: ``-n`` requests after ten to warm up), so the start-up
(imports, sign-in) is not counted. About three minutes a page, most of it the start-up under
valgrind; ``--against`` runs the other checkout's ``page_loop.py`` beside it (one per core).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def count(checkout: Path, page: str, n: int) -> int:
    """Instructions per request of ``page`` served by ``checkout``'s code."""
    with tempfile.NamedTemporaryFile(suffix=".callgrind") as out:
        run = subprocess.run(
            [
                "valgrind", "--tool=callgrind", "--collect-atstart=no",
                "--toggle-collect=starmap_next", f"--callgrind-out-file={out.name}",
                sys.executable, str(checkout / "bench" / "page_loop.py"), page,
                "-n", str(n), "--counted",
            ],
            capture_output=True, text=True, check=True, cwd=checkout,
        )  # fmt: skip
    collected = re.search(r"Collected : (\d+)", run.stderr)
    if collected is None:
        raise SystemExit(f"{page}: no count from callgrind\n{run.stderr[-2000:]}")
    return int(collected.group(1)) // n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pages", nargs="+", help='side-by-side pages, e.g. "coach: home"')
    parser.add_argument("-n", type=int, default=3, help="requests counted per page")
    parser.add_argument("--against", type=Path, help="another checkout (with its bench/data)")
    args = parser.parse_args()
    checkouts = [ROOT] + ([args.against.resolve()] if args.against else [])
    jobs = [(page, checkout) for page in args.pages for checkout in checkouts]
    with ThreadPoolExecutor(max_workers=2) as pool:
        found = pool.map(lambda job: count(job[1], job[0], args.n), jobs)
        counts = dict(zip(jobs, found, strict=True))
    header = "| page | M instructions/request |" + (" against | change |" if args.against else "")
    print(header)
    print("|---" * (header.count("|") - 1) + "|")
    for page in args.pages:
        here = counts[(page, ROOT)]
        row = f"| {page} | {here / 1e6:.1f} |"
        if args.against:
            there = counts[(page, checkouts[1])]
            row += f" {there / 1e6:.1f} | {(here - there) / there * 100:+.1f} % |"
        print(row)


if __name__ == "__main__":
    main()
