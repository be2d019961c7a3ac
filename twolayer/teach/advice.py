"""Advice in plain words: better settings for data the current ones train badly, why a run diverged, and where its
start stood against the edge of stability."""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass

import numpy as np

from twolayer.data.dataset import Dataset
from twolayer.train.config import BY_NAME, TrainConfig
from twolayer.train.curvature import Quantity, edge, largest_eigenvalue
from twolayer.train.probe import as_tensors, make_probe
from twolayer.train.state import RunState
from twolayer.train.trainer import Trainer

# Two different trials: one measures the accuracy better settings reach, the other only whether a smaller
# learning rate lowers the loss at all, so it can be shorter and smaller.
SETTINGS_TRIAL_EPOCHS = 20  # the settings offered: epochs of the trial that measures their accuracy
SETTINGS_TRIAL_ROWS = 2000  # rows that trial trains on; it measures on the test split (or on these rows without one)
BETTER_RATE = 1e-3  # with the shared start, for labelled data: 97.5% on digits in 100 epochs of the NumPy stage
RATE_TRIAL_EPOCHS = 10  # a diverged run's suggestion: epochs of each trial from the same start
RATE_TRIAL_BATCHES = 8  # ... on at most this many batches of its rows
RATE_TRIAL_FLOOR = 1e-12  # ... at a learning rate 10, 100, 1,000, ... times smaller, down to this (overflows end early)
# The rate offered from the sharpness at the start: half the largest stable one (1/lambda_0 for plain steps), since
# the curvature moves once training does.
EDGE_SHARE = 0.5

# A diverged run's explanation, made once: the page redraws a run many times, and each making runs trials.
_hints: weakref.WeakKeyDictionary[Trainer, str] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Advice:
    """Better settings for a run, why the current ones train poorly, and what the better ones reached."""

    changes: dict[str, object]  # by public key, as the page's controls hold them
    reason: str
    accuracy: float  # reached in a trial of SETTINGS_TRIAL_EPOCHS epochs


def advise(config: TrainConfig, data: Dataset) -> Advice | None:
    """Better settings when the lecture's start is a poor choice for this data, measured in a short trial."""
    if not data.is_classification or not config.normal_start:
        return None
    reason = (
        f"The lecture's hand-written stages start from standard normal weights: with {data.input_size} inputs "
        "each hidden unit starts out huge, the one-hot targets are tiny next to the outputs, and the lecture's "
        "small learning rate barely moves them, so accuracy stays low. nn.Linear's small uniform start (the "
        "shared initialisation) with a larger learning rate trains this data well."
    )
    better = config.replace(init="shared", learning_rate=BETTER_RATE)
    return Advice({"init": "shared", "lr": BETTER_RATE}, reason, trial_accuracy(better, data))


def trial_accuracy(config: TrainConfig, data: Dataset) -> float:
    """Accuracy after SETTINGS_TRIAL_EPOCHS epochs on at most SETTINGS_TRIAL_ROWS training rows (test split if any)."""
    epochs = SETTINGS_TRIAL_EPOCHS
    trial = config.replace(epochs=epochs, eval_every=epochs, sharpness=False)  # a trial measures accuracy alone
    trainer = Trainer(trial, data.head(SETTINGS_TRIAL_ROWS))
    trainer.advance(epochs)
    evals = trainer.evaluations()
    split = "test" if "test_accuracy" in evals else "train"
    return float(evals[f"{split}_accuracy"][-1]) if trainer.status is RunState.DONE else 0.0


def divergence_hint(trainer: Trainer) -> str | None:
    """Why the run diverged and a learning rate that works from its start; None for a run that did not diverge."""
    if trainer.diverged_at is None:
        return None
    if trainer not in _hints:
        _hints[trainer] = _explain_divergence(trainer)
    return _hints[trainer]


def _explain_divergence(trainer: Trainer) -> str:
    """What overflowed and why, and the rate a trial found to work (or what to change if none did)."""
    epoch, loss = trainer.diverged_at
    config = trainer.config
    rows = min(config.batch_size, len(trainer.data.x_train))
    start = start_edge(trainer)
    advice = start.suggestion(trainer)
    if advice is None:
        found, tried = working_learning_rate(trainer)
        advice = (
            f"A trial from the same start at a learning rate of {found:g} lowered the loss over {RATE_TRIAL_EPOCHS} "
            f"epochs: set the learning rate to {found:g}."
            if found
            else f"Short trials from the same start still overflowed down to a learning rate of {tried:g}: "
            "use the shared initialisation (smaller starting weights) or fewer hidden units."
        )
    return (
        f"The loss became {loss} at epoch {epoch}, so training stopped there; everything up to the last "
        f"finite epoch is kept. A learning rate of {config.learning_rate:g} is too high for this "
        "initialisation and data scale: each step moves the weights by the learning rate times the gradient, "
        f"and the gradient of a summed loss grows with the rows per step ({rows:,}) and the hidden size "
        f"({config.hidden_size:,}), so the steps overshot, the errors grew instead of shrinking, and the "
        f"numbers overflowed. {start.words} {advice}"
    )


def working_learning_rate(trainer: Trainer) -> tuple[float | None, float]:
    """The largest of lr/10, lr/100, ... (to RATE_TRIAL_FLOOR) that lowers the loss in a short trial from the start.

    Returns it (None if none did) and the smallest rate tried. The trials leave the run as it is.
    """
    rate = trainer.config.learning_rate
    while rate / 10 >= RATE_TRIAL_FLOOR:
        rate /= 10
        losses = trial_losses(trainer, rate)
        if losses is not None and losses[-1] < losses[0]:
            return rate, rate
    return None, rate


def trial_losses(trainer: Trainer, rate: float) -> list[float] | None:
    """The losses of RATE_TRIAL_EPOCHS epochs at `rate` from the run's start, on a copy of at most
    RATE_TRIAL_BATCHES batches of its rows; None when the trial overflowed."""
    config = trainer.config
    # Inputs and targets alone: with no labels or test split (and no sharpness), a trial spends no time on records.
    subset = trainer.data.head(RATE_TRIAL_BATCHES * config.batch_size, train_only=True)
    trial_config = config.replace(learning_rate=rate, epochs=RATE_TRIAL_EPOCHS, eval_every=0, sharpness=False)
    trial = Trainer(trial_config, subset, trainer.initial_weights)
    trial.advance(RATE_TRIAL_EPOCHS)
    return list(trial.history.column("loss")) if trial.status is RunState.DONE else None


@dataclass(frozen=True)
class StartEdge:
    """The sharpness of the loss at a run's starting weights, the largest learning rate stable there, and whether
    that rate bounds the run's update (plain or momentum steps) or not (steps scaled per weight)."""

    sharpness: float  # lambda_0: the Hessian's largest eigenvalue on the rows of one step
    limit: float  # the largest stable learning rate there: 2/lambda_0 (3.8/lambda_0 with momentum)
    bounds_update: bool
    learning_rate: float
    words: str

    def suggestion(self, trainer: Trainer) -> str | None:
        """Half the limit, offered where it bounds the run's update and the run's rate was above it, once a short
        trial from the same start at it lowered the loss; None otherwise."""
        if not self.bounds_update or self.learning_rate <= self.limit:
            return None
        rate = float(f"{EDGE_SHARE * self.limit:.2g}")
        losses = trial_losses(trainer, rate)
        if losses is None or losses[-1] >= losses[0]:
            return None
        return (
            f"Half that limit, {rate:g}, keeps the steps inside it: a trial of {RATE_TRIAL_EPOCHS} epochs from the "
            f"same start at {rate:g} lowered the loss from {losses[0]:,.4g} to {losses[-1]:,.4g}, so set the "
            f"learning rate to {rate:g}."
        )


def start_edge(trainer: Trainer) -> StartEdge:
    """Where the run's start stood against the edge of stability, measured on the probe's rows."""
    config = trainer.config
    probe = make_probe(config, trainer.data)
    # The start as the run held it, in its own precision (the measurement itself is in float64).
    start = {name: np.asarray(w, dtype=config.dtype) for name, w in trainer.initial_weights.items()}
    sharpness = largest_eigenvalue(as_tensors(start), probe).value
    update = edge(config)
    bounds = update.quantity is Quantity.HESSIAN and not update.note  # plain or momentum steps: lr x gradient
    factor = update.factor if bounds else 2.0  # what plain gradient steps would allow
    rate, limit = config.learning_rate, factor / sharpness if sharpness > 0 else math.inf
    stood = (
        f"At the start the loss's sharpness (its largest curvature, on the {probe.rows:,} rows of one step) was "
        f"λ0 = {sharpness:.4g}"
    )
    if not bounds:
        words = (
            f"{stood}, which makes plain gradient steps unstable above a learning rate of 2/λ0 = {limit:.3g}; but "
            f"{BY_NAME['optimizer'].control.labels[config.optimizer]} divides each weight's step by the size of "
            f"that weight's past gradients, so that limit does not bound this run's {rate:g}, and trials look for "
            "a rate instead."
        )
    else:
        against = (
            f"is {rate / limit:.3g} times that."
            if rate > limit
            else "is below it, so its first steps were stable and the trouble came later in the run."
        )
        words = (
            f"{stood}: {update.steps} are unstable above a learning rate of {factor:g}/λ0 = {limit:.3g}, and "
            f"this run's {rate:g} {against}"
        )
    return StartEdge(sharpness, limit, bounds, rate, words)
