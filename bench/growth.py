"""Section 4: seconds per epoch over batch x hidden sizes, and memory over a 100,000-epoch run."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from bench import engine, long_run
from bench.report import Section
from bench.timing import interleaved, median, verdict
from twolayer import Trainer
from twolayer.teach.advice import divergence_hint
from twolayer.train.state import RunState

STAGE = "tensor"
BATCHES, HIDDENS = (64, 256, 1024), (100, 400, 1600)
QUICK_BATCHES, QUICK_HIDDENS = (64, 256), (100, 400)
EPOCHS = 500  # the configured run length, so every cell records at the lecture run's cadence
LEARNING_RATE = 1e-5  # small enough that N=1024 does not diverge
SLICE_SECONDS, QUICK_SLICE_SECONDS = 0.25, 0.05
REPEATS, QUICK_REPEATS = 3, 2
FIT_TARGET = 0.25  # largest relative distance of a cell from the straight line a + b N H
MEMORY_EPOCHS, QUICK_MEMORY_EPOCHS = 100_000, 10_000
MEMORY_TARGET_MB = 50.0


def slice_case(batch: int, hidden: int, quick: bool) -> Callable[[], float]:
    """A case timing one slice of a fresh run at (N, H), returning seconds per epoch; probed for its length."""
    trainer = Trainer(engine.cpu_config(STAGE, batch, hidden, EPOCHS, LEARNING_RATE))
    start = time.perf_counter()
    trainer.advance(2)  # also the warm-up
    guess = (time.perf_counter() - start) / 2
    repeats = QUICK_REPEATS if quick else REPEATS
    # Whole multiples of 8 epochs, so that every slice holds the same periodic records
    # (norms every 2 epochs, histograms every 8 in a 500-epoch run).
    fitting = min((QUICK_SLICE_SECONDS if quick else SLICE_SECONDS) / guess, (EPOCHS - 2) / repeats)
    epochs = max(8, int(fitting) // 8 * 8)

    def case() -> float:
        start = time.perf_counter()
        trainer.advance(epochs)
        if trainer.status is RunState.DIVERGED:
            raise RuntimeError(f"N={batch}, H={hidden}: {divergence_hint(trainer)}")
        return (time.perf_counter() - start) / epochs

    return case


def sweep(quick: bool) -> Section:
    """One row per (N, H), each against the straight line t = a + b N H fitted to all cells."""
    cells = [(n, h) for n in (QUICK_BATCHES if quick else BATCHES) for h in (QUICK_HIDDENS if quick else HIDDENS)]
    # Cells take turns, so that a busy spell of a shared machine spreads over all of them.
    cases = {cell: slice_case(*cell, quick) for cell in cells}
    times = interleaved(cases, QUICK_REPEATS if quick else REPEATS, warmup=0)
    seconds = np.array([median(times[cell]) for cell in cells])
    work = np.array([float(n * h) for n, h in cells])
    # Fitted to relative errors: absolute ones would let the largest cells decide the line alone.
    design = np.stack([work, np.ones_like(work)], axis=1) / seconds[:, None]
    (slope, fixed), *_ = np.linalg.lstsq(design, np.ones_like(seconds), rcond=None)
    section = Section(
        "4a. Growth with batch and hidden size",
        f"Engine seconds per epoch of the {STAGE} stage inside a {EPOCHS}-epoch run (so records keep the lecture "
        "run's cadence), median of timed slices. Cost should follow t = a + b N H, a being the fixed cost of an "
        f"epoch: fitted a = {fixed * 1e6:.0f} us, b = {slope * 1e9:.3f} ns. "
        f"Target: every cell within {FIT_TARGET:.0%} of the line.",
        ["N", "H", "ms/epoch", "ns per N*H", "line ms", "off the line", "target", "result"],
    )
    for (n, h), t, w in zip(cells, seconds, work, strict=True):
        fit = fixed + slope * w
        off = abs(t - fit) / t
        section.rows.append(
            [
                str(n),
                str(h),
                f"{t * 1e3:.3f}",
                f"{t / w * 1e9:.2f}",
                f"{fit * 1e3:.3f}",
                f"{off:.0%}",
                f"<= {FIT_TARGET:.0%}",
                verdict(off <= FIT_TARGET),
            ]
        )
    return section


def memory(quick: bool) -> Section:
    """Resident memory growth of a long lecture-size run in a fresh process."""
    epochs = QUICK_MEMORY_EPOCHS if quick else MEMORY_EPOCHS
    done = subprocess.run(
        [sys.executable, "-m", "bench.long_run", str(epochs), str(torch.get_num_threads())],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        check=True,
    )
    m = json.loads(done.stdout)
    growth = m["after_mb"] - m["before_mb"]
    return Section(
        "4b. Memory over a long run",
        f"Resident memory (VmRSS) of a fresh process running the {long_run.STAGE} stage at lecture size (N=64, H=100), "
        "after the first epoch, after the last and the most seen between slices of "
        f"{long_run.SLICE} epochs; records = history + stats + histograms + hidden units' firing rates, in bytes. "
        f"Target: growth under {MEMORY_TARGET_MB:.0f} MB.",
        [
            "epochs",
            "seconds",
            "after epoch 1 MB",
            "after last MB",
            "most MB",
            "growth MB",
            "records MB",
            "target",
            "result",
        ],
        [
            [
                f"{m['epochs']:,}",
                f"{m['seconds']:.0f}",
                f"{m['before_mb']:.1f}",
                f"{m['after_mb']:.1f}",
                f"{m['most_mb']:.1f}",
                f"{growth:.1f}",
                f"{m['record_bytes'] / 1e6:.2f}",
                f"< {MEMORY_TARGET_MB:.0f}",
                verdict(growth < MEMORY_TARGET_MB),
            ]
        ],
    )


def run(quick: bool = False) -> list[Section]:
    """The size sweep and the long-run memory check."""
    return [sweep(quick), memory(quick)]
