"""A sweep: one run per value, each the same run `train` makes with that value, bit for bit; bad values refused."""

import json

import pytest

from twolayer.__main__ import main
from twolayer.teach.sweep import Outcome, Sweep, best_sentence
from twolayer.teach.sweep_spec import SweepError, parse_vary, sweep_configs
from twolayer.train.config import SETTINGS
from twolayer.train.state import RunState

TIMES = ("train_seconds", "seconds")  # wall-clock fields: the only ones two equal runs may differ in


def without_times(run: dict) -> dict:
    run = {k: v for k, v in run.items() if k not in TIMES}
    run["epochs"] = [{k: v for k, v in row.items() if k not in TIMES} for row in run["epochs"]]
    return run


@pytest.mark.parametrize(
    ("vary", "flags"),
    [
        ("lr=1e-4,1e-3,3e-2", ["--stage", "optim", "--data", "digits", "--epochs", "12", "--batch", "256"]),
        ("hidden=8,30", ["--stage", "autograd", "--epochs", "40", "--batch", "16", "--seed", "5"]),
    ],
)
def test_each_run_of_a_sweep_is_the_train_run_with_that_value(tmp_path, vary, flags):
    assert main(["sweep", "--vary", vary, *flags, "--out", str(tmp_path / "sweep.json")]) == 0
    sweep = json.loads((tmp_path / "sweep.json").read_text())
    key, texts = parse_vary(vary)
    assert sweep["vary"] == key and len(sweep["runs"]) == len(texts)
    for text, value, run in zip(texts, sweep["values"], sweep["runs"], strict=True):
        out = tmp_path / f"train-{text}.json"
        assert main(["train", *flags, f"--{key}", text, "--out", str(out), "--quiet"]) == 0
        single = json.loads(out.read_text())
        assert single["config"][{"lr": "learning_rate", "hidden": "hidden_size"}[key]] == value
        assert without_times(run) == without_times(single), f"{key}={text}: the sweep's run differs from train's"
        assert len(run["epochs"]) == run["config"]["epochs"]


def test_the_runs_advance_in_turns_so_every_curve_grows():
    configs = sweep_configs("hidden", ["4", "8", "16"], {"epochs": 100_000, "batch_size": 8})
    sweep = Sweep("hidden", configs)
    sweep.advance(0.1)
    assert [trainer.epoch > 0 for trainer in sweep.trainers] == [True, False, False]  # the first value's turn
    sweep.advance(0.1)
    sweep.advance(0.1)
    epochs = [trainer.epoch for trainer in sweep.trainers]
    assert all(epoch > 0 for epoch in epochs), epochs
    assert sweep.epochs_done == sum(epochs) and sweep.epochs_total == 300_000
    # one dataset for all: the varied setting does not change the rows
    assert sweep.trainers[0].data is sweep.trainers[2].data


@pytest.mark.parametrize(
    ("vary", "message"),
    [
        ("seed=1,2", "a sweep cannot vary 'seed': choose one of lr, hidden, batch, epochs, stage, optimizer, init"),
        ("lr=1,2,3,4,5,6,7", "lr: 7 values given; a sweep takes 2 to 6"),
        ("lr=1e-3", "lr: 1 values given; a sweep takes 2 to 6"),
        ("hidden=10,5000", "hidden=5000: hidden 5000 is not allowed: a whole number from 1 to 4,096"),
        ("lr=1e-3,0.001", "lr=0.001 is the same value as lr=1e-3: give each value once"),
        ("lr=fast,1e-3", "lr='fast' is not allowed: a finite number greater than 0"),
        ("stage=numpy,keras", "stage='keras' is not allowed: one of numpy, tensor, autograd, nn, optim"),
        ("lr", "'lr': write the setting and its values as KEY=V1,V2,..."),
    ],
)
def test_bad_sweeps_are_refused_before_anything_trains(tmp_path, capsys, vary, message):
    out = tmp_path / "sweep.json"
    assert main(["sweep", "--vary", vary, "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_a_diverged_value_does_not_stop_the_others(tmp_path, capsys):
    out = tmp_path / "sweep.csv"
    assert main(["sweep", "--vary", "lr=1e-6,1e-3", "--epochs", "30", "--out", str(out)]) == 3
    printed = capsys.readouterr()
    assert "lr = 1e-06 is best: the lowest final loss of the 1 that finished" in printed.out
    assert "lr = 0.001: diverged at epoch" in printed.err
    rows = out.read_text().splitlines()
    assert rows[0] == "value,status,epochs,final loss,test loss per example,test accuracy,seconds"
    assert rows[1].startswith("1e-06,done,30,") and rows[2].startswith("0.001,diverged at epoch ")


def test_the_best_value_is_named_by_accuracy_then_test_loss_then_final_loss():
    def outcome(value, loss, test_loss=None, accuracy=None, status=RunState.DONE):
        return Outcome(value, status, 10, loss, test_loss, accuracy, 0.1, "")

    labelled = [
        outcome(1e-3, 5.0, 0.3, 0.91),
        outcome(1e-2, 4.0, 0.2, 0.95),
        outcome(1.0, 1.0, 0.1, 0.5, RunState.DIVERGED),
    ]
    assert (
        best_sentence("lr", labelled) == "lr = 0.01 is best: the highest test accuracy of the 2 that finished, 95.0%."
    )
    plain = [outcome(8, 30.0), outcome(16, 12.5)]
    assert best_sentence("hidden", plain) == "hidden = 16 is best: the lowest final loss, 12.5."
    assert best_sentence("hidden", [outcome(8, None, status=RunState.DIVERGED)]) == ""


def test_a_sweep_keeps_every_other_setting_from_the_base():
    base = {spec.name: spec.default for spec in SETTINGS} | {"stage": "nn", "seed": 9}
    configs = sweep_configs("optimizer", ["sgd", "adam"], base)
    assert [c.optimizer for c in configs] == ["sgd", "adam"]
    assert all(c.stage == "nn" and c.seed == 9 and c.learning_rate == 1e-4 for c in configs)
    with pytest.raises(SweepError):
        sweep_configs("optimizer", ["sgd", "lbfgs"], base)
