"""Stage 1: NumPy arrays, forward and backward pass written by hand."""

from __future__ import annotations

import math

import numpy as np

from twolayer.train.stages.base import HandWritten, NumpyArrays
from twolayer.train.stages.phases import Phase, StepLine
from twolayer.train.stages.spec import StageSpec


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


# What each line of train_step is for, named by its code (comment left out): the Inside a step tab reads this, and
# tests/test_step_lines.py checks it against the function above.
STEP_LINES = (
    StepLine("h = x @ w1", Phase.FORWARD),
    StepLine("h_relu = np.maximum(h, 0)", Phase.FORWARD, relu=True),
    StepLine("y_pred = h_relu @ w2", Phase.FORWARD),
    StepLine("loss = float(np.square(y_pred - y).sum())", Phase.LOSS),
    StepLine("grad_y_pred = 2.0 * (y_pred - y)", Phase.BACKWARD),
    StepLine("grad_w2 = h_relu.T @ grad_y_pred", Phase.BACKWARD),
    StepLine("grad_h_relu = grad_y_pred @ w2.T", Phase.BACKWARD),
    StepLine("grad_h = grad_h_relu * (h > 0)", Phase.BACKWARD, relu=True),
    StepLine("grad_w1 = x.T @ grad_h", Phase.BACKWARD),
    StepLine("w1 -= learning_rate * grad_w1", Phase.UPDATE),
    StepLine("w2 -= learning_rate * grad_w2", Phase.UPDATE),
)


class Stage(HandWritten, NumpyArrays):
    """Holds the NumPy weights and runs `train_step`."""

    train_step = staticmethod(train_step)
    step_lines = STEP_LINES


SPEC = StageSpec(
    name="numpy",
    title="NumPy, hand-written backprop",
    short="NumPy by hand",
    stage=Stage,
    uses_torch=False,
    lecture_learning_rate=1e-6,
    differences=(
        "The lecture writes the ReLU's backward pass as `grad_h[h < 0] = 0` on a copy; `grad_h_relu * (h > "
        "0)` is the same gradient in one line. The loss comes back as a Python float, and a non-finite loss "
        "stops the run before an update."
    ),
    program_weights=("w1, w2 = w1.astype(dtype), w2.astype(dtype)",),
)
