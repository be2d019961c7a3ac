"""The "Inside a step" tab, driven headless with AppTest: lines, values, scrubbing, caching, and an unchanged run."""

import html
import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from page import state, step_view
from twolayer import TrainConfig, Trainer
from twolayer.charts.step import MAX_FIRING_ROWS, firing_figure, units_shown
from twolayer.train.state import RunState


def step(at: AppTest) -> AppTest:
    return at.button(key="step").click().run()


def code_html(at: AppTest) -> str:
    """The tab's rendering of train_step (the code with a phase legend, not the training tab's panel)."""
    return next(h.proto.body for h in at.html if "tl-legend" in h.proto.body)


def text(fragment: str) -> str:
    """HTML as a reader sees it: tags dropped, entities undone."""
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def highlighted(at: AppTest) -> str:
    """The source text of the highlighted line."""
    body = code_html(at)
    start = body.index('class="tl-line tl-current')
    source = body[body.index('class="tl-src">', start) + len('class="tl-src">') :]
    return text(source[: source.index("</div>")]).strip()


def line_header(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("**Line "))


def no_errors(at: AppTest) -> None:
    assert not at.exception, at.exception
    assert not [e.value for e in at.error], [e.value for e in at.error]


def test_before_any_run_the_tab_only_hints(open_app):
    at = open_app()
    assert any("Press **Train** or **Step** first" in m.value for m in at.markdown)
    assert not any("tl-legend" in h.proto.body for h in at.html), "no code view before a run"
    assert state.STEP_SLIDER.name not in [s.key for s in at.slider]


def test_step_shows_each_recorded_line_with_its_values(open_app):
    at = step(open_app({"epochs": "5"}))
    no_errors(at)
    recording = at.session_state[state.STEP_RECORDED.name].recording
    assert [line.names for line in recording.lines][:3] == [["h"], ["h_relu"], ["y_pred"]]
    assert "h_relu = np.maximum(h, 0)" in text(code_html(at))
    assert line_header(at).startswith("**Line 1 of 11**")
    assert highlighted(at).startswith("h = x @ w1"), highlighted(at)
    assert any(m.value.startswith("**`h`** · N x H = 64 x 100") for m in at.markdown)

    # The slider moves the highlight; the loss line shows the step's loss as a number.
    at.slider(key=state.STEP_SLIDER.name).set_value(4).run()
    assert highlighted(at).startswith("loss = float(np.square(y_pred - y).sum())")
    assert line_header(at).startswith("**Line 4 of 11**")
    loss = next(m for m in at.metric if m.label.startswith("loss"))
    assert float(loss.value) == pytest.approx(recording.loss, rel=1e-5)

    # Next and Previous walk the lines in the order they ran, and stop at the ends.
    at.button(key="step_next").click().run()
    assert highlighted(at).startswith("grad_y_pred = 2.0 * (y_pred - y)")
    for _ in range(6):
        at.button(key="step_next").click().run()
    assert line_header(at).startswith("**Line 11 of 11**")
    assert at.button(key="step_next").disabled
    at.button(key="step_prev").click().run()
    assert highlighted(at).startswith("w1 -= learning_rate * grad_w1")
    no_errors(at)


def test_each_value_is_described_by_its_real_statistics(open_app):
    at = step(open_app({"epochs": "5"}))
    at.slider(key=state.STEP_SLIDER.name).set_value(8).run()  # grad_h = grad_h_relu * (h > 0)
    recording = at.session_state[state.STEP_RECORDED.name].recording
    info = recording.describe("grad_h")
    captions = " ".join(c.value for c in at.caption)
    assert f"min {info['min']:.4g} · max {info['max']:.4g}" in captions
    assert f"zeros {info['zeros']:.1%}" in captions
    share = np.mean(recording.values["h"] > 0)
    assert f"{share:.1%} pass" in captions, "the ReLU line shows the mask of units that let the gradient through"


def test_recording_leaves_the_run_unchanged_and_happens_once_per_epoch(monkeypatch, open_app):
    calls = []
    record = step_view.record_next_step

    def counted(trainer):
        calls.append(trainer.epoch)
        return record(trainer)

    monkeypatch.setattr(step_view, "record_next_step", counted)
    at = step(open_app({"stage": "optim", "epochs": "5"}))
    for _ in range(3):
        at.button(key="step_next").click().run()
    assert calls == [1], "scrubbing must reuse the recording of this epoch"
    step(at)
    step(at)
    assert calls == [1, 2, 3]
    no_errors(at)

    alone = Trainer(TrainConfig(stage="optim", epochs=5))
    alone.advance(3)
    assert at.session_state[state.SESSION.name].trainer.history.column("loss") == alone.history.column("loss")


def test_optimizer_step_shows_adam_state_before_and_after(open_app):
    at = step(open_app({"stage": "optim", "epochs": "5"}))
    at.slider(key=state.STEP_SLIDER.name).set_value(6).run()
    assert highlighted(at).startswith("optimizer.step()")
    shown = " ".join(m.value for m in at.markdown)
    assert "optimizer.state.model.0.weight.exp_avg`" in shown and "exp_avg_sq`" in shown
    at.selectbox(key=state.STEP_PARAM.name).set_value("model.2.weight").run()
    shown = " ".join(m.value for m in at.markdown)
    assert "optimizer.state.model.2.weight.exp_avg`" in shown
    assert "optimizer.state.model.0.weight.exp_avg`" not in shown
    step_count = next(m for m in at.metric if m.label.startswith("optimizer.state.model.2.weight.step"))
    assert float(step_count.value) == 2.0, "the second step of Adam"
    no_errors(at)


def test_backward_line_draws_the_graph_and_names_the_filled_gradients(open_app):
    at = step(open_app({"stage": "autograd", "epochs": "5"}))
    at.slider(key=state.STEP_SLIDER.name).set_value(6).run()
    assert highlighted(at).startswith("loss.backward()")
    captions = " ".join(c.value for c in at.caption)
    assert "(green): w1.grad, w2.grad." in captions
    titles = [chart.proto.spec for chart in at.get("plotly_chart")]
    assert any("backward() walks this graph" in spec for spec in titles)
    no_errors(at)


def test_a_line_without_a_value_says_what_it_does(open_app):
    at = step(open_app({"stage": "autograd", "epochs": "5"}))
    at.slider(key=state.STEP_SLIDER.name).set_value(4).run()  # w1.grad = None
    assert any("It makes no new value." in m.value for m in at.markdown)


def test_a_new_stage_keeps_the_highlight_within_its_lines(open_app):
    at = step(open_app({"stage": "numpy", "epochs": "5"}))
    at.slider(key=state.STEP_SLIDER.name).set_value(11).run()
    at.button(key="reset").click().run()
    at.selectbox(key="stage").set_value("optim").run()
    step(at)
    no_errors(at)
    assert line_header(at).startswith("**Line 6 of 6**")
    assert highlighted(at).startswith("optimizer.step()")


def test_a_diverged_run_shows_the_overflowed_step(open_app):
    at = open_app({"stage": "tensor", "lr": "0.001"})
    at.button(key="train").click().run()
    assert at.session_state[state.SESSION.name].trainer.status is RunState.DIVERGED
    assert any("overflowed" in m.value for m in at.markdown)
    assert not at.exception


def test_while_running_the_tab_draws_nothing_heavy():
    def script():
        from page import step_view
        from twolayer import TrainConfig, Trainer
        from twolayer.serve.session import TrainingSession

        sess = TrainingSession()
        sess.trainer = Trainer(TrainConfig(epochs=5))
        sess.trainer.advance(1)
        sess.playing = True
        step_view.step_tab(sess)

    at = AppTest.from_function(script, default_timeout=60).run()
    assert [m.value for m in at.markdown] == [
        "Training is running. Press **Pause** (or wait until it is done) to look inside the next step."
    ]
    assert not at.get("plotly_chart") and not at.html


def test_firing_heatmap_shows_at_most_max_units_rows():
    rates = np.random.default_rng(0).random((1024, 3))
    figure = firing_figure([0, 1, 2], rates)
    rows = figure.data[0].y
    assert len(rows) == MAX_FIRING_ROWS and rows[1] - rows[0] == 4
    assert np.array_equal(np.asarray(figure.data[0].z), rates[rows].astype(np.float32))
    assert list(units_shown(100)) == list(range(100))
