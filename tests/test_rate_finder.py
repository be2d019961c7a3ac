"""The learning-rate range test: the rates rise step by step for every stage, it stops where the loss blows up, and
the rate it suggests trains MNIST about as well as the best of a grid of rates."""

import itertools
import json

import numpy as np
import pytest

from twolayer import TrainConfig, Trainer
from twolayer.__main__ import main
from twolayer.teach.rate_finder import BLOW_UP, MAX_STEPS, find_rate, rate_schedule
from twolayer.train.config import DTYPES, STAGES
from twolayer.train.stages import stage_spec
from twolayer.train.trainer import make_dataset

TINY = {"hidden_size": 8, "batch_size": 16, "epochs": 5}
# Every stage in both precisions, with biases too where the network is a Module (the others have none).
RUNS = [
    (stage, dtype, bias)
    for stage in STAGES
    for dtype in DTYPES
    for bias in ((False, True) if stage_spec(stage).has_model else (False,))
]
GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)


@pytest.mark.parametrize(("stage", "dtype", "bias"), RUNS)
def test_the_rates_rise_with_one_loss_each_until_the_loss_blows_up(stage, dtype, bias):
    config = TrainConfig(stage=stage, dtype=dtype, bias=bias, **TINY)
    finding = find_rate(config)
    lrs, smoothed = np.array(finding.lrs), np.array(finding.smoothed)
    assert len(finding.losses) == len(lrs) == len(smoothed) and 3 <= len(lrs) < MAX_STEPS
    assert lrs[0] == pytest.approx(1e-9) and np.all(np.diff(lrs) > 0)
    assert np.all(np.isfinite(finding.losses))
    assert finding.diverged_at is not None and finding.diverged_at >= lrs[-1], "random data blows up below 10"
    lowest = np.minimum.accumulate(smoothed)
    assert np.all(smoothed[:-1] <= BLOW_UP * lowest[:-1]), "it went on only while the loss had not blown up"
    if finding.diverged_at == lrs[-1]:
        assert smoothed[-1] > BLOW_UP * lowest[-1], "stopped by the smoothed loss"
    else:
        assert finding.diverged_at == pytest.approx(lrs[-1] * (lrs[1] / lrs[0])), "stopped by a loss not finite"
    assert lrs[0] < finding.suggested < finding.diverged_at


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_the_suggested_rate_trains_mnist_nearly_as_well_as_the_best_of_a_grid(optimizer):
    config = TrainConfig(stage="optim", optimizer=optimizer, data="mnist5k", hidden_size=100, epochs=10)
    data = make_dataset(config)
    suggested = find_rate(config, data).suggested

    def accuracy(rate: float) -> float:
        trainer = Trainer(config.replace(learning_rate=rate), data=data)
        trainer.advance(config.epochs)
        return trainer.evaluate()["test_accuracy"]

    best = max(accuracy(rate) for rate in GRID)
    assert best > 0.9
    assert accuracy(suggested) >= 0.95 * best, f"{optimizer} at the suggested rate {suggested:.3g}"


@pytest.mark.parametrize("stage", STAGES)
def test_setting_the_rate_scales_the_next_update_in_every_stage(stage):
    config = TrainConfig(stage=stage, dtype="float64", init="shared", **TINY)
    updates = []
    for rate in (1e-5, 2e-5):
        trainer = Trainer(config)
        before = trainer.weights()
        trainer.stage.set_learning_rate(rate)
        trainer.stage.step(*trainer.next_batch())
        updates.append(trainer.weights()["w1"] - before["w1"])
    # The first step of every update rule here, Adam's included, is proportional to the rate.
    np.testing.assert_allclose(updates[1], 2 * updates[0], rtol=1e-6, atol=1e-15)
    assert np.abs(updates[0]).max() > 0


def test_the_batches_are_those_the_runs_first_epoch_takes():
    config = TrainConfig(stage="nn", data="digits", batch_size=100, hidden_size=8, epochs=1)
    stepped, trained = Trainer(config), Trainer(config)
    steps = -(-len(stepped.data.x_train) // config.batch_size)
    losses = [stepped.stage.step(x, y) for x, y in itertools.islice(stepped.batches(), steps)]
    trained.advance(1)
    assert sum(losses) == trained.last_loss()
    after, expected = stepped.weights(), trained.weights()
    assert all(np.array_equal(after[name], expected[name]) for name in expected)


def test_it_starts_from_the_weights_it_is_given():
    config = TrainConfig(stage="autograd", dtype="float64", hidden_size=8, epochs=200)
    trained = Trainer(config)
    trained.advance(200)
    finding = find_rate(config, trained.data, trained.weights(), steps=20)
    assert finding.losses[0] == pytest.approx(trained.last_loss(), rel=1e-2)
    assert find_rate(config, steps=20).losses[0] > 1e3 * finding.losses[0], "a fresh start is far higher"


@pytest.mark.parametrize(
    ("start", "end", "steps", "message"),
    [
        (1e-3, 1e-3, 100, "the rate range 0.001 to 0.001 is empty: the test needs 0 < start < end"),
        (1.0, 1e-3, 100, "the rate range 1 to 0.001 is empty"),
        (0.0, 1.0, 100, "the rate range 0 to 1 is empty"),
        (1e-9, 1.0, 9, "9 steps: the rate test takes 10 to 300 steps"),
        (1e-9, 1.0, 301, "301 steps: the rate test takes 10 to 300 steps"),
    ],
)
def test_an_empty_range_or_a_wrong_number_of_steps_is_refused_in_one_line(start, end, steps, message, capsys):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        rate_schedule(start, end, steps)
    argv = ["lr-find", "--hidden", "4", "--lr-start", str(start), "--lr-end", str(end), "--steps", str(steps)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {message}") and err.count("\n") == 1


def test_the_cli_writes_the_documented_keys_and_prints_one_line(tmp_path, capsys):
    out = tmp_path / "lr.json"
    assert main(["lr-find", "--stage", "tensor", "--hidden", "16", "--out", str(out)]) == 0
    written = json.loads(out.read_text())
    assert set(written) == {"lrs", "losses", "suggested", "diverged_at"}
    assert len(written["lrs"]) == len(written["losses"]) > 10
    assert written["lrs"][0] < written["suggested"] < written["diverged_at"]
    line = capsys.readouterr().out
    assert line.count("\n") == 1 and line.startswith("lr-find: stage=tensor ")
    assert f"suggested learning rate {written['suggested']:.3g}" in line
    assert main(["lr-find", "--out", str(tmp_path / "lr.csv")]) == 2
