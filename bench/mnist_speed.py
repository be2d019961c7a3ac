"""Sections 7a and 7b: the engine against a bare mini-batch loop on MNIST-sized data, and evaluation's share."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.loops import minibatch_loop
from bench.mnist_data import RUN_EPOCHS, THREADS
from bench.report import Section
from bench.timing import median, paired_ratio, verdict
from twolayer import Trainer
from twolayer.teach.advice import divergence_hint
from twolayer.train.stages import make_stage, stage_spec
from twolayer.train.stages.base import HandWritten
from twolayer.train.state import RunState

EPOCHS_PER_ROUND = 2  # at least; rounded up to whole evaluation periods, so every round holds the same records
ENGINE_TARGET = 1.1  # engine seconds / bare seconds per epoch, torch stages, at most
EVAL_TARGET = 0.10  # evaluation's share of training time, at most


def bare_step(name: str, stage) -> Callable[[object, object], float]:
    """One call of the stage module's own `train_step` on a batch, with the state `stage` holds; returns the loss."""
    spec = stage_spec(name)
    train_step, lr = spec.train_step, stage.learning_rate
    if spec.has_optimizer:
        model, loss_fn, optimizer = stage.model, stage.loss_fn, stage.optimizer
        return lambda x, y: train_step(model, loss_fn, optimizer, x, y)
    if spec.has_model:
        model, loss_fn = stage.model, stage.loss_fn
        return lambda x, y: train_step(model, loss_fn, x, y, lr)
    w1, w2 = stage.w1, stage.w2
    if isinstance(stage, HandWritten):
        return lambda x, y: train_step(w1, w2, x, y, lr)[0]  # (loss, gradients)
    return lambda x, y: train_step(w1, w2, x, y, lr)


@dataclass
class Speed:
    """Seconds per epoch of the bare loop and the engine, their ratios, and evaluation's cost."""

    learning_rate: float
    epochs_per_round: int
    record_every: int  # epochs between norm records and histogram snapshots by the count (the clock may thin them)
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
        torch_stage = stage_spec(stage).uses_torch
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
