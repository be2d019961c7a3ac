"""The program the page shows for a run, executed: it must give the Trainer's losses, epoch for epoch, exactly."""

import inspect

import numpy as np
import pytest
import torch

from twolayer import TrainConfig, Trainer
from twolayer.teach.program import optimizer_call, program_source
from twolayer.train.config import OPTIMIZERS, STAGES
from twolayer.train.stages import optim_stage, stage_spec

SMALL = {"hidden_size": 16, "epochs": 6}


pytestmark = pytest.mark.usefixtures("program_folder")


def _both(config: TrainConfig) -> tuple[list[float], list[float], str]:
    """The losses of the shown program run as it stands, the Trainer's losses for `config`, and the program."""
    trainer = Trainer(config)
    trainer.advance(config.epochs)
    source = program_source(config, len(trainer.data.x_train))
    namespace = {}  # the program takes nothing from outside
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run overflows, as the Trainer's does
        exec(source, namespace)
    return namespace["losses"], trainer.history.column("loss"), source


def _assert_same_run(config: TrainConfig) -> str:
    program, trainer, source = _both(config)
    # Bit for bit: the program draws the same numbers and runs the same operations in the same order.
    assert program == trainer, f"{config}: the shown program's losses differ from the run's\n{source}"
    return source


CONFIGS = [
    *(TrainConfig(stage=stage, dtype=dtype, **SMALL) for stage in STAGES for dtype in ("float32", "float64")),
    *(TrainConfig(stage=stage, init="shared", **SMALL) for stage in ("numpy", "tensor", "autograd")),
    *(TrainConfig(stage=stage, bias=False, **SMALL) for stage in ("nn", "optim")),
    *(TrainConfig(stage="optim", optimizer=name, learning_rate=1e-3, **SMALL) for name in OPTIMIZERS),
    TrainConfig(stage="nn", seed=7, batch_size=32, learning_rate=3e-4, **SMALL),
]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"{c.stage}-{c.dtype}-{c.init}-bias{c.bias}-{c.optimizer}")
def test_the_shown_program_trains_as_the_run_on_the_lecture_data(config):
    source = _assert_same_run(config)
    assert inspect.getsource(stage_spec(config.stage).train_step) in source, "the step is the stage's real function"


@pytest.mark.parametrize("stage", STAGES)
def test_the_shown_program_trains_as_the_run_on_shuffled_mini_batches(stage):
    config = TrainConfig(stage=stage, data="digits", init="shared", learning_rate=1e-3, batch_size=512, epochs=2)
    source = _assert_same_run(config)
    assert "shuffle_rng.permutation(N)" in source


def test_data_that_fits_one_batch_is_one_step_an_epoch_in_the_program_too():
    source = _assert_same_run(TrainConfig(data="digits", init="shared", batch_size=2048, epochs=3))
    assert "shuffle_rng" not in source


def test_a_diverging_run_stops_at_the_same_epoch_in_the_program():
    config = TrainConfig(stage="tensor", learning_rate=1e-2, hidden_size=16, epochs=50)
    program, trainer, _ = _both(config)
    assert program == trainer and len(trainer) < config.epochs


def test_the_program_shows_the_runs_settings_and_only_its_optimizer():
    config = TrainConfig(stage="optim", optimizer="rmsprop", hidden_size=64, learning_rate=3e-4, epochs=40, seed=5)
    source = program_source(config, config.batch_size)
    for line in ("N, D_in, H, D_out = 64, 784, 64, 10", "learning_rate = 0.0003", "epochs = 40", "seed = 5"):
        assert f"\n{line}\n" in source
    assert "\noptimizer = torch.optim.RMSprop(model.parameters(), lr=learning_rate)\n" in source
    assert source.count("torch.optim.") == 1 and "make_optimizer" not in source


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_each_optimizer_line_is_the_one_make_optimizer_builds(name):
    model = torch.nn.Linear(3, 2)
    built = eval(optimizer_call("optim", name), {"torch": torch, "model": model, "learning_rate": 0.1})
    real = optim_stage.make_optimizer(name, model.parameters(), 0.1)
    assert type(built) is type(real) and built.defaults == real.defaults


def test_the_optim_stage_declares_the_call_of_every_optimizer_a_config_names():
    assert tuple(stage_spec("optim").optimizer_calls) == OPTIMIZERS


def test_an_optimizer_make_optimizer_lacks_is_refused():
    with pytest.raises(ValueError, match="no optimizer 'lbfgs'"):
        optimizer_call("optim", "lbfgs")
