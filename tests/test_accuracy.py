"""Real data learns: the handwritten digits reach the accuracies the README states."""

import pytest

from twolayer import TrainConfig, Trainer
from twolayer.train.state import RunState


@pytest.mark.parametrize(
    ("settings", "floor"),
    [
        ({}, 0.90),  # the defaults: hidden 100, Adam at 1e-4, 500 epochs
        ({"hidden_size": 256, "learning_rate": 1e-3, "epochs": 100}, 0.97),  # the README's recommendation
    ],
)
def test_digits_test_accuracy(settings, floor):
    config = TrainConfig(stage="optim", data="digits", eval_every=50, **settings)
    trainer = Trainer(config)
    trainer.advance(config.epochs)
    accuracy = trainer.evals.column("test_accuracy")[-1]
    assert trainer.status is RunState.DONE
    assert accuracy > floor, f"test accuracy {accuracy:.3f} with {settings or 'the defaults'}"
    assert len(trainer.data.x_test) == 359 and trainer.data.input_size == 64


def test_mnist_sample_test_accuracy():
    """The README's MNIST sample row: 784 real pixels, ten epochs of Adam reach at least 88% on the 1,000 held out."""
    config = TrainConfig(stage="optim", data="mnist5k", hidden_size=100, learning_rate=1e-3, epochs=10, eval_every=5)
    trainer = Trainer(config)
    trainer.advance(config.epochs)
    accuracy = trainer.evals.column("test_accuracy")[-1]
    assert trainer.status is RunState.DONE
    assert accuracy >= 0.88, f"test accuracy {accuracy:.3f} on mnist5k"
    assert len(trainer.data.x_test) == 1000 and trainer.data.input_size == 784
