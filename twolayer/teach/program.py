"""A run's whole program as the page shows it: the stage's real functions inside a short frame that sets up and loops.

The frame writes out what the trainer does around each step (settings, seeded data, starting weights, the loop
over epochs, the plot); tests/test_program.py runs the text and checks that it gives the trainer's losses, epoch
for epoch. It stands on its own: random data, digits and mnist5k are made in the program itself, as
twolayer/data/sources.py makes them; only data files are read with twolayer's reader.
"""

from __future__ import annotations

import inspect
import json

from twolayer.data.dataset import DIGIT_CLASSES, LECTURE_INPUTS, LECTURE_OUTPUTS, TEST_FRACTION
from twolayer.data.mnist5k import MEMBER, PACKAGE
from twolayer.train.config import TrainConfig
from twolayer.train.devices import resolve_device
from twolayer.train.stages import StageSpec, stage_spec
from twolayer.train.stages.base import HandWritten


def program_source(config: TrainConfig, rows: int) -> str:
    """The program that trains as a Trainer with `config` does, on data with `rows` training rows."""
    return "\n\n".join(text for _, text in program_blocks(config, rows)) + "\n"


def program_blocks(config: TrainConfig, rows: int) -> list[tuple[str, str]]:
    """The program's parts in order, each named for what it does (settings, data, step, ...) with its text."""
    full_batch = rows <= config.batch_size  # the trainer's rule: one step on every row, else shuffled mini-batches
    spec = stage_spec(config.stage)
    blocks = [
        ("imports", _imports(config)),
        ("settings", _settings(config, full_batch)),
        ("random streams", _streams(spec, full_batch)),
        ("data", _data(config.data)),
        ("starting weights", _weights(config)),
        ("arrays", _backend(spec)),
    ]
    if spec.has_model:
        blocks += [("model", inspect.getsource(spec.build_model) + "\n" + _model(config))]
    blocks += [
        ("step", inspect.getsource(spec.train_step)),
        ("loop", _loop(spec, full_batch)),
        ("plot", PLOT),
    ]
    return [(name, text.rstrip("\n")) for name, text in blocks]


def data_file(source: str) -> str | None:
    """The file (or `mnist:` folder) a program reads for data `source`, named as at home; None for built-in data."""
    if source in ("random", "digits", "mnist5k"):
        return None
    if not source.startswith("upload:"):
        return source
    names = source.removeprefix("upload:").split(",")
    # One .npz or .csv file, or the four MNIST files, which the program looks for in the folder it runs in.
    return names[0] if len(names) == 1 else "mnist:."


def optimizer_call(stage: str, name: str) -> str:
    """The call stage `stage`'s make_optimizer builds optimizer `name` with, on the model's parameters."""
    calls = stage_spec(stage).optimizer_calls
    if name not in calls:
        raise ValueError(f"the {stage} stage's make_optimizer builds no optimizer {name!r}")
    return calls[name]


def _imports(config: TrainConfig) -> str:
    standard = ["math"]
    if config.data == "mnist5k":
        standard += ["importlib.util", "sys"]
    elif data_file(config.data):
        standard.append("sys")
    lines = [f"import {name}" for name in sorted(standard)]
    if config.data == "mnist5k":
        lines.append("from pathlib import Path")
    lines += ["", "import numpy as np"]
    if stage_spec(config.stage).uses_torch:
        lines.append("import torch")
    if config.data == "digits":
        lines.append("from sklearn.datasets import load_digits")
    return "\n".join(lines)


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
    if not stage_spec(config.stage).uses_torch:
        lines.append(f"dtype = np.{config.dtype}")
    else:
        device = json.dumps(resolve_device(config.device, config.stage))
        lines.append(f"device, dtype = {device}, torch.{config.dtype}")
    return "\n".join(lines)


def _streams(spec: StageSpec, full_batch: bool) -> str:
    library = "torch" if spec.uses_torch else "NumPy"
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
    if source == "digits":
        read = (
            "# scikit-learn's 8x8 digits, each pixel a count from 0 to 16 scaled to [0, 1]\n"
            "digits = load_digits()\n"
            "pixels, labels = digits.data / 16.0, digits.target.astype(np.int64)"
        )
    elif source == "mnist5k":
        read = (
            f"# 5,000 real 28x28 MNIST digits, from the copy inside the {PACKAGE} package (pip install {PACKAGE})\n"
            f'package = importlib.util.find_spec("{PACKAGE}")\n'
            f'sample = Path(package.origin).parent / "{MEMBER}" if package else None\n'
            "if sample is None or not sample.is_file():\n"
            f'    sys.exit("mnist5k is the MNIST sample inside the {PACKAGE} package: pip install {PACKAGE}")\n'
            'table = np.loadtxt(sample, delimiter=",", dtype=np.int64)  # a row: 784 pixels from 0 to 255, the label\n'
            "pixels, labels = table[:, :-1].astype(np.float32) / np.float32(255), table[:, -1]"
        )
    else:
        return _file_data(source)
    return (
        read
        + "\n"
        + (
            f"# A {TEST_FRACTION:.0%} share of each digit held out for testing, chosen by the seed; the rest trains\n"
            "test = np.zeros(len(labels), dtype=bool)\n"
            f"for digit in range({DIGIT_CLASSES}):\n"
            "    members = data_rng.permutation(np.flatnonzero(labels == digit))\n"
            f"    test[members[: round(len(members) * {TEST_FRACTION!r})]] = True\n"
            "x = pixels[~test]\n"
            f"y = np.eye({DIGIT_CLASSES})[labels[~test]]  # one-hot targets: a 1 in the digit's place\n"
            "N, D_in = x.shape\n"
            "D_out = y.shape[1]"
        )
    )


def _file_data(source: str) -> str:
    """Data only twolayer's reader reads exactly as the run did: a file or an MNIST folder, uploaded or named."""
    where = data_file(source)
    if source.startswith("upload:"):
        kept = (
            "the four MNIST files uploaded to the page, in the folder this runs in"
            if where == "mnist:."
            else (f"{where}, the file uploaded to the page, in the folder this runs in")
        )
    else:
        kept = f"{where}, as named to twolayer (relative to the folder it ran in)"
    return "\n".join(
        [
            f"# The run's data: {kept}.",
            "# twolayer reads and checks it as the run did (labels become one-hot targets, images rows of",
            "# pixels), so this data needs twolayer installed: pip install -e . in a clone of its repository.",
            f"data_file = {json.dumps(where, ensure_ascii=False)}",
            "try:",
            "    from twolayer.data.sources import load_data",
            "except ImportError:",
            '    sys.exit(f"reading {data_file} needs twolayer installed: pip install -e . in a clone of twolayer")',
            "try:",
            "    data = load_data(data_file, 0, data_rng)",
            "except ValueError as error:  # a missing or broken file: what is wrong, in one line",
            '    sys.exit(f"error: {error}")',
            "x, y = data.x_train, data.y_train  # the training split",
            "N, D_in = x.shape",
            "D_out = y.shape[1]",
        ]
    )


def _weights(config: TrainConfig) -> str:
    if config.normal_start:
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


def _backend(spec: StageSpec) -> str:
    if spec.uses_torch:
        data = [
            "# As tensors of the run's precision on its device",
            "x = torch.as_tensor(x, dtype=dtype, device=device)",
            "y = torch.as_tensor(y, dtype=dtype, device=device)",
        ]
    else:
        data = ["# In the run's precision", "x, y = x.astype(dtype), y.astype(dtype)"]
    return "\n".join([*data, *spec.program_weights])


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
    if stage_spec(config.stage).has_optimizer:
        lines.append(f"optimizer = {optimizer_call(config.stage, config.optimizer)}")
    return "\n".join(lines)


def _loop(spec: StageSpec, full_batch: bool) -> str:
    # The step is called with the names of its own parameters: the frame's variables are named after them.
    arguments = list(inspect.signature(spec.train_step).parameters)
    returns_gradients = issubclass(spec.stage, HandWritten)
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
        '    print(f"Epoch: {epoch}, Loss: {loss}")  # as Python prints a float: every digit of the value',
    ]
    return "\n".join(lines)


PLOT = """# The loss curve, as the lecture plots it (on a log scale: it falls by orders of magnitude)
try:
    import matplotlib.pyplot as plt
except ImportError:
    print("No plot: matplotlib is not installed (pip install matplotlib)")
else:
    plt.semilogy(losses)
    plt.xlabel("Epoch")
    plt.ylabel("Loss")
    if plt.get_backend().lower() == "agg":  # no display to show it on: kept as a picture instead
        plt.savefig("loss.png")
        print("No display: the loss curve is saved in loss.png")
    else:
        plt.show()"""
