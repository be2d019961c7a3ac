"""A run's whole program as the page shows it: the stage's real functions inside a short frame that sets up and loops.

The frame writes out what the trainer does around each step (settings, seeded data, starting weights, the loop
over epochs); tests/test_program.py runs the text and checks that it gives the trainer's losses, epoch for epoch.
"""

from __future__ import annotations

import inspect
import json

import numpy as np

from twolayer.data.dataset import LECTURE_INPUTS, LECTURE_OUTPUTS
from twolayer.data.sources import load_data
from twolayer.train.config import MANUAL_STAGES, TrainConfig
from twolayer.train.devices import resolve_device
from twolayer.train.stages import MODULES, nn_stage, optim_stage
from twolayer.train.stages.base import HandWritten


def training_data(source: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The training inputs and targets of data `source` (a config's `data`), any random choice drawn from `rng`."""
    data = load_data(source, 0, rng)  # the row count matters only to random data, which the program draws itself
    return data.x_train, data.y_train


def program_source(config: TrainConfig, rows: int) -> str:
    """The program that trains as a Trainer with `config` does, on data with `rows` training rows."""
    return "\n\n".join(text for _, text in program_blocks(config, rows)) + "\n"


def program_blocks(config: TrainConfig, rows: int) -> list[tuple[str, str]]:
    """The program's parts in order, each named for what it does (settings, data, step, ...) with its text."""
    full_batch = rows <= config.batch_size  # the trainer's rule: one step on every row, else shuffled mini-batches
    blocks = [
        ("imports", _imports(config.stage)),
        ("settings", _settings(config, full_batch)),
        ("random streams", _streams(config.stage, full_batch)),
        ("data", _data(config.data)),
        ("starting weights", _weights(config)),
        ("arrays", _backend(config.stage)),
    ]
    if config.stage in ("nn", "optim"):
        blocks += [("model", inspect.getsource(nn_stage.build_model) + "\n" + _model(config))]
    blocks += [("step", inspect.getsource(MODULES[config.stage].train_step)), ("loop", _loop(config.stage, full_batch))]
    return [(name, text.rstrip("\n")) for name, text in blocks]


def optimizer_call(name: str) -> str:
    """The call `optim_stage.make_optimizer` builds optimizer `name` with, on the model's parameters."""
    if name not in optim_stage.OPTIMIZER_CALLS:
        raise ValueError(f"make_optimizer builds no optimizer {name!r}")
    return optim_stage.OPTIMIZER_CALLS[name]


def _imports(stage: str) -> str:
    return "import math\n\nimport numpy as np" + ("" if stage == "numpy" else "\nimport torch")


def _settings(config: TrainConfig, full_batch: bool) -> str:
    lines = ["# The run's settings"]
    if config.data == "random":
        lines.append(
            f"N, D_in, H, D_out = {config.batch_size}, {LECTURE_INPUTS}, {config.hidden_size}, {LECTURE_OUTPUTS}"
        )
    else:
        lines.append(f"H = {config.hidden_size}")
    lines += [f"learning_rate = {config.learning_rate!r}", f"epochs = {config.epochs}"]
    if not full_batch:
        lines.append(f"batch_size = {config.batch_size}")
    lines.append(f"seed = {config.seed}")
    if config.stage == "numpy":
        lines.append(f"dtype = np.{config.dtype}")
    else:
        device = json.dumps(resolve_device(config.device, config.stage))
        lines.append(f"device, dtype = {device}, torch.{config.dtype}")
    return "\n".join(lines)


def _streams(stage: str, full_batch: bool) -> str:
    library = "NumPy" if stage == "numpy" else "torch"
    comment = f"# Random numbers from the seed, where the lecture uses {library}'s global generator:\n"
    if full_batch:
        return comment + (
            "# a stream each for the data and the starting weights (a third orders mini-batches)\n"
            "seeds = np.random.SeedSequence(seed).spawn(3)\n"
            "data_rng, init_rng = (np.random.default_rng(s) for s in seeds[:2])"
        )
    return comment + (
        "# a stream each for the data, the starting weights and the order of mini-batches\n"
        "seeds = np.random.SeedSequence(seed).spawn(3)\n"
        "data_rng, init_rng, shuffle_rng = (np.random.default_rng(s) for s in seeds)"
    )


def _data(source: str) -> str:
    if source == "random":
        return (
            "# Random inputs and targets shaped like MNIST, as in the lecture\n"
            "x = data_rng.standard_normal((N, D_in))\n"
            "y = data_rng.standard_normal((N, D_out))"
        )
    return (
        "# The inputs and targets of the chosen data's training split\n"
        f"x, y = training_data({json.dumps(source, ensure_ascii=False)}, data_rng)\n"
        "N, D_in = x.shape\n"
        "D_out = y.shape[1]"
    )


def _weights(config: TrainConfig) -> str:
    if config.init == "lecture" and config.stage in MANUAL_STAGES:
        return (
            "# Standard normal starting weights, as in the lecture\n"
            "w1 = init_rng.standard_normal((D_in, H))\n"
            "w2 = init_rng.standard_normal((H, D_out))"
        )
    lines = [
        "# Starting weights as nn.Linear draws its own: uniform on ±1/√fan_in",
        "bound1, bound2 = 1 / np.sqrt(D_in), 1 / np.sqrt(H)",
        "w1 = init_rng.uniform(-bound1, bound1, (D_in, H))",
        "w2 = init_rng.uniform(-bound2, bound2, (H, D_out))",
    ]
    if config.bias:
        lines += ["b1 = init_rng.uniform(-bound1, bound1, H)", "b2 = init_rng.uniform(-bound2, bound2, D_out)"]
    return "\n".join(lines)


def _backend(stage: str) -> str:
    if stage == "numpy":
        return "\n".join(
            [
                "# In the run's precision",
                "x, y = x.astype(dtype), y.astype(dtype)",
                "w1, w2 = w1.astype(dtype), w2.astype(dtype)",
            ]
        )
    lines = [
        "# As tensors of the run's precision on its device",
        "x = torch.as_tensor(x, dtype=dtype, device=device)",
        "y = torch.as_tensor(y, dtype=dtype, device=device)",
    ]
    if stage == "tensor":
        lines += [
            "w1 = torch.as_tensor(w1, dtype=dtype, device=device)",
            "w2 = torch.as_tensor(w2, dtype=dtype, device=device)",
        ]
    if stage == "autograd":
        lines += [
            "# requires_grad: autograd records what is computed from the weights",
            "w1 = torch.as_tensor(w1, dtype=dtype, device=device).requires_grad_()",
            "w2 = torch.as_tensor(w2, dtype=dtype, device=device).requires_grad_()",
        ]
    return "\n".join(lines)


def _model(config: TrainConfig) -> str:
    copies = ["model[0].weight.copy_(torch.as_tensor(w1.T))", "model[2].weight.copy_(torch.as_tensor(w2.T))"]
    if config.bias:
        copies += ["model[0].bias.copy_(torch.as_tensor(b1))", "model[2].bias.copy_(torch.as_tensor(b2))"]
    lines = [
        f"model = build_model(D_in, H, D_out, bias={config.bias}).to(device, dtype)",
        "# Start from the weights drawn above: nn.Linear keeps each weight as (out, in), transposed",
        "with torch.no_grad():",
        *(f"    {copy}" for copy in copies),
        'loss_fn = torch.nn.MSELoss(reduction="sum")',
    ]
    if config.stage == "optim":
        lines.append(f"optimizer = {optimizer_call(config.optimizer)}")
    return "\n".join(lines)


def _loop(stage: str, full_batch: bool) -> str:
    # The step is called with the names of its own parameters: the frame's variables are named after them.
    arguments = list(inspect.signature(MODULES[stage].train_step).parameters)
    returns_gradients = issubclass(MODULES[stage].Stage, HandWritten)
    if full_batch:
        call = f"train_step({', '.join(arguments)})"
        step = f"loss, _ = {call}  # _: the gradients, for the page's charts" if returns_gradients else f"loss = {call}"
        body = [step]
    else:
        call = f"train_step({', '.join({'x': 'x[batch]', 'y': 'y[batch]'}.get(a, a) for a in arguments)})"
        step = [f"batch_loss, _ = {call}", "loss += batch_loss"] if returns_gradients else [f"loss += {call}"]
        body = [
            "order = shuffle_rng.permutation(N)  # the rows in a new order every epoch",
            "loss = 0.0",
            "for start in range(0, N, batch_size):  # one step per mini-batch of rows",
            "    batch = order[start : start + batch_size]",
            *(f"    {line}" for line in step),
        ]
    lines = [
        "losses = []  # one per epoch: the loss chart",
        "for epoch in range(epochs):",
        *(f"    {line}" for line in body),
        "    if not math.isfinite(loss):",
        "        break  # diverged: the run stops here",
        "    losses.append(loss)",
    ]
    return "\n".join(lines)
