"""The written-out Hessian-vector product equals autograd's double backward, in the row space of x and outside it,
and Lanczos started from an earlier measurement's vector finds the same sharpness in a few products."""

import numpy as np
import pytest
import torch

from twolayer import TrainConfig, Trainer
from twolayer.train.curvature import TOLERANCE, lanczos, largest_eigenvalue, measure
from twolayer.train.hessian import ProbeHessian
from twolayer.train.probe import Probe, as_tensors, make_probe, probe_loss


def weights_and_probe(rows: int, inputs: int, bias: bool, seed: int = 0) -> tuple[dict, Probe]:
    rng = np.random.default_rng(seed)
    weights = {"w1": rng.standard_normal((inputs, 7)), "w2": rng.standard_normal((7, 3))}
    if bias:
        weights |= {"b1": rng.standard_normal(7), "b2": rng.standard_normal(3)}
    x, y = rng.standard_normal((rows, inputs)), rng.standard_normal((rows, 3))
    return as_tensors(weights), Probe(torch.as_tensor(x), torch.as_tensor(y))


def autograd_product(weights: dict, probe: Probe, v: dict) -> dict:
    """H v by double backward, per weight."""
    params = {name: w.clone().requires_grad_() for name, w in weights.items()}
    grads = torch.autograd.grad(probe_loss(params, probe), list(params.values()), create_graph=True)
    dot = sum((g * v[name]).sum() for g, name in zip(grads, params, strict=True))
    return dict(zip(params, torch.autograd.grad(dot, list(params.values())), strict=True))


def dense_top(weights: dict, probe: Probe) -> float:
    names, shapes = list(weights), [w.shape for w in weights.values()]
    sizes = [w.numel() for w in weights.values()]

    def loss(flat):
        parts = torch.split(flat, sizes)
        return probe_loss({n: p.reshape(s) for n, p, s in zip(names, parts, shapes, strict=True)}, probe)

    flat = torch.cat([w.reshape(-1) for w in weights.values()])
    return float(torch.linalg.eigvalsh(torch.autograd.functional.hessian(loss, flat))[-1])


@pytest.mark.parametrize("bias", [False, True])
def test_the_written_out_product_is_autograds(bias):
    weights, probe = weights_and_probe(rows=9, inputs=5, bias=bias)  # more rows than inputs: w1 whole
    hessian = ProbeHessian(weights, probe)
    assert not hessian.reduced and hessian.size == sum(w.numel() for w in weights.values())
    v = {
        name: torch.randn(w.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
        for name, w in weights.items()
    }
    expected = hessian.flatten(autograd_product(weights, probe, v))
    np.testing.assert_allclose(hessian.product(hessian.flatten(v)), expected, rtol=1e-12, atol=1e-10)


@pytest.mark.parametrize("bias", [False, True])
def test_in_the_row_space_of_x_the_product_is_autograds_projected(bias):
    weights, probe = weights_and_probe(rows=4, inputs=12, bias=bias)  # 4 rows span 4 of 12 input directions
    hessian = ProbeHessian(weights, probe)
    basis = probe.row_basis
    assert hessian.reduced and basis.shape == (12, 4)
    assert torch.allclose(basis.T @ basis, torch.eye(4, dtype=torch.float64), atol=1e-12)
    generator = torch.Generator().manual_seed(2)
    u = torch.randn(4, 7, dtype=torch.float64, generator=generator)
    v = {name: torch.randn(w.shape, dtype=torch.float64, generator=generator) for name, w in weights.items()}
    v["w1"] = basis @ u  # a direction of w1 inside the row space, in full coordinates
    full = autograd_product(weights, probe, v)
    reduced = [u, *(v[name] for name in ("w2", "b1", "b2") if name in v)]
    got = hessian.product(np.concatenate([t.numpy().reshape(-1) for t in reduced]))
    expected = torch.cat(
        [(basis.T @ full["w1"]).reshape(-1)] + [full[n].reshape(-1) for n in ("w2", "b1", "b2") if n in full]
    )
    np.testing.assert_allclose(got, expected.numpy(), rtol=1e-12, atol=1e-10)
    # ... and a direction outside it is flat: H sends it to 0.
    outside = {name: torch.zeros_like(w) for name, w in weights.items()}
    outside["w1"] = (torch.eye(12, dtype=torch.float64) - basis @ basis.T) @ torch.randn(12, 7, dtype=torch.float64)
    assert all(float(t.abs().max()) < 1e-10 for t in autograd_product(weights, probe, outside).values())


@pytest.mark.parametrize("bias", [False, True])
def test_the_reduced_operators_top_eigenvalue_is_the_dense_hessians(bias):
    weights, probe = weights_and_probe(rows=4, inputs=12, bias=bias, seed=5)
    found = largest_eigenvalue(weights, probe)
    assert found.converged
    assert found.value == pytest.approx(dense_top(weights, probe), rel=10 * TOLERANCE)


def test_a_start_from_the_last_vector_finds_the_same_value_in_a_few_products():
    config = TrainConfig(epochs=150)  # the lecture's run: 64 random rows of 784 inputs, hidden 100
    trainer = Trainer(config)
    probe = make_probe(config, trainer.data)
    trainer.advance(50)
    first = measure(trainer, probe)
    trainer.advance(50)
    cold, warm = measure(trainer, probe), measure(trainer, probe, first.vector)
    assert first.vector is not None and first.vector.shape == (64 * 100 + 100 * 10,), "w1 in the 64-row space"
    assert warm.value == pytest.approx(cold.value, rel=2 * TOLERANCE)
    assert warm.iterations <= cold.iterations / 4, (warm.iterations, cold.iterations)


def test_the_trainer_starts_each_measurement_from_the_last_and_records_the_cold_values():
    config = TrainConfig(stage="tensor", hidden_size=20, epochs=30, sharpness=True, sharpness_every=10)
    trainer = Trainer(config)
    trainer.advance(30)
    probe = make_probe(config, trainer.data)
    again = Trainer(config)
    cold = []
    for epoch in (0, 10, 20):
        again.advance(epoch - again.epoch)
        cold.append(measure(again, probe).value)
    assert trainer.sharpness.column("epoch") == [0, 10, 20]
    assert trainer.sharpness.column("sharpness") == pytest.approx(cold, rel=2 * TOLERANCE)


def test_lanczos_starts_at_random_from_a_vector_that_does_not_fit():
    matrix = np.diag([1.0, 2.0, 5.0])
    for start in (None, np.zeros(3), np.ones(4)):
        found = lanczos(lambda v: matrix @ v, 3, start)
        assert found.value == pytest.approx(5.0, rel=1e-9) and found.converged
