"""`python -m bench.seats`: how many students one core serves, measured with simulated students.

One app process pinned to one core (one training slot, one thread, as `serve-class` gives a core), the students on
the other cores: each a client of Streamlit's WebSocket protocol as a page is (harness/student.py). A class opens
the page from the lecture's link, then each student presses Train on a 500-epoch run at a random moment of a
WINDOW_S window, as a class told "press Train now" does, and reads every frame until its status line says Done.
Classes double in size until one misses a target; each has a fresh server. Per class: each student's time from
Train to Done against the same run alone, the status line's updates a second while its run trains (the loss chart
updates with it), the server's CPU seconds per run, its memory per student (its resident memory's growth from before
the class connected to after every run, over the students), and the health check's 95th percentile meanwhile.
Written between the `seats` markers of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shlex
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.report import Section, load, off_core, provenance, publish, refuse_shared_core
from harness.server import (
    HEALTH_EVERY_S,
    ROOT,
    Sampler,
    cpu_seconds,
    free_port,
    health_probe,
    memory_mb,
    percentile,
    server_pid,
    start_server,
    stop_server,
    wait_healthy,
)
from harness.student import Seen, Student, run

QUERY = "stage=numpy&hidden=100&epochs=500"  # the lecture's run, from its link
WINDOW_S = 30.0  # the presses spread over this many seconds, by default
ALONE_RUNS = 5  # the run alone, timed this many times, its median the yardstick
MIN_UPDATES = 5.0  # status line updates a second each student should see, at least (the 5th percentile)
MAX_SLOWDOWN = 2.0  # Done within this many times the run alone (the 95th percentile)
TIMEOUT_S = 600.0  # for one student's Done
SERVER_CORE = 0  # the server's core; the students take the others


@dataclass
class ClassRun:
    """One class size's figures."""

    students: int
    seen: list[Seen]
    alone_s: float
    open_cpu_s: float  # the server's CPU seconds while the class opened the page
    cpu_s: float  # ... from the first press to the last Done
    open_mb: float  # the server's resident memory's growth as the class opened the page
    rss_growth_mb: float  # ... from before the class connected to after its last run
    health: list[float | None]

    @property
    def slowdowns(self) -> list[float]:
        return [(s.done - s.pressed) / self.alone_s for s in self.seen if s.done is not None]

    @property
    def rates(self) -> list[float]:
        return [r for s in self.seen if (r := s.updates_per_second()) is not None]

    @property
    def finished(self) -> int:
        return sum(s.done is not None for s in self.seen)

    @property
    def met(self) -> bool:
        """Every student finished, the slowest 5% within MAX_SLOWDOWN, the least served 5% at MIN_UPDATES."""
        return (
            self.finished == self.students
            and percentile(self.slowdowns, 95) <= MAX_SLOWDOWN
            and percentile(self.rates, 5) >= MIN_UPDATES
        )


async def press_after(student: Student, delay: float) -> None:
    """Press Train `delay` seconds from now, then wait for Done."""
    await asyncio.sleep(delay)
    await student.train(TIMEOUT_S)


async def run_class(url: str, size: int, window_s: float, rng: random.Random, opened=lambda: None) -> list[Seen]:
    """`size` students open the page, then (`opened()` called) press Train within `window_s` seconds (all at once
    for one) and see their runs end."""
    students = [Student(url, QUERY) for _ in range(size)]
    try:
        for student in students:
            await student.connect()
        await asyncio.gather(*(student.opened(TIMEOUT_S) for student in students))
        opened()
        delays = [0.0] if size == 1 else [rng.uniform(0, window_s) for _ in students]
        await asyncio.gather(*(press_after(s, d) for s, d in zip(students, delays, strict=True)))
    finally:
        for student in students:
            with contextlib.suppress(Exception):
                await student.close()
    return [student.seen for student in students]


def measure(size: int, alone_s: float | None, window_s: float, rng: random.Random, workdir: Path) -> ClassRun:
    """A fresh server on one core, the class of `size` (or, with `alone_s` None, one student ALONE_RUNS times)."""
    port = free_port()
    env = dict(os.environ, TWOLAYER_SLOTS="1", TWOLAYER_THREADS="1")
    server = start_server(port, workdir / f"server-{size}.log", env, cores={SERVER_CORE})
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(server, url)
        pid = server_pid(url)
        if alone_s is None:
            runs = [run(run_class(url, 1, window_s, rng))[0] for _ in range(ALONE_RUNS)]
            alone_s = statistics.median(s.done - s.pressed for s in runs)
            return ClassRun(1, runs, alone_s, 0.0, 0.0, 0.0, 0.0, [])
        rss_before, cpu_before = memory_mb(pid)["VmRSS"], cpu_seconds(pid)
        at_open = {}
        health = Sampler(health_probe(url), HEALTH_EVERY_S)

        def opened() -> None:
            at_open.update(cpu=cpu_seconds(pid), rss=memory_mb(pid)["VmRSS"])
            health.start()  # while the runs train

        seen = run(run_class(url, size, window_s, rng, opened))
        cpu, samples = cpu_seconds(pid), health.stop()
        return ClassRun(
            size, seen, alone_s, open_cpu_s=at_open["cpu"] - cpu_before, cpu_s=cpu - at_open["cpu"],
            open_mb=at_open["rss"] - rss_before, rss_growth_mb=memory_mb(pid)["VmRSS"] - rss_before, health=samples,
        )  # fmt: skip
    finally:
        stop_server(server)


def row(run: ClassRun) -> list[str]:
    """One class size's figures as a table row."""
    slow, rates = run.slowdowns, run.rates
    health = [h for h in run.health if h is not None]
    return [
        str(run.students),
        f"{run.finished} / {run.students}",
        f"{statistics.median(slow):.2f} / {percentile(slow, 95):.2f}" if slow else "none",
        f"{statistics.median(rates):.1f} / {percentile(rates, 5):.1f}" if rates else "none",
        f"{run.open_cpu_s / run.students:.2f} / {run.cpu_s / run.students:.2f}",
        f"{run.open_mb / run.students:.1f} / {run.rss_growth_mb / run.students:.1f}",
        f"{percentile(health, 95) * 1e3:.0f} ({len(run.health) - len(health)})" if health else "none",
        "yes" if run.met else "**no**",
    ]


def section(command: str, window_s: float, alone: ClassRun, classes: list[ClassRun], load_at_start: str) -> str:
    """The section's markdown: each class size's figures, the students per core, the machine."""
    served = max((c.students for c in classes if c.met), default=0)
    header = [
        "students", "Done", "Done / alone, median / p95", "status updates a second, median / p5",
        "server CPU s per student: opening the page / its run", "memory per student, MB: page open / after its run",
        "health p95, ms (unanswered)", "targets met",
    ]  # fmt: skip
    note = (
        f"One app process pinned to one core (`TWOLAYER_SLOTS=1`, `TWOLAYER_THREADS=1`); simulated students "
        "(harness/student.py: Streamlit's WebSocket protocol, as a page speaks it) on the other cores. Each class "
        f"opens `?{QUERY}` and its students press Train at random moments of {window_s:g} s (a class of one at "
        f"once); the run alone takes {alone.alone_s:.2f} s from Train to Done (median of {ALONE_RUNS}). A class "
        f"meets the targets when every student sees Done, the slowest 5% within {MAX_SLOWDOWN:g}x the run alone, "
        f"and the least served 5% see at least {MIN_UPDATES:g} status updates a second while their run trains. "
        "CPU: the server's, while the class opened the page and from the first press to the last Done, over its "
        "students. Memory: the growth of the server's resident memory from before the class connected, once every "
        "page is open and after the last run, over its students. Each class has a fresh server."
        "\n\n"
        f"**Students per core: {served}** (the largest class that met the targets)."
    )
    rows = [row(c) for c in classes]
    return Section("Students per core", note, header, rows).markdown() + provenance(command, load_at_start)


def parse(argv: list[str]) -> argparse.Namespace:
    """The options, each default stated in its help."""
    parser = argparse.ArgumentParser(prog="python -m bench.seats", description=__doc__)
    parser.add_argument("--start", type=int, default=8, help="the first class size (default: %(default)s)")
    parser.add_argument("--largest", type=int, default=512, help="the largest class tried (default: %(default)s)")
    parser.add_argument(
        "--window", type=float, default=WINDOW_S, help="seconds the presses spread over (default: %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=0, help="for the moments of the presses (default: %(default)s)")
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md", help="the file to update")
    parser.add_argument("--no-write", action="store_true", help="only print the section")
    args = parser.parse_args(argv)
    if not 1 <= args.start <= args.largest:
        parser.error(f"--start must be from 1 to --largest ({args.largest}), got {args.start}")
    if args.window <= 0:
        parser.error(f"--window must be positive, got {args.window}")
    refuse_shared_core(parser, SERVER_CORE, "students")
    return args


def main(argv: list[str] | None = None) -> int:
    """Measure, print the section, write it into BENCHMARKS.md; 0 when some class met the targets, else 1."""
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    load_at_start = load()
    rng = random.Random(args.seed)
    classes = []
    # The students keep off the server's core.
    with off_core(SERVER_CORE), tempfile.TemporaryDirectory(prefix="twolayer-seats-") as folder:
        alone = measure(1, None, args.window, rng, Path(folder))
        size = args.start
        while size <= args.largest:
            start = time.monotonic()
            classes.append(measure(size, alone.alone_s, args.window, rng, Path(folder)))
            took = time.monotonic() - start
            print(f"{size} students: {' | '.join(row(classes[-1]))} ({took:.0f} s)", flush=True)
            if not classes[-1].met:
                break
            size *= 2
    command = " ".join(["python -m bench.seats", *map(shlex.quote, argv)])
    text = section(command, args.window, alone, classes, load_at_start)
    publish(text, "seats", args.output, write=not args.no_write)
    return 0 if any(c.met for c in classes) else 1


if __name__ == "__main__":
    sys.exit(main())
