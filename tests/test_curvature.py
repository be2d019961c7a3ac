"""The sharpness is the top eigenvalue of the probe loss's Hessian, the same in every stage and precision, and judges
each update rule against its own threshold."""

import csv
import json

import numpy as np
import pytest
import torch

from page import state
from twolayer import Dataset, TrainConfig, Trainer
from twolayer.__main__ import main
from twolayer.teach.why import sharpness_spacing
from twolayer.train import curvature
from twolayer.train import trainer as trainer_module
from twolayer.train.config import STAGES, ConfigError
from twolayer.train.curvature import ADAM_BETA1, MOMENTUM, TOLERANCE, Quantity, edge, measure
from twolayer.train.probe import as_tensors, make_probe, probe_loss
from twolayer.train.stages import stage_spec

ROWS, D_IN, HIDDEN, D_OUT = 8, 6, 5, 3


def small_data() -> Dataset:
    rng = np.random.default_rng(3)
    return Dataset("test", rng.standard_normal((ROWS, D_IN)), rng.standard_normal((ROWS, D_OUT)))


def dense_hessian(weights: dict[str, torch.Tensor], probe) -> torch.Tensor:
    """The Hessian of the probe loss over every weight, flattened in the weights' order."""
    names, shapes = list(weights), [w.shape for w in weights.values()]
    sizes = [w.numel() for w in weights.values()]

    def loss(flat: torch.Tensor) -> torch.Tensor:
        parts = torch.split(flat, sizes)
        return probe_loss({n: p.reshape(s) for n, p, s in zip(names, parts, shapes, strict=True)}, probe)

    return torch.autograd.functional.hessian(loss, torch.cat([w.reshape(-1) for w in weights.values()]))


def top_eigenvalue(matrix: torch.Tensor) -> float:
    return float(torch.linalg.eigvalsh(matrix)[-1])


STAGE_BIAS = [(stage, bias) for stage in STAGES for bias in (False, True) if not bias or stage_spec(stage).has_model]


@pytest.mark.parametrize(("stage", "bias"), STAGE_BIAS)
def test_the_sharpness_is_the_dense_hessians_top_eigenvalue_in_every_stage(stage, bias):
    config = TrainConfig(
        stage=stage, hidden_size=HIDDEN, batch_size=ROWS, dtype="float64", bias=bias, optimizer="sgd", epochs=5
    )
    trainer = Trainer(config, data=small_data())
    probe = make_probe(config, trainer.data)
    for _ in range(2):  # at the start, and after three steps
        found = measure(trainer, probe)
        expected = top_eigenvalue(dense_hessian(as_tensors(trainer.weights()), probe))
        assert found.edge.quantity is Quantity.HESSIAN and found.converged and found.rows == ROWS
        assert found.value == pytest.approx(expected, rel=1e-3)
        assert found.value == pytest.approx(expected, rel=10 * TOLERANCE), "well inside the stated tolerance"
        assert found.iterations <= 40
        trainer.advance(3)


def test_every_stage_gives_the_same_value_at_the_same_weights():
    values = []
    for stage in STAGES:
        config = TrainConfig(stage=stage, hidden_size=HIDDEN, batch_size=ROWS, init="shared", bias=False)
        config = config.replace(optimizer="sgd", dtype="float64")
        trainer = Trainer(config, data=small_data())
        values.append(measure(trainer, make_probe(config, trainer.data)).value)
    assert values == [values[0]] * len(values), dict(zip(STAGES, values, strict=True))


def test_float32_and_float64_runs_from_the_same_start_have_the_same_sharpness():
    config = TrainConfig(stage="autograd", hidden_size=20, init="shared")
    # Starting weights a float32 run holds exactly: both runs then evaluate the very same numbers in float64.
    start = {n: w.astype(np.float32).astype(np.float64) for n, w in Trainer(config).initial_weights.items()}
    single = Trainer(config.replace(dtype="float32"), weights=start)
    double = Trainer(config.replace(dtype="float64"), weights=start)
    probe = make_probe(config, single.data)
    assert measure(single, probe).value == pytest.approx(measure(double, probe).value, rel=1e-9)


def optim_run(optimizer: str) -> Trainer:
    config = TrainConfig(stage="optim", hidden_size=HIDDEN, batch_size=ROWS, dtype="float64", optimizer=optimizer)
    assert stage_spec(config.stage).has_optimizer
    return Trainer(config.replace(epochs=10, learning_rate=1e-2), data=small_data())


def test_adams_sharpness_is_preconditioned_by_the_divisor_of_its_next_step():
    trainer, ahead = optim_run("adam"), optim_run("adam")
    probe = make_probe(trainer.config, trainer.data)
    for epochs in (0, 4):  # before Adam has any state, and after four steps
        trainer.advance(epochs - trainer.epoch)
        ahead.advance(epochs + 1 - ahead.epoch)  # the step from these weights: Adam's own divisor for it
        optimizer = ahead.stage.optimizer
        state = {n: optimizer.state[p] for n, p in ahead.stage.params().items()}
        beta2, eps = optimizer.param_groups[0]["betas"][1], optimizer.param_groups[0]["eps"]
        v_hat = ahead.stage.lecture_layout(
            {n: s["exp_avg_sq"] / (1 - beta2 ** float(s["step"])) for n, s in state.items()}
        )
        scale = torch.cat([torch.as_tensor(np.sqrt(v) + eps).reshape(-1) for v in v_hat.values()]).rsqrt()
        hessian = dense_hessian(as_tensors(trainer.weights()), probe)
        found = measure(trainer, probe)
        assert found.edge.quantity is Quantity.ADAM_PRECONDITIONED
        assert found.value == pytest.approx(top_eigenvalue(scale[:, None] * hessian * scale[None, :]), rel=1e-3)
        assert found.threshold == pytest.approx(38 / trainer.config.learning_rate)


@pytest.mark.parametrize(
    ("settings", "factor", "quantity", "noted"),
    [
        ({"stage": "numpy"}, 2.0, Quantity.HESSIAN, False),
        ({"stage": "optim", "optimizer": "sgd"}, 2.0, Quantity.HESSIAN, False),
        ({"stage": "optim", "optimizer": "momentum"}, 3.8, Quantity.HESSIAN, False),
        ({"stage": "optim", "optimizer": "adam"}, 38.0, Quantity.ADAM_PRECONDITIONED, False),
        ({"stage": "optim", "optimizer": "rmsprop"}, 2.0, Quantity.HESSIAN, True),
    ],
)
def test_each_update_rule_has_its_own_threshold(settings, factor, quantity, noted):
    config = TrainConfig(**settings, learning_rate=1e-3)
    found = edge(config)
    assert (found.quantity, found.rule, bool(found.note)) == (quantity, f"{factor:g}/lr", noted)
    assert found.threshold(1e-3) == pytest.approx(factor / 1e-3)


def test_the_thresholds_betas_are_the_optimizers_own():
    make = stage_spec("optim").make_optimizer
    params = [torch.nn.Parameter(torch.zeros(1))]
    assert make("momentum", params, 1e-3).param_groups[0]["momentum"] == MOMENTUM
    assert make("adam", params, 1e-3).param_groups[0]["betas"][0] == ADAM_BETA1


def test_the_trainer_records_the_sharpness_every_k_epochs_from_epoch_0():
    config = TrainConfig(stage="tensor", hidden_size=20, epochs=12, sharpness=True, sharpness_every=5)
    trainer = Trainer(config)
    start = measure(trainer, make_probe(config, trainer.data)).value
    trainer.advance(12)
    recorded = trainer.sharpness.rows()
    assert [row["epoch"] for row in recorded] == [0, 5, 10]
    assert recorded[0]["sharpness"] == start
    assert len({row["sharpness"] for row in recorded}) == 3, "measured afresh at each"
    plain = Trainer(config.replace(sharpness=False))
    plain.advance(12)
    assert plain.history.column("loss") == trainer.history.column("loss"), "measuring never changes the run"
    assert len(plain.sharpness) == 0
    by_epoch = {row["epoch"]: row for row in trainer.records()}
    assert by_epoch[5]["sharpness"] == recorded[1]["sharpness"] and "sharpness" not in by_epoch[6]


def test_a_mini_batch_epoch_cut_by_a_deadline_is_measured_once():
    config = TrainConfig(
        stage="nn", data="digits", batch_size=16, hidden_size=20, epochs=4, sharpness=True, sharpness_every=2
    )
    whole = Trainer(config)
    whole.advance(4)
    sliced = Trainer(config)
    while not sliced.finished:
        sliced.advance(4, time_budget=0.001)
    assert sliced.sharpness.rows() == whole.sharpness.rows()
    assert [row["epoch"] for row in whole.sharpness.rows()] == [0, 2]


def test_a_negative_spacing_is_refused_naming_what_is_allowed():
    with pytest.raises(ConfigError) as refused:
        TrainConfig(sharpness=True, sharpness_every=-1)
    assert str(refused.value) == "sharpness_every=-1 is not allowed: a whole number from 0 to 100,000"
    with pytest.raises(ConfigError) as refused:
        TrainConfig(sharpness_every=5)
    assert str(refused.value) == "sharpness_every=5 is not allowed: a spacing only with sharpness on"
    assert TrainConfig(sharpness=True, sharpness_every=5).replace(sharpness=False).sharpness_every == 0


def test_by_default_the_trainer_spaces_the_measurements_to_a_tenth_of_the_training_time(monkeypatch):
    clock = {"now": 0.0}

    def perf_counter():  # every reading 1 ms after the last: each epoch's step takes 1 ms
        clock["now"] += 0.001
        return clock["now"]

    real = curvature.measure

    def measure_in_9_ms(*args):  # ... and a measurement 1 ms + 9 ms: 10 ms
        clock["now"] += 0.009
        return real(*args)

    monkeypatch.setattr(trainer_module.time, "perf_counter", perf_counter)
    monkeypatch.setattr(curvature, "measure", measure_in_9_ms)
    trainer = Trainer(TrainConfig(epochs=400, sharpness=True))
    trainer.advance(400)
    # Each 10 ms measurement once the training has taken 1 / 7.5% times all of them so far with it (three quarters of
    # the tenth planned): 267 ms for epoch 0's and the next; three would need 400 ms, the whole run. 20 ms of 400: 5%.
    assert trainer.sharpness.column("epoch") == [0, 267]
    assert trainer.sharpness_seconds == pytest.approx(0.020) and trainer.train_seconds == pytest.approx(0.400)
    assert sharpness_spacing(TrainConfig(sharpness=True)) == "from epoch 0, as often as 10% of the training time allows"
    assert sharpness_spacing(TrainConfig(sharpness=True, sharpness_every=50)) == "every 50 epochs from epoch 0"


def test_the_sharpness_command_and_train_record_the_same_value_at_epoch_0(tmp_path, capsys):
    settings = ["--stage", "nn", "--hidden", "20", "--epochs", "7"]
    assert main(["sharpness", *settings, "--out", str(tmp_path / "start.json")]) == 0
    line = capsys.readouterr().out
    start = json.loads((tmp_path / "start.json").read_text())
    assert set(start) >= {"lambda_max", "rows", "iterations", "tolerance", "threshold", "rule", "quantity", "config"}
    assert (start["rows"], start["tolerance"], start["rule"], start["quantity"]) == (64, 1e-6, "2/lr", "hessian")
    assert start["threshold"] == pytest.approx(2 / 1e-4) and start["stable_rate"] == 2 / start["lambda_max"]
    assert line.startswith(f"lambda_max {start['lambda_max']:.6g} (of the Hessian, on 64 rows; ")
    assert main(["train", *settings, "--sharpness-every", "3", "--quiet", "--out", str(tmp_path / "run.json")]) == 0
    epochs = json.loads((tmp_path / "run.json").read_text())["epochs"]
    assert [row["epoch"] for row in epochs if "sharpness" in row] == [0, 3, 6]
    assert epochs[0]["sharpness"] == start["lambda_max"]
    assert main(["train", *settings, "--sharpness-every", "3", "--quiet", "--out", str(tmp_path / "run.csv")]) == 0
    rows = list(csv.DictReader((tmp_path / "run.csv").open()))
    assert [row["epoch"] for row in rows if row["sharpness"]] == ["0", "3", "6"]
    assert float(rows[0]["sharpness"]) == start["lambda_max"]


def test_the_sharpness_command_starts_from_init_weights(tmp_path, capsys):
    weights = Trainer(TrainConfig(stage="nn", hidden_size=20)).initial_weights
    doubled = {name: 2 * w for name, w in weights.items()}
    np.savez(tmp_path / "w.npz", **doubled)
    assert (
        main(
            [
                "sharpness",
                "--stage",
                "nn",
                "--hidden",
                "20",
                "--init-weights",
                str(tmp_path / "w.npz"),
                "--out",
                str(tmp_path / "s.json"),
            ]
        )
        == 0
    )
    config = TrainConfig(stage="nn", hidden_size=20)
    trainer = Trainer(config, weights=doubled)
    expected = measure(trainer, make_probe(config, trainer.data)).value
    assert json.loads((tmp_path / "s.json").read_text())["lambda_max"] == expected


@pytest.mark.parametrize("command", ["sharpness", "train"])
def test_a_negative_spacing_is_one_line_and_exit_2(command, tmp_path, capsys):
    assert main([command, "--sharpness-every", "-5", "--out", str(tmp_path / "x.json")]) == 2
    err = capsys.readouterr().err
    assert err == "error: --sharpness-every -5 is not allowed: a whole number from 0 to 100,000\n"
    assert not (tmp_path / "x.json").exists()


def test_the_sharpness_command_wants_a_json_file(tmp_path, capsys):
    assert main(["sharpness", "--out", str(tmp_path / "x.csv")]) == 2
    assert capsys.readouterr().err == f"error: --out {tmp_path / 'x.csv'}: the file name must end in .json\n"


def test_the_page_offers_the_spacing_and_a_link_carries_it_to_the_run(open_app):
    at = open_app({"sharpness_every": "2", "epochs": "5"})
    control = at.number_input(key="sharpness_every")
    assert (control.label, control.value, control.step) == ("Sharpness every (epochs, 0: auto)", 2, 50)
    assert at.checkbox(key="sharpness").value is True, "a spacing in a link turns the measurements on"
    at.button(key="train").click().run()
    trainer = at.session_state[state.SESSION.name].trainer
    assert trainer.status == "done" and [row["epoch"] for row in trainer.sharpness.rows()] == [0, 2, 4]
    assert open_app().checkbox(key="sharpness").value is False, "off unless asked for"
