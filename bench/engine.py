"""Section 1: the engine (Trainer.advance with all its records) against a bare loop of the same steps."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.loops import LOOPS
from bench.report import Section
from bench.timing import interleaved, median, paired_ratio, verdict
from twolayer import TrainConfig, Trainer
from twolayer.teach.advice import divergence_hint
from twolayer.train.config import STAGES
from twolayer.train.state import RunState

TARGET = 1.05  # engine time / bare time, at most
# name: (batch N, hidden H, epochs, learning rate); None keeps the shared initialisation's 1e-4,
# which diverges at N=1024 because the summed loss grows with N.
SIZES = {"lecture": (64, 100, 500, None), "large": (1024, 1024, 50, 1e-5)}
QUICK_LARGE_EPOCHS = 5
REPEATS = {"lecture": 21, "large": 5}
QUICK_REPEATS = 3


def config(stage: str, size: str, quick: bool = False) -> TrainConfig:
    """The run measured for `stage` at `size`."""
    batch, hidden, epochs, learning_rate = SIZES[size]
    if quick and size == "large":
        epochs = QUICK_LARGE_EPOCHS
    return cpu_config(stage, batch, hidden, epochs, learning_rate)


def cpu_config(stage: str, batch: int, hidden: int, epochs: int, learning_rate: float | None) -> TrainConfig:
    """A benchmarked run on the CPU: float32, from the one shared starting point every stage gets."""
    return TrainConfig(
        stage=stage,
        hidden_size=hidden,
        batch_size=batch,
        epochs=epochs,
        init="shared",
        dtype="float32",
        learning_rate=learning_rate,
        device="cpu",
    )


@dataclass
class Pair:
    """Timed cases `bare` and `engine` of one run (each returns wall seconds), the CPU seconds of every call."""

    cases: dict[str, Callable[[], float]]
    cpu: dict[str, list[float]]
    check: Callable[[], None]  # raises unless both computed the same last loss


def pair(cfg: TrainConfig) -> Pair:
    """The bare loop and the engine for one run, on the same data and starting weights."""
    reference = Trainer(cfg)  # the data and starting weights both cases use
    losses: dict[str, float] = {}
    # CPU time of all threads: unlike wall time, barely moved by other programs while torch runs one thread.
    cpu: dict[str, list[float]] = {"bare": [], "engine": []}

    def bare() -> float:
        to_backend = reference.stage.to_backend  # a fresh float32 copy each round
        x, y = to_backend(reference.data.x_train), to_backend(reference.data.y_train)
        weights = {name: to_backend(w) for name, w in reference.initial_weights.items()}
        start, start_cpu = time.perf_counter(), time.process_time()
        losses["bare"] = LOOPS[cfg.stage](x, y, weights, cfg.learning_rate, cfg.epochs)
        cpu["bare"].append(time.process_time() - start_cpu)
        return time.perf_counter() - start

    def engine() -> float:
        # The bare loop's very data arrays: where they lie in memory moves small matrix products by a few percent.
        trainer = Trainer(cfg, data=reference.data)
        start, start_cpu = time.perf_counter(), time.process_time()
        trainer.advance(cfg.epochs)
        seconds = time.perf_counter() - start
        cpu["engine"].append(time.process_time() - start_cpu)
        if trainer.status is not RunState.DONE:
            stopped = f"{cfg.stage}: the engine stopped with status {trainer.status}"
            raise RuntimeError(f"{stopped}: {divergence_hint(trainer)}")
        losses["engine"] = trainer.history.column("loss")[-1]
        return seconds

    def check() -> None:
        # Different last losses would mean the bare loop is not the same computation.
        if not math.isclose(losses["bare"], losses["engine"], rel_tol=1e-4):
            raise RuntimeError(f"{cfg.stage}: bare loss {losses['bare']} != engine loss {losses['engine']}")

    return Pair({"bare": bare, "engine": engine}, cpu, check)


def run(quick: bool = False) -> list[Section]:
    """Engine/bare time ratio for every stage at the lecture and the large size."""
    section = Section(
        "1. Engine overhead per stage",
        "Bare: the stage's own tensor operations in the lecture's flat loop, with the loss read once per epoch "
        "(`.item()` for torch, as the lecture's per-epoch print forces) and nothing recorded or checked. "
        "Engine: `Trainer.advance(epochs)` recording everything a normal run does (per-epoch loss and time, "
        "norms, histogram snapshots). Same data, starting weights and float32; the last losses are checked to agree. "
        f"Target: engine / bare wall time <= {TARGET}. CPU engine/bare: the same ratio in CPU seconds of all "
        "threads, which other programs on the machine barely move when torch runs one thread (`--threads 1`).",
        [
            "size",
            "stage",
            "epochs",
            "bare ms",
            "engine ms",
            "overhead us/epoch",
            "engine/bare",
            "CPU engine/bare",
            "target",
            "result",
        ],
    )
    for size in SIZES:
        for stage in STAGES:
            cfg = config(stage, size, quick)
            measured = pair(cfg)
            repeats = QUICK_REPEATS if quick else REPEATS[size]
            times = interleaved(measured.cases, repeats)
            measured.check()
            bare, engine = median(times["bare"]), median(times["engine"])
            ratio = paired_ratio(times["engine"], times["bare"])
            cpu_ratio = paired_ratio(measured.cpu["engine"][-repeats:], measured.cpu["bare"][-repeats:])
            section.rows.append(
                [
                    f"{size} (N={cfg.batch_size}, H={cfg.hidden_size})",
                    stage,
                    str(cfg.epochs),
                    f"{bare * 1e3:.1f}",
                    f"{engine * 1e3:.1f}",
                    f"{(engine - bare) / cfg.epochs * 1e6:.0f}",
                    f"{ratio:.3f}",
                    f"{cpu_ratio:.3f}",
                    f"<= {TARGET}",
                    verdict(ratio <= TARGET),
                ]
            )
    return [section]
