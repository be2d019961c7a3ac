"""The learning-rate range test (Smith 2017): train from the run's start while the rate grows geometrically, step by
step, until the loss blows up; a good rate lies where the loss falls fastest."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from twolayer.data.dataset import Dataset
from twolayer.train.config import TrainConfig
from twolayer.train.trainer import Trainer

START_RATE = 1e-9  # a thousandth of the lecture's smallest rate (1e-6): the first steps change nothing
END_RATE = 10.0  # beyond any rate a stage trains at
MAX_STEPS = 300  # 30 rates a decade over the default range, a few seconds on MNIST
MIN_STEPS = 10  # fewer leave the suggestion's slopes too few rates to measure
BLOW_UP = 4.0  # the test stops once the smoothed loss is this many times its lowest
SMOOTHING = 0.9  # weight of the past in the loss's moving average: mini-batch losses are noisy
SLOPE_DECADES = 0.5  # the width of rates over which the suggestion measures the loss's fall


@dataclass(frozen=True)
class RateFinding:
    """The rates tried (increasing), the loss each one's step left, the suggested rate and where the loss blew up."""

    lrs: list[float]
    losses: list[float]
    smoothed: list[float]  # the losses' moving average, which the stop and the suggestion read
    suggested: float | None  # None: the loss never fell
    diverged_at: float | None  # the rate whose step blew the loss up; None: it never did within the range

    def to_dict(self) -> dict[str, object]:
        """The finding as the CLI writes it."""
        return {"lrs": self.lrs, "losses": self.losses, "suggested": self.suggested, "diverged_at": self.diverged_at}


def rate_schedule(start: float = START_RATE, end: float = END_RATE, steps: int = MAX_STEPS) -> list[float]:
    """`steps` rates from `start` to `end`, each the last times the same factor; ValueError names a bad range."""
    if not 0 < start < end:
        raise ValueError(f"the rate range {start:g} to {end:g} is empty: the test needs 0 < start < end")
    if not MIN_STEPS <= steps <= MAX_STEPS:
        raise ValueError(f"{steps} steps: the rate test takes {MIN_STEPS} to {MAX_STEPS} steps")
    return np.geomspace(start, end, steps).tolist()


def find_rate(
    config: TrainConfig,
    data: Dataset | None = None,
    weights: dict[str, np.ndarray] | None = None,
    *,
    start: float = START_RATE,
    end: float = END_RATE,
    steps: int = MAX_STEPS,
) -> RateFinding:
    """Step from the run's start (or `weights`) on the run's own batches, one rate of the schedule per step, until
    the smoothed loss exceeds BLOW_UP times its lowest or a loss is not finite; the suggestion is `suggest`'s: the
    rate of the smoothed loss's steepest fall."""
    rates = rate_schedule(start, end, steps)
    trainer = Trainer(config, data=data, weights=weights)
    stage, batches = trainer.stage, trainer.batches()
    stage.adopt_thread_count()
    lrs, losses, smooth, average, diverged_at = [], [], [], 0.0, None
    with np.errstate(over="ignore", invalid="ignore"):  # overflow ends the test, without warnings
        stage.set_learning_rate(rates[0])
        stage.step(*next(batches))
        # One step more than rates: each step returns the loss before its update, the one the previous rate left.
        for rate, following in itertools.pairwise([*rates, rates[-1]]):
            stage.set_learning_rate(following)
            loss = stage.step(*next(batches))
            if not math.isfinite(loss):
                diverged_at = rate
                break
            average = SMOOTHING * average + (1 - SMOOTHING) * loss
            lrs.append(rate)
            losses.append(loss)
            smooth.append(average / (1 - SMOOTHING ** len(losses)))  # the average's start at 0, corrected
            if smooth[-1] > BLOW_UP * min(smooth):
                diverged_at = rate
                break
    return RateFinding(lrs, losses, smooth, suggest(lrs, smooth), diverged_at)


def suggest(lrs: list[float], smoothed: list[float]) -> float | None:
    """The rate at the steepest fall of the smoothed loss against log(rate) before its lowest point, each slope
    taken across SLOPE_DECADES of rates, so that no single noisy mini-batch decides; None if it never falls."""
    if len(lrs) < 3:
        return None
    smooth, log_lrs = np.array(smoothed), np.log10(lrs)
    per_decade = (len(lrs) - 1) / (log_lrs[-1] - log_lrs[0])
    half = max(1, min(round(SLOPE_DECADES / 2 * per_decade), (len(lrs) - 1) // 2))
    slopes = (smooth[2 * half :] - smooth[: -2 * half]) / (log_lrs[2 * half :] - log_lrs[: -2 * half])
    slopes = slopes[: max(1, int(np.argmin(smooth)) - half + 1)]  # centred up to the lowest loss
    steepest = int(np.argmin(slopes))
    return lrs[steepest + half] if slopes[steepest] < 0 else None
