"""The Trainer: owns one run's weights, optimizer state, generators and history; advances it on request."""

from __future__ import annotations

import math
import time

import numpy as np

from twolayer.config import TrainConfig, check_work, default_learning_rate
from twolayer.data import Dataset, load_data
from twolayer.devices import resolve_device
from twolayer.history import Histograms, Table
from twolayer.stages import make_stage
from twolayer.weights import initial_weights

READY, RUNNING, DONE, DIVERGED = "ready", "running", "done", "diverged"
MAX_SNAPSHOTS = 64  # histogram snapshots kept per run, whatever its length
MAX_STATS = 50  # norm records per run, unless the config sets stats_every
MIN_RECORDS = 10  # of each kind per run, however small the epochs
# A record (a histogram snapshot or a set of norms) costs about as much as training on a
# few dozen rows; spacing records by at least this many rows keeps each kind near 1% of the time.
RECORD_ROWS = 1280
PREDICT_CHUNK = 8192  # rows per forward pass when evaluating


def _seed_streams(seed: int) -> list[np.random.SeedSequence]:
    """Independent streams for data, initial weights and shuffling: changing one never shifts another."""
    return np.random.SeedSequence(seed).spawn(3)


def make_dataset(config: TrainConfig) -> Dataset:
    """The data a config names, drawn from its seed's data stream."""
    return load_data(config.data, config.batch_size, np.random.default_rng(_seed_streams(config.seed)[0]))


def record_spacing(epochs: int, rows: int, most: int) -> int:
    """Epochs between two records: at most `most` and at least MIN_RECORDS a run, else one per RECORD_ROWS rows."""
    return max(1, min(max(math.ceil(epochs / most), math.ceil(RECORD_ROWS / rows)), math.ceil(epochs / MIN_RECORDS)))


class Trainer:
    """One training run that advances epoch by epoch; pausing is simply not calling `advance`."""

    def __init__(self, config: TrainConfig, data: Dataset | None = None, weights: dict[str, np.ndarray] | None = None):
        self.config = config
        _, init_seed, shuffle_seed = _seed_streams(config.seed)
        self.data = data if data is not None else make_dataset(config)
        # The config checked rows = batch size; real data can hold many more rows per epoch.
        check_work(config.hidden_size, max(len(self.data.x_train), config.batch_size), config.epochs)
        self.device = resolve_device(config.device, config.stage)
        if weights is None:
            weights = initial_weights(
                config, self.data.input_size, self.data.output_size, np.random.default_rng(init_seed)
            )
        self.initial_weights = weights
        self._shuffle_rng = np.random.default_rng(shuffle_seed)
        self.stage = make_stage(config.stage, weights, config, self.device)
        self._x = self.stage.to_backend(self.data.x_train)
        self._y = self.stage.to_backend(self.data.y_train)
        self._x_test = None
        self.epoch = 0  # epochs completed
        self.status = READY
        self.hint: str | None = None  # plain-language explanation when the run diverged
        self.train_seconds = 0.0
        self.history = Table(("epoch", "loss", "seconds"))  # every epoch
        self.stats = Table()  # every stats_every epochs: norms and update ratios
        self.evals = Table()  # every eval_every epochs, for data with labels or a test split
        self.histograms = Histograms()
        rows = len(self.data.x_train)
        self._full_batch = rows <= config.batch_size  # the lecture's case: one step per epoch on every row
        self._snapshot_every = record_spacing(config.epochs, rows, MAX_SNAPSHOTS - 1)  # epoch 0 is the other one
        self._stats_every = config.stats_every or record_spacing(config.epochs, rows, MAX_STATS)
        self._evaluates = self.data.is_classification or self.data.has_test
        self.histograms.record(0, self.histogram_arrays())

    @property
    def finished(self) -> bool:
        return self.status in (DONE, DIVERGED)

    def advance(self, epochs: int = 1, time_budget: float | None = None) -> int:
        """Run up to `epochs` more epochs, or until `time_budget` seconds pass; returns how many ran."""
        start = time.perf_counter()
        ran = 0
        # Overflow is reported as a diverged run, not as NumPy warnings on stderr.
        with np.errstate(over="ignore", invalid="ignore"):
            while ran < epochs and not self.finished:
                self._run_epoch()
                ran += 1
                if time_budget is not None and time.perf_counter() - start >= time_budget:
                    break
        return ran

    def _run_epoch(self) -> None:
        config, epoch = self.config, self.epoch
        self.status = RUNNING
        measure = epoch % self._stats_every == 0 or epoch == config.epochs - 1
        copy = measure and not self.stage.gradient_descent  # only an optimizer's step needs a copy to be measured
        tick = time.perf_counter()
        if self._full_batch:
            before = self.stage.copy_params() if copy else None
            loss = self.stage.step(self._x, self._y)
        else:
            loss, before = self._minibatch_epoch(copy)
        seconds = time.perf_counter() - tick
        self.train_seconds += seconds
        if not math.isfinite(loss):
            self._diverge(loss)
            return
        self.history.add(epoch, loss, seconds)
        if measure:
            self.stats.append({"epoch": epoch, **self.stage.norms(before)})
        self.epoch = epoch + 1
        if self._evaluates and (self.epoch % config.eval_every == 0 or self.epoch == config.epochs):
            self.evals.append({"epoch": epoch, **self.evaluate()})
        if self.epoch % self._snapshot_every == 0 or self.epoch == config.epochs:
            self.histograms.record(self.epoch, self.histogram_arrays())
        if self.epoch == config.epochs:
            self.status = DONE

    def _minibatch_epoch(self, copy: bool) -> tuple[float, dict | None]:
        """One pass over the rows in shuffled mini-batches; the summed loss, and the weights before the last step."""
        n, size = len(self.data.x_train), self.config.batch_size
        order = self._shuffle_rng.permutation(n)
        loss, before = 0.0, None
        for start in range(0, n, size):
            index = order[start : start + size]
            if copy and start + size >= n:
                before = self.stage.copy_params()
            loss += self.stage.step(self.stage.take(self._x, index), self.stage.take(self._y, index))
            if not math.isfinite(loss):
                break
        return loss, before

    def _diverge(self, loss: float) -> None:
        self.status = DIVERGED
        config = self.config
        lecture_lr = default_learning_rate(config.stage, config.init)
        suggestion = min(config.learning_rate / 10, lecture_lr)
        self.hint = (
            f"The loss became {loss} at epoch {self.epoch}, so training stopped there. "
            f"A learning rate of {config.learning_rate:g} is too high for this initialisation and data scale: "
            "each step overshot the minimum, the errors grew instead of shrinking, and the numbers "
            f"overflowed. Try a learning rate of {suggestion:g} or lower (the lecture uses {lecture_lr:g} "
            "for this stage and initialisation). Everything up to the last finite epoch is kept."
        )

    def evaluate(self) -> dict[str, float]:
        """Loss per example and accuracy on the training and test sets with the current weights."""
        out = {}
        splits = [("train", self._x, self.data.y_train, self.data.labels_train)]
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

    def records(self) -> list[dict[str, float]]:
        """One dict per completed epoch, merging losses, norms and evaluations where measured."""
        rows = {int(row["epoch"]): row for row in self.history.rows()}
        for table in (self.stats, self.evals):
            for row in table.rows():
                rows[int(row["epoch"])].update(row)
        for row in rows.values():
            row["epoch"] = int(row["epoch"])
        return list(rows.values())

    def summary(self) -> dict[str, object]:
        """The run as plain values: config, status, device, timing and per-epoch records."""
        return {
            "config": self.config.to_dict(),
            "status": self.status if self.finished else "incomplete",
            "device": self.device,
            "epochs_completed": self.epoch,
            "train_seconds": self.train_seconds,
            "hint": self.hint,
            "epochs": self.records(),
        }
