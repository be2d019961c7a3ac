"""The loss landscape around a run (Li et al. 2018): the loss along the straight line from its start to its end,
over the plane of the two directions its weights moved along most, and the path it took across that plane."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from twolayer.data.dataset import Dataset
from twolayer.train.config import TrainConfig
from twolayer.train.probe import Probe, as_tensors
from twolayer.train.trainer import Trainer
from twolayer.train.weight_path import WeightPath

LINE_T = (np.arange(41) - 10) / 20  # -0.5 to 1.5 in steps of 0.05; 0 (the start) and 1 (the end) exactly
PLANE_STEPS = (np.arange(21) - 10) / 10  # -1 to 1 in steps of 0.1, 0 exactly: times the plane's radius
MARGIN = 1.25  # the plane reaches this far beyond the path's farthest point
CHUNK_VALUES = 2**22  # hidden values (points x rows x units) evaluated at once: 32 MB of float64


@dataclass(frozen=True)
class Landscape:
    """The probe's loss along the line, over the plane (row j at b[j], column i at a[i]) and along the path."""

    line_t: np.ndarray  # weights start + t (end - start)
    line_loss: np.ndarray
    plane_a: np.ndarray  # along the first direction, from the end's weights
    plane_b: np.ndarray  # along the second
    plane_loss: np.ndarray  # (len(plane_b), len(plane_a))
    path_a: np.ndarray  # each snapshot's place on the plane, the last at (0, 0)
    path_b: np.ndarray
    path_epochs: list[int]

    @property
    def start_loss(self) -> float:
        """The probe's loss at the path's first snapshot (t = 0)."""
        return float(self.line_loss[self.line_t == 0][0])

    @property
    def end_loss(self) -> float:
        """The probe's loss at the path's last snapshot (t = 1), the plane's centre."""
        return float(self.line_loss[self.line_t == 1][0])

    def to_dict(self) -> dict[str, dict[str, list]]:
        """As the CLI writes it: plain lists, a loss that is not finite as None."""
        return {
            "line": {"t": self.line_t.tolist(), "loss": _numbers(self.line_loss)},
            "plane": {"a": self.plane_a.tolist(), "b": self.plane_b.tolist(), "loss": _numbers(self.plane_loss)},
            "path": {"a": self.path_a.tolist(), "b": self.path_b.tolist(), "epochs": list(self.path_epochs)},
        }


def _numbers(values: np.ndarray) -> list:
    """Nested lists of floats, None where a value is not finite (JSON has no inf or NaN)."""
    if values.ndim > 1:
        return [_numbers(row) for row in values]
    return [float(v) if math.isfinite(v) else None for v in values]


def record_path(
    config: TrainConfig, data: Dataset | None = None, weights: dict[str, np.ndarray] | None = None
) -> tuple[Trainer, WeightPath]:
    """Train the whole run (from `weights` if given) and its path: the weights the trainer keeps at its record
    epochs, from 0 to the last; the trainer comes back finished (or diverged, its path ending where it stopped)."""
    trainer = Trainer(config, data=data, weights=weights)
    trainer.advance(config.epochs)
    return trainer, trainer.path


def landscape(path: WeightPath, probe: Probe) -> Landscape:
    """The probe's loss on the line from the path's first snapshot to its last, and on the plane through the last
    spanned by the two leading principal directions of the snapshots minus the last (uncentred PCA)."""
    snapshots = path.matrix()
    start, end = snapshots[0], snapshots[-1]
    line = losses_at([path.unflatten(start), path.unflatten(end)], np.stack([1 - LINE_T, LINE_T], axis=1), probe)
    directions = principal_directions(snapshots - end)
    path_a, path_b = directions @ (snapshots - end).T  # the last snapshot is exactly the origin
    farthest = max(np.abs(path_a).max(), np.abs(path_b).max())
    # A path that never moved gets a plane a tenth of the weights' size (or of unit size, for zero weights).
    radius = MARGIN * farthest or 0.1 * float(np.linalg.norm(end)) or 1.0
    steps = radius * PLANE_STEPS
    grid_b, grid_a = np.meshgrid(steps, steps, indexing="ij")
    coefficients = np.stack([np.ones(grid_a.size), grid_a.ravel(), grid_b.ravel()], axis=1)
    vectors = [path.unflatten(end), *map(path.unflatten, directions)]
    plane = losses_at(vectors, coefficients, probe).reshape(grid_a.shape)
    return Landscape(LINE_T.copy(), line, steps, steps.copy(), plane, path_a, path_b, path.epochs)


def principal_directions(displacements: np.ndarray, count: int = 2) -> np.ndarray:
    """`count` orthonormal rows: the leading right singular vectors of `displacements` (snapshots x weights), each
    turned so that the first snapshot lies on its negative side, then fixed random directions where the path spans
    fewer (a path of one snapshot, or one that never moved)."""
    _, singular, rows = np.linalg.svd(displacements, full_matrices=False)
    spanned = rows[:count][singular[:count] > 1e-9 * singular[0]]
    found = [-row if displacements[0] @ row > 0 else row for row in spanned]
    filler = np.random.default_rng(0)  # fixed: the same path always gets the same plane
    while len(found) < count:
        direction = filler.standard_normal(displacements.shape[1])
        for other in found:
            direction -= (direction @ other) * other
        found.append(direction / np.linalg.norm(direction))
    return np.stack(found)


def losses_at(vectors: list[dict[str, np.ndarray]], coefficients: np.ndarray, probe: Probe) -> np.ndarray:
    """The probe's loss (as `probe_loss`) at the weights sum_k coefficients[g, k] * vectors[k], for each row g.

    The input layer is linear in the weights, so x @ w1 is computed once per vector and only combined per point:
    a 21 x 21 plane then costs about as much as a few steps. A coefficient of exactly 1 or 0 reproduces a vector's
    own loss to the last bits of the second layer's sums."""
    tensors = [as_tensors(vector) for vector in vectors]
    hidden_in = torch.stack([probe.x @ t["w1"] for t in tensors])  # (k, N, H)
    stacked = {name: torch.stack([t[name] for t in tensors]) for name in tensors[0] if name != "w1"}  # (k, ...)
    coefficients = torch.as_tensor(coefficients, dtype=torch.float64)
    chunk = max(1, CHUNK_VALUES // hidden_in[0].numel())
    out = []
    for part in coefficients.split(chunk):
        h = torch.einsum("gk,knh->gnh", part, hidden_in)
        if "b1" in stacked:
            h = h + (part @ stacked["b1"])[:, None, :]
        y_pred = h.clamp(min=0).bmm(torch.einsum("gk,kho->gho", part, stacked["w2"]))
        if "b2" in stacked:
            y_pred = y_pred + (part @ stacked["b2"])[:, None, :]
        out.append((y_pred - probe.y).pow(2).sum(dim=(1, 2)))
    return torch.cat(out).numpy()
