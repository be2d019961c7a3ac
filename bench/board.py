"""`python -m bench.board`: the class board with many runs, and a class of students finishing runs at once.

Both parts use a throwaway PostgreSQL server of their own (harness/postgres.py, durable: fsync on, as a lecture's
server runs). First the board: RUNS entries are put in the store, an app process serves it, and Chromium opens
`?board=1` LOADS times (page opened to the count, every point and the table shown), then, with the board open,
NEW_RUNS runs are written to the store one at a time (write to the board showing it). Then bench.students: a class
finishing its runs within a window, once as it is and once with PostgreSQL restarted in the middle. The section
goes between the `board` markers of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import random
import shlex
import sys
import tempfile
import time
from pathlib import Path

from bench import students
from bench.report import Section, load, machine, publish, usable_cores
from harness.browser import CHROMIUM, CHROMIUM_ARGS, VALUES_JS
from harness.postgres import PostgresServer
from harness.server import ROOT, free_port, percentile, start_server, stop_server, wait_healthy
from twolayer.serve.board import PER_MINUTE, Entry
from twolayer.train.config import STAGES
from twolayer.train.state import RunState

NEW_RUN_TARGET_S = 5.0
# True once the board shows `expected` runs: the count, that many points in the scatter, and the table.
SHOWN_JS = f"""(expected) => {{
  const text = [...document.querySelectorAll('[data-testid="stMarkdownContainer"] strong')]
    .map((el) => el.textContent).find((t) => /^[\\d,]+ runs?$/.test(t));
  if (text !== expected.toLocaleString('en-US') + (expected === 1 ? ' run' : ' runs')) return false;
  const plot = document.querySelector('.js-plotly-plot');
  if (!plot || !plot.data) return false;
  const points = plot.data.reduce((n, trace) => n + ({VALUES_JS})(trace.x).length, 0);
  return points === expected && !!document.querySelector('[data-testid="stDataFrame"] canvas');
}}"""


def entry(rng: random.Random) -> Entry:
    """A plausible finished run: a stage, a learning rate over five decades, a hidden size, its loss."""
    labelled, epochs = rng.random() < 0.3, rng.choice([100, 500])
    return Entry(
        stage=rng.choice(STAGES), hidden=rng.choice([10, 32, 50, 100, 256]), lr=10 ** rng.uniform(-6, -1),
        batch=64, epochs=epochs, epochs_done=epochs, data="digits" if labelled else "random", status=RunState.DONE,
        final_loss=10 ** rng.uniform(-4, 3), accuracy=rng.uniform(0.5, 0.99) if labelled else None,
    )  # fmt: skip


def fill(store, runs: int, rng: random.Random) -> None:
    """`runs` entries on the board, from as many browsers as the limit per minute asks."""
    for i in range(runs):
        store.board.post(f"bench-{i // PER_MINUTE}", entry(rng))


def measure_board(server: PostgresServer, runs: int, loads: int, new_runs: int, browser) -> dict[str, list[float]]:
    """Seconds to draw the board of `runs` runs in `browser` (a Playwright Chromium), to show each new run, and to
    read the board from the store."""
    from twolayer.serve.store import RunStore

    url = server.create_database(f"board_{runs}")
    store = RunStore(url)
    rng = random.Random(runs)
    fill(store, runs, rng)
    reads = []
    for _ in range(20):
        start = time.perf_counter()
        store.board.entries()
        reads.append(time.perf_counter() - start)
    port = free_port()
    log = Path(tempfile.mkdtemp(prefix="twolayer-bench-board-")) / "server.log"
    app = start_server(port, log, env=dict(os.environ, TWOLAYER_STORE=url))
    times: dict[str, list[float]] = {"draw": [], "new": [], "read": reads}
    try:
        wait_healthy(app, f"http://127.0.0.1:{port}", 90)
        for load in range(loads + 1):  # the first, uncounted, warms the server and the browser's cache
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            start = time.perf_counter()
            page.goto(f"http://127.0.0.1:{port}/?board=1")
            page.wait_for_function(SHOWN_JS, arg=runs, timeout=120_000, polling=50)
            if load:
                times["draw"].append(time.perf_counter() - start)
            if load < loads:
                context.close()
        for k in range(new_runs):
            store.board.post(f"bench-new-{k}", entry(rng))
            start = time.perf_counter()
            page.wait_for_function(SHOWN_JS, arg=runs + k + 1, timeout=60_000, polling=50)
            times["new"].append(time.perf_counter() - start)
            time.sleep(rng.uniform(0, 2))  # runs finish at any moment of the board's cycle
        context.close()
    finally:
        stop_server(app)
        store.close()
    return times


def section(
    command: str, runs: int, times: dict[str, list[float]], classes: list[students.ClassRun], load_at_start: str
) -> str:
    """The BENCHMARKS.md section: how it was measured, then one table."""
    now = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    draw, new, read = times["draw"], times["new"], times["read"]
    note = (
        f"Measured {now} with `{command}` on {usable_cores()} usable cores ({dict(machine())['CPU']}), against a "
        "throwaway PostgreSQL 15 server on the same machine (harness/postgres.py; fsync on). The board: "
        f"{runs:,} runs in the store, one app process serving `?board=1`, one headless Chromium on the same "
        f"machine. Drawing it: page opened until the count, all {runs:,} points of the scatter and the table are "
        f"shown, {len(draw)} loads after an uncounted one. A new run: written to the store while the board is open, "
        f"until the board shows it (count and point), {len(new)} runs at random moments of the board's 2 s cycle. "
        "The class: simulated students (no browsers), each a TrainingSession as the page keeps one, spread over "
        f"{students.PROCESSES} processes with a store and connection pool each, each training a 20-epoch run that "
        "ends at a random moment of the window and is then written to its history and the board; afterwards the "
        f"store's tables are read back. Load average (1 / 5 / 15 min): {load_at_start} at the start, {load()} at "
        "the end."
    )
    table = Section(
        "The class board and one store for a class",
        note,
        ["measure", "value", "target"],
        [
            [f"board of {runs:,} runs: time to draw, median / p95", _pair(draw), ""],
            ["a new run on the open board: write to shown, median / p95 / slowest",
             f"{_pair(new)} / {max(new):.2f} s", f"< {NEW_RUN_TARGET_S:.0f} s"],
            [f"reading the board's {runs:,} runs from PostgreSQL, median / p95",
             f"{percentile(read, 50) * 1000:.1f} / {percentile(read, 95) * 1000:.1f} ms", ""],
        ],
    )  # fmt: skip
    for run in classes:
        table.rows += students.rows(run)
    return table.markdown()


def _pair(values: list[float]) -> str:
    return f"{percentile(values, 50):.2f} / {percentile(values, 95):.2f} s"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.board", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000, help="runs on the board (default: %(default)s)")
    parser.add_argument("--loads", type=int, default=10, help="timed loads of the board (default: %(default)s)")
    parser.add_argument("--new-runs", type=int, default=20, help="new runs shown (default: %(default)s)")
    parser.add_argument("--students", type=int, default=200, help="students of the class (default: %(default)s)")
    parser.add_argument("--window", type=float, default=30, help="seconds their runs end in (default: %(default)s)")
    parser.add_argument("--down", type=float, default=2, help="seconds PostgreSQL is down (default: %(default)s)")
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md", help="the file to update")
    parser.add_argument("--no-write", action="store_true", help="only print the section")
    args = parser.parse_args(argv)
    for name in ("runs", "loads", "new_runs", "students"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    if args.window < 2:
        parser.error(f"--window must be at least 2 seconds, got {args.window}")
    return args


def main(argv: list[str] | None = None, browser=None) -> int:
    """Measure, print the section, write it into BENCHMARKS.md; 0 when every target is met, else 1. `browser`: a
    Playwright Chromium already running (the tests'), else one is started."""
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    load_at_start = load()
    with contextlib.ExitStack() as stack:
        if browser is None:
            from playwright.sync_api import sync_playwright

            playwright = stack.enter_context(sync_playwright())
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            stack.callback(browser.close)
        server = stack.enter_context(PostgresServer(durable=True))
        times = measure_board(server, args.runs, args.loads, args.new_runs, browser)
        classes = [
            students.run_class(server, args.students, args.window),
            students.run_class(server, args.students, args.window, restart_at_s=args.window / 2, down_s=args.down),
        ]
    command = " ".join(["python -m bench.board", *map(shlex.quote, argv)])
    text = section(command, args.runs, times, classes, load_at_start)
    publish(text, "board", args.output, write=not args.no_write)
    met = max(times["new"]) < NEW_RUN_TARGET_S and all(students.passed(run) for run in classes)
    print("all targets met" if met else "TARGETS MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
