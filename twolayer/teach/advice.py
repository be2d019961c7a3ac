"""Settings known to train some data badly, the settings to use instead, and what those reach in a short trial."""

from __future__ import annotations

from dataclasses import dataclass

from twolayer.data.dataset import Dataset
from twolayer.train.config import MANUAL_STAGES, TrainConfig
from twolayer.train.trainer import Trainer

TRIAL_EPOCHS = 20
TRIAL_ROWS = 2000  # rows a trial trains on; it measures on the test split (or on these rows without one)
BETTER_RATE = 1e-3  # with the shared start, for labelled data: 97.5% on digits in 100 epochs of the NumPy stage


@dataclass(frozen=True)
class Advice:
    """Better settings for a run, why the current ones train poorly, and what the better ones reached."""

    changes: dict[str, object]  # by public key, as the page's controls hold them
    reason: str
    accuracy: float  # reached in a trial of TRIAL_EPOCHS epochs


def advise(config: TrainConfig, data: Dataset) -> Advice | None:
    """Better settings when the lecture's start is a poor choice for this data, measured in a short trial."""
    if not data.is_classification or config.stage not in MANUAL_STAGES or config.init != "lecture":
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
    """Accuracy after TRIAL_EPOCHS epochs on at most TRIAL_ROWS training rows (test split if there is one)."""
    rows = min(len(data.x_train), TRIAL_ROWS)
    subset = Dataset(
        data.name,
        data.x_train[:rows],
        data.y_train[:rows],
        data.x_test,
        data.y_test,
        data.labels_train[:rows],
        data.labels_test,
        data.image_shape,
    )
    trainer = Trainer(config.replace(epochs=TRIAL_EPOCHS, eval_every=TRIAL_EPOCHS), subset)
    trainer.advance(TRIAL_EPOCHS)
    evals = trainer.evaluations()
    split = "test" if "test_accuracy" in evals else "train"
    return float(evals[f"{split}_accuracy"][-1]) if trainer.status == "done" else 0.0
