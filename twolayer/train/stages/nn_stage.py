"""Stage 4: the network as a torch.nn Module and loss; the update is still written by hand."""

from __future__ import annotations

import math

import torch

from twolayer.train.stages.base import Records, TorchArrays
from twolayer.train.stages.phases import Phase, StepLine
from twolayer.train.stages.spec import StageSpec


def build_model(input_size, hidden_size, output_size, bias=True):
    """The two-layer network as layers: Linear -> ReLU -> Linear."""
    return torch.nn.Sequential(
        torch.nn.Linear(input_size, hidden_size, bias=bias),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden_size, output_size, bias=bias),
    )


def train_step(model, loss_fn, x, y, learning_rate):
    """One gradient-descent step over model.parameters(); returns the loss."""
    y_pred = model(x)  # (N, D_out)
    loss = loss_fn(y_pred, y)  # MSELoss(reduction="sum"): the sum of squared errors
    loss_value = loss.item()
    if not math.isfinite(loss_value):
        return loss_value  # diverged: keep the last finite weights

    model.zero_grad()  # clear the gradients of the last step
    loss.backward()  # fills param.grad for every parameter
    with torch.no_grad():
        for param in model.parameters():
            param -= learning_rate * param.grad
    return loss_value


# What each line of train_step is for, named by its code (comment left out): the Inside a step tab reads this, and
# tests/test_step_lines.py checks it against the function above.
STEP_LINES = (
    StepLine("y_pred = model(x)", Phase.FORWARD, relu=True),
    StepLine("loss = loss_fn(y_pred, y)", Phase.LOSS),
    StepLine("loss_value = loss.item()", Phase.LOSS),
    StepLine(
        "model.zero_grad()",
        Phase.BACKWARD,
        note="Clears every parameter's .grad left by the last step: backward() adds into .grad.",
    ),
    StepLine("loss.backward()", Phase.BACKWARD, backprop=True),
    StepLine(
        "with torch.no_grad():",
        Phase.UPDATE,
        note="Opens a block autograd does not record: the update must not become part of the next graph.",
    ),
    StepLine(
        "for param in model.parameters():",
        Phase.UPDATE,
        note="Loops over the model's parameters: the line below runs once for each.",
    ),
    StepLine("param -= learning_rate * param.grad", Phase.UPDATE),
)

# nn.Linear stores weight as (out, in): the transpose of the lecture's w1 and w2.
_LAYOUT = {"w1": ("0.weight", True), "w2": ("2.weight", True), "b1": ("0.bias", False), "b2": ("2.bias", False)}


class Stage(Records, TorchArrays):
    """Holds the Module and its loss function and runs `train_step`."""

    train_step = staticmethod(train_step)
    step_lines = STEP_LINES

    def __init__(self, weights, config, device):
        super().__init__(config.dtype, device)
        input_size, hidden_size = weights["w1"].shape
        output_size = weights["w2"].shape[1]
        # Built on the meta device: no memory and no draw from torch's global RNG,
        # since the starting weights are loaded just below.
        with torch.device("meta"):
            model = build_model(input_size, hidden_size, output_size, bias=config.bias)
        model = model.to_empty(device=device).to(self.dtype)
        tensors = dict(model.named_parameters())
        with torch.no_grad():
            for name, array in weights.items():
                key, transpose = _LAYOUT[name]
                tensors[key].copy_(self.to_backend(array.T if transpose else array))
        self.model = model
        # Looked up once: the Module keeps these same tensors for the whole run.
        self._params = {name: tensors[key] for name, (key, _) in _LAYOUT.items() if key in tensors}
        self.loss_fn = torch.nn.MSELoss(reduction="sum")
        self.learning_rate = config.learning_rate

    def step(self, x, y) -> float:
        return self.train_step(self.model, self.loss_fn, x, y, self.learning_rate)

    def params(self):
        return self._params

    def grads(self):
        return {name: p.grad for name, p in self.params().items()}

    def lecture_layout(self, arrays):
        return {name: self.to_numpy(a.T if _LAYOUT[name][1] else a) for name, a in arrays.items()}

    def predict(self, x):
        with torch.no_grad():
            return self.model(x)

    def hidden(self, x):
        with torch.no_grad():
            return self.model[0](x)


SPEC = StageSpec(
    name="nn",
    title="torch.nn Module",
    short="torch.nn",
    stage=Stage,
    uses_torch=True,
    lecture_learning_rate=1e-4,
    differences=(
        "`reduction=\"sum\"` as in the lecture (its `'elementwise_mean'` is today's `'mean'`). The update loop "
        "subtracts in place under `no_grad` instead of assigning to `param.data`."
    ),
    build_model=build_model,
    helpers=(build_model,),
    notes={
        "starting weights": "nn.Linear's own start, uniform on ±1/√fan_in, with a bias per unit.",
        "arrays": "Only the data becomes tensors: the weights now live inside the model.",
        "model": "The weights become a Module: Linear -> ReLU -> Linear holds them, MSELoss sums the errors.",
        "step": "model(x) is the forward pass, and the update walks model.parameters() instead of w1 and w2.",
        "loop": "The step takes the model and its loss function instead of the weights.",
    },
)
