"""Section 11: a class following its lecturer: 200 followers on two processes, one throwaway PostgreSQL.

Simulated at the hub and store level, not through Streamlit's WebSocket: two follower processes each run the app's
hub (one LISTEN connection) and 100 follower threads waiting on it, as 100 following pages of one app process
would; the lecturer trains the lecture's run in slices of the page's pace and publishes a frame after each, with
its checkpoints, as a leading page does. Measured: the time from a frame's publish to each follower's wake-up
holding it (median, p95), the database's transactions a second (pg_stat_database), and the lecturer's frame rate.
The followers' drawing in the browser is not included.

`python -m bench.lead [--quick]` runs it alone and prints its table; `python -m bench --only lead` records it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import numpy as np

from bench.report import Section, print_sections
from harness.postgres import PostgresServer
from twolayer.serve.hub import Hub
from twolayer.serve.lecture import Lecture
from twolayer.serve.store import RunStore
from twolayer.train.config import TrainConfig
from twolayer.train.state import RunState
from twolayer.train.trainer import Trainer

PROCESSES, PER_PROCESS = 2, 100
FRAME_S = 0.19  # the page's frame pace (page/pacing.py FRAME_SECONDS)
SECONDS, QUICK_SECONDS = 20.0, 5.0
TARGET_P95_S, TARGET_FPS = 1.0, 5.0
CONFIG = TrainConfig(epochs=100_000)  # the lecture's run, long enough to train throughout


def follower(url: str, followers: int, seconds: float) -> None:
    """One app process's hub and its followers: prints, as JSON, each follower's (epoch, wall time) per frame seen."""
    store = RunStore(url)
    hub = Hub(store.lead, "bench-follower", listen_url=url).start()
    seen: list[list[tuple[int, float]]] = [[] for _ in range(followers)]
    stop = threading.Event()

    def follow(mine: list) -> None:
        version = 0
        with hub.following():
            while not stop.is_set():
                version = hub.wait(version, timeout=0.5)
                with hub.lock:
                    frame = hub.mirror.frame
                if frame is not None and (not mine or mine[-1][0] != frame.epoch):
                    mine.append((frame.epoch, time.time()))

    threads = [threading.Thread(target=follow, args=(mine,), daemon=True) for mine in seen]
    for thread in threads:
        thread.start()
    print("ready", flush=True)
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    hub.stop()
    print(json.dumps({"seen": seen, "queries": hub.queries}), flush=True)


def transactions(url: str) -> int:
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        query = "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"
        return connection.execute(query).fetchone()[0]


def measure(quick: bool) -> Section:
    seconds = QUICK_SECONDS if quick else SECONDS
    with PostgresServer(durable=False) as server:
        url = server.create_database("bench_lead")
        store = RunStore(url)
        lecture = Lecture(store.lead, store.lead.take())
        trainer = Trainer(CONFIG)
        lecture.publish(trainer, RunState.READY, "Ready")
        command = [sys.executable, "-m", "bench.lead", "--follower", url, str(PER_PROCESS), str(seconds + 3)]
        processes = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(PROCESSES)]
        for process in processes:
            assert process.stdout.readline().strip() == "ready"
        time.sleep(1.0)  # each hub has listened and read the store
        published: dict[int, float] = {}
        before, started = transactions(url), time.monotonic()
        due = started
        while time.monotonic() - started < seconds:
            due += FRAME_S  # on a fixed schedule, as the page's pacer keeps it
            trainer.advance(CONFIG.epochs, time_budget=max(0.02, due - time.monotonic()))
            lecture.publish(trainer, RunState.RUNNING, f"Running · epoch {trainer.epoch} of {CONFIG.epochs}")
            published[trainer.epoch] = time.time()
        elapsed = time.monotonic() - started
        count = transactions(url) - before - 1  # less this query's own
        results = [json.loads(process.communicate()[0].splitlines()[-1]) for process in processes]
        store.close()
    delays = [at - published[epoch] for result in results for mine in result["seen"] for epoch, at in mine
              if epoch in published]  # fmt: skip
    missed = sum(len(published) - len({e for e, _ in mine}) for result in results for mine in result["seen"])
    p50, p95 = np.percentile(delays, [50, 95])
    fps = len(published) / elapsed
    reads = sum(result["queries"] for result in results)
    ok = "met" if p95 <= TARGET_P95_S and fps >= TARGET_FPS else "missed"
    return Section(
        "11. A class following its lecturer (200 followers, two processes, PostgreSQL)",
        f"{PROCESSES} follower processes × {PER_PROCESS} follower threads on the app's hub (one LISTEN connection "
        f"each), the lecture's run published for {seconds:g} s at the page's frame pace; a follower that was still "
        f"drawing a frame when the next came skips to the newest (counted as skipped). Target: p95 ≤ "
        f"{TARGET_P95_S:g} s, lecturer ≥ {TARGET_FPS:g} frames/s: {ok}.",
        ["frames", "lecturer frames/s", "delay median", "delay p95", "frames skipped", "hub reads",
         "database transactions/s"],  # fmt: skip
        [[f"{len(published)}", f"{fps:.1f}", f"{1000 * p50:.0f} ms", f"{1000 * p95:.0f} ms",
          f"{missed / (len(published) * PROCESSES * PER_PROCESS):.1%}", f"{reads}", f"{count / elapsed:.1f}"]],
    )  # fmt: skip


def run(quick: bool = False) -> list[Section]:
    return [measure(quick)]


if __name__ == "__main__":
    if sys.argv[1:2] == ["--follower"]:
        follower(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    else:
        print_sections("lead", __doc__, f"{QUICK_SECONDS:g} s of publishing instead of {SECONDS:g}", run)
