"""Recording one step: the recorded values are the step's real values, and recording never changes the run."""

import json
import sys

import numpy as np
import pytest

from twolayer import Dataset, TrainConfig, Trainer
from twolayer.charts.step import block_means, graph_column_figure, matrix_figure, update_figure
from twolayer.teach.step_record import describe, record_step
from twolayer.train.config import STAGES
from twolayer.train.stages.phases import PHASES
from twolayer.train.state import RunState

N, D_IN, HIDDEN, D_OUT = 16, 20, 12, 5  # all different, so each axis has one name
TRAINED = 3  # epochs before the recorded step
ADAM_BETAS, ADAM_EPS = (0.9, 0.999), 1e-8  # torch.optim.Adam's defaults
RTOL = 1e-10  # float64 throughout: only rounding may differ


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return Dataset("test", rng.standard_normal((N, D_IN)), rng.standard_normal((N, D_OUT)))


def _start_weights():
    """The weights every test run starts from, drawn afresh each time: a float64 NumPy stage trains them in place."""
    rng = np.random.default_rng(1)
    return {"w1": rng.uniform(-0.3, 0.3, (D_IN, HIDDEN)), "w2": rng.uniform(-0.3, 0.3, (HIDDEN, D_OUT))}


def _trainer(stage, epochs=10):
    config = TrainConfig(
        stage=stage, dtype="float64", init="shared", bias=False, hidden_size=HIDDEN, batch_size=N, epochs=epochs
    )
    return Trainer(config, data=_data(), weights=_start_weights())


def _reference_step(trainer, steps):
    """The lecture's step in plain NumPy, run `steps` times from the run's initial weights; the last one's values."""
    x, y, lr = trainer.data.x_train, trainer.data.y_train, trainer.config.learning_rate
    w1, w2 = _start_weights().values()
    adam = trainer.config.stage == "optim"
    moments = {"w1": [0.0, 0.0], "w2": [0.0, 0.0]}  # Adam's exp_avg and exp_avg_sq
    for step in range(1, steps + 1):
        v = {"w1": w1.copy(), "w2": w2.copy(), "moments_before": {k: list(m) for k, m in moments.items()}}
        v["h"] = x @ w1
        v["h_relu"] = np.maximum(v["h"], 0)
        v["y_pred"] = v["h_relu"] @ w2
        v["loss"] = np.square(v["y_pred"] - y).sum()
        v["grad_y_pred"] = 2.0 * (v["y_pred"] - y)
        v["grad_w2"] = v["h_relu"].T @ v["grad_y_pred"]
        v["grad_h_relu"] = v["grad_y_pred"] @ w2.T
        v["grad_h"] = v["grad_h_relu"] * (v["h"] > 0)
        v["grad_w1"] = x.T @ v["grad_h"]
        for name, weight in (("w1", w1), ("w2", w2)):
            grad = v[f"grad_{name}"]
            if adam:
                (b1, b2), m = ADAM_BETAS, moments[name]
                m[0] = b1 * m[0] + (1 - b1) * grad
                m[1] = b2 * m[1] + (1 - b2) * grad**2
                corrected_avg, corrected_sq = m[0] / (1 - b1**step), m[1] / (1 - b2**step)
                weight -= lr * corrected_avg / (np.sqrt(corrected_sq) + ADAM_EPS)
            else:
                weight -= lr * grad
        v["w1_after"], v["w2_after"], v["moments_after"] = w1.copy(), w2.copy(), moments
    return v


def _assert_close(what, got, want):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}"
    error = np.abs(got - want).max() / max(np.abs(want).max(), 1e-300)
    assert error <= RTOL, f"{what}: relative error {error:.2e} over {RTOL:.0e}"


@pytest.mark.parametrize("stage", STAGES)
def test_recorded_values_equal_an_independent_numpy_step(stage):
    trainer = _trainer(stage)
    trainer.advance(TRAINED)
    recording = record_step(trainer.stage, trainer._x, trainer._y)
    ref = _reference_step(trainer, TRAINED + 1)
    got = recording.values

    def check(name, want):
        assert name in got, f"{stage}: {name} was not recorded; recorded {sorted(got)}"
        _assert_close(f"{stage}: {name}", got[name], want)

    _assert_close(f"{stage}: loss", recording.loss, ref["loss"])
    assert recording.finite
    assert recording.dims == {"N": N, "D_in": D_IN, "H": HIDDEN, "D_out": D_OUT}
    check("y_pred", ref["y_pred"])
    if stage in ("numpy", "tensor"):
        for name in ("h", "h_relu", "loss", "grad_y_pred", "grad_w2", "grad_h_relu", "grad_h", "grad_w1"):
            check(name, ref[name])
    if stage == "autograd":
        check("w1.grad", ref["grad_w1"])
        check("w2.grad", ref["grad_w2"])
    if stage in ("numpy", "tensor", "autograd"):
        for name in ("w1", "w2"):
            check(f"{name}.before", ref[name])
            check(name, ref[f"{name}_after"])
            # The step itself, far smaller than the weights, is checked on its own.
            _assert_close(
                f"{stage}: {name} change", got[name] - got[f"{name}.before"], ref[f"{name}_after"] - ref[name]
            )
    if stage in ("nn", "optim"):
        check("model.0", ref["h"])
        check("model.1", ref["h_relu"])
        check("model.2", ref["y_pred"])
        for path, name in (("model.0.weight", "w1"), ("model.2.weight", "w2")):
            check(f"{path}.grad", ref[f"grad_{name}"].T)  # nn.Linear keeps (out, in): the lecture's transpose
            check(f"{path}.before", ref[name].T)
            check(path, ref[f"{name}_after"].T)
            _assert_close(
                f"{stage}: {path} change", got[path] - got[f"{path}.before"], (ref[f"{name}_after"] - ref[name]).T
            )
    if stage == "optim":
        for path, name in (("model.0.weight", "w1"), ("model.2.weight", "w2")):
            state = f"optimizer.state.{path}"
            for i, key in enumerate(("exp_avg", "exp_avg_sq")):
                check(f"{state}.{key}.before", ref["moments_before"][name][i].T)
                check(f"{state}.{key}", ref["moments_after"][name][i].T)
            assert got[f"{state}.step.before"] == TRAINED and got[f"{state}.step"] == TRAINED + 1


@pytest.mark.parametrize("stage", STAGES)
def test_recording_does_not_change_the_run(stage):
    plain, recorded = _trainer(stage), _trainer(stage)
    plain.advance(10)
    for epochs in (0, 4, 5):  # before the first step, in the middle and before the last
        recorded.advance(epochs - recorded.epoch)
        weights = recorded.weights()
        state = _optimizer_state(recorded)
        record_step(recorded.stage, recorded._x, recorded._y)
        for name, before in weights.items():
            assert np.array_equal(recorded.weights()[name], before), f"{stage}: recording changed {name}"
        assert _optimizer_state(recorded).keys() == state.keys()
        for key, before in state.items():
            assert np.array_equal(_optimizer_state(recorded)[key], before), f"{stage}: recording changed {key}"
    recorded.advance(10)
    assert recorded.status is plain.status is RunState.DONE
    assert recorded.history.column("loss") == plain.history.column("loss"), f"{stage}: losses differ"
    for name, weight in plain.weights().items():
        assert np.array_equal(recorded.weights()[name], weight), f"{stage}: final {name} differs"


def _optimizer_state(trainer):
    optimizer = getattr(trainer.stage, "optimizer", None)
    if optimizer is None:
        return {}
    return {
        (i, key): value.detach().clone().numpy()
        for i, state in enumerate(optimizer.state.values())
        for key, value in state.items()
    }


def test_the_trace_function_is_restored_and_training_runs_untraced():
    trainer = _trainer("autograd")
    seen_in_training = []
    real_step = trainer.stage.train_step

    def watched_step(*args):
        seen_in_training.append(sys.gettrace())
        return real_step(*args)

    def outer_tracer(frame, event, arg):
        return None

    before = sys.gettrace()
    sys.settrace(outer_tracer)  # a tracer already there (a debugger, coverage) must come back
    try:
        record_step(trainer.stage, trainer._x, trainer._y)
        assert sys.gettrace() is outer_tracer
        with pytest.raises(RuntimeError):  # a step that fails: x of the wrong width
            record_step(trainer.stage, trainer._x[:, :3], trainer._y)
        assert sys.gettrace() is outer_tracer
    finally:
        sys.settrace(before)
    assert sys.gettrace() is before
    record_step(trainer.stage, trainer._x, trainer._y)
    trainer.stage.train_step = watched_step
    trainer.advance(3)
    assert seen_in_training == [before] * 3, "training ran under a tracer"


def _line(recording, start):
    """The recorded line whose source starts with `start`."""
    return next(line for line in recording.lines if line.source.startswith(start))


@pytest.mark.parametrize("stage", STAGES)
def test_phases_run_forward_loss_backward_update(stage):
    trainer = _trainer(stage)
    trainer.advance(TRAINED)
    recording = record_step(trainer.stage, trainer._x, trainer._y)
    phases = [line.phase for line in recording.lines]
    assert sorted(phases, key=PHASES.index) == phases, f"{stage}: phases out of order: {phases}"
    assert set(phases) == set(PHASES), f"{stage}: phases {phases}"
    sources = [line.source for line in recording.lines]
    assert not any(source.startswith(("if ", "return")) for source in sources), f"{stage}: control flow shown"
    loss = _line(recording, "loss =")
    assert loss.phase == "loss" and loss.names == ["loss"]
    if stage in ("numpy", "tensor"):
        assert _line(recording, "grad_h_relu =").phase == "backward"
        assert _line(recording, "w1 -=").names == ["w1"] and _line(recording, "w1 -=").phase == "update"
    if stage == "autograd":
        assert _line(recording, "loss.backward()").names == ["w1.grad", "w2.grad"]
        assert _line(recording, "with torch.no_grad():").phase == "update"
    if stage in ("nn", "optim"):
        assert _line(recording, "y_pred = model(x)").names == ["model.0", "model.1", "model.2", "y_pred"]
        assert _line(recording, "loss.backward()").names == ["model.0.weight.grad", "model.2.weight.grad"]
    if stage == "nn":
        assert _line(recording, "param -=").names == ["model.0.weight", "model.2.weight"]
    if stage == "optim":
        assert _line(recording, "optimizer.step()").phase == "update"


@pytest.mark.parametrize("stage", ["autograd", "nn"])
def test_the_autograd_graph_leads_from_the_loss_to_the_weights(stage):
    trainer = _trainer(stage)
    trainer.advance(1)
    graph = record_step(trainer.stage, trainer._x, trainer._y).graph
    names = [node["name"] for node in graph["nodes"]]
    weights = ["w1", "w2"] if stage == "autograd" else ["model.0.weight", "model.2.weight"]
    assert names[0] == ("SumBackward0" if stage == "autograd" else "MseLossBackward0")
    assert names.count("MmBackward0") == 2
    assert sorted(node["param"] for node in graph["nodes"] if node["name"] == "AccumulateGrad") == weights
    if stage == "autograd":
        assert {"PowBackward0", "SubBackward0"} <= set(names) and any(n.startswith("Clamp") for n in names)
    # Every node but the loss is reached by an edge, and each edge goes one level deeper.
    assert sorted({child for _, child in graph["edges"]}) == list(range(1, len(names)))
    depths = [node["depth"] for node in graph["nodes"]]
    assert all(depths[child] == depths[parent] + 1 for parent, child in graph["edges"])
    assert graph["filled"] == [f"{w}.grad" for w in weights]
    figure = graph_column_figure(graph)
    shapes, annotations = figure.layout.shapes, figure.layout.annotations
    assert len(figure.layout.shapes) == len(names)
    assert len(figure.layout.annotations) == len(names) + len(graph["edges"])
    assert sum(shape.fillcolor != "white" for shape in figure.layout.shapes) == 2  # the two weights given a .grad
    # A box per node, each depth a row, the loss alone on top; each box names its function and the weight it fills.
    centres = [((box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2) for box in shapes]
    assert [y for _, y in centres] == [-depth for depth in depths]
    texts = [annotation.text for annotation in annotations[: len(names)]]
    assert [text.split("<br>")[0] for text in texts] == names
    assert sorted(text.split("→ ")[1] for text in texts if "→" in text) == weights
    # An arrow per edge, from the bottom of the parent's box down to the top of the child's.
    for (parent, child), arrow in zip(graph["edges"], annotations[len(names) :], strict=True):
        assert (arrow.ax, arrow.ay) == (centres[parent][0], shapes[parent].y0)
        assert (arrow.x, arrow.y) == (centres[child][0], shapes[child].y1)
    # Every row in view, and the figure as tall as its rows need.
    assert figure.layout.yaxis.range[0] < -max(depths) and figure.layout.yaxis.range[1] > 0
    assert figure.layout.height > 58 * (max(depths) + 1)


def test_hand_written_stages_have_no_graph():
    trainer = _trainer("tensor")
    assert record_step(trainer.stage, trainer._x, trainer._y).graph is None


def test_a_step_that_overflows_stops_at_the_loss():
    trainer = _trainer("numpy")
    trainer.stage.w1 *= 1e200  # h is about 1e200, so y_pred is about 1e200 and its square overflows
    with np.errstate(over="ignore", invalid="ignore"):
        recording = record_step(trainer.stage, trainer._x, trainer._y)
    assert not recording.finite and recording.loss == np.inf
    assert [line.phase for line in recording.lines] == ["forward"] * 3 + ["loss"]
    assert "grad_w1" not in recording.values and "w1" not in recording.values
    saved = json.loads(recording.to_json())
    assert saved["loss"] == "inf" and saved["finite"] is False
    assert saved["lines"][-1]["names"][0]["value"] == "inf"


def test_to_json_and_save_npz_hold_every_value(tmp_path):
    trainer = _trainer("numpy")
    trainer.advance(TRAINED)
    recording = record_step(trainer.stage, trainer._x, trainer._y)
    saved = json.loads(recording.to_json())
    assert [line["lineno"] for line in saved["lines"]] == [line.lineno for line in recording.lines]
    first = saved["lines"][0]
    assert first["source"].startswith("h = x @ w1") and first["phase"] == "forward"
    h = first["names"][0]
    assert h["name"] == "h" and h["shape"] == [N, HIDDEN] and h["dims"] == ["N", "H"]
    assert h["mean"] == pytest.approx(recording.values["h"].mean(), rel=1e-12)
    assert [entry["name"] for entry in saved["inputs"]] == ["x", "y", "learning_rate", "w1.before", "w2.before"]
    path = tmp_path / "step.npz"
    recording.save_npz(path)
    with np.load(path) as npz:
        assert sorted(npz.files) == sorted(recording.values)
        assert np.array_equal(npz["grad_w1"], recording.values["grad_w1"])
        assert float(npz["loss"]) == recording.loss


def test_describe_gives_statistics_and_dimension_names():
    matrix = np.array([[0.0, 1.0, -2.0], [3.0, 0.0, 0.0]], dtype=np.float32)
    stats = describe("m", matrix, {"N": 2, "H": 3})
    assert stats["shape"] == [2, 3] and stats["dims"] == ["N", "H"] and stats["dtype"] == "float32"
    assert (stats["min"], stats["max"], stats["zeros"]) == (-2.0, 3.0, 0.5)
    assert stats["mean"] == pytest.approx(1 / 3) and stats["std"] == pytest.approx(np.std([0, 1, -2, 3, 0, 0]))
    assert describe("loss", 2.5) == {"name": "loss", "shape": [], "dims": [], "dtype": "float", "value": 2.5}
    # Equal sizes: the lecture's order N, D_in, H, D_out decides, and each axis takes a name not yet used.
    dims = {"D_out": 4, "H": 7, "D_in": 4, "N": 4}
    assert describe("a", np.zeros((4, 4)), dims)["dims"] == ["N", "D_in"]
    assert describe("b", np.zeros((7, 4)), dims)["dims"] == ["H", "N"]
    assert describe("c", np.zeros((5,)), dims)["dims"] == [None]
    assert describe("d", np.zeros((3, 7)))["zeros"] == 1.0


def test_block_means_shrinks_by_averaging_blocks():
    assert block_means(np.ones((784, 100))).shape == (61, 50)  # blocks of 13 x 2; the last row of blocks holds 4
    assert block_means(np.ones((10, 3000))).shape == (10, 64)  # blocks of 1 x 47
    small = np.arange(12.0).reshape(3, 4)
    assert np.array_equal(block_means(small), small)
    column = np.arange(5.0).reshape(5, 1)
    assert block_means(column, max_side=2).tolist() == [[1.0], [3.5]]  # means of 0,1,2 and of 3,4 (a partial block)
    matrix = np.random.default_rng(0).standard_normal((128, 64))
    expected = matrix.reshape(64, 2, 64, 1).mean(axis=(1, 3))
    np.testing.assert_allclose(block_means(matrix), expected, rtol=1e-12)


def test_figures_show_the_true_shape_and_centre_colours_on_zero():
    weights = np.random.default_rng(0).standard_normal((784, 100))
    figure = matrix_figure("w1", weights, "D_in x H")
    assert figure.layout.title.text.startswith("w1: D_in x H = 784 x 100")
    assert np.shape(figure.data[0].z) == (61, 50) and figure.data[0].zmid == 0
    after = weights - 0.01 * weights
    update = update_figure(weights, after, "w1")
    assert [np.shape(trace.z) for trace in update.data] == [(61, 50)] * 3
    np.testing.assert_allclose(update.data[2].z, block_means(after - weights), rtol=1e-12)
    assert update.layout.coloraxis.cmax == pytest.approx(np.abs(weights).max())
