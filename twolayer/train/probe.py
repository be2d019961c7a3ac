"""The loss one training step of a run takes, on fixed rows, as a function of the weights: what curvature and
landscape views measure.

Every stage computes the same sum of squares, so the probe evaluates the lecture-layout weights (w1, w2 and any
biases) in torch float64, whatever stage, precision or device trained them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

from twolayer.data.dataset import Dataset
from twolayer.train.config import TrainConfig

PROBE_STREAM = 3  # the seed's fourth stream: the data, the start and the shuffling keep the first three


@dataclass(frozen=True)
class Probe:
    """The rows one step of the run sees: every training row when they fit one batch, else a fixed batch."""

    x: torch.Tensor  # (N, D_in), float64
    y: torch.Tensor  # (N, D_out), float64

    @property
    def rows(self) -> int:
        return len(self.x)

    @cached_property
    def row_basis(self) -> torch.Tensor | None:
        """Orthonormal columns (D_in x k) spanning the rows of x; None when there are as many rows as inputs or more."""
        rows, inputs = self.x.shape
        if rows >= inputs:
            return None  # nothing smaller to gain
        # Q of x^T = QR spans x^T's columns, the rows of x, whether or not x has full rank.
        return torch.linalg.qr(self.x.T, mode="reduced").Q

    @cached_property
    def x_in_row_basis(self) -> torch.Tensor | None:
        """x's rows in the coordinates of `row_basis` (N x k); None where that basis is."""
        return None if self.row_basis is None else self.x @ self.row_basis


def make_probe(config: TrainConfig, data: Dataset) -> Probe:
    """The run's probe: all rows if the data fits one batch, else `batch_size` rows drawn with the run's seed."""
    rows = len(data.x_train)
    if rows <= config.batch_size:
        index = np.arange(rows)
    else:
        # A stream of its own: drawing the probe never shifts the data, the start or the order of mini-batches.
        stream = np.random.SeedSequence(config.seed).spawn(PROBE_STREAM + 1)[PROBE_STREAM]
        index = np.sort(np.random.default_rng(stream).choice(rows, config.batch_size, replace=False))
    x = torch.as_tensor(np.asarray(data.x_train)[index], dtype=torch.float64)
    y = torch.as_tensor(np.asarray(data.y_train)[index], dtype=torch.float64)
    return Probe(x, y)


def as_tensors(weights: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """Lecture-layout weights as float64 tensors (copies: the caller's arrays are never touched)."""
    # Row-major whatever the stage's layout (nn's come back transposed): the same sums, to the last bit, for all.
    return {name: torch.tensor(np.ascontiguousarray(array), dtype=torch.float64) for name, array in weights.items()}


def probe_hidden(weights: dict[str, torch.Tensor], probe: Probe) -> torch.Tensor:
    """The hidden layer's output on the probe rows: ReLU(x w1 + b1), (N, H)."""
    h = probe.x @ weights["w1"]
    if "b1" in weights:
        h = h + weights["b1"]
    return h.clamp(min=0)


def probe_loss(weights: dict[str, torch.Tensor], probe: Probe) -> torch.Tensor:
    """The lecture's loss on the probe rows: the sum of squared errors of ReLU(x w1 + b1) w2 + b2."""
    y_pred = probe_hidden(weights, probe) @ weights["w2"]  # (N, D_out)
    if "b2" in weights:
        y_pred = y_pred + weights["b2"]
    return (y_pred - probe.y).pow(2).sum()
