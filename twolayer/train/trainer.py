"""The Trainer: owns one run's weights, optimizer state, generators and history; advances it on request."""

from __future__ import annotations

import copy
import itertools
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from twolayer.data.dataset import Dataset
from twolayer.data.sources import load_data
from twolayer.train import curvature
from twolayer.train.config import SHARPNESS_SHARE, TrainConfig, check_work
from twolayer.train.devices import resolve_device
from twolayer.train.host_memory import keep_step_memory
from twolayer.train.probe import make_probe
from twolayer.train.run import EVAL_TRAIN_ROWS, Run
from twolayer.train.stages import make_stage
from twolayer.train.state import RunState
from twolayer.train.weight_path import WeightPath, snapshot_limit
from twolayer.train.weights import initial_weights

MAX_RECORDS = 50  # histogram snapshots and norm records per run, besides those of the first and last epochs
MIN_RECORDS = 10  # per run by the count, however few the epochs, unless they would cost more than RECORD_SHARE
# A snapshot and a set of norms together cost about as much as a whole epoch of the lecture's
# 64 rows (caches are cold after each step): one per 3,200 rows of training keeps them near 2%.
RECORD_ROWS = 3200
# But a record's cost grows with the weights and an epoch's with the rows as well (at N=H=1024 one per 3,200 rows
# cost 3%): records are also spaced by the trainer's own clock, to stay within this share of the training time.
RECORD_SHARE = 0.02
RECORD_PLAN = 0.75  # the part of RECORD_SHARE the trainer plans its records for: the rest for a dearer one
# Records that cost less than this in all are not thinned by the clock: a short run's views (the landscape's path, the
# histograms over time) need them, and nobody waits for them.
RECORD_FREE_SECONDS = 0.01
EVAL_SHARE = 0.1  # evaluation's share of the training time, by default
FIRING_ROWS = 256  # rows whose hidden units are watched (the lecture batch whole): a record costs ~1/12 epoch at N=1024
PACE_EPOCHS = 50  # the recent epochs whose median time paces the trainer's own spacing of records and sharpness
SHARPNESS_PLAN = 0.75  # the part of SHARPNESS_SHARE the trainer plans its measurements for


def _seed_streams(seed: int) -> list[np.random.SeedSequence]:
    """Independent streams for data, initial weights and shuffling: changing one never shifts another."""
    return np.random.SeedSequence(seed).spawn(3)


def make_dataset(config: TrainConfig) -> Dataset:
    """The data a config names, drawn from its seed's data stream."""
    return load_data(config.data, config.batch_size, np.random.default_rng(_seed_streams(config.seed)[0]))


def record_spacing(epochs: int, rows: int) -> int:
    """Epochs between two records: one per RECORD_ROWS rows, but from MIN_RECORDS to MAX_RECORDS a run."""
    by_rows = max(math.ceil(epochs / MAX_RECORDS), math.ceil(RECORD_ROWS / rows))
    return max(1, min(by_rows, math.ceil(epochs / MIN_RECORDS)))


def evaluation_spacing(train_rows: int, test_rows: int) -> int:
    """Epochs between evaluations that keep them near EVAL_SHARE of training time (an epoch costs ~3 passes)."""
    evaluated = min(train_rows, EVAL_TRAIN_ROWS) + test_rows
    return max(1, math.ceil(evaluated / (EVAL_SHARE * 3 * train_rows)))


@dataclass
class _PartialEpoch:
    """Where a mini-batch epoch cut short stands: its order, the next row, the summed loss so far."""

    order: np.ndarray
    start: int = 0
    loss: float = 0.0
    seconds: float = 0.0
    before: dict | None = None


def _next_multiple(value: int, period: int) -> int:
    """The smallest multiple of `period` at or above `value`."""
    return -(-value // period) * period


class Trainer(Run):
    """One training run that advances epoch by epoch; pausing is simply not calling `advance`."""

    def __init__(self, config: TrainConfig, data: Dataset | None = None, weights: dict[str, np.ndarray] | None = None):
        _, init_seed, shuffle_seed = _seed_streams(config.seed)
        data = data if data is not None else make_dataset(config)
        # The config checked rows = batch size; real data can hold many more rows per epoch.
        check_work(config.hidden_size, max(len(data.x_train), config.batch_size), config.epochs)
        device = resolve_device(config.device, config.stage)
        if device == "cpu":  # the step's (rows, hidden) and (inputs, hidden) arrays, freed and allocated each step
            step_rows = min(len(data.x_train), config.batch_size)
            keep_step_memory(max(step_rows, data.input_size) * config.hidden_size * np.dtype(config.dtype).itemsize)
        if weights is None:
            weights = initial_weights(config, data.input_size, data.output_size, np.random.default_rng(init_seed))
        self.initial_weights = weights
        self._shuffle_rng = np.random.default_rng(shuffle_seed)
        super().__init__(config, data, make_stage(config.stage, weights, config, device), device)
        rows = len(data.x_train)
        self._full_batch = rows <= config.batch_size  # the lecture's case: one step per epoch on every row
        self._record_every = record_spacing(config.epochs, rows)  # the count's spacing: records fall on its multiples
        self.record_seconds = 0.0  # spent on norms and snapshots while training, outside train_seconds
        # When the trainer spaces them: the last record's seconds, and the epoch after whose steps the next comes
        # (None: to be chosen once the last one has been timed).
        self._record_last_seconds = 0.0
        self._record_due: int | None = None
        self._evaluates = data.is_classification or data.has_test
        test_rows = 0 if data.x_test is None else len(data.x_test)
        self._eval_every = config.eval_every or evaluation_spacing(rows, test_rows)
        self._partial: _PartialEpoch | None = None  # a mini-batch epoch cut short by a deadline
        self._probe = make_probe(config, data) if config.sharpness else None  # the rows sharpness is taken on
        # The last measurement's top eigenvector: the next one, at weights a few epochs on, starts from it and
        # converges in a few Hessian-vector products instead of a few dozen.
        self._sharpness_start: np.ndarray | None = None
        self.sharpness_seconds = 0.0  # spent measuring it, outside train_seconds
        # When the trainer spaces the measurements: the last one's seconds, and the epoch of the next (None: to be
        # chosen once an epoch has been timed).
        self._sharpness_last_seconds = 0.0
        self._sharpness_due: int | None = 0
        # Evenly spaced rows, fixed for the run, so that records over time watch the same rows.
        self._firing_x = self._x[:: math.ceil(rows / FIRING_ROWS)][:FIRING_ROWS]
        # The weights at the record epochs too, within a memory budget: the loss landscape draws the path from them.
        parameters = sum(array.size for array in weights.values())
        self.path = WeightPath(snapshot_limit(parameters, config.dtype), config.dtype)
        self._record_snapshot()

    @property
    def eval_every(self) -> int:
        """Epochs between evaluations: the config's, or the spacing chosen for the data when it says 0."""
        return self._eval_every

    @property
    def started(self) -> bool:
        """True once any step ran, even if the first epoch is not complete yet."""
        return self.epoch > 0 or self._partial is not None

    def advance(self, epochs: int = 1, time_budget: float | None = None) -> int:
        """Run up to `epochs` more epochs, or until `time_budget` seconds pass; returns how many ran."""
        deadline = math.inf if time_budget is None else time.perf_counter() + time_budget
        ran = 0
        self.stage.adopt_thread_count()  # each slice may come from another thread: same sums in each
        # Overflow is reported as a diverged run, not as NumPy warnings on stderr.
        with np.errstate(over="ignore", invalid="ignore"):
            while ran < epochs and not self.finished:
                quiet = min(self._next_recording_epoch() - self.epoch, epochs - ran) if self._full_batch else 0
                if quiet:
                    ran += self._run_quiet(quiet, deadline)
                elif self._run_epoch(deadline):
                    ran += 1
                if time.perf_counter() >= deadline:
                    break
        if not self.finished and self.started:
            self.status = RunState.PAUSED  # nothing advances a run between two calls
        return ran

    def _next_recording_epoch(self) -> int:
        """The first epoch from now on after which more than the loss is recorded."""
        if self.epoch == 0:
            return 0
        first = min(self.config.epochs - 1, self._next_record_epoch())  # the last always records
        if self._evaluates:  # epoch e evaluates when e + 1 completed epochs make a multiple of the period
            first = min(first, _next_multiple(self.epoch + 1, self._eval_every) - 1)
        if self.config.sharpness:  # ... and measures the sharpness before the steps of the epoch it is due
            first = min(first, self._next_sharpness_epoch())
        return first

    def _next_record_epoch(self) -> int:
        """The first epoch from now on after whose steps norms and a snapshot are recorded, but for the last."""
        if self.config.stats_every:
            return _next_multiple(self.epoch + 1, self.config.stats_every) - 1
        if self._record_due is None:
            # The first multiple of the count's spacing at which the records so far, this one and the last, if each
            # costs what the last did (after epoch 0, its norms), stay within RECORD_FREE_SECONDS or RECORD_PLAN of the
            # share. The snapshot of the starting weights, taken before any training, is not counted.
            ahead = self.record_seconds + 2 * self._record_last_seconds
            free = ahead <= RECORD_FREE_SECONDS
            wait = 0 if free else self._epochs_to_afford(ahead, RECORD_PLAN * RECORD_SHARE)
            self._record_due = _next_multiple(self.epoch + wait + 1, self._record_every) - 1
        return self._record_due

    def _epochs_to_afford(self, seconds: float, share: float) -> int:
        """Epochs, at the pace of the last ones, until the training time has grown enough that `seconds` are
        within `share` of it."""
        pace = float(np.median(self.history.columns["seconds"][-PACE_EPOCHS:] or [0.0]))
        return math.ceil(max(seconds / share - self.train_seconds, 0.0) / max(pace, 1e-9))

    def _next_sharpness_epoch(self) -> int:
        """The first epoch from now on whose starting weights the sharpness is measured at."""
        if self.config.sharpness_every:
            return _next_multiple(self.epoch, self.config.sharpness_every)
        if self._sharpness_due is None:
            # The next one, if it costs what the last did, once the training time has grown enough that all of them
            # stay within SHARPNESS_PLAN of the share; the epochs that takes, at the pace of the last epochs. The rest
            # of the share is for a measurement dearer than the last (Adam's, as its preconditioner changes), and the
            # share is only over for epoch 0's measurement in a run too short to pay for it.
            ahead = self.sharpness_seconds + self._sharpness_last_seconds
            wait = self._epochs_to_afford(ahead, SHARPNESS_PLAN * SHARPNESS_SHARE)
            self._sharpness_due = max(self.sharpness.column("epoch")[-1] + 1, self.epoch + wait)
        return max(self._sharpness_due, self.epoch)

    def _run_quiet(self, count: int, deadline: float) -> int:
        """Up to `count` full-batch epochs that record only loss and time, looped as tightly as the lecture's."""
        step, x, y, clock = self.stage.step, self._x, self._y, time.perf_counter
        losses, seconds = [], []
        self.status = RunState.RUNNING
        while len(losses) < count:
            tick = clock()
            loss = step(x, y)
            tock = clock()
            if not math.isfinite(loss):
                break
            losses.append(loss)
            seconds.append(tock - tick)
            if tock >= deadline:
                break
        done = len(losses)
        self.history.extend(range(self.epoch, self.epoch + done), losses, seconds)
        self.train_seconds += sum(seconds)
        self.epoch += done
        if done < count and not math.isfinite(loss):
            self.train_seconds += tock - tick
            self._diverge(loss)
            return done + 1
        return done

    def _run_epoch(self, deadline: float = math.inf) -> bool:
        """One epoch with every record that falls on it (norms, evaluation, snapshot); False if the deadline cut it."""
        config, epoch = self.config, self.epoch
        self.status = RunState.RUNNING
        last = epoch == config.epochs - 1
        due = last or epoch == self._next_record_epoch()
        measure = due or epoch == 0  # epoch 0's norms complete the first record, with the starting weights' snapshot
        copy = measure and not self.stage.gradient_descent  # only an optimizer's step needs a copy to be measured
        if config.sharpness and self._partial is None and self._next_sharpness_epoch() == epoch:
            # At the weights the epoch starts from, as its loss is, and outside train_seconds.
            tick = time.perf_counter()
            found = curvature.measure(self, self._probe, self._sharpness_start)
            self._sharpness_last_seconds = time.perf_counter() - tick
            self.sharpness_seconds += self._sharpness_last_seconds
            self._sharpness_start = found.vector
            self._sharpness_due = None
            self.sharpness.add(epoch, found.value)
        tick = time.perf_counter()
        if self._full_batch:
            before = self.stage.copy_params() if copy else None
            loss = self.stage.step(self._x, self._y)
        else:
            loss, before = self._minibatch_steps(copy, deadline)
        seconds = time.perf_counter() - tick
        self.train_seconds += seconds
        if loss is None:  # a mini-batch epoch cut by the deadline: it goes on from there next time
            self._partial.seconds += seconds
            return False
        if self._partial is not None:
            seconds += self._partial.seconds
            self._partial = None
        if not math.isfinite(loss):
            self._diverge(loss)
            return True
        self.history.add(epoch, loss, seconds)
        self.epoch = epoch + 1
        if self._evaluates and (self.epoch % self._eval_every == 0 or last):
            self.evals.append({"epoch": epoch, **self.evaluate()})
        if measure:
            # Norms and snapshot together: the second of the two then finds warm caches.
            tick = time.perf_counter()
            self.stats.append({"epoch": epoch, **self.stage.norms(before)})
            if due:
                self._record_snapshot()
            self._record_last_seconds = time.perf_counter() - tick
            self.record_seconds += self._record_last_seconds
            self._record_due = None
        if last:
            self.status = RunState.DONE
        return True

    def _record_snapshot(self) -> None:
        """Histograms of weights and gradients, the hidden units' firing rates and the weights, after `self.epoch`
        epochs."""
        self.histograms.record(self.epoch, self.histogram_arrays())
        self.path.record(self.epoch, self.weights())
        self.firing.record(self.epoch, self.stage.to_numpy(self.stage.hidden(self._firing_x) > 0).mean(axis=0))

    def _minibatch_steps(self, copy: bool, deadline: float) -> tuple[float | None, dict | None]:
        """The epoch's shuffled mini-batches from where it stands; its summed loss and the weights before its
        last step, or (None, None) when the deadline comes first (the epoch goes on from there next time)."""
        n, size = len(self.data.x_train), self.config.batch_size
        if self._partial is None:
            self._partial = _PartialEpoch(self._shuffle_rng.permutation(n))
        part = self._partial
        while part.start < n:
            index = part.order[part.start : part.start + size]
            if copy and part.start + size >= n:
                part.before = self.stage.copy_params()
            part.loss += self.stage.step(self.stage.take(self._x, index), self.stage.take(self._y, index))
            part.start += size
            if not math.isfinite(part.loss):
                break
            # Checked between two steps: a pause on a 60,000-row epoch lands within a step, not an epoch.
            if part.start < n and time.perf_counter() >= deadline:
                return None, None
        return part.loss, part.before

    def _diverge(self, loss: float) -> None:
        """End the run at this epoch, whose loss was not finite (twolayer.teach.advice explains why)."""
        self.status = RunState.DIVERGED
        self.diverged_at = (self.epoch, loss)

    def next_batch(self):
        """The inputs and targets of the step the run takes next, as backend arrays; draws nothing from the run."""
        if self._full_batch:
            return self._x, self._y
        if self._partial is not None:  # paused inside an epoch: its next batch
            index = self._partial.order[self._partial.start : self._partial.start + self.config.batch_size]
        else:  # a copy of the shuffling generator: the run's own still draws this order when it gets there
            index = copy.deepcopy(self._shuffle_rng).permutation(len(self.data.x_train))[: self.config.batch_size]
        return self.stage.take(self._x, index), self.stage.take(self._y, index)

    def batches(self) -> Iterator[tuple]:
        """Endless inputs and targets, as backend arrays, in the order the run's epochs take them from its start;
        draws nothing from the run."""
        if self._full_batch:
            yield from itertools.repeat((self._x, self._y))
        rows, size = len(self.data.x_train), self.config.batch_size
        shuffle = np.random.default_rng(_seed_streams(self.config.seed)[2])  # the run's shuffling, drawn afresh
        while True:
            order = shuffle.permutation(rows)
            for start in range(0, rows, size):
                index = order[start : start + size]
                yield self.stage.take(self._x, index), self.stage.take(self._y, index)


def warm_up(threads: int) -> None:
    """Run two tiny epochs of every stage (the first measuring its sharpness) and load the bundled digits, so later
    first runs start at once and their first sharpness costs what later ones do."""
    import torch

    from twolayer.train.config import STAGES

    torch.set_num_threads(threads)  # this thread's own count (OpenMP keeps one per thread)
    for stage in STAGES:
        Trainer(TrainConfig(stage=stage, hidden_size=4, batch_size=4, epochs=2, sharpness=stage == STAGES[0])).advance(
            2
        )
    make_dataset(TrainConfig(data="digits"))
