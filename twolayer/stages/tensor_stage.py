"""Stage 2: PyTorch tensors (CPU or GPU), forward and backward pass still written by hand."""

from __future__ import annotations

import math

from twolayer.stages.base import TorchStage


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


class Stage(TorchStage):
    """Holds the weight tensors and runs `train_step`."""

    def __init__(self, weights, config, device):
        super().__init__(config.dtype, device)
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
        return x.mm(self.w1).clamp(min=0).mm(self.w2)
