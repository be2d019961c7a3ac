"""The sharpness is the top eigenvalue of the probe loss's Hessian, the same in every stage and precision, and judges
each update rule against its own threshold."""

import numpy as np
import pytest
import torch

from twolayer import Dataset, TrainConfig, Trainer
from twolayer.train.config import STAGES
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
