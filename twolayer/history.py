"""A run's records: compact columns of floats, and weight histograms kept at bounded cost."""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable

import numpy as np


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


MAX_SAMPLE = 2048  # entries counted per array: about 50 a bin, enough for the shape, at a bounded cost


class Histograms:
    """Bin counts of named arrays (a sample of big ones) over edges fixed at each array's first record."""

    def __init__(self, bins: int = 40, max_snapshots: int = 64) -> None:
        self.bins = bins
        self.max_snapshots = max_snapshots
        self.edges: dict[str, np.ndarray] = {}
        self.snapshots: list[tuple[int, dict[str, np.ndarray]]] = []  # (epoch, name -> counts)
        self._layouts: dict[tuple[tuple[str, int], ...], tuple[np.ndarray, ...]] = {}  # see _layout

    def _counts(self, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Counts per array, fixing its edges when first recorded; values beyond them (and NaN) go to the end bins."""
        samples = {name: sample(values) for name, values in arrays.items()}
        for name, values in samples.items():
            if name not in self.edges:
                # Edges wide enough for the weights to spread out, fixed for the
                # whole run so that snapshots over time are comparable.
                span = 1.5 * float(np.abs(values).max()) or 1.0
                self.edges[name] = np.linspace(-span, span, self.bins + 1)
        # All arrays in one buffer, binned by arithmetic (equal-width bins) with per-entry
        # constants: seven NumPy calls per snapshot whatever the number of arrays.
        scale, shift, first, last = self._layout(tuple((name, s.size) for name, s in samples.items()))
        position = np.concatenate(list(samples.values()), dtype=np.float32, casting="same_kind")
        position *= scale
        position += shift
        np.fmax(position, first, out=position)  # fmax, unlike clip, also sends NaN to the first bin
        np.fmin(position, last, out=position)
        flat = np.bincount(position.astype(np.intp), minlength=len(samples) * self.bins)
        return {name: flat[k * self.bins : (k + 1) * self.bins] for k, name in enumerate(samples)}

    def _layout(self, layout: tuple[tuple[str, int], ...]) -> tuple[np.ndarray, ...]:
        """Per-entry scale and shift to array k's bin positions (k x bins onwards), and each entry's end bins."""
        if layout not in self._layouts:
            sizes = [size for _, size in layout]
            low = np.array([self.edges[name][0] for name, _ in layout])
            scale = self.bins / (np.array([self.edges[name][-1] for name, _ in layout]) - low)
            offset = self.bins * np.arange(len(layout))
            per_entry = [scale, offset - low * scale, offset, offset + self.bins - 1]
            self._layouts[layout] = tuple(np.repeat(values, sizes).astype(np.float32) for values in per_entry)
        return self._layouts[layout]

    def record(self, epoch: int, arrays: dict[str, np.ndarray]) -> None:
        """Keep one snapshot; when full, the newest replaces the last (callers space them out)."""
        if len(self.snapshots) >= self.max_snapshots:
            self.snapshots.pop()
        self.snapshots.append((epoch, self._counts(arrays)))

    def nbytes(self) -> int:
        return sum(c.nbytes for _, snap in self.snapshots for c in snap.values())


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


def current_histogram(values: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Edges and counts of a sample of `values` on the sample's own finite range (touches no recorded state)."""
    picked = np.asarray(sample(values), dtype=np.float64)
    finite = picked[np.isfinite(picked)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (-1.0, 1.0)
    if low == high:
        low, high = low - 0.5, high + 0.5
    counts, edges = np.histogram(finite, bins=bins, range=(low, high))
    return edges, counts


def sample(values: np.ndarray) -> np.ndarray:
    """At most MAX_SAMPLE entries, evenly spaced (a view, no copy): a 784x1024 weight would cost more than an epoch."""
    flat = values.ravel()
    return flat[:: math.ceil(flat.size / MAX_SAMPLE)] if flat.size > MAX_SAMPLE else flat
