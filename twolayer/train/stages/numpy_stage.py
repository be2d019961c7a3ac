"""Stage 1: NumPy arrays, forward and backward pass written by hand."""

from __future__ import annotations

import math

import numpy as np

from twolayer.train.stages.base import HandWritten, NumpyArrays

# Shown under the code: where these lines differ from the lecture's, and why.
LECTURE_DIFFERENCES = (
    "The lecture writes the ReLU's backward pass as `grad_h[h < 0] = 0` on a copy; `grad_h_relu * (h > "
    "0)` is the same gradient in one line. The loss comes back as a Python float, and a non-finite loss "
    "stops the run before an update."
)


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


class Stage(HandWritten, NumpyArrays):
    """Holds the NumPy weights and runs `train_step`."""

    train_step = staticmethod(train_step)
