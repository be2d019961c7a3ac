"""Stage 5: a torch.optim optimizer takes over the update."""

from __future__ import annotations

import math

import torch

from twolayer.train.stages import nn_stage

# Shown under the code: where these lines differ from the lecture's, and why.
LECTURE_DIFFERENCES = (
    "The lecture builds Adam before it sets `learning_rate`; here the rate is set first, with the other "
    "settings. The Optimizer setting picks Adam (the lecture's), SGD, SGD with momentum or RMSprop."
)


def make_optimizer(name, parameters, learning_rate):
    """The optimizer a config names: adam (the lecture's), sgd, momentum or rmsprop."""
    if name == "adam":
        return torch.optim.Adam(parameters, lr=learning_rate)
    if name == "sgd":
        return torch.optim.SGD(parameters, lr=learning_rate)
    if name == "momentum":
        return torch.optim.SGD(parameters, lr=learning_rate, momentum=0.9)
    if name == "rmsprop":
        return torch.optim.RMSprop(parameters, lr=learning_rate)
    raise ValueError(f"unknown optimizer {name!r}")


def train_step(model, loss_fn, optimizer, x, y):
    """One optimizer step; returns the loss."""
    y_pred = model(x)  # (N, D_out)
    loss = loss_fn(y_pred, y)
    loss_value = loss.item()
    if not math.isfinite(loss_value):
        return loss_value  # diverged: keep the last finite weights

    optimizer.zero_grad()  # clear the gradients of the last step
    loss.backward()  # fills param.grad
    optimizer.step()  # the optimizer applies its own update rule
    return loss_value


class Stage(nn_stage.Stage):
    """The nn stage's Module, stepped by an optimizer."""

    train_step = staticmethod(train_step)
    gradient_descent = False  # the optimizer's update has its own size, measured against a copy of the weights

    def __init__(self, weights, config, device):
        super().__init__(weights, config, device)
        self.optimizer = make_optimizer(config.optimizer, self.model.parameters(), config.learning_rate)

    def step(self, x, y) -> float:
        return self.train_step(self.model, self.loss_fn, self.optimizer, x, y)
