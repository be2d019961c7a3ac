"""Advice in plain words: better settings for data the current ones train badly, and why a run diverged."""

from __future__ import annotations

import weakref
from dataclasses import dataclass

from twolayer.data.dataset import Dataset
from twolayer.train.config import TrainConfig
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
    trial = config.replace(epochs=epochs, eval_every=epochs, sharpness_every=0)  # a trial measures accuracy alone
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
        f"numbers overflowed. {advice}"
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
    trial_config = config.replace(learning_rate=rate, epochs=RATE_TRIAL_EPOCHS, eval_every=0, sharpness_every=0)
    trial = Trainer(trial_config, subset, trainer.initial_weights)
    trial.advance(RATE_TRIAL_EPOCHS)
    return list(trial.history.column("loss")) if trial.status is RunState.DONE else None
