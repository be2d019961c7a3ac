"""A run's weights along its way, at evenly spaced epochs and never more than a fixed number of them: what the loss
landscape and the hidden units over the run are drawn from, for a live, paused or finished run."""

from __future__ import annotations

import numpy as np

MAX_SNAPSHOTS = 40  # a path at hidden 100 then holds 13 MB of float32 weights
# A run's path on a class server, and in each of its checkpoints: 12 float32 snapshots at hidden 100; 2 at least.
PATH_BYTES = 4_000_000


def snapshot_limit(parameters: int, dtype: str = "float32", budget: int = PATH_BYTES) -> int:
    """How many snapshots of `parameters` weights in `dtype` fit `budget` bytes: 2 to MAX_SNAPSHOTS."""
    return max(2, min(MAX_SNAPSHOTS, budget // (np.dtype(dtype).itemsize * parameters)))


class WeightPath:
    """Lecture-layout weights flattened, in the run's precision, one snapshot per record from the first to the
    latest; when full, every other snapshot goes and later records are kept half as often, so records evenly spaced
    in epochs (as the trainer's are) stay evenly spaced."""

    def __init__(self, limit: int = MAX_SNAPSHOTS, dtype: str = "float64") -> None:
        if limit < 2:
            raise ValueError(f"a weight path keeps at least 2 snapshots (the start and the latest), not {limit}")
        self.limit = limit
        self.dtype = dtype  # the run's own: its weights are kept exactly, in half the memory for float32 runs
        self.spacing = 1  # records between two kept snapshots
        self._records = 0  # recorded so far
        self._kept: list[tuple[int, np.ndarray]] = []
        self._latest: tuple[int, np.ndarray] | None = None  # the newest snapshot, while closer than `spacing`
        self._shapes: dict[str, tuple[int, ...]] = {}  # each weight's name and shape, in the flattened order

    def record(self, epoch: int, weights: dict[str, np.ndarray]) -> None:
        """Add the weights after `epoch` epochs; an epoch not after the latest one recorded is ignored."""
        if self._kept and epoch <= self.epochs[-1]:
            return
        if not self._shapes:
            self._shapes = {name: np.shape(array) for name, array in weights.items()}
        flat = np.concatenate([np.asarray(weights[name], dtype=self.dtype).ravel() for name in self._shapes])
        index, self._records = self._records, self._records + 1
        if len(self._kept) == self.limit:  # full, with no room for a latest one: keep every other, then half as often
            self._kept = self._kept[::2]
            self.spacing *= 2
        if index % self.spacing:
            self._latest = (epoch, flat)
        else:
            self._kept.append((epoch, flat))
            self._latest = None

    def _snapshots(self) -> list[tuple[int, np.ndarray]]:
        return self._kept + ([self._latest] if self._latest else [])

    def __len__(self) -> int:
        return len(self._snapshots())

    @property
    def epochs(self) -> list[int]:
        """The epoch of each snapshot, increasing."""
        return [epoch for epoch, _ in self._snapshots()]

    def matrix(self) -> np.ndarray:
        """The snapshots as the rows of one (snapshots, weights) float64 array."""
        if not self._kept:
            raise ValueError("the weight path is empty: record the start's weights first")
        return np.stack([flat for _, flat in self._snapshots()]).astype(np.float64)

    def unflatten(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        """One flattened row (a snapshot, or a direction among them) as lecture-layout weights by name."""
        sizes = [int(np.prod(shape)) for shape in self._shapes.values()]
        parts = np.split(np.asarray(flat), np.cumsum(sizes)[:-1])
        return {name: part.reshape(shape) for (name, shape), part in zip(self._shapes.items(), parts, strict=True)}
