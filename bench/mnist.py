"""Section 7: every stage on MNIST-sized data (60,000 28x28 training images, 10,000 test), generated as IDX files.

`python -m bench.mnist [--quick]` runs it alone and prints its tables; `python -m bench` records them in BENCHMARKS.md
with the other sections.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from bench.long_run import resident_mb
from bench.loops import minibatch_loop
from bench.report import Section, load
from bench.timing import median, paired_ratio, verdict
from harness.server import memory_mb
from twolayer import TrainConfig, Trainer
from twolayer.data.dataset import DIGIT_CLASSES
from twolayer.data.idx import IMAGES_MAGIC, LABELS_MAGIC, TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS
from twolayer.teach.advice import divergence_hint
from twolayer.train.config import STAGES
from twolayer.train.stages import MODULES, make_stage
from twolayer.train.state import RunState

ROOT = Path(__file__).resolve().parents[1]
TRAIN_ROWS, TEST_ROWS, SIDE = 60_000, 10_000, 28
BATCH, HIDDEN = 64, 100  # the default mini-batch and hidden size
# The configured run length: it sets the records' cadence. At 60,000 rows, norms and a histogram snapshot
# follow every epoch and an evaluation every 2 epochs, as in any MNIST run of 50 epochs or fewer.
RUN_EPOCHS = 50
THREADS = 1  # torch threads and BLAS threads while the section runs
EPOCHS_PER_ROUND = 2  # at least; rounded up to whole evaluation periods, so every round holds the same records
REPEATS, QUICK_REPEATS = 3, 1  # counted rounds, after one uncounted warm-up round
ENGINE_TARGET = 1.1  # engine seconds / bare seconds per epoch, torch stages, at most
TORCH_STAGES = ("tensor", "autograd", "nn", "optim")
PAUSE_BUDGET = 0.1  # seconds per advance call, as a caller drawing between slices gives it
PAUSE_SLICES, QUICK_PAUSE_SLICES = 20, 5
PAUSE_TARGET = 0.5  # seconds a call may run past its budget, at most
RESUME_STAGE = "optim"  # the stage holding the most state: autograd, optimizer moments, biases
EVAL_TARGET = 0.10  # evaluation's share of training time, at most
MEMORY_EPOCHS, QUICK_MEMORY_EPOCHS = 2, 1
MB = 1e6


# --- the data ---


def mnist_like(rows: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """`rows` 28x28 uint8 images and their digit labels. Each digit is a fixed blocky template of ink (about MNIST's
    share of ink pixels, in the middle 20x20), shifted by up to 2 pixels, with random intensities and a sprinkle of
    noise: learnable, and as sparse as MNIST."""
    shift, block = 2, 4
    coarse = np.random.default_rng(1).random((DIGIT_CLASSES, 5, 5)) > 0.7  # the same templates in every split
    middle = np.kron(coarse, np.ones((block, block), dtype=bool))  # (10, 20, 20)
    margin = (SIDE - middle.shape[1]) // 2 + shift
    templates = np.pad(middle, ((0, 0), (margin, margin), (margin, margin)))  # (10, 32, 32): room to shift
    labels = rng.integers(0, DIGIT_CLASSES, rows, dtype=np.uint8)
    dy, dx = rng.integers(0, 2 * shift + 1, (2, rows))
    r = np.arange(SIDE)
    ink = templates[labels[:, None, None], (dy[:, None] + r)[:, :, None], (dx[:, None] + r)[:, None, :]]
    ink |= rng.integers(0, 256, ink.shape, dtype=np.uint8) < 5  # about 2% noise pixels
    intensity = rng.integers(128, 256, ink.shape, dtype=np.uint8)
    return np.where(ink, intensity, np.uint8(0)), labels


def write_idx(path: Path, array: np.ndarray, magic: int) -> None:
    """An IDX file: the magic number, one big-endian size per dimension, then the unsigned bytes."""
    header = magic.to_bytes(4, "big") + b"".join(size.to_bytes(4, "big") for size in array.shape)
    with open(path, "wb") as file:
        file.write(header)
        file.write(np.ascontiguousarray(array, dtype=np.uint8).data)


def write_mnist(directory: str | Path, train_rows: int = TRAIN_ROWS, test_rows: int = TEST_ROWS, seed: int = 0) -> Path:
    """The four MNIST IDX files, raw, of generated images in `directory`; returns the directory."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    splits = ((TRAIN_IMAGES, TRAIN_LABELS, train_rows), (TEST_IMAGES, TEST_LABELS, test_rows))
    for images_name, labels_name, rows in splits:
        images, labels = mnist_like(rows, rng)
        write_idx(directory / images_name, images, IMAGES_MAGIC)
        write_idx(directory / labels_name, labels, LABELS_MAGIC)
    return directory


def config(directory: str | Path, stage: str, device: str = "cpu") -> TrainConfig:
    """The run measured: the stage's lecture learning rate and initialisation, float32 on `device`."""
    return TrainConfig(
        stage=stage,
        hidden_size=HIDDEN,
        batch_size=BATCH,
        epochs=RUN_EPOCHS,
        dtype="float32",
        device=device,
        data=f"mnist:{directory}",
    )


# --- engine against the bare loop, and evaluation's share ---


def bare_step(name: str, stage) -> Callable[[object, object], float]:
    """One call of the stage module's own `train_step` on a batch, with the state `stage` holds; returns the loss."""
    train_step = MODULES[name].train_step
    lr = stage.learning_rate
    if name in ("numpy", "tensor"):
        w1, w2 = stage.w1, stage.w2
        return lambda x, y: train_step(w1, w2, x, y, lr)[0]  # (loss, gradients)
    if name == "autograd":
        w1, w2 = stage.w1, stage.w2
        return lambda x, y: train_step(w1, w2, x, y, lr)
    model, loss_fn = stage.model, stage.loss_fn
    if name == "nn":
        return lambda x, y: train_step(model, loss_fn, x, y, lr)
    optimizer = stage.optimizer
    return lambda x, y: train_step(model, loss_fn, optimizer, x, y)


@dataclass
class Speed:
    """Seconds per epoch of the bare loop and the engine, their ratios, and evaluation's cost."""

    learning_rate: float
    epochs_per_round: int
    record_every: int  # epochs between norm records and histogram snapshots
    bare: float
    engine: float
    records: float  # of the engine's seconds per epoch, those outside its training steps (records, evaluation)
    ratio: float
    cpu_ratio: float
    evaluate: float  # seconds of one trainer.evaluate()
    eval_every: int  # the trainer's evaluation spacing, in epochs
    eval_share: float  # evaluate / eval_every / bare seconds per epoch


def speed(trainer: Trainer, repeats: int) -> Speed:
    """The engine (`trainer.advance(1)` per epoch) against the bare loop of the same steps from the same start, and
    `trainer.evaluate()`, in rounds of whole evaluation periods after one uncounted round. Within a round both run
    each epoch in turn, alternating which goes first (bare, engine, engine, bare, ...), so that a busy spell of a
    shared machine falls on both; the losses of every epoch are checked to agree."""
    cfg = trainer.config
    rng = copy.deepcopy(trainer._shuffle_rng)  # the orders the engine will draw, before it draws any
    stage = make_stage(cfg.stage, trainer.initial_weights, cfg, trainer.device)  # its own copy of the start
    step, x, y = bare_step(cfg.stage, stage), trainer._x, trainer._y  # the engine's very data arrays
    every = trainer._eval_every
    per_round = every * math.ceil(EPOCHS_PER_ROUND / every)
    if (repeats + 1) * per_round >= cfg.epochs:
        raise ValueError(f"{repeats + 1} rounds of {per_round} epochs would reach the run's last epoch")
    bare_losses: list[float] = []

    def bare() -> None:
        bare_losses.extend(minibatch_loop(step, stage.take, x, y, cfg.batch_size, rng, 1))

    def engine() -> None:
        trainer.advance(1)
        if trainer.status is not RunState.PAUSED:
            stopped = f"{cfg.stage}: the engine stopped with status {trainer.status}"
            raise RuntimeError(f"{stopped}: {divergence_hint(trainer)}")

    cases = {"bare": bare, "engine": engine}
    times: dict[str, list[float]] = {name: [] for name in ("bare", "engine", "records", "evaluate")}
    cpu: dict[str, list[float]] = {"bare": [], "engine": []}
    for round_ in range(1 + repeats):
        wall, used = dict.fromkeys(cases, 0.0), dict.fromkeys(cases, 0.0)
        trained = trainer.train_seconds  # the engine's own clock of its training steps
        for epoch in range(per_round):
            for name in ("bare", "engine") if epoch % 2 == 0 else ("engine", "bare"):
                start, start_cpu = time.perf_counter(), time.process_time()
                cases[name]()
                used[name] += time.process_time() - start_cpu
                wall[name] += time.perf_counter() - start
        start = time.perf_counter()
        trainer.evaluate()
        evaluate = time.perf_counter() - start
        if round_ == 0:
            continue  # warm-up: first-step allocations, the first records
        for name in cases:
            times[name].append(wall[name] / per_round)
            cpu[name].append(used[name])
        times["records"].append((wall["engine"] - (trainer.train_seconds - trained)) / per_round)
        times["evaluate"].append(evaluate)
    engine_losses = trainer.history.column("loss")
    if len(engine_losses) != len(bare_losses) or not all(
        math.isclose(a, b, rel_tol=1e-6) for a, b in zip(engine_losses, bare_losses, strict=True)
    ):
        raise RuntimeError(f"{cfg.stage}: the bare loop's epoch losses {bare_losses} differ from the engine's")
    shares = [e / every / b for e, b in zip(times["evaluate"], times["bare"], strict=True)]
    return Speed(
        learning_rate=cfg.learning_rate,
        epochs_per_round=per_round,
        record_every=trainer._record_every,
        bare=median(times["bare"]),
        engine=median(times["engine"]),
        records=median(times["records"]),
        ratio=paired_ratio(times["engine"], times["bare"]),
        cpu_ratio=paired_ratio(cpu["engine"], cpu["bare"]),
        evaluate=median(times["evaluate"]),
        eval_every=every,
        eval_share=median(shares),
    )


# --- pausing and resuming ---


def pause(trainer: Trainer, slices: int, budget: float = PAUSE_BUDGET) -> dict[str, float]:
    """Seconds that `advance(..., time_budget=budget)` calls ran past their budget (calls that ended the run, which
    return early, are left out), after one uncounted call; at least `slices` calls, and on until the calls have
    completed a whole evaluation period, so that epoch ends with their records and an evaluation are among them."""
    epochs = trainer.config.epochs
    trainer.advance(epochs, time_budget=budget)  # warm-up: first-step allocations and the first records
    first = trainer.epoch
    past = []
    while (len(past) < slices or trainer.epoch - first < trainer._eval_every) and not trainer.finished:
        start = time.perf_counter()
        trainer.advance(epochs, time_budget=budget)
        seconds = time.perf_counter() - start
        if not trainer.finished:
            past.append(seconds - budget)
    if not past:
        raise RuntimeError(f"{trainer.config.stage}: the run ended before a slice was cut by its budget")
    return {"slices": len(past), "epochs": trainer.epoch - first, "median": median(past), "max": max(past)}


def resume(whole: Trainer, sliced: Trainer, budget: float = PAUSE_BUDGET) -> dict[str, object]:
    """One epoch advanced at once in `whole` and in `budget`-second slices in `sliced` (two fresh trainers of the same
    config and data): whether their losses, weights and norm records are bit-identical."""
    whole.advance(1)
    slices = 0
    while sliced.epoch < 1 and not sliced.finished:
        sliced.advance(1, time_budget=budget)
        slices += 1
    a, b = whole.weights(), sliced.weights()
    return {
        "slices": slices,
        "losses": whole.history.column("loss") == sliced.history.column("loss"),
        "weights": a.keys() == b.keys() and all(np.array_equal(a[name], b[name]) for name in a),
        "norms": whole.stats.rows() == sliced.stats.rows(),
    }


# --- memory ---


def _buffer(array) -> tuple[int, int]:
    """Where an array's data starts and its size in bytes (a torch tensor made from a NumPy array shares it)."""
    if isinstance(array, torch.Tensor):
        return array.data_ptr(), array.element_size() * array.nelement()
    return array.__array_interface__["data"][0], array.nbytes


def _distinct_bytes(arrays: Sequence) -> int:
    """Bytes of the arrays, each buffer counted once."""
    return sum(dict(_buffer(array) for array in arrays if array is not None).values())


def held_bytes(trainer: Trainer) -> dict[str, int]:
    """Bytes the run holds: data arrays (the dataset's and the trainer's backend copies, shared ones once), weights
    with their gradients and optimizer state, and records (history, norms, evaluations, histograms, firing)."""
    data, stage = trainer.data, trainer.stage
    arrays = [trainer._x, trainer._y, trainer._x_test, data.x_train, data.y_train, data.x_test, data.y_test]
    arrays += [data.labels_train, data.labels_test]
    weights = list(stage.params().values()) + list(stage.grads().values())
    optimizer = getattr(stage, "optimizer", None)
    if optimizer is not None:
        weights += [t for state in optimizer.state.values() for t in state.values() if isinstance(t, torch.Tensor)]
    tables = (trainer.history, trainer.stats, trainer.evals, trainer.histograms, trainer.firing)
    return {
        "data_bytes": _distinct_bytes(arrays),
        "weights_bytes": _distinct_bytes(weights),
        "records_bytes": sum(table.nbytes() for table in tables),
    }


def probe_memory(directory: str | Path, stage: str, epochs: int) -> dict[str, float]:
    """Resident memory before building the trainer (which loads the IDX files), after, and after `epochs` epochs;
    a tiny run of the stage first loads the code it runs (torch loads parts lazily), as the app's warm-up does."""
    Trainer(TrainConfig(stage=stage, hidden_size=4, batch_size=4, epochs=2, device="cpu")).advance(2)
    before = resident_mb()
    trainer = Trainer(config(directory, stage))
    built = resident_mb()
    trainer.advance(epochs)
    return {
        "before_mb": before,
        "built_mb": built,
        "after_mb": resident_mb(),
        "peak_mb": memory_mb(os.getpid())["VmHWM"],
        "epochs": trainer.epoch,
        **held_bytes(trainer),
    }


def memory(directory: str | Path, stage: str, epochs: int) -> dict[str, float]:
    """`probe_memory` in a fresh process, so that memory freed by earlier runs cannot hide growth."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.mnist", "--probe-memory", stage, str(directory), str(epochs)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"{stage}: the memory probe failed:\n{done.stderr}")
    return json.loads(done.stdout)


# --- the section ---


def measure(
    directory: str | Path,
    quick: bool = False,
    stages: Sequence[str] = STAGES,
    pause_budget: float = PAUSE_BUDGET,
    device: str = "cpu",
) -> list[Section]:
    """The tables for the IDX files in `directory`: run with THREADS torch and BLAS threads already set. On a GPU
    the speed and evaluation tables of its torch stages only: memory, pauses and resuming are the CPU process's."""
    if device != "cpu":
        stages = [stage for stage in stages if stage != "numpy"]
    repeats = QUICK_REPEATS if quick else REPEATS
    slices = QUICK_PAUSE_SLICES if quick else PAUSE_SLICES
    data = None  # loaded from the IDX files by the first trainer (config data="mnist:DIR"), then shared
    speeds, pauses, memories = {}, {}, {}
    for stage in stages:
        start = time.perf_counter()
        cfg = config(directory, stage, device)
        trainer = Trainer(cfg, data=data)
        data = trainer.data
        speeds[stage] = speed(trainer, repeats)
        del trainer
        if device != "cpu":
            continue
        pauses[stage] = pause(Trainer(cfg, data=data), slices, pause_budget)
        memories[stage] = memory(directory, stage, QUICK_MEMORY_EPOCHS if quick else MEMORY_EPOCHS)
        print(f"(mnist {stage}: {time.perf_counter() - start:.0f} s, load {load()})", file=sys.stderr, flush=True)
    rows, test_rows = len(data.x_train), len(data.x_test)
    size = f"{rows:,} x {SIDE}x{SIDE} training images, {test_rows:,} test, mini-batch {BATCH}, hidden {HIDDEN}"
    if device != "cpu":
        return [speed_section(speeds, f"{size}, on {device}", repeats), eval_section(speeds, rows, test_rows)]
    resume_stage = RESUME_STAGE if RESUME_STAGE in stages else stages[0]
    cfg = config(directory, resume_stage)
    resumed = resume(Trainer(cfg, data=data), Trainer(cfg, data=data), pause_budget)
    return [
        speed_section(speeds, size, repeats),
        eval_section(speeds, rows, test_rows),
        memory_section(memories, size),
        pause_section(pauses, pause_budget, size),
        resume_section(resume_stage, resumed, pause_budget),
    ]


def speed_section(speeds: dict[str, Speed], size: str, repeats: int) -> Section:
    per_round = "/".join(map(str, sorted({s.epochs_per_round for s in speeds.values()})))
    records = "/".join(map(str, sorted({s.record_every for s in speeds.values()})))
    evaluations = "/".join(map(str, sorted({s.eval_every for s in speeds.values()})))
    section = Section(
        "7a. MNIST at full size: engine against a bare mini-batch loop",
        f"Generated MNIST-shaped IDX files ({size}; each digit a blocky template of ink, shifted and noisy), "
        "loaded with `data=mnist:DIR`; each stage at its lecture learning rate and initialisation, float32, "
        f"{THREADS} torch and BLAS thread. Engine: `Trainer.advance(1)` per epoch in a {RUN_EPOCHS}-epoch run, "
        f"recording what the app records (loss every epoch, norms and a histogram snapshot every {records}, an "
        f"evaluation every {evaluations}: `eval_every`'s default, in epochs). Bare: the lecture's loop over the "
        "same arrays from the same weights and generator (shuffle, slice each mini-batch, call the stage's own "
        "`train_step`, nothing recorded); every epoch's loss is checked to agree. Seconds per epoch: median of "
        f"{repeats} rounds of {per_round} epochs (a whole evaluation period) after a warm-up round; within a round "
        "the two take turns epoch by epoch, alternating which goes first. Ratios are medians of per-round ratios; "
        "CPU: the same in CPU seconds of the process. Of which records: the engine's seconds per epoch outside its "
        "training steps (by its own clock): norms, snapshots, firing rates, evaluation. "
        f"Target: torch stages' engine/bare <= {ENGINE_TARGET}.",
        [
            "stage",
            "lr",
            "bare s/epoch",
            "engine s/epoch",
            "of which records s/epoch",
            "engine/bare",
            "CPU engine/bare",
            "target",
            "result",
        ],
    )
    for stage, s in speeds.items():
        torch_stage = stage in TORCH_STAGES
        section.rows.append(
            [
                stage,
                f"{s.learning_rate:g}",
                f"{s.bare:.3f}",
                f"{s.engine:.3f}",
                f"{s.records:.3f}",
                f"{s.ratio:.3f}",
                f"{s.cpu_ratio:.3f}",
                f"<= {ENGINE_TARGET}" if torch_stage else "report",
                verdict(s.ratio <= ENGINE_TARGET) if torch_stage else "",
            ]
        )
    return section


def eval_section(speeds: dict[str, Speed], rows: int, test_rows: int) -> Section:
    section = Section(
        "7b. Evaluation's share of training",
        f"`trainer.evaluate()` (loss and accuracy on an evenly spaced sample of at most 10,000 of the {rows:,} "
        f"training rows and on all {test_rows:,} test rows), timed once a round beside 7a's runs; share = evaluation "
        "seconds / the trainer's evaluation spacing (`eval_every`, epochs) / the bare loop's training seconds per "
        f"epoch, median of the per-round shares. Target: <= {EVAL_TARGET:.0%}.",
        ["stage", "evaluate s", "every (epochs)", "train s/epoch", "share", "target", "result"],
    )
    for stage, s in speeds.items():
        section.rows.append(
            [
                stage,
                f"{s.evaluate:.3f}",
                str(s.eval_every),
                f"{s.bare:.3f}",
                f"{s.eval_share:.1%}",
                f"<= {EVAL_TARGET:.0%}",
                verdict(s.eval_share <= EVAL_TARGET),
            ]
        )
    return section


def memory_section(memories: dict[str, dict[str, float]], size: str) -> Section:
    epochs = {int(m["epochs"]) for m in memories.values()}
    section = Section(
        "7c. Memory the run holds",
        f"A fresh process per stage ({size}), warmed up by a tiny run of the stage: held = bytes of the data "
        "arrays (dataset and the trainer's backend arrays, a shared buffer counted once), weights with gradients "
        "and optimizer state, and records (loss history, norms, evaluations, histogram snapshots, firing rates). "
        "RSS growth: resident memory (VmRSS) from before building the trainer (which reads the IDX files) to after "
        f"building it and after {'/'.join(map(str, sorted(epochs)))} epochs; peak: the most resident memory "
        "(VmHWM) over the start.",
        [
            "stage",
            "data MB",
            "weights MB",
            "records MB",
            "held MB",
            "RSS growth: build MB",
            "RSS growth: train MB",
            "RSS growth MB",
            "growth / held",
            "peak over start MB",
        ],
    )
    for stage, m in memories.items():
        held = (m["data_bytes"] + m["weights_bytes"] + m["records_bytes"]) / MB
        growth = (m["after_mb"] - m["before_mb"]) * 2**20 / MB  # VmRSS is in KiB: MiB -> MB
        section.rows.append(
            [
                stage,
                f"{m['data_bytes'] / MB:.1f}",
                f"{m['weights_bytes'] / MB:.2f}",
                f"{m['records_bytes'] / MB:.3f}",
                f"{held:.1f}",
                f"{(m['built_mb'] - m['before_mb']) * 2**20 / MB:.1f}",
                f"{(m['after_mb'] - m['built_mb']) * 2**20 / MB:.1f}",
                f"{growth:.1f}",
                f"{growth / held:.2f}",
                f"{(m['peak_mb'] - m['before_mb']) * 2**20 / MB:.1f}",
            ]
        )
    return section


def pause_section(pauses: dict[str, dict[str, float]], budget: float, size: str) -> Section:
    section = Section(
        "7d. Pause latency",
        f"Calls of `trainer.advance(epochs, time_budget={budget:g})` on a fresh {RUN_EPOCHS}-epoch run ({size}), "
        "one after another after an uncounted first call, as the page advances a run between redraws: at least "
        "the slices asked for, and on until the slices have completed a whole evaluation period of epochs, so that "
        "epoch ends (records, an evaluation) fall among them. Past budget = the call's wall time minus its budget "
        "(an epoch stops between two mini-batch steps). Median and most over the slices. "
        f"Target: every call within {PAUSE_TARGET:g} s of its budget.",
        ["stage", "slices", "epochs covered", "median past budget ms", "most past budget ms", "target", "result"],
    )
    for stage, p in pauses.items():
        section.rows.append(
            [
                stage,
                str(p["slices"]),
                str(p["epochs"]),
                f"{p['median'] * 1e3:.1f}",
                f"{p['max'] * 1e3:.1f}",
                f"<= {PAUSE_TARGET * 1e3:.0f}",
                verdict(p["max"] <= PAUSE_TARGET),
            ]
        )
    return section


def resume_section(stage: str, resumed: dict[str, object], budget: float) -> Section:
    same = resumed["losses"] and resumed["weights"] and resumed["norms"]
    return Section(
        "7e. Resuming a sliced epoch",
        f"The {stage} stage's first epoch advanced whole and, in a second trainer of the same config and data, in "
        f"{budget:g} s slices (`advance(1, time_budget={budget:g})` until the epoch completes): the epoch's loss, the "
        "weights and the norm records compared for exact equality. Target: bit-identical.",
        ["stage", "slices", "loss history", "weights", "norm records", "target", "result"],
        [
            [
                stage,
                str(resumed["slices"]),
                "identical" if resumed["losses"] else "DIFFERENT",
                "identical" if resumed["weights"] else "DIFFERENT",
                "identical" if resumed["norms"] else "DIFFERENT",
                "bit-identical",
                verdict(bool(same)),
            ]
        ],
    )


def run(quick: bool = False, device: str = "cpu") -> list[Section]:
    """The section on generated MNIST-sized IDX files (written once to a temporary folder, shared by all stages),
    with THREADS torch and BLAS threads for its duration (restored after), the torch stages on `device`."""
    threads = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    try:
        with threadpool_limits(THREADS), tempfile.TemporaryDirectory(prefix="bench-mnist-") as directory:
            return measure(write_mnist(directory), quick, device=device)
    finally:
        torch.set_num_threads(threads)


# --- the command ---


def main(argv: list[str] | None = None) -> None:
    """Run the section alone and print its tables (`python -m bench` records them in BENCHMARKS.md)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--probe-memory"]:  # the fresh process of `memory`
        stage, directory, epochs = argv[1:]
        torch.set_num_threads(THREADS)
        threadpool_limits(THREADS)
        print(json.dumps(probe_memory(directory, stage, int(epochs))))
        return
    parser = argparse.ArgumentParser(prog="python -m bench.mnist", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer rounds and slices")
    args = parser.parse_args(argv)
    torch.set_num_threads(THREADS)
    threadpool_limits(THREADS)
    for section in run(args.quick):
        print(section.markdown(), flush=True)


if __name__ == "__main__":
    main()
