"""Runs that go wrong without overflowing are named, with a cause and a rate a trial showed to work."""

import re
from types import SimpleNamespace

import numpy as np
import pytest

from twolayer import TrainConfig, Trainer
from twolayer.__main__ import main
from twolayer.teach.advice import trial_losses
from twolayer.teach.verdict import Trouble, _judge, explanation, verdict
from twolayer.train.state import RunState


def trained(**settings) -> Trainer:
    trainer = Trainer(TrainConfig(**settings))
    trainer.advance(trainer.config.epochs)
    assert trainer.status is RunState.DONE
    return trainer


def suggested_rate(words: str) -> float:
    return float(re.search(r"set the learning rate to ([0-9.e+-]+)\.", words).group(1))


def test_adam_at_a_rate_of_one_ends_above_its_start_and_a_smaller_rate_is_offered():
    trainer = trained(stage="optim", learning_rate=1.0, epochs=100)
    found = verdict(trainer)
    assert found.trouble is Trouble.ENDED_ABOVE
    assert found.summary == "ended above its start: 3,114 against 662.8 at epoch 0"
    words = explanation(trainer)
    assert "The learning rate is too high." in words and "Adam moves every weight by about the learning rate" in words
    rate = suggested_rate(words)
    assert rate < 1.0
    assert trial_losses(trainer, rate)[-1] < trial_losses(trainer, 1.0)[-1], "the offered rate did better"


def test_a_rate_far_too_low_stalls_far_from_zero_and_a_larger_rate_is_offered():
    trainer = trained(stage="numpy", learning_rate=1e-10)
    found = verdict(trainer)
    assert found.trouble is Trouble.STALLED and "times what answering 0 costs" in found.summary
    words = explanation(trainer)
    assert "The learning rate is too low: the loss barely moved over the last half." in words
    assert suggested_rate(words) > 1e-10


def test_a_run_that_learned_almost_nothing_stalled():
    trainer = trained(stage="optim", optimizer="sgd", learning_rate=1e-7)
    assert verdict(trainer).summary == "stalled far from zero: 642, 1.05 times what answering 0 costs (614)"
    assert "The learning rate is too low: the loss barely moved over the last half." in explanation(trainer)


def test_a_run_whose_hidden_units_died_says_so():
    trainer = trained(stage="optim", learning_rate=1.0, epochs=500)
    assert verdict(trainer).trouble is Trouble.STALLED
    assert explanation(trainer).startswith("The loss stalled far from zero")
    assert f"Units dead: {trainer.dead_units()} of 100 hidden units" in explanation(trainer)


@pytest.mark.parametrize(
    "settings",
    [
        {"stage": "numpy"},
        {"stage": "optim"},
        {"stage": "optim", "data": "digits", "epochs": 30, "learning_rate": 1e-3},
        {"stage": "optim", "epochs": 5, "learning_rate": 1.0},  # too short to judge
        {"stage": "numpy", "epochs": 30},  # short, but still falling fast: not stalled
        {"stage": "numpy", "learning_rate": 1e-8},  # slow, but a sixth of its start and still falling
    ],
)
def test_runs_that_went_well_or_are_too_short_get_no_verdict(settings):
    trainer = trained(**settings)
    assert verdict(trainer) is None and explanation(trainer) is None


def test_a_loss_that_fell_then_climbed_rose_for_most_of_the_run():
    losses = np.concatenate([np.linspace(100, 10, 20), np.linspace(10, 60, 80)])
    run = SimpleNamespace(
        status=RunState.DONE,
        loss_curve=lambda: (np.arange(100), losses),
        data=SimpleNamespace(y_train=np.ones((10, 10))),
    )
    assert _judge(run).summary == "rose for most of the run: lowest 10 at epoch 19, then up to 60"


def test_train_says_what_went_wrong_on_stderr_and_still_exits_done(capsys):
    assert main(["train", "--stage", "optim", "--lr", "1", "--epochs", "100", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("The loss ended above its start: 3,114 against 662.8 at epoch 0. The learning rate is too")


def test_the_sweep_table_uses_the_same_words(capsys):
    assert main(["sweep", "--vary", "lr=1e-4,1", "--stage", "optim", "--epochs", "100"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("1 "))
    assert "ended above its start: 3,114 against 662.8 at epoch 0" in row


def test_the_page_says_what_went_wrong_after_the_run(open_app):
    at = open_app({"stage": "optim", "lr": "1", "epochs": "100"}).button(key="train").click().run()
    boxes = [box.value for box in at.warning]
    assert any(box.startswith("**This run went wrong.** The loss ended above its start: 3,114") for box in boxes)
