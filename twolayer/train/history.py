"""A run's records: compact columns of floats, samples of the weights kept at bounded cost, past runs kept small."""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from twolayer.train.config import TrainConfig
from twolayer.train.state import RunState


class Table:
    """Rows of named floats stored column by column (8 bytes a value, no per-row objects)."""

    def __init__(self, names: tuple[str, ...] = ()) -> None:
        self.columns: dict[str, array] = {name: array("d") for name in names}
        self._length = 0

    def __len__(self) -> int:
        return self._length

    def append(self, row: dict[str, float]) -> None:
        """Add a row; a column first seen now is NaN-filled for earlier rows."""
        for name in row:
            if name not in self.columns:
                self.columns[name] = array("d", [math.nan]) * self._length
        for name, column in self.columns.items():
            column.append(row.get(name, math.nan))
        self._length += 1

    def add(self, *values: float) -> None:
        """Add a row given in column order: the per-epoch path, with no dict to build."""
        for column, value in zip(self.columns.values(), values, strict=True):
            column.append(value)
        self._length += 1

    def extend(self, *columns: Iterable[float]) -> None:
        """Add rows given column by column, in column order."""
        for column, values in zip(self.columns.values(), columns, strict=True):
            column.extend(values)
        self._length = len(next(iter(self.columns.values())))

    def column(self, name: str) -> list[float]:
        """One column as a list of Python floats."""
        return self.columns[name].tolist()

    def rows(self) -> list[dict[str, float]]:
        """Each row as a dict, leaving out values never measured for that row."""
        names = list(self.columns)
        values = zip(*(self.columns[n] for n in names), strict=True)
        return [{n: v for n, v in zip(names, row, strict=True) if not math.isnan(v)} for row in values]

    def nbytes(self) -> int:
        """Memory held by the stored values."""
        return sum(column.itemsize * len(column) for column in self.columns.values())


MAX_SAMPLE = 2048  # entries kept per array and snapshot: about 50 a bin, enough for the shape, at a bounded cost
WIDE = 20  # a range this many times wider than the middle 99% of the values is mostly empty: clip it


@dataclass(frozen=True)
class Binned:
    """Bin edges, counts per snapshot (or one set), and how many values fell outside the edges."""

    edges: np.ndarray
    counts: list[tuple[int, np.ndarray]]  # (epoch, counts)
    outside: int  # values beyond the edges (counted into the end bins) or not finite


class Histograms:
    """Samples of named arrays at chosen epochs, binned when drawn: bins always follow the values of the run."""

    def __init__(self, bins: int = 40, max_snapshots: int = 64) -> None:
        self.bins = bins
        self.max_snapshots = max_snapshots
        self.snapshots: list[tuple[int, dict[str, np.ndarray]]] = []  # (epoch, name -> float32 sample)

    def record(self, epoch: int, arrays: dict[str, np.ndarray]) -> None:
        """Keep one snapshot; when full, the newest replaces the last (callers space them out)."""
        if len(self.snapshots) >= self.max_snapshots:
            self.snapshots.pop()
        kept = {name: sample(values).astype(np.float32) for name, values in arrays.items()}  # copies
        self.snapshots.append((epoch, kept))

    def first(self, name: str) -> np.ndarray | None:
        """The earliest sample of `name` (the starting weights, for weights)."""
        return next((snap[name] for _, snap in self.snapshots if name in snap), None)

    def over_time(self, name: str, change: bool = False) -> Binned | None:
        """Every snapshot of `name` (or of its change since the first) binned over one range covering the run."""
        start = self.first(name)
        if start is None:
            return None
        kept = [(epoch, snap[name]) for epoch, snap in self.snapshots if name in snap]
        return bin_samples([(epoch, values - start if change else values) for epoch, values in kept], self.bins)

    def nbytes(self) -> int:
        return sum(values.nbytes for _, snap in self.snapshots for values in snap.values())


def bin_samples(samples: list[tuple[int, np.ndarray]], bins: int) -> Binned:
    """Counts of each sample over shared equal-width bins spanning the values (clipped when a few are far out)."""
    values = np.concatenate([np.asarray(v, dtype=np.float64).ravel() for _, v in samples])
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (-1.0, 1.0)
    if finite.size:
        inner_low, inner_high = np.percentile(finite, [0.5, 99.5])
        if high - low > WIDE * (inner_high - inner_low) > 0:
            # A few far-out values (a diverging run) would squeeze the rest into one bar: clip them.
            low, high = float(inner_low), float(inner_high)
    if low == high:
        low, high = low - 0.5, high + 0.5
    edges = np.linspace(low, high, bins + 1)
    counts, outside = [], 0
    for epoch, v in samples:
        v = np.asarray(v, dtype=np.float64).ravel()
        ok = np.isfinite(v)
        outside += int((~ok).sum() + ((v[ok] < low) | (v[ok] > high)).sum())
        counts.append((epoch, np.histogram(np.clip(v[ok], low, high), bins=edges)[0]))
    return Binned(edges, counts, outside)


class Firing:
    """Each hidden unit's firing rate (share of sampled rows with h > 0) at chosen epochs, at most `max_records`."""

    def __init__(self, max_records: int = 64) -> None:
        self.max_records = max_records
        self.epochs: list[int] = []
        self.rates: list[np.ndarray] = []  # one float32 (H,) array per record

    def record(self, epoch: int, rates: np.ndarray) -> None:
        """Keep one record; when full, the newest replaces the last (callers space them out)."""
        if len(self.rates) >= self.max_records:
            self.epochs.pop()
            self.rates.pop()
        self.epochs.append(epoch)
        self.rates.append(np.asarray(rates, dtype=np.float32))

    def nbytes(self) -> int:
        return sum(r.nbytes for r in self.rates)


def sample(values: np.ndarray) -> np.ndarray:
    """At most MAX_SAMPLE entries, evenly spaced (a view, no copy): a 784x1024 weight would cost more than an epoch."""
    flat = values.ravel()
    return flat[:: math.ceil(flat.size / MAX_SAMPLE)] if flat.size > MAX_SAMPLE else flat


@dataclass(frozen=True)
class PastRun:
    """A run finished or put aside part way, kept small for overlaying on later runs."""

    label: str
    config: TrainConfig
    status: RunState  # done or diverged, or stopped or interrupted part way
    epochs: list[int]  # a thinned curve, its last point always kept
    losses: list[float]
    epochs_completed: int
    number: int = 0  # the run's number in its browser's history, shown in its label

    @property
    def stopped_at(self) -> int | None:
        """The epoch a run put aside part way had completed; None for a run that trained to its end."""
        return None if self.status.finished else self.epochs_completed

    @property
    def outcome(self) -> str:
        """The status as the run history shows it, with the epoch of a run put aside part way: "stopped at 12"."""
        return str(self.status) if self.stopped_at is None else f"{self.status} at {self.stopped_at}"
