"""Section 9: a run's checkpoint, its size and what writing one every few seconds costs the training.

`python -m bench.checkpoint [--quick]` runs it alone and prints its table; `python -m bench --only checkpoint`
records it in BENCHMARKS.md with the other sections.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable

from bench.report import Section, print_sections, with_threads
from bench.timing import median, spread, verdict
from twolayer import TrainConfig, Trainer
from twolayer.serve.store import RunStore
from twolayer.train.checkpoint import dump

THREADS = 1  # torch and BLAS threads: the server's own setting (TWOLAYER_THREADS), so training is timed as it runs
EVERY_S = 5.0  # seconds of training between two checkpoints of a run in progress
TARGET = 0.02  # share of the training time that checkpoints of the lecture's run may take, at most
REPEATS, QUICK_REPEATS = 15, 3
# Each run as measured, and shorter for --quick, trained to its end, when it holds the most records it keeps (the
# mnist5k run's 50 epochs make 51 histogram snapshots, as many as a run of any length holds).
RUNS = {
    "lecture (numpy, H=100, 64 random rows, float32, 500 epochs)": (TrainConfig(), TrainConfig()),
    "mnist5k (optim Adam, H=100, batch 64, float32, 50 epochs)": (
        TrainConfig(stage="optim", data="mnist5k", epochs=50),
        TrainConfig(stage="optim", data="mnist5k", epochs=5),
    ),
}


def timed(action: Callable[[], object], repeats: int) -> list[float]:
    """Seconds `action` takes, `repeats` times after one uncounted call."""
    action()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return times


def row(store: RunStore, name: str, config: TrainConfig, repeats: int, lecture: bool) -> list[str]:
    """The run `config` trained to its end, then checkpointed, saved and resumed `repeats` times each."""
    trainer = Trainer(config)
    trainer.advance(config.epochs)
    dumps = timed(lambda: dump(trainer), repeats)
    saves = timed(lambda: store.save_checkpoint("bench", name, trainer), repeats)
    resumes = timed(lambda: store.latest_checkpoint("bench", name), max(1, repeats // 3))
    share = median(saves) / EVERY_S
    return [
        name,
        f"{len(dump(trainer)) / 1e6:.2f}",
        f"{median(dumps) * 1e3:.1f} ({spread([t * 1e3 for t in dumps], 1)})",
        f"{median(saves) * 1e3:.1f} ({spread([t * 1e3 for t in saves], 1)})",
        f"{median(resumes) * 1e3:.0f}",
        f"{trainer.train_seconds / config.epochs * 1e3:.2f}",
        f"{share:.2%}",
        f"≤ {TARGET:.0%}" if lecture else "for the record",
        verdict(share <= TARGET) if lecture else "",
    ]


def measure(quick: bool = False) -> Section:
    """One row per run: run with THREADS torch and BLAS threads already set."""
    repeats = QUICK_REPEATS if quick else REPEATS
    section = Section(
        "9. Checkpoints: size and cost",
        f"Each run trained to its end at {THREADS} torch and BLAS thread, then checkpointed {repeats} times after "
        "an uncounted one. Dump: the run as bytes (`twolayer.train.checkpoint.dump`). Save: dump and upsert into a "
        "new SQLite store in a temporary folder (`RunStore.save_checkpoint`, one transaction, WAL). Resume: read "
        "it back and rebuild a trainer that goes on to the bit (`RunStore.latest_checkpoint`, the data built "
        f"again from the config). Share: one save per {EVERY_S:g} s of training. Medians (lowest-highest). "
        f"Target: the lecture run's share at most {TARGET:.0%}.",
        ["run", "size MB", "dump ms", "save ms", "resume ms", "training ms/epoch", "share", "target", "result"],
    )
    with tempfile.TemporaryDirectory(prefix="bench-checkpoint-") as folder:
        store = RunStore(folder)
        try:
            for index, (name, (full, short)) in enumerate(RUNS.items()):
                section.rows.append(row(store, name, short if quick else full, repeats, lecture=index == 0))
        finally:
            store.close()
    return section


def run(quick: bool = False) -> list[Section]:
    """The section(s) with THREADS torch and BLAS threads for their duration."""
    return with_threads(THREADS, lambda quick: [measure(quick)], quick)


def main(argv: list[str] | None = None) -> None:
    """Run the section(s) alone and print their tables."""
    print_sections("checkpoint", __doc__, "fewer rounds, a shorter mnist5k run", run, argv)


if __name__ == "__main__":
    main()
