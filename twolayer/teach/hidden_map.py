"""The hidden units over a run: where each probe image's hidden activations lie, snapshot by snapshot, on the two
principal components of the final activations, with the images' labels to colour them by digit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from twolayer.data.dataset import Dataset
from twolayer.train.probe import Probe, as_tensors, probe_hidden
from twolayer.train.weight_path import WeightPath


@dataclass(frozen=True)
class HiddenMap:
    """Each snapshot's probe activations projected on the same two axes, and the probe images' labels."""

    epochs: list[int]
    points: np.ndarray  # (snapshots, probe rows, 2)
    labels: np.ndarray  # (probe rows,)


def hidden_map(path: WeightPath, probe: Probe, data: Dataset) -> HiddenMap:
    """ReLU(x w1 + b1) of the probe rows at each snapshot, on the two principal components fitted once, to the last
    snapshot's activations (centred on their mean): the axes stay put while a slider walks the epochs."""
    if not data.is_classification:
        raise ValueError(f"the hidden units by digit need labelled data: {data.name} has no labels")
    snapshots = [as_tensors(path.unflatten(row)) for row in path.matrix()]
    activations = torch.stack([probe_hidden(weights, probe) for weights in snapshots])  # (snapshots, N, H)
    final = activations[-1]
    mean = final.mean(dim=0)
    _, _, rows = torch.linalg.svd(final - mean, full_matrices=False)
    axes = torch.zeros(2, final.shape[1], dtype=torch.float64)  # a single hidden unit has only one axis
    leading = rows[:2]
    axes[: len(leading)] = leading
    points = (activations - mean) @ axes.T
    # The probe's targets are one-hot rows for labelled data: their largest entry is the label.
    return HiddenMap(path.epochs, points.numpy(), probe.y.argmax(dim=1).numpy())
