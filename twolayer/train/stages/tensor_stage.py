"""Stage 2: PyTorch tensors (CPU or GPU), forward and backward pass still written by hand."""

from __future__ import annotations

import math

from twolayer.train.stages.base import HandWritten, TorchArrays
from twolayer.train.stages.phases import Phase, StepLine
from twolayer.train.stages.spec import StageSpec


def train_step(w1, w2, x, y, learning_rate):
    """One gradient-descent step; returns the loss before the update and the gradients."""
    # Forward pass
    h = x.mm(w1)  # (N, H)
    h_relu = h.clamp(min=0)  # (N, H)  ReLU
    y_pred = h_relu.mm(w2)  # (N, D_out)
    loss = (y_pred - y).pow(2).sum().item()  # .item(): a Python float, not a tensor
    if not math.isfinite(loss):
        return loss, None  # diverged: keep the last finite weights

    # Backward pass: the same equations as NumPy, in torch's API
    grad_y_pred = 2.0 * (y_pred - y)  # (N, D_out)
    grad_w2 = h_relu.t().mm(grad_y_pred)  # (H, D_out)
    grad_h_relu = grad_y_pred.mm(w2.t())  # (N, H)
    grad_h = grad_h_relu * (h > 0)  # (N, H)  ReLU lets gradient through where h > 0
    grad_w1 = x.t().mm(grad_h)  # (D_in, H)

    # Gradient descent, in place
    w1 -= learning_rate * grad_w1
    w2 -= learning_rate * grad_w2
    return loss, (grad_w1, grad_w2)


# What each line of train_step is for, named by its code (comment left out): the Inside a step tab reads this, and
# tests/test_step_lines.py checks it against the function above.
STEP_LINES = (
    StepLine("h = x.mm(w1)", Phase.FORWARD),
    StepLine("h_relu = h.clamp(min=0)", Phase.FORWARD, relu=True),
    StepLine("y_pred = h_relu.mm(w2)", Phase.FORWARD),
    StepLine("loss = (y_pred - y).pow(2).sum().item()", Phase.LOSS),
    StepLine("grad_y_pred = 2.0 * (y_pred - y)", Phase.BACKWARD),
    StepLine("grad_w2 = h_relu.t().mm(grad_y_pred)", Phase.BACKWARD),
    StepLine("grad_h_relu = grad_y_pred.mm(w2.t())", Phase.BACKWARD),
    StepLine("grad_h = grad_h_relu * (h > 0)", Phase.BACKWARD, relu=True),
    StepLine("grad_w1 = x.t().mm(grad_h)", Phase.BACKWARD),
    StepLine("w1 -= learning_rate * grad_w1", Phase.UPDATE),
    StepLine("w2 -= learning_rate * grad_w2", Phase.UPDATE),
)


class Stage(HandWritten, TorchArrays):
    """Holds the weight tensors and runs `train_step`."""

    train_step = staticmethod(train_step)
    step_lines = STEP_LINES


SPEC = StageSpec(
    name="tensor",
    title="PyTorch tensors, hand-written backprop",
    short="Tensors by hand",
    stage=Stage,
    uses_torch=True,
    lecture_learning_rate=1e-6,
    differences=(
        "As the NumPy stage, in torch's API: `grad_h_relu * (h > 0)` stands for the lecture's `grad_h[h < 0] "
        "= 0`, and `.item()` turns the loss into a float (appending the tensor, as the lecture does, would "
        "keep it on the device)."
    ),
    program_weights=(
        "w1 = torch.as_tensor(w1, dtype=dtype, device=device)",
        "w2 = torch.as_tensor(w2, dtype=dtype, device=device)",
    ),
    notes={
        "imports": "torch comes in: tensors are arrays that can also live on a GPU.",
        "settings": "A device and a torch precision: where the tensors live and how many bits they hold.",
        "random streams": "The same seeded streams: only the comment names the other library.",
        "arrays": "The data and weights become tensors of that precision on that device.",
        "step": "The same equations in torch's API: mm for @, clamp(min=0) for maximum, t() for .T.",
    },
)
