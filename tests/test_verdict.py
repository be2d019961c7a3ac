"""Runs that go wrong without overflowing are named, with a cause and a rate a trial showed to work."""

import re
from types import SimpleNamespace

import numpy as np
import pytest

from twolayer import TrainConfig, Trainer
from twolayer.__main__ import main
from twolayer.teach.advice import divergence_hint, start_edge, trial_losses
from twolayer.teach.verdict import Trouble, _judge, explanation, verdict
from twolayer.train.curvature import measure
from twolayer.train.probe import make_probe
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
    assert (
        "At the start the loss's sharpness (its largest curvature, on the 64 rows of one step) was λ0 = 1368, which "
        "makes plain gradient steps unstable above a learning rate of 2/λ0 = 0.00146; but Adam divides each weight's "
        "step by the size of that weight's past gradients, so that limit does not bound this run's 1"
    ) in words
    rate = suggested_rate(words)
    assert rate < 1.0
    assert trial_losses(trainer, rate)[-1] < trial_losses(trainer, 1.0)[-1], "the offered rate did better"


def test_a_blow_up_of_plain_steps_names_the_edge_at_its_start_and_a_rate_inside_it():
    config = TrainConfig(stage="optim", optimizer="sgd", learning_rate=3e-3, epochs=100)
    trainer = Trainer(config)
    trainer.advance(100)
    assert trainer.status is RunState.DIVERGED
    start = measure(Trainer(config), make_probe(config, trainer.data))
    assert f"{start.value:.4g}" == "1368" and start_edge(trainer).sharpness == start.value
    hint = divergence_hint(trainer)
    assert (
        "was λ0 = 1368: plain gradient steps are unstable above a learning rate of 2/λ0 = 0.00146, and this run's "
        "0.003 is 2.05 times that. Half that limit, 0.00073, keeps the steps inside it: a trial of 10 epochs from the "
        "same start at 0.00073 lowered the loss from 662.8 to 24.16, so set the learning rate to 0.00073."
    ) in hint
    assert suggested_rate(hint) == float(f"{1 / start.value:.2g}")
    retried = trained(stage="optim", optimizer="sgd", learning_rate=suggested_rate(hint), epochs=100)
    assert retried.history.column("loss")[-1] < 1e-2 * retried.history.column("loss")[0]


def test_plain_steps_that_rose_get_a_rate_from_the_edge():
    trainer = trained(stage="optim", optimizer="sgd", learning_rate=2e-3, epochs=100)
    assert verdict(trainer).trouble is Trouble.ROSE
    words = explanation(trainer)
    assert "The learning rate is too high. Each step moves the weights by the learning rate times the gradient" in words
    assert "2/λ0 = 0.00146, and this run's 0.002 is 1.37 times that" in words
    assert suggested_rate(words) == 0.00073


def test_momentum_that_blew_up_below_its_edge_keeps_the_trial():
    trainer = Trainer(TrainConfig(stage="optim", optimizer="momentum", learning_rate=2e-3, epochs=100))
    trainer.advance(100)
    hint = divergence_hint(trainer)
    assert (
        "gradient steps with momentum 0.9 are unstable above a learning rate of 3.8/λ0 = 0.00278, and this run's "
        "0.002 is below it, so its first steps were stable and the trouble came later in the run. A trial from the "
        "same start at a learning rate of 0.0002 lowered the loss over 10 epochs: set the learning rate to 0.0002."
    ) in hint


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
