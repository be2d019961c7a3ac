"""A run's network, data and records, and every read of them: what the page, the CLI and the exports look at."""

from __future__ import annotations

import math

import numpy as np

from twolayer.data.dataset import Dataset
from twolayer.train.config import TrainConfig
from twolayer.train.history import Binned, Firing, Histograms, Table, bin_samples, sample
from twolayer.train.stages.base import Stage
from twolayer.train.state import FINISHED, RunState

PREDICT_CHUNK = 8192  # rows per forward pass when evaluating
EVAL_TRAIN_ROWS = 10_000  # training rows whose accuracy is measured: a fixed sample of bigger sets


class Run:
    """One run as it stands: its state, records and weights. `Trainer` advances it; no read here changes it."""

    def __init__(self, config: TrainConfig, data: Dataset, stage: Stage, device: str) -> None:
        self.config, self.data, self.stage, self.device = config, data, stage, device
        self._x = stage.to_backend(data.x_train)
        self._y = stage.to_backend(data.y_train)
        self._x_test = None
        self.epoch = 0  # epochs completed
        self.status = RunState.READY
        self.diverged_at: tuple[int, float] | None = None  # the epoch whose loss was not finite, and that loss
        self.train_seconds = 0.0
        self.history = Table(("epoch", "loss", "seconds"))  # every epoch
        self.stats = Table()  # every stats_every epochs: norms and update ratios
        self.evals = Table()  # every eval_every epochs, for data with labels or a test split
        self.sharpness = Table(("epoch", "sharpness"))  # when config.sharpness, at the epoch's starting weights
        self.histograms = Histograms()
        self.firing = Firing()

    @property
    def finished(self) -> bool:
        """True once the run is done or diverged: it advances no further."""
        return self.status in FINISHED  # a set, not the enum's property: advance asks at every epoch

    def evaluate(self) -> dict[str, float]:
        """Loss per example and accuracy on the training and test sets with the current weights."""
        out = {}
        data, every = self.data, math.ceil(len(self._x) / EVAL_TRAIN_ROWS)  # evenly spaced rows of big sets
        labels = None if data.labels_train is None else data.labels_train[::every]
        splits = [("train", self._x[::every], data.y_train[::every], labels)]
        if self.data.has_test:
            if self._x_test is None:  # converted once, not at every evaluation
                self._x_test = self.stage.to_backend(self.data.x_test)
            splits.append(("test", self._x_test, self.data.y_test, self.data.labels_test))
        for split, x, y, labels in splits:
            y_pred = self._predict_backend(x)
            out[f"{split}_loss_per_example"] = float(np.square(y_pred - y).sum() / len(y))
            if labels is not None:
                out[f"{split}_accuracy"] = float((y_pred.argmax(axis=1) == labels).mean())
        return out

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The network's outputs for inputs `x`, as float64."""
        self.stage.adopt_thread_count()
        return self._predict_backend(self.stage.to_backend(x))

    def _predict_backend(self, x) -> np.ndarray:
        # In chunks: 60,000 rows x 4,096 hidden units at once would need a gigabyte.
        chunks = [
            self.stage.to_numpy(self.stage.predict(x[i : i + PREDICT_CHUNK])) for i in range(0, len(x), PREDICT_CHUNK)
        ]
        return np.concatenate(chunks)

    def weights(self) -> dict[str, np.ndarray]:
        """Current weights in the lecture's layout, as float64 arrays."""
        return self.stage.weights()

    def histogram_arrays(self) -> dict[str, np.ndarray]:
        """Weights and their latest gradients, as the histograms see them (layout and dtype do not matter)."""
        arrays = {name: self.stage.host(w) for name, w in self.stage.params().items()}
        for name, grad in self.stage.grads().items():
            if grad is not None:
                arrays[f"grad_{name}"] = self.stage.host(grad)
        return arrays

    def loss_curve(self) -> tuple[np.ndarray, np.ndarray]:
        """Epochs and their losses (each summed over the epoch's rows), as copies."""
        return np.array(self.history.columns["epoch"]), np.array(self.history.columns["loss"])

    def last_loss(self) -> float | None:
        """The loss of the last completed epoch, or None before the first."""
        losses = self.history.columns["loss"]
        return losses[-1] if losses else None

    def evaluations(self) -> dict[str, np.ndarray]:
        """Per evaluated epoch: epoch, train/test loss per example and accuracy, as far as the data allows."""
        return {name: np.array(column) for name, column in self.evals.columns.items()}

    def norm_records(self) -> dict[str, np.ndarray]:
        """Per recorded epoch: weight and gradient norms and update ratios by layer."""
        return {name: np.array(column) for name, column in self.stats.columns.items()}

    def layers(self) -> list[str]:
        """The names of the run's weights: w1, w2 and, with biases, b1, b2."""
        return list(self.stage.params())

    def histogram_now(self, name: str, change: bool = False) -> Binned | None:
        """Array `name` (`w1`, `grad_w1`, ...) as it is now, or its change since the start, binned on its own range."""
        array = self.histogram_arrays().get(name)
        if array is None:
            return None
        values = sample(array)
        if change:
            start = self.histograms.first(name)
            if start is None:
                return None
            values = values - start
        return bin_samples([(self.epoch, values)], self.histograms.bins)

    def histogram_history(self, name: str, change: bool = False) -> Binned | None:
        """Every recorded snapshot of `name` (or its change since the start) on one range covering the run."""
        return self.histograms.over_time(name, change)

    def firing_history(self) -> tuple[list[int], np.ndarray]:
        """Recorded epochs and each hidden unit's firing rate at each, as a (hidden units, records) array."""
        return list(self.firing.epochs), np.stack(self.firing.rates, axis=1)

    def dead_units(self) -> int:
        """Hidden units that fire (h > 0) on no training row with the current weights: dead ReLUs."""
        fired = None
        for i in range(0, len(self._x), PREDICT_CHUNK):
            now = self.stage.to_numpy((self.stage.hidden(self._x[i : i + PREDICT_CHUNK]) > 0).any(0))
            fired = now if fired is None else np.logical_or(fired, now)
        return int((~fired.astype(bool)).sum())

    def records(self) -> list[dict[str, float]]:
        """One dict per completed epoch, merging losses, norms, evaluations and sharpness where measured (and the
        sharpness of an epoch that overflowed)."""
        rows = {int(row["epoch"]): row for row in self.history.rows()}
        for table in (self.stats, self.evals, self.sharpness):
            for row in table.rows():
                # The sharpness is measured before its epoch's steps: an epoch that overflowed has it and no loss.
                rows.setdefault(int(row["epoch"]), {}).update(row)
        for row in rows.values():
            row["epoch"] = int(row["epoch"])
        return list(rows.values())

    def summary(self, hint: str | None = None) -> dict[str, object]:
        """The run as plain values: config, status, device, timing, the `hint` that explains it, per-epoch records."""
        return {
            "config": self.config.to_dict(),
            "status": self.status.value,
            "device": self.device,
            "epochs_completed": self.epoch,
            "train_seconds": self.train_seconds,
            "hint": hint,
            "epochs": self.records(),
        }
