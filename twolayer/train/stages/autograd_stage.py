"""Stage 3: autograd computes the gradients; the update is still written by hand."""

from __future__ import annotations

import math

import torch

from twolayer.train.stages.base import Records, TorchArrays
from twolayer.train.stages.phases import Phase, StepLine
from twolayer.train.stages.spec import StageSpec


def train_step(w1, w2, x, y, learning_rate):
    """One gradient-descent step with gradients from loss.backward(); returns the loss."""
    # Forward pass: operations on tensors with requires_grad=True record a graph
    y_pred = x.mm(w1).clamp(min=0).mm(w2)  # (N, D_out)
    loss = (y_pred - y).pow(2).sum()
    loss_value = loss.item()  # a float: keeping the tensor would keep its whole graph alive
    if not math.isfinite(loss_value):
        return loss_value  # diverged: keep the last finite weights

    # Backward pass: backward() adds into .grad, so clear what the last step left
    w1.grad = None
    w2.grad = None
    loss.backward()  # fills w1.grad and w2.grad

    # Update by hand; no_grad keeps the update itself out of the graph
    with torch.no_grad():
        w1 -= learning_rate * w1.grad
        w2 -= learning_rate * w2.grad
    return loss_value


# What each line of train_step is for, named by its code (comment left out): the Inside a step tab reads this, and
# tests/test_step_lines.py checks it against the function above.
STEP_LINES = (
    StepLine("y_pred = x.mm(w1).clamp(min=0).mm(w2)", Phase.FORWARD, relu=True),
    StepLine("loss = (y_pred - y).pow(2).sum()", Phase.LOSS),
    StepLine("loss_value = loss.item()", Phase.LOSS),
    StepLine(
        "w1.grad = None",
        Phase.BACKWARD,
        note="Clears the gradient the last step left in w1.grad: backward() adds into .grad, not replacing it.",
    ),
    StepLine("w2.grad = None", Phase.BACKWARD, note="Clears w2.grad likewise, before backward() adds into it."),
    StepLine("loss.backward()", Phase.BACKWARD, backprop=True),
    StepLine(
        "with torch.no_grad():",
        Phase.UPDATE,
        note="Opens a block autograd does not record: the update must not become part of the next graph.",
    ),
    StepLine("w1 -= learning_rate * w1.grad", Phase.UPDATE),
    StepLine("w2 -= learning_rate * w2.grad", Phase.UPDATE),
)


class Stage(Records, TorchArrays):
    """Holds weight tensors that require gradients and runs `train_step`."""

    train_step = staticmethod(train_step)
    step_lines = STEP_LINES

    def __init__(self, weights, config, device):
        super().__init__(config.dtype, device)
        self.w1 = self.own(weights["w1"]).requires_grad_()
        self.w2 = self.own(weights["w2"]).requires_grad_()
        self.learning_rate = config.learning_rate

    def step(self, x, y) -> float:
        return self.train_step(self.w1, self.w2, x, y, self.learning_rate)

    def params(self):
        return {"w1": self.w1, "w2": self.w2}

    def grads(self):
        return {"w1": self.w1.grad, "w2": self.w2.grad}

    def predict(self, x):
        with torch.no_grad():
            return x.mm(self.w1).clamp(min=0).mm(self.w2)

    def hidden(self, x):
        with torch.no_grad():
            return x.mm(self.w1)


SPEC = StageSpec(
    name="autograd",
    title="PyTorch autograd",
    short="Autograd",
    stage=Stage,
    uses_torch=True,
    lecture_learning_rate=1e-6,
    differences=(
        "The lecture zeroes `.grad` after the update; here `w.grad = None` clears it before `backward()`, "
        "which adds into `.grad` — the same gradients, and no stale ones after a pause. `loss.item()` keeps a"
        " float, not the graph."
    ),
    program_weights=(
        "# requires_grad: autograd records what is computed from the weights",
        "w1 = torch.as_tensor(w1, dtype=dtype, device=device).requires_grad_()",
        "w2 = torch.as_tensor(w2, dtype=dtype, device=device).requires_grad_()",
    ),
    notes={
        "arrays": "requires_grad_(): autograd now records every operation on the weights.",
        "step": "The hand-written backward pass goes: loss.backward() computes both gradients.",
        "loop": "The step returns only the loss: the gradients wait in w1.grad and w2.grad.",
    },
)
