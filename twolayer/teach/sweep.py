"""Several values of one setting side by side: one run per value, from the same seed and data, trained in turns."""

from __future__ import annotations

from dataclasses import dataclass

from twolayer.data.dataset import Dataset
from twolayer.teach.sweep_spec import format_value
from twolayer.teach.verdict import verdict
from twolayer.train.config import BY_KEY, TrainConfig
from twolayer.train.state import RunState
from twolayer.train.trainer import Trainer, make_dataset


@dataclass(frozen=True)
class Outcome:
    """One value's run as the sweep's table shows it."""

    value: object
    status: RunState  # as the trainer says
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
        self._turn = 0  # the run the next turn trains

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
        """Train the next unfinished run, in turn, for about `seconds`; returns the epochs it ran."""
        # One run a turn, not a share of each: a run picks up where it stopped once per turn, so switching costs
        # the same whether the sweep has two values or six.
        for _ in range(len(self.trainers)):
            trainer = self.trainers[self._turn]
            self._turn = (self._turn + 1) % len(self.trainers)
            if not trainer.finished:
                return trainer.advance(trainer.config.epochs, time_budget=seconds)
        return 0

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
    elif (found := verdict(trainer)) is not None:
        note = found.summary  # the words the page and `train` use for a run that went wrong without overflowing
    return Outcome(
        value,
        trainer.status,
        trainer.epoch,
        trainer.last_loss(),
        last.get("test_loss_per_example"),
        last.get("test_accuracy"),
        trainer.train_seconds,
        note,
    )


def best_sentence(key: str, outcomes: list[Outcome]) -> str:
    """The best value by test accuracy (labelled data), else by test loss, else by the final loss."""
    finished = [o for o in outcomes if o.status is RunState.DONE]
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
