"""The five stages compute the same thing: equal losses, equal gradients, checked in float64."""

import numpy as np
import pytest
import torch

from twolayer import TrainConfig, Trainer
from twolayer.teach.advice import divergence_hint
from twolayer.teach.gradcheck import gradient_check
from twolayer.train.config import STAGES
from twolayer.train.stages import stage_source
from twolayer.train.state import RunState


def _losses(stage, **overrides):
    config = TrainConfig(stage=stage, init="shared", dtype="float64", bias=False, optimizer="sgd", **overrides)
    trainer = Trainer(config)
    trainer.advance(config.epochs)
    assert trainer.status is RunState.DONE, f"{stage}: {divergence_hint(trainer)}"
    return np.array(trainer.history.column("loss"))


def test_all_stages_give_the_same_loss_history_in_float64():
    reference = _losses("numpy")
    assert reference[0] > 100 * reference[-1], "numpy: the loss did not fall"
    for stage in STAGES[1:]:
        losses = _losses(stage)
        assert len(losses) == 500
        rel = np.abs(losses - reference) / reference
        assert rel.max() < 1e-9, f"{stage} vs numpy: max relative gap {rel.max():.2e} at epoch {rel.argmax()}"


def test_manual_gradients_match_autograd_and_finite_differences():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((16, 30)), rng.standard_normal((16, 5))
    w1, w2 = rng.standard_normal((30, 12)), rng.standard_normal((12, 5))
    rows = gradient_check(x, y, w1, w2, samples=30)
    assert len(rows) == 8
    for row in rows:
        tolerance = 1e-12 if "autograd" in row["compared"] and "finite" not in row["compared"] else 1e-6
        assert row["max_rel_error"] < tolerance, f"{row['weight']}: {row['compared']} off by {row['max_rel_error']:.2e}"


def test_gradient_check_catches_a_wrong_gradient(monkeypatch):
    from twolayer.train.stages import numpy_stage

    real = numpy_stage.train_step

    def doubled(*args):
        loss, (g1, g2) = real(*args)
        return loss, (2 * g1, g2)

    monkeypatch.setattr(numpy_stage, "train_step", doubled)
    rng = np.random.default_rng(2)
    rows = gradient_check(
        rng.standard_normal((8, 6)),
        rng.standard_normal((8, 3)),
        rng.standard_normal((6, 4)),
        rng.standard_normal((4, 3)),
    )
    errors = {(r["weight"], r["compared"]): r["max_rel_error"] for r in rows}
    assert errors[("w1", "numpy by hand vs autograd")] > 0.5
    assert errors[("w2", "numpy by hand vs autograd")] < 1e-12


def test_optim_adam_matches_a_plain_torch_adam_loop():
    config = TrainConfig(stage="optim", optimizer="adam", dtype="float64", epochs=100)
    trainer = Trainer(config)
    trainer.advance(100)
    w = trainer.initial_weights
    model = torch.nn.Sequential(torch.nn.Linear(784, 100), torch.nn.ReLU(), torch.nn.Linear(100, 10)).double()
    with torch.no_grad():
        model[0].weight.copy_(torch.from_numpy(w["w1"].T))
        model[0].bias.copy_(torch.from_numpy(w["b1"]))
        model[2].weight.copy_(torch.from_numpy(w["w2"].T))
        model[2].bias.copy_(torch.from_numpy(w["b2"]))
    x, y = torch.from_numpy(trainer.data.x_train), torch.from_numpy(trainer.data.y_train)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    loss_fn = torch.nn.MSELoss(reduction="sum")
    expected = []
    for _ in range(100):
        loss = loss_fn(model(x), y)
        expected.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    np.testing.assert_allclose(trainer.history.column("loss"), expected, rtol=1e-12)
    np.testing.assert_allclose(trainer.weights()["w1"], model[0].weight.detach().numpy().T, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "momentum", "rmsprop"])
def test_every_optimizer_lowers_the_loss(optimizer):
    trainer = Trainer(TrainConfig(stage="optim", optimizer=optimizer, epochs=50, learning_rate=1e-4))
    trainer.advance(50)
    losses = trainer.history.column("loss")
    assert trainer.status is RunState.DONE
    assert losses[-1] < 0.5 * losses[0], f"{optimizer}: {losses[0]:.4g} -> {losses[-1]:.4g}"


@pytest.mark.parametrize("stage", STAGES)
def test_stage_source_is_the_code_that_runs(stage):
    source = stage_source(stage)
    assert "def train_step(" in source
    assert ("backward()" in source) == (stage not in ("numpy", "tensor"))
    if stage == "optim":
        assert "optimizer.step()" in source and "torch.optim.Adam" in source


def test_lecture_numpy_stage_reaches_the_lecture_result():
    trainer = Trainer(TrainConfig(stage="numpy"))
    trainer.advance(500)
    losses = trainer.history.column("loss")
    assert 1e6 < losses[0] < 1e8, "the lecture's randn start gives a loss of ~1e7"
    assert losses[-1] < 1e-2
