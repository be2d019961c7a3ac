"""Stage 1: NumPy arrays, forward and backward pass written by hand."""

from __future__ import annotations

import math

import numpy as np

from twolayer.stages.base import NumpyStage


def train_step(w1, w2, x, y, learning_rate):
    """One gradient-descent step; returns the loss before the update and the gradients."""
    # Forward pass
    h = x @ w1  # (N, H)
    h_relu = np.maximum(h, 0)  # (N, H)  ReLU
    y_pred = h_relu @ w2  # (N, D_out)
    loss = float(np.square(y_pred - y).sum())  # sum of squared errors
    if not math.isfinite(loss):
        return loss, None  # diverged: keep the last finite weights

    # Backward pass: the forward lines in reverse, each gradient by hand
    grad_y_pred = 2.0 * (y_pred - y)  # (N, D_out)
    grad_w2 = h_relu.T @ grad_y_pred  # (H, D_out)
    grad_h_relu = grad_y_pred @ w2.T  # (N, H)
    grad_h = grad_h_relu * (h > 0)  # (N, H)  ReLU lets gradient through where h > 0
    grad_w1 = x.T @ grad_h  # (D_in, H)

    # Gradient descent, in place
    w1 -= learning_rate * grad_w1
    w2 -= learning_rate * grad_w2
    return loss, (grad_w1, grad_w2)


class Stage(NumpyStage):
    """Holds the NumPy weights and runs `train_step`."""

    def __init__(self, weights, config, device):
        super().__init__(config.dtype)
        self.w1, self.w2 = self.to_backend(weights["w1"]), self.to_backend(weights["w2"])
        self.learning_rate = config.learning_rate
        self._grads = (None, None)

    def step(self, x, y) -> float:
        loss, grads = train_step(self.w1, self.w2, x, y, self.learning_rate)
        if grads is not None:
            self._grads = grads
        return loss

    def params(self):
        return {"w1": self.w1, "w2": self.w2}

    def grads(self):
        return dict(zip(("w1", "w2"), self._grads, strict=True))

    def predict(self, x):
        return np.maximum(x @ self.w1, 0) @ self.w2
