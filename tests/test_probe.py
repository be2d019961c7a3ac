"""The probe's loss is the loss a step of the run takes, for every stage, with and without biases."""

import numpy as np
import pytest

from twolayer import TrainConfig, Trainer
from twolayer.train.config import STAGES
from twolayer.train.probe import as_tensors, make_probe, probe_loss


@pytest.mark.parametrize("stage", STAGES)
def test_the_probe_loss_is_the_first_steps_loss(stage):
    config = TrainConfig(stage=stage, dtype="float64", hidden_size=8, epochs=2, init="shared")
    trainer = Trainer(config)
    probe = make_probe(config, trainer.data)
    assert probe.rows == 64, "random data fits one batch: every row"
    start = probe_loss(as_tensors(trainer.weights()), probe).item()
    trainer.advance(1)
    assert start == pytest.approx(trainer.history.column("loss")[0], rel=1e-12)


def test_a_mini_batch_run_probes_a_fixed_batch_drawn_with_its_seed():
    config = TrainConfig(stage="optim", data="digits", batch_size=32, hidden_size=8, epochs=1)
    trainer = Trainer(config)
    first, again = make_probe(config, trainer.data), make_probe(config, trainer.data)
    assert first.rows == 32 and np.array_equal(first.x.numpy(), again.x.numpy())
    other = make_probe(config.replace(seed=1), trainer.data)
    assert not np.array_equal(first.x.numpy(), other.x.numpy()), "another seed probes other rows"
    rows = {tuple(row) for row in trainer.data.x_train.tolist()}
    assert all(tuple(row) in rows for row in first.x.tolist()), "probe rows are training rows"
