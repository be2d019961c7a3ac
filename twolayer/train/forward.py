"""The network's forward pass in NumPy, for saved or live weights: its scores and the hidden units behind them."""

from __future__ import annotations

import numpy as np

from twolayer.data.drawing import ImageError
from twolayer.train.weights import WeightsError


def scores(weights: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """The network's outputs, relu(x @ w1 + b1) @ w2 + b2, in float64: (D_out,) for one input, (N, D_out) for rows."""
    w1, b1, w2, b2 = layers(weights)
    return _hidden(w1, b1, x) @ w2 + b2


def top_units(weights: dict[str, np.ndarray], x: np.ndarray, k: int = 8) -> list[tuple[int, float]]:
    """The `k` hidden units adding most to the top score for one input, as (unit, activation x w2[unit, top])."""
    w1, b1, w2, b2 = layers(weights)
    hidden = _hidden(w1, b1, x)
    if hidden.ndim != 1:
        raise ImageError(f"top_units explains one input at a time, got {len(hidden)}")
    top = int(np.argmax(hidden @ w2 + b2))
    contributions = hidden * w2[:, top]  # (H,)
    order = np.argsort(-contributions, kind="stable")[:k]
    return [(int(unit), float(contributions[unit])) for unit in order]


def layers(weights: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """w1, b1, w2, b2 as float64, zero biases where there are none, checked against each other."""
    for name in ("w1", "w2"):
        if name not in weights:
            raise WeightsError(f"missing array {name!r} (found: {', '.join(weights) or 'none'})")
    w1, w2 = (np.asarray(weights[name], dtype=np.float64) for name in ("w1", "w2"))
    if w1.ndim != 2 or w2.ndim != 2 or w1.shape[1] != w2.shape[0]:
        raise WeightsError(f"w1 {w1.shape} and w2 {w2.shape} must be (D_in, H) and (H, D_out)")
    b1 = np.asarray(weights.get("b1", np.zeros(w1.shape[1])), dtype=np.float64)
    b2 = np.asarray(weights.get("b2", np.zeros(w2.shape[1])), dtype=np.float64)
    if b1.shape != (w1.shape[1],) or b2.shape != (w2.shape[1],):
        raise WeightsError(f"b1 {b1.shape} and b2 {b2.shape} must be ({w1.shape[1]},) and ({w2.shape[1]},)")
    return w1, b1, w2, b2


def _hidden(w1: np.ndarray, b1: np.ndarray, x: np.ndarray) -> np.ndarray:
    """relu(x @ w1 + b1) for one input holding D_in values (any shape), or for rows (N, ...) of them."""
    x = np.asarray(x, dtype=np.float64)
    inputs = w1.shape[0]
    if x.size == inputs:
        rows = x.reshape(inputs)
    elif x.ndim >= 2 and x[0].size == inputs:
        rows = x.reshape(len(x), inputs)
    else:
        size = f"{x.shape[1]}x{x.shape[0]} = {x.size}" if x.ndim == 2 else str(x.size)
        raise ImageError(f"the weights take {inputs} inputs (w1 is {w1.shape}), but the image has {size} pixels")
    return np.maximum(rows @ w1 + b1, 0.0)
