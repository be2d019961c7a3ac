"""Several values of one setting side by side: one run per value, from the same seed and data, trained in turns."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass

from twolayer.data.dataset import Dataset
from twolayer.train.config import BY_KEY, BY_NAME, ConfigError, TrainConfig, allowed
from twolayer.train.trainer import Trainer, make_dataset

VARIABLE = ("lr", "hidden", "batch", "epochs", "stage", "optimizer", "init", "dtype")  # keys a sweep may vary
MIN_VALUES, MAX_VALUES = 2, 6


class SweepError(ValueError):
    """A sweep that cannot run; the message names the key or value and what is allowed."""


def parse_vary(text: str) -> tuple[str, list[str]]:
    """'lr=1e-4,1e-3' (the CLI) or 'lr:1e-4,1e-3' (a link) -> ('lr', ['1e-4', '1e-3'])."""
    key, sep, values = text.partition("=") if "=" in text else text.partition(":")
    key = key.strip().replace("-", "_")
    if not sep or not values.strip():
        raise SweepError(f"{text!r}: write the setting and its values as KEY=V1,V2,..., e.g. lr=1e-4,1e-3,1e-2")
    return key, [value.strip() for value in values.split(",")]


def sweep_configs(key: str, texts: list[str], base: Mapping[str, object]) -> list[TrainConfig]:
    """One config per value of setting `key`, the rest from `base` (settings by field name, as the CLI's flags)."""
    if key not in VARIABLE:
        raise SweepError(f"a sweep cannot vary {key!r}: choose one of {', '.join(VARIABLE)}")
    if not MIN_VALUES <= len(texts) <= MAX_VALUES:
        raise SweepError(f"{key}: {len(texts)} values given; a sweep takes {MIN_VALUES} to {MAX_VALUES}")
    spec = BY_KEY[key]
    configs: list[TrainConfig] = []
    seen: dict[object, str] = {}
    for text in texts:
        value = _parse(spec, text)
        if value in seen:
            raise SweepError(f"{key}={text} is the same value as {key}={seen[value]}: give each value once")
        seen[value] = text
        try:
            configs.append(TrainConfig(**{**base, spec.name: value}))
        except ConfigError as error:
            # the varied setting names itself by its key; another setting that the value breaks, by its own
            where = key if error.field == spec.name else BY_NAME[error.field].key
            raise SweepError(f"{key}={text}: {where} {error.value!r} is not allowed: {error.allowed}") from None
    return configs


def _parse(spec, text: str) -> object:
    """A sweep value's text as the setting's type, or SweepError saying what the setting allows."""
    try:
        value = text if spec.choices else spec.kind(text)
    except ValueError:
        raise SweepError(f"{spec.key}={text!r} is not allowed: {allowed(spec)}") from None
    if spec.choices and value not in spec.choices or isinstance(value, float) and not math.isfinite(value):
        raise SweepError(f"{spec.key}={text!r} is not allowed: {allowed(spec)}")
    return value


@dataclass(frozen=True)
class Outcome:
    """One value's run as the sweep's table shows it."""

    value: object
    status: str  # done, diverged or stopped, as the trainer says
    epochs: int
    loss: float | None  # the last epoch's loss (summed over its rows, as recorded)
    test_loss: float | None  # per example, on the test split, where the data has one
    accuracy: float | None  # on the test split, for labelled data
    seconds: float
    note: str  # what went wrong, in words; empty when nothing did


class Sweep:
    """The runs of one sweep, advanced in turns so that every value's curve grows at the same pace."""

    def __init__(self, key: str, configs: list[TrainConfig], data: Dataset | None = None) -> None:
        self.key = key
        self.values = [getattr(config, BY_KEY[key].name) for config in configs]
        # One dataset for every run when the data does not depend on the varied setting: same rows, less memory.
        shared = data if data is not None or key == "batch" else make_dataset(configs[0])
        self.trainers = [Trainer(config, data=shared) for config in configs]

    @property
    def finished(self) -> bool:
        return all(trainer.finished for trainer in self.trainers)

    @property
    def epochs_done(self) -> int:
        return sum(trainer.epoch for trainer in self.trainers)

    @property
    def epochs_total(self) -> int:
        return sum(trainer.config.epochs for trainer in self.trainers)

    def advance(self, seconds: float) -> int:
        """Train the unfinished runs for about `seconds` in all, each its share in turn; returns epochs run."""
        running = [trainer for trainer in self.trainers if not trainer.finished]
        deadline = time.perf_counter() + seconds
        ran = 0
        for i, trainer in enumerate(running):
            share = (deadline - time.perf_counter()) / (len(running) - i)
            ran += trainer.advance(trainer.config.epochs, time_budget=max(share, 0.0))
        return ran

    def run(self) -> None:
        """Train every run to its end."""
        while not self.finished:
            self.advance(1.0)

    def outcomes(self) -> list[Outcome]:
        """Each value's run in the table's terms."""
        return [_outcome(value, trainer) for value, trainer in zip(self.values, self.trainers, strict=True)]

    def best(self) -> str:
        """One sentence naming the best value and by which measure; empty before any run has a result."""
        return best_sentence(self.key, self.outcomes())


def _outcome(value: object, trainer: Trainer) -> Outcome:
    evals = trainer.evaluations()
    last = {name: float(column[-1]) for name, column in evals.items() if len(column)}
    note = ""
    if trainer.diverged_at is not None:
        epoch, loss = trainer.diverged_at
        note = f"diverged at epoch {epoch}: the loss became {loss}"
    return Outcome(
        value,
        str(trainer.status),
        trainer.epoch,
        trainer.last_loss(),
        last.get("test_loss_per_example"),
        last.get("test_accuracy"),
        trainer.train_seconds,
        note,
    )


def best_sentence(key: str, outcomes: list[Outcome]) -> str:
    """The best value by test accuracy (labelled data), else by test loss, else by the final loss."""
    finished = [o for o in outcomes if o.status == "done"]
    for measure, words, better in (
        ("accuracy", "the highest test accuracy", max),
        ("test_loss", "the lowest test loss per example", min),
        ("loss", "the lowest final loss", min),
    ):
        scored = [o for o in finished if getattr(o, measure) is not None]
        if scored:
            best = better(scored, key=lambda o: getattr(o, measure))
            shown = f"{100 * best.accuracy:.1f}%" if measure == "accuracy" else f"{getattr(best, measure):.4g}"
            rest = f" of the {len(scored)} that finished" if len(scored) < len(outcomes) else ""
            return f"{key} = {format_value(best.value)} is best: {words}{rest}, {shown}."
    return ""


def format_value(value: object) -> str:
    """A sweep value as the table and links write it (1e-3, not 0.001)."""
    return f"{value:g}" if isinstance(value, float) else str(value)
