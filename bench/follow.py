"""`python -m bench.follow`: a class following its lecturer through the page, and how many followers one core serves.

`scripts/serve-class 2` on a throwaway PostgreSQL, both app processes pinned to one core (SERVER_CORE). The
lecturer's page, in headless Chromium, gives the lecturer key and leads; simulated followers (harness/student.py:
Streamlit's WebSocket protocol, as a page speaks it; the proxy spreads them over both processes) open `?follow=1`
from the other cores. For each class size the lecturer presses Train, trains for a while and presses Pause.
Measured: the delay from a frame's publish (when the lecturer's process stored it, its `saved` time) to each
follower's status line with that epoch (median, 95th percentile), the share of the frames a follower shows, the
lecturer's frames a second, the database's transactions a second, and the server's CPU per follower. Written
between the `follow` markers of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import secrets
import shlex
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bench.lead import transactions
from bench.report import Section, load, off_core, provenance, publish, refuse_shared_core
from harness.browser import chromium, wait_for_app
from harness.cluster import Cluster
from harness.postgres import PostgresServer
from harness.server import ROOT, cpu_seconds, free_port, percentile, server_pid
from harness.student import Seen, Student
from twolayer.serve.frames import Frame

SERVER_CORE = 0  # both app processes' core; the lecturer's browser, the followers and PostgreSQL take the others
LEAD_QUERY = "lead=1&stage=numpy&hidden=100&epochs=100000"  # the lecture's run, long enough for a class
TARGET_P95_S, TARGET_FPS = 1.0, 5.0
OPEN_TIMEOUT_S = 300.0  # for every follower's page to show the lecturer's status line
EPOCH = re.compile(r"epoch \*\*(\d+)\*\*")


@dataclass
class ClassFollowed:
    """One class size's figures."""

    followers: int
    heard: dict[int, float]  # the lecturer's frames while it trained: epoch -> the moment it was stored
    seconds: float
    delays: list[float]  # from each frame's storing to each follower's status line with its epoch
    shown: float  # the share of the lecturer's frames the followers' status lines showed
    transactions: int
    cpu_s: float  # both app processes', while the lecturer trained

    @property
    def fps(self) -> float:
        """The lecturer's frames a second, from its first frame stored to its last."""
        moments = sorted(self.heard.values())
        return (len(moments) - 1) / (moments[-1] - moments[0]) if len(moments) > 1 else 0.0

    @property
    def met(self) -> bool:
        fast = bool(self.delays) and percentile(self.delays, 95) <= TARGET_P95_S or not self.followers
        return fast and self.fps >= TARGET_FPS


def follower_delays(heard: dict[int, float], seen: list[Seen]) -> tuple[list[float], float]:
    """Each follower's delay per frame it showed (its first status line with the frame's epoch, less the moment the
    frame was stored), and the share of the lecturer's frames (`heard`) the followers showed."""
    delays, shown = [], 0
    for one in seen:
        first: dict[int, float] = {}
        for moment, word, line in one.statuses:
            found = EPOCH.search(line)
            if word == "Running" and found and int(found[1]) in heard:
                first.setdefault(int(found[1]), moment)
        delays += [moment - heard[epoch] for epoch, moment in first.items()]
        shown += len(first)
    return delays, shown / max(1, len(heard) * len(seen))


def published(database: str, since: float) -> dict[int, float]:
    """The lecturer's running frames stored since `since` (time.time()): epoch -> when (as time.monotonic() says)."""
    import psycopg

    offset = time.time() - time.monotonic()
    with psycopg.connect(database, autocommit=True) as connection:
        query = "SELECT saved, body FROM lead_frames WHERE saved >= %s ORDER BY seq"
        rows = connection.execute(query, (since,)).fetchall()
    frames: dict[int, float] = {}
    for saved, body in rows:
        frame = Frame.loads(body)
        if frame.state == "running":
            frames.setdefault(frame.epoch, saved - offset)
    return frames


async def follow(url: str, size: int, opened: threading.Event, done: threading.Event) -> list[Seen]:
    """`size` followers open `?follow=1`; `opened` once each shows the lecturer's status line; they leave at `done`."""
    followers = [Student(url, "follow=1") for _ in range(size)]
    try:
        for follower in followers:
            await follower.connect()
        deadline = time.monotonic() + OPEN_TIMEOUT_S
        while not all(f.seen.statuses for f in followers):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{sum(not f.seen.statuses for f in followers)} followers showed no status line")
            await asyncio.sleep(0.1)
        opened.set()
        while not done.is_set():
            await asyncio.sleep(0.1)
    finally:
        for follower in followers:
            with contextlib.suppress(Exception):
                await follower.close()
    return [f.seen for f in followers]


def measure(cluster: Cluster, database: str, lecturer, size: int, seconds: float) -> ClassFollowed:
    """One class of `size` followers while the lecturer trains `seconds`."""
    opened, done = threading.Event(), threading.Event()
    pids = [server_pid(cluster.app_url(i)) for i in range(cluster.replicas)]
    with ThreadPoolExecutor(max_workers=1) as pool:
        followers = pool.submit(asyncio.run, follow(cluster.url, size, opened, done))
        while not opened.wait(0.5):
            if followers.done():
                followers.result()  # raises why they did not open
        try:
            before, cpu_before, started = transactions(database), sum(map(cpu_seconds, pids)), time.monotonic()
            since = time.time()
            lecturer.get_by_role("button", name="Train", exact=True).click()
            time.sleep(seconds)
            lecturer.get_by_role("button", name="Pause", exact=True).click()
            lecturer.locator(".st-key-run-status").get_by_text(re.compile(r"^Paused")).wait_for(timeout=60_000)
            elapsed, cpu = time.monotonic() - started, sum(map(cpu_seconds, pids)) - cpu_before
            count = transactions(database) - before - 1  # less the query's own
            time.sleep(2.0)  # the last frames reach the followers
        finally:
            done.set()
        lecturer.get_by_role("button", name="Reset", exact=True).click()  # the next class sees a run from epoch 0
        lecturer.locator(".st-key-run-status").get_by_text(re.compile(r"^Ready")).wait_for(timeout=60_000)
        seen = followers.result()
    heard = published(database, since)
    delays, shown = follower_delays(heard, seen)
    return ClassFollowed(size, heard, elapsed, delays, shown, count, cpu)


def row(run: ClassFollowed) -> list[str]:
    if run.delays:
        p50, p95 = (percentile(run.delays, q) for q in (50, 95))
        delay, shown = f"{1000 * p50:.0f} / {1000 * p95:.0f}", f"{run.shown:.0%}"
    else:
        delay = shown = "–"
    return [
        f"{run.followers}", f"{run.fps:.2f}", delay, shown, f"{run.transactions / run.seconds:.1f}",
        f"{run.cpu_s / run.seconds:.2f}", "yes" if run.met else "no",
    ]  # fmt: skip


def section(command: str, seconds: float, classes: list[ClassFollowed], load_at_start: str, shared: bool) -> str:
    """The section's markdown: each class size's figures, the followers one core (or the machine) serves, the
    machine."""
    served = max((c.followers for c in classes if c.met), default=0)
    header = [
        "followers", "lecturer frames a second", "delay ms, median / p95", "frames shown",
        "database transactions a second", "server CPU, cores", "targets met",
    ]  # fmt: skip
    where = (
        "both app processes on every core, beside the lecturer's browser, the followers and PostgreSQL"
        if shared
        else "both app processes pinned to one core, the lecturer's browser, the followers and PostgreSQL on the other"
    )
    note = (
        f"`scripts/serve-class 2` on a throwaway PostgreSQL, {where}. The lecturer's page (headless Chromium, "
        f"`?{LEAD_QUERY}`) gives the key and leads; simulated followers (harness/student.py, Streamlit's WebSocket "
        "protocol as a page speaks it) open `?follow=1`, spread by the proxy over both processes. Each class: "
        f"the lecturer presses Train, trains {seconds:g} s, presses Pause. Delay: from a frame's publish (the "
        "moment the lecturer's process stored it) to a follower's status line with that epoch; a follower still "
        "drawing when the next frame comes skips to the newest (frames shown). Targets: p95 ≤ "
        f"{TARGET_P95_S:g} s, the lecturer ≥ {TARGET_FPS:g} frames a second. Server CPU: both app processes' "
        "CPU time over the training, in cores (0 followers: the lecturer alone)."
        "\n\n"
        f"**Followers {'the machine' if shared else 'one core'} serves: {served}** (the largest class that met the "
        "targets)."
    )
    rows = [row(c) for c in classes]
    return Section(
        "Following the lecturer through the page" + (", on every core" if shared else ""), note, header, rows
    ).markdown() + provenance(command, load_at_start)


def parse(argv: list[str]) -> argparse.Namespace:
    """The options, each default stated in its help."""
    parser = argparse.ArgumentParser(prog="python -m bench.follow", description=__doc__)
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[0, 25, 50, 100, 200], help="class sizes (default: %(default)s)"
    )
    parser.add_argument("--seconds", type=float, default=15.0, help="training per class (default: %(default)s)")
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md", help="the file to update")
    parser.add_argument("--no-write", action="store_true", help="only print the section")
    parser.add_argument(
        "--shared", action="store_true",
        help="the app processes on every core, beside the followers (default: one core of their own)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if min(args.sizes) < 0:
        parser.error(f"--sizes must be 0 (the lecturer alone) or more, got {min(args.sizes)}")
    if args.seconds <= 0:
        parser.error(f"--seconds must be positive, got {args.seconds:g}")
    if not args.shared:
        refuse_shared_core(parser, SERVER_CORE, "followers")
    return args


def main(argv: list[str] | None = None) -> int:
    """Measure each class size, print the section, write it into BENCHMARKS.md; 0 when some class met the targets."""
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    load_at_start = load()
    key = secrets.token_urlsafe(16)
    classes = []
    server_core = None if args.shared else SERVER_CORE
    # The followers, the lecturer's browser and PostgreSQL keep off the server's core.
    with (
        off_core(server_core),
        tempfile.TemporaryDirectory(prefix="twolayer-follow-") as folder,
        PostgresServer(durable=False) as postgres,
    ):
        database = postgres.create_database("follow")
        env = dict(os.environ, TWOLAYER_LECTURER_KEY=key, TWOLAYER_SLOTS="1")
        cores = None if server_core is None else {server_core}
        with Cluster(2, free_port(), Path(folder), database, env=env, cores=cores) as cluster, chromium() as browser:
            lecturer = browser.new_page(viewport={"width": 1400, "height": 1000})
            lecturer.goto(f"{cluster.url}/?{LEAD_QUERY}")
            wait_for_app(lecturer)
            lecturer.get_by_label("Lecturer key").fill(key)
            lecturer.get_by_role("button", name="Lead the class").click()
            lecturer.locator(".st-key-lead-status").get_by_text("leading").wait_for(timeout=60_000)
            for size in args.sizes:
                classes.append(measure(cluster, database, lecturer, size, args.seconds))
                print(f"{size} followers: {' | '.join(row(classes[-1]))}", flush=True)
    command = " ".join(["python -m bench.follow", *map(shlex.quote, argv)])
    text = section(command, args.seconds, classes, load_at_start, args.shared)
    publish(text, "follow-shared" if args.shared else "follow", args.output, not args.no_write)
    return 0 if any(c.met for c in classes) else 1


if __name__ == "__main__":
    sys.exit(main())
