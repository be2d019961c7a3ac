"""Stage 5: a torch.optim optimizer takes over the update."""

from __future__ import annotations

import math

import torch

from twolayer.train.stages import nn_stage
from twolayer.train.stages.phases import Phase, StepLine
from twolayer.train.stages.spec import StageSpec


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


# What each line of train_step is for, named by its code (comment left out): the Inside a step tab reads this, and
# tests/test_step_lines.py checks it against the function above.
STEP_LINES = (
    StepLine("y_pred = model(x)", Phase.FORWARD, relu=True),
    StepLine("loss = loss_fn(y_pred, y)", Phase.LOSS),
    StepLine("loss_value = loss.item()", Phase.LOSS),
    StepLine(
        "optimizer.zero_grad()",
        Phase.BACKWARD,
        note="Clears the .grad of every parameter the optimizer holds: backward() adds into .grad.",
    ),
    StepLine("loss.backward()", Phase.BACKWARD, backprop=True),
    StepLine("optimizer.step()", Phase.UPDATE),
)


class Stage(nn_stage.Stage):
    """The nn stage's Module, stepped by an optimizer."""

    train_step = staticmethod(train_step)
    step_lines = STEP_LINES
    gradient_descent = False  # the optimizer's update has its own size, measured against a copy of the weights

    def __init__(self, weights, config, device):
        super().__init__(weights, config, device)
        self.optimizer = make_optimizer(config.optimizer, self.model.parameters(), config.learning_rate)

    def step(self, x, y) -> float:
        return self.train_step(self.model, self.loss_fn, self.optimizer, x, y)

    def set_learning_rate(self, learning_rate: float) -> None:
        super().set_learning_rate(learning_rate)
        for group in self.optimizer.param_groups:  # the optimizer steps at its own copy of the rate
            group["lr"] = learning_rate

    def state(self):
        return {**super().state(), "optimizer": self.optimizer.state_dict()}

    def load_state(self, state):
        super().load_state(state)
        self.optimizer.load_state_dict(state["optimizer"])


SPEC = StageSpec(
    name="optim",
    title="torch.optim optimizer",
    short="torch.optim",
    stage=Stage,
    uses_torch=True,
    lecture_learning_rate=1e-4,
    differences=(
        "The lecture builds Adam before it sets `learning_rate`; here the rate is set first, with the other "
        "settings. The Optimizer setting picks Adam (the lecture's), SGD, SGD with momentum or RMSprop."
    ),
    build_model=nn_stage.build_model,
    make_optimizer=make_optimizer,
    # The call make_optimizer builds each optimizer with, on a model's parameters: the whole program shows the run's
    # one, and tests/test_program.py checks that each builds what make_optimizer does.
    optimizer_calls={
        "adam": "torch.optim.Adam(model.parameters(), lr=learning_rate)",
        "sgd": "torch.optim.SGD(model.parameters(), lr=learning_rate)",
        "momentum": "torch.optim.SGD(model.parameters(), lr=learning_rate, momentum=0.9)",
        "rmsprop": "torch.optim.RMSprop(model.parameters(), lr=learning_rate)",
    },
    helpers=(make_optimizer,),
    notes={
        "model": "torch.optim builds the optimizer: it keeps its own state (such as Adam's moments).",
        "step": "The update loop becomes optimizer.step(), and optimizer.zero_grad() clears the gradients.",
        "loop": "The step takes the optimizer, which holds the learning rate.",
    },
)
