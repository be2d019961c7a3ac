"""The command line: outputs, exit codes and one-line errors."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from twolayer import TrainConfig, Trainer
from twolayer.__main__ import main


def test_lecture_numpy_run_writes_json(tmp_path, capsys):
    out = tmp_path / "run.json"
    assert main(["train", "--stage", "numpy", "--out", str(out)]) == 0
    summary = json.loads(out.read_text())
    assert summary["status"] == "done" and summary["device"] == "cpu"
    assert summary["config"]["learning_rate"] == 1e-6
    losses = [row["loss"] for row in summary["epochs"]]
    assert len(losses) == 500 and losses[0] > 1e6 and losses[-1] < 1e-2
    assert summary["epochs"][0]["epoch"] == 0 and "grad_norm_w1" in summary["epochs"][0]
    assert 0 < summary["train_seconds"] < 60
    assert capsys.readouterr().out.startswith("done: stage=numpy device=cpu epochs=500")


def test_csv_has_one_row_per_epoch(tmp_path):
    out = tmp_path / "run.csv"
    assert main(["train", "--stage", "nn", "--epochs", "12", "--out", str(out), "--quiet"]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [int(r["epoch"]) for r in rows] == list(range(12))
    assert list(rows[0])[:3] == ["epoch", "loss", "seconds"]
    assert float(rows[-1]["loss"]) < float(rows[0]["loss"])


def test_init_weights_and_save_weights_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    start = tmp_path / "start.npz"
    np.savez(start, w1=rng.uniform(-0.03, 0.03, (784, 8)), w2=rng.uniform(-0.3, 0.3, (8, 10)))
    results = {}
    for stage in ("numpy", "autograd", "nn"):
        out, end = tmp_path / f"{stage}.json", tmp_path / f"{stage}.npz"
        args = [
            "train",
            "--stage",
            stage,
            "--hidden",
            "8",
            "--epochs",
            "5",
            "--no-bias",
            "--lr",
            "1e-4",
            "--dtype",
            "float64",
            "--init-weights",
            str(start),
            "--out",
            str(out),
            "--save-weights",
            str(end),
        ]
        assert main(args + ["--quiet"]) == 0
        results[stage] = [row["loss"] for row in json.loads(out.read_text())["epochs"]]
        with np.load(end) as saved:
            assert saved["w1"].shape == (784, 8) and saved["w2"].shape == (8, 10)
    np.testing.assert_allclose(results["nn"], results["numpy"], rtol=1e-12)
    np.testing.assert_allclose(results["autograd"], results["numpy"], rtol=1e-12)


def test_divergence_exits_3_with_the_hint(capsys):
    assert main(["train", "--stage", "tensor", "--lr", "1e-2", "--epochs", "50"]) == 3
    err = capsys.readouterr().err
    assert "learning rate of 0.01 is too high" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--hidden", "0"], "error: --hidden 0 is not allowed: a whole number from 1 to 4,096"),
        (["--hidden", "-3"], "error: --hidden -3 is not allowed"),
        (["--hidden", "ten"], "error: argument --hidden: invalid int value: 'ten'"),
        (["--lr", "-1"], "error: --lr -1.0 is not allowed: a finite number greater than 0"),
        (["--lr", "nan"], "error: --lr nan is not allowed"),
        (["--epochs", "0"], "error: --epochs 0 is not allowed"),
        (["--stage", "keras"], "error: argument --stage: invalid choice: 'keras'"),
        (["--device", "tpu"], "error: argument --device: invalid choice: 'tpu'"),
        (["--data", "missing.npz"], "error: missing.npz: no such file"),
        (["--out", "run.txt"], "error: --out run.txt: the file name must end in .json or .csv"),
    ],
)
def test_bad_input_exits_2_with_one_line(args, message, capsys):
    with pytest.raises(SystemExit) as exited:
        code = main(["train", *args])
        raise SystemExit(code)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(message), err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_npz_without_x_and_mismatched_init_weights(tmp_path, capsys):
    data = tmp_path / "data.npz"
    np.savez(data, y=np.zeros((4, 10)))
    assert main(["train", "--data", str(data)]) == 2
    assert "missing array 'x'" in capsys.readouterr().err
    weights = tmp_path / "w.npz"
    np.savez(weights, w1=np.zeros((784, 5)), w2=np.zeros((5, 10)))
    assert main(["train", "--init-weights", str(weights)]) == 2
    assert "w1 has shape (784, 5), this network needs (784, 100)" in capsys.readouterr().err


def test_module_entry_point_runs_in_a_fresh_process():
    result = subprocess.run(
        [sys.executable, "-m", "twolayer", "train", "--hidden", "0"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    assert result.stderr == "error: --hidden 0 is not allowed: a whole number from 1 to 4,096\n"
    help_text = subprocess.run(
        [sys.executable, "-m", "twolayer", "train", "--help"], capture_output=True, text=True, timeout=120
    ).stdout
    for flag in (
        "--stage",
        "--hidden",
        "--lr",
        "--epochs",
        "--batch",
        "--seed",
        "--device",
        "--dtype",
        "--optimizer",
        "--init ",
        "--bias",
        "--data",
        "--init-weights",
        "--out",
        "--save-weights",
    ):
        assert flag in help_text
    assert help_text.count("(default:") >= 15
    # A setting's words name a share as people write it: "10%", never argparse's escaped "10%%".
    assert "10% of the training time" in help_text and "%%" not in help_text


def test_cli_files_are_byte_for_byte_the_page_downloads(tmp_path, monkeypatch):
    import twolayer.__main__ as cli
    from twolayer.train.export import downloads

    made = []
    real = cli._make_trainer
    monkeypatch.setattr(cli, "_make_trainer", lambda *a: made.append(real(*a)) or made[-1])
    files = {ext: tmp_path / f"run.{ext}" for ext in ("csv", "json", "npz")}
    for ext in ("csv", "json"):
        args = ["--stage", "nn", "--epochs", "40", "--hidden", "16", "--seed", "3", "--out", str(files[ext])]
        assert main(["train", *args, "--save-weights", str(files["npz"]), "--quiet"]) == 0
        page = {name.rsplit(".", 1)[1]: build() for _, name, _, build in downloads(made[-1])}
        assert page[ext] == files[ext].read_text(), f"the page's {ext} download differs from the CLI's file"
        assert page["npz"] == files["npz"].read_bytes(), "the page's weights differ from the CLI's file"
    assert np.array_equal(np.load(files["npz"])["w1"], made[-1].weights()["w1"])


def test_compare_prints_the_table_the_page_shows(capsys):
    assert main(["compare", "--epochs", "30", "--hidden", "20"]) == 0
    out = capsys.readouterr().out
    for stage in ("tensor", "autograd", "nn", "optim"):
        row = next(line for line in out.splitlines() if line.startswith(stage))
        assert row.split()[1] == "30" and float(row.split()[2]) < 1e-12 and row.split()[3] == "✓", row
        assert row.endswith("done"), row
    assert "numpy by hand vs finite differences (20 entries)" in out


def test_step_writes_each_value_under_its_name_in_the_code(tmp_path, capsys):
    out, lines = tmp_path / "step.npz", tmp_path / "step.json"
    args = ["step", "--stage", "numpy", "--epochs", "2", "--hidden", "8", "--dtype", "float64"]
    assert main([*args, "--out", str(out), "--json", str(lines)]) == 0
    assert "recorded step 3 of stage numpy" in capsys.readouterr().out
    values = np.load(out)
    trainer = Trainer(TrainConfig(stage="numpy", epochs=3, hidden_size=8, dtype="float64"))
    trainer.advance(2)
    x, w1 = trainer.data.x_train, trainer.weights()["w1"]
    assert np.allclose(values["h"], x @ w1, rtol=1e-12) and values["h_relu"].min() == 0
    assert values["grad_w1"].shape == (784, 8) and values["grad_w2"].shape == (8, 10)
    phases = [line["phase"] for line in json.loads(lines.read_text())["lines"]]
    assert phases == sorted(phases, key=["forward", "loss", "backward", "update"].index)


def test_step_whose_loss_overflows_exits_3_and_still_writes(tmp_path, capsys):
    out = tmp_path / "step.npz"
    assert main(["step", "--epochs", "2", "--lr", "10", "--out", str(out)]) == 3
    assert "not finite" in capsys.readouterr().err
    assert {"h", "h_relu", "y_pred"} <= set(np.load(out).files)


def test_step_refuses_negative_epochs(capsys):
    assert main(["step", "--epochs", "-1", "--out", "x.npz"]) == 2
    assert capsys.readouterr().err == (
        "error: --epochs -1 is not allowed: a whole number from 0 (record the first step) upwards\n"
    )
