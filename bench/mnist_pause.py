"""Sections 7d and 7e: how far budgeted `advance` calls run past their budget, and a sliced epoch resumed."""

from __future__ import annotations

import time

import numpy as np

from bench.mnist_data import RUN_EPOCHS
from bench.report import Section
from bench.timing import median, verdict
from twolayer import Trainer

PAUSE_BUDGET = 0.1  # seconds per advance call, as a caller drawing between slices gives it
PAUSE_TARGET = 0.5  # seconds a call may run past its budget, at most


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
