"""When a finished run went wrong without overflowing: it ended above its start, rose most of the time, or stalled."""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from twolayer.teach.advice import RATE_TRIAL_EPOCHS, start_edge, trial_losses
from twolayer.train.stages import stage_spec
from twolayer.train.state import RunState
from twolayer.train.trainer import Trainer

MIN_EPOCHS = 10  # fewer epochs say too little about a run's course to judge it
ROSE_FACTOR = 2.0  # a run that ends this many times above its lowest loss, reached in its first half, rose
STALL_PROGRESS = 0.1  # a last half that lowered the loss by less than this share made no progress
FAR_FROM_ZERO = 0.1  # ... a stall counts while the loss is above this share of answering 0 for every output
NEAR_ZERO_ANSWER = 0.5  # a run ending above this share of answering 0 everywhere, and of its start, learned little
ADAPTIVE = ("adam", "rmsprop")  # optimizers whose step is about the learning rate, whatever the gradient

# Made once per run: the page redraws a finished run many times, and a cause runs trials.
_verdicts: weakref.WeakKeyDictionary[Trainer, Verdict | None] = weakref.WeakKeyDictionary()
_causes: weakref.WeakKeyDictionary[Trainer, str] = weakref.WeakKeyDictionary()


class Trouble(StrEnum):
    """What went wrong, in the words the table shows."""

    ENDED_ABOVE = "ended above its start"
    ROSE = "rose for most of the run"
    STALLED = "stalled far from zero"


@dataclass(frozen=True)
class Verdict:
    """A run's trouble and its numbers in one line."""

    trouble: Trouble
    summary: str  # for a table: "ended above its start: 5,251 against 650 at epoch 0"


def verdict(trainer: Trainer) -> Verdict | None:
    """What went wrong with a finished run that did not overflow; None when nothing did."""
    if trainer not in _verdicts:
        _verdicts[trainer] = _judge(trainer)
    return _verdicts[trainer]


def explanation(trainer: Trainer) -> str | None:
    """The verdict, its likely cause for this stage and optimizer, and a learning rate a short trial showed to work."""
    found = verdict(trainer)
    if found is None:
        return None
    if trainer not in _causes:
        _, losses = trainer.loss_curve()
        causes = {Trouble.ENDED_ABOVE: _too_high, Trouble.ROSE: _too_high, Trouble.STALLED: _stalled}
        _causes[trainer] = f"The loss {found.summary}. {causes[found.trouble](trainer, losses)}"
    return _causes[trainer]


def _judge(trainer: Trainer) -> Verdict | None:
    _, losses = trainer.loss_curve()
    if trainer.status is not RunState.DONE or len(losses) < MIN_EPOCHS:
        return None
    first, last, half = float(losses[0]), float(losses[-1]), len(losses) // 2
    lowest = int(np.argmin(losses))
    # Answering 0 for every output costs the sum of the squared targets: the scale "far from zero" is measured on.
    zero = float(np.square(trainer.data.y_train).sum())
    if last > first:
        return Verdict(Trouble.ENDED_ABOVE, f"{Trouble.ENDED_ABOVE}: {last:,.4g} against {first:,.4g} at epoch 0")
    if lowest < half and last >= ROSE_FACTOR * float(losses[lowest]):
        summary = f"{Trouble.ROSE}: lowest {float(losses[lowest]):,.4g} at epoch {lowest}, then up to {last:,.4g}"
        return Verdict(Trouble.ROSE, summary)
    learned_little = last > NEAR_ZERO_ANSWER * zero and last > NEAR_ZERO_ANSWER * first
    if _stalled_far(losses, zero) or learned_little:
        share = f"{last / zero:,.3g} times" if last >= zero else f"{last / zero:.0%} of"
        return Verdict(Trouble.STALLED, f"{Trouble.STALLED}: {last:,.4g}, {share} what answering 0 costs ({zero:,.4g})")
    return None


def _stalled_far(losses: np.ndarray, zero: float) -> bool:
    """The last half lowered the loss by less than STALL_PROGRESS, and it is still far from zero."""
    last = float(losses[-1])
    return last > (1 - STALL_PROGRESS) * float(losses[len(losses) // 2]) and last > FAR_FROM_ZERO * zero


def _too_high(trainer: Trainer, losses: np.ndarray) -> str:
    """The cause of a loss that rose: steps too large for this optimizer, where the start stood against the edge of
    stability, and a smaller rate: from that edge where it bounds the update, else the one a trial showed to work."""
    config = trainer.config
    peak, at = float(losses.max()), int(losses.argmax())
    jumped = f" It jumped to {peak:,.4g} at epoch {at}:" if peak > 10 * float(losses[0]) else ""
    if stage_spec(config.stage).has_optimizer and config.optimizer in ADAPTIVE:
        why = (
            f"{config.optimizer.capitalize()} moves every weight by about the learning rate at each step, whatever "
            f"its gradient, so at {config.learning_rate:g} the weights (each well under 1 at the start) are thrown "
            "far off and the run spends its epochs recovering."
        )
    else:
        why = (
            f"each step moves the weights by the learning rate times the gradient, and at {config.learning_rate:g} "
            "the steps overshoot the valley they aim for, so the loss climbs instead of falling."
        )
    if not jumped:  # the cause opens the sentence
        why = why[:1].upper() + why[1:]
    start = start_edge(trainer)
    suggestion = start.suggestion(trainer) or _suggest(trainer, smaller=True)
    return f"The learning rate is too high.{jumped} {why} {start.words} {suggestion}"


def _stalled(trainer: Trainer, losses: np.ndarray) -> str:
    """The cause of a loss left far from zero: dead units, a rate too high to settle, or one too low to move."""
    stalled = _stalled_far(losses, float(np.square(trainer.data.y_train).sum()))
    dead, hidden = trainer.dead_units(), trainer.config.hidden_size
    if dead * 2 >= hidden:
        return (
            f"Units dead: {dead} of {hidden} hidden units give 0 for every training example (ReLU), so no "
            "gradient reaches their weights and they never recover; large early steps usually kill them. "
            + _suggest(trainer, smaller=True)
        )
    if stalled and stage_spec(trainer.config.stage).has_optimizer and trainer.config.optimizer in ADAPTIVE:
        return (
            f"The learning rate is too high to settle: {trainer.config.optimizer.capitalize()}'s steps of about "
            f"{trainer.config.learning_rate:g} keep jumping over the minimum. " + _suggest(trainer, smaller=True)
        )
    what = "the loss barely moved over the last half" if stalled else "the loss was still falling, slowly"
    return f"The learning rate is too low: {what}. " + _suggest(trainer, smaller=False)


def _suggest(trainer: Trainer, smaller: bool) -> str:
    """A learning rate 10, 100 or 1,000 times smaller (or larger) that did better in a short trial from this start."""
    rate = trainer.config.learning_rate
    now = trial_losses(trainer, rate)
    baseline = now[-1] if now is not None else float("inf")
    best: tuple[float, float] | None = None
    for factor in (10, 100, 1000):
        candidate = rate / factor if smaller else rate * factor
        losses = trial_losses(trainer, candidate)
        if losses is None or losses[-1] >= min(baseline, losses[0]):
            continue  # overflowed, or no better than the rate now, or it did not lower the loss at all
        if best is None or losses[-1] < best[1]:
            best = (candidate, losses[-1])
    if best is None:
        return "Short trials from the same start found no better rate 10 to 1,000 times away: try the shared start."
    return (
        f"A trial of {RATE_TRIAL_EPOCHS} epochs from the same start at a learning rate of {best[0]:g} reached a loss "
        f"of {best[1]:,.4g} against {baseline:,.4g} at {rate:g}: set the learning rate to {best[0]:g}."
    )
