"""A class of simulated students finishing runs through the run store, without browsers (part of `bench.board`).

Each student is a TrainingSession, as the page keeps one per browser: it trains a short run and puts it aside,
which writes the run to the browser's history and to the class board. The students are spread over several worker
processes, as over a class's app processes, each with its own store and connection pool, and finish at moments
spread over a window. Whether each run was kept, and once, is read back from the store's tables afterwards.
"""

from __future__ import annotations

import logging
import multiprocessing
import random
import threading
import time
from dataclasses import dataclass

from harness.postgres import PostgresServer
from harness.server import percentile

PROCESSES = 4
READY_TIMEOUT_S = 300.0  # for the workers to import torch and open their stores, on a busy machine
LEAD_S = 1.0  # from every worker ready to the window's start


@dataclass
class ClassRun:
    """What one simulated class did and what the store holds afterwards."""

    students: int
    window_s: float
    write_s: list[float]  # per student: from its run's end to history and board written
    finished_by_s: float  # the last run's end, from the window's start
    on_board: int  # distinct students with an entry
    twice: int  # students with more than one entry
    histories: int  # students whose history holds their run
    retried: int  # writes that had to be tried again (the store did not answer)
    board_complete_s: float  # the last run's end to the last write done (every run written by then)
    restart_at_s: float | None = None
    away_s: float = 0.0  # from the restart's start (connections cut) to the server accepting connections again

    @property
    def lost(self) -> int:
        return self.students - self.on_board


class _Retries(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "did not answer" in record.getMessage():
            self.count += 1


def _worker(url: str, indexes: list[int], offsets: list[float], ready, start, results) -> None:
    """One process of the class: opens its store, waits for the others, then runs its students; puts when each run
    ended and was written, and how many writes were tried again, into `results`."""
    import torch

    from twolayer.serve.session import TrainingSession
    from twolayer.serve.store import RunStore, browser_key
    from twolayer.train.config import STAGES, TrainConfig

    torch.set_num_threads(1)
    retries = _Retries()
    logging.getLogger("twolayer").addHandler(retries)
    store = RunStore(url)
    times: list[tuple[float, float]] = []

    def student(index: int, offset: float) -> None:
        config = TrainConfig(stage=STAGES[index % len(STAGES)], hidden_size=16, epochs=20, seed=index, device="cpu")
        sess = TrainingSession(store, browser_key(f"student-{index}"), f"session-{index}")
        sess.train(config)
        time.sleep(max(0.0, start.value + offset - time.time()))
        sess.trainer.advance(config.epochs)
        done = time.time()
        sess.after_slice()  # the history and the board, each retried while the store does not answer
        times.append((done, time.time()))

    ready.wait(READY_TIMEOUT_S)  # every process's store open: the window starts for all at once
    ready.wait(READY_TIMEOUT_S)  # the window's start is set
    threads = [threading.Thread(target=student, args=pair) for pair in zip(indexes, offsets, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store.close()
    results.put((times, retries.count))


def run_class(
    server: PostgresServer, students: int, window_s: float, restart_at_s: float | None = None, down_s: float = 2.0
) -> ClassRun:
    """`students` runs finishing over `window_s` into a new database of `server`, which is restarted (down for
    `down_s`) `restart_at_s` into the window when given; then what the store holds."""
    from twolayer.serve.store import RunStore, browser_key

    url = server.create_database(f"class_{students}_{int(time.time() * 1000)}")
    RunStore(url).close()  # its tables made once, before the workers open it together
    rng = random.Random(students)
    offsets = [rng.uniform(0, window_s - 1) for _ in range(students)]
    spawn = multiprocessing.get_context("spawn")  # fresh workers: no torch state forked from this process
    ready, start, queue = spawn.Barrier(PROCESSES + 1), spawn.Value("d", 0.0), spawn.Queue()
    workers = []
    for part in (list(range(i, students, PROCESSES)) for i in range(PROCESSES)):
        args = (url, part, [offsets[i] for i in part], ready, start, queue)
        workers.append(spawn.Process(target=_worker, args=args, daemon=True))
        workers[-1].start()
    ready.wait(READY_TIMEOUT_S)
    start.value = start_at = time.time() + LEAD_S
    ready.wait(READY_TIMEOUT_S)
    away_s = 0.0
    if restart_at_s is not None:
        time.sleep(max(0.0, start_at + restart_at_s - time.time()))
        began = time.time()
        server.restart(down_s=down_s)
        away_s = time.time() - began
    results = [queue.get(timeout=window_s + 120) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    times = [pair for part, _ in results for pair in part]
    store = RunStore(url)
    try:
        per_browser = store.db.run(
            lambda tx: tx.execute("SELECT browser, COUNT(*) FROM board GROUP BY browser").fetchall(), write=False
        )
        keys = {browser_key(f"student-{i}") for i in range(students)}
        histories = sum(len(store.runs(browser_key(f"student-{i}"))) == 1 for i in range(students))
    finally:
        store.close()
    return ClassRun(
        students=students,
        window_s=window_s,
        write_s=[written - done for done, written in times],
        finished_by_s=max(done for done, _ in times) - start_at,
        on_board=sum(1 for browser, _ in per_browser if browser in keys),
        twice=sum(1 for _, n in per_browser if n > 1),
        histories=histories,
        retried=sum(retries for _, retries in results),
        board_complete_s=max(written for _, written in times) - max(done for done, _ in times),
        restart_at_s=restart_at_s,
        away_s=away_s,
    )


def rows(run: ClassRun) -> list[list[str]]:
    """The run's lines of the benchmark's table."""
    when = ""
    if run.restart_at_s is not None:
        when = f", PostgreSQL restarted {run.restart_at_s:.0f} s in (away {run.away_s:.1f} s)"
    head = f"{run.students} students finishing within {run.window_s:.0f} s{when}"
    writes = run.write_s or [float("nan")]
    return [
        [f"{head}: the last run ended, from the window's start", f"{run.finished_by_s:.1f} s",
         f"< {run.window_s:.0f} s"],
        [f"{head}: on the board / lost / twice", f"{run.on_board} / {run.lost} / {run.twice}",
         f"{run.students} / 0 / 0"],
        [f"{head}: histories holding their run", f"{run.histories} / {run.students}", f"{run.students}"],
        [f"{head}: run's end to history and board written, median / p95 / slowest",
         f"{percentile(writes, 50):.3f} / {percentile(writes, 95):.3f} / {max(writes):.3f} s", ""],
        [f"{head}: writes tried again (the store did not answer)", f"{run.retried}", ""],
        [f"{head}: last run's end to every run written", f"{run.board_complete_s:.2f} s", ""],
    ]  # fmt: skip


def passed(run: ClassRun) -> bool:
    return run.on_board == run.students and run.twice == 0 and run.histories == run.students
