"""The "Inside a step" tab: every line of the step the run takes next, with the real values it produced.

Read top to bottom: the tab (which state shows what), the recording (made once per run and epoch), the scrubber and
the highlighted code, the values of the highlighted line, then the hidden units over the run.
"""

from __future__ import annotations

import inspect
import logging
import weakref
from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch

from page.code import code_html
from twolayer.charts import step as step_charts
from twolayer.serve.session import TrainingSession
from twolayer.teach.step_record import BEFORE, PHASES, RecordedLine, StepRecording
from twolayer.train.trainer import Trainer

log = logging.getLogger("twolayer")
PLOTLY_CONFIG = {"displaylogo": False}
CACHE = "step_view_recorded"  # session_state key of the one recording kept: this run's next step
LINE = "step_view_line"  # session_state key of the highlighted line's index, kept across reruns and new steps
SLIDER = "step_view_slider"  # the slider's own key: it shows LINE + 1
PARAM = "step_view_param"  # which parameter an optimizer line shows
OPTIMIZER = "optimizer.state."
CHART_HEIGHT = 380  # pixels: a heatmap and its stats fit beside the code on a laptop screen
# Okabe-Ito colours, one per phase, in the order a step runs them.
PHASE_COLOURS = dict(zip(PHASES, ("#0072B2", "#E69F00", "#D55E00", "#009E73"), strict=True))
DIM_WORDS = {"N": "example", "D_in": "input", "H": "hidden unit", "D_out": "output"}
# Marks of a line that applies the ReLU or its gradient: the lecture writes "ReLU" in a comment where it is not obvious.
RELU_MARKS = ("ReLU", "maximum(", "clamp(min=0)", "(h > 0)")
# Lines that change state but make no value: what each does, so the scrubber never lands on an empty panel.
NO_VALUE_NOTES = (
    (".grad = None", "Clears the gradient the last step left: backward() adds into .grad instead of replacing it."),
    ("zero_grad(", "Clears every parameter's .grad left by the last step: backward() adds into .grad."),
    ("no_grad(", "Opens a block autograd does not record: the update must not become part of the next graph."),
    ("for ", "Loops over the model's parameters: the line below runs once for each."),
)
LEGEND_CSS = """<style>
.tl-legend { font-size: 0.85rem; margin: 0.2rem 0 0.4rem; white-space: nowrap; }
.tl-chip { display: inline-block; width: 0.9rem; height: 0.9rem; vertical-align: -0.12rem; margin: 0 0.25rem 0 0.6rem; }
</style>"""


def step_tab(sess: TrainingSession) -> None:
    """Draw the tab for the session's run: nothing heavy while it trains, the recorded step when it stands still."""
    if sess.trainer is None:
        # Hints of an empty tab are plain text, as in the other tabs: never mistaken for a problem.
        st.markdown("Press **Train** or **Step** first: this tab then shows every line of the next training step.")
        return
    if sess.state == "running":
        st.markdown("Training is running. Press **Pause** (or wait until it is done) to look inside the next step.")
        return
    try:
        recorded = _recorded(sess)
        if recorded is not None:
            _draw(recorded)
    except Exception:
        # The tabs after this one and the training view are drawn after it: a bug here must not take them down.
        log.exception("the Inside a step tab failed")
        st.error("Something went wrong while showing the step; the error was logged. The other tabs still work.")


# --- the recording: made once per run and epoch, on a copy of the run ---


@dataclass
class Recorded:
    """One recorded step and what the tab shows beside it, for one run at one epoch."""

    run: weakref.ref  # the Trainer it was made from; a weak reference, so a reset run can be freed
    key: tuple[int, int, str]  # id, epoch and status of that run
    recording: StepRecording
    source: list[str]  # the lines of the stage's train_step, from its `def`
    first_lineno: int
    next_epoch: int
    minibatch: bool
    status: str
    relu_inputs: dict[str, str]  # a ReLU layer's output name -> the name of its input (nn stages)
    firing: tuple[list[int], np.ndarray]
    dead: int
    hidden: int


def _recorded(sess: TrainingSession) -> Recorded | None:
    """The next step of the session's run, recorded the first time it is asked for at this epoch, then cached."""
    with sess.lock:  # a slice of another script run must not step the run while it is copied
        trainer = sess.trainer
        if trainer is None:
            return None
        key = (id(trainer), trainer.epoch, trainer.status)
        cached = st.session_state.get(CACHE)
        if cached is not None and cached.key == key and cached.run() is trainer:
            return cached
        recorded = _record(trainer, key)
    st.session_state[CACHE] = recorded  # only the latest: an old step is never shown again
    return recorded


def _record(trainer: Trainer, key: tuple[int, int, str]) -> Recorded:
    """Record the run's next step and read its hidden units' history (the run is left unchanged)."""
    recording = trainer.record_next_step()
    source, first_lineno = inspect.getsourcelines(trainer.stage.train_step)
    epochs, rates = trainer.firing_history()
    return Recorded(
        run=weakref.ref(trainer),
        key=key,
        recording=recording,
        source=[line.rstrip("\n") for line in source],
        first_lineno=first_lineno,
        next_epoch=trainer.epoch + 1,
        minibatch=len(trainer.data.x_train) > trainer.config.batch_size,
        status=trainer.status,
        relu_inputs=_relu_inputs(getattr(trainer.stage, "model", None)),
        firing=(epochs, rates),
        dead=trainer.dead_units(),
        hidden=rates.shape[0],
    )


def _relu_inputs(model: torch.nn.Module | None) -> dict[str, str]:
    """For each ReLU layer of a Sequential model, the recorded name of its output and of its input."""
    if model is None:
        return {}
    names = [name for name, _ in model.named_children()]
    return {
        f"model.{name}": f"model.{names[i - 1]}"
        for i, (name, layer) in enumerate(model.named_children())
        if isinstance(layer, torch.nn.ReLU) and i > 0
    }


# --- the tab's layout ---


def _draw(recorded: Recorded) -> None:
    """The intro, the code with its scrubber beside the highlighted line's values, then the hidden units."""
    recording = recorded.recording
    st.markdown(_intro(recorded))
    if not recording.finite:
        # Plain text: the Training tab already shows the divergence as an error, with its explanation.
        st.markdown(
            f"**The loss of this step overflowed** ({recording.loss}): the step returns before its backward pass, "
            "so the recording ends at the loss."
        )
    index = _scrubber(len(recording.lines))
    line = recording.lines[index]
    code_col, values_col = st.columns([6, 5], gap="medium")
    with code_col:
        st.html(_code_html(recorded, line))
        st.caption(
            "The stage's own train_step. The lines it ran are numbered in the order they ran, with their phase as a "
            "coloured margin; the highlighted one is the line whose values are shown. Grey lines made no value."
        )
        _inputs_table(recording)
    with values_col, st.container(key="step_values"):
        _line_values(recorded, line, index)
    st.divider()
    _hidden_units(recorded)


def _intro(recorded: Recorded) -> str:
    """One sentence on which step this is, and that recording it changed nothing."""
    step = f"{'the first mini-batch of ' if recorded.minibatch else ''}epoch {recorded.next_epoch}"
    if recorded.status in ("done", "diverged"):
        start = f"The run is {recorded.status}; this is the step it would take next ({step})"
    else:
        start = f"The step the run takes next ({step})"
    return f"{start}, run on a copy of the run: training itself is unchanged."


def _scrubber(count: int) -> int:
    """A slider over the recorded lines with Previous and Next buttons; returns the highlighted line's index."""
    index = min(max(st.session_state.get(LINE, 0), 0), count - 1)
    st.session_state[LINE] = index
    if count < 2:
        return index
    st.session_state[SLIDER] = index + 1  # set before the slider is drawn, so buttons and a new step move it
    slider, back, forward = st.columns([3, 1, 1], vertical_alignment="bottom")
    slider.slider(
        "Line of the step, in the order the lines ran",
        min_value=1,
        max_value=count,
        step=1,
        format=f"%d of {count}",
        key=SLIDER,
        on_change=lambda: st.session_state.update({LINE: st.session_state[SLIDER] - 1}),
    )
    back.button("◀ Previous", key="step_prev", disabled=index == 0, on_click=_move, args=(-1, count), width="stretch")
    forward.button(
        "Next ▶", key="step_next", disabled=index == count - 1, on_click=_move, args=(1, count), width="stretch"
    )
    st.caption("Or click the slider and walk the lines with the ← and → keys.")
    return index


def _move(delta: int, count: int) -> None:
    st.session_state[LINE] = min(max(st.session_state.get(LINE, 0) + delta, 0), count - 1)


def _code_html(recorded: Recorded, current: RecordedLine) -> str:
    """The train_step source as HTML: recorded lines numbered in run order with their phase, the current highlighted."""
    order = {line.lineno: (i + 1, line.phase) for i, line in enumerate(recorded.recording.lines)}
    marks = {
        lineno - recorded.first_lineno: (str(number), PHASE_COLOURS[phase]) for lineno, (number, phase) in order.items()
    }
    legend = "".join(
        f'<span class="tl-chip" style="background: {colour}"></span>{phase}' for phase, colour in PHASE_COLOURS.items()
    )
    label = f"Source of train_step; line {order[current.lineno][0]} of the step highlighted ({current.phase})"
    source = "\n".join(recorded.source)
    return f'{LEGEND_CSS}<div class="tl-legend">Phase:{legend}</div>' + code_html(
        source, label, marks, current.lineno - recorded.first_lineno
    )


def _inputs_table(recording: StepRecording) -> None:
    """What the step started from: its arguments and the weights (and optimizer state) before it."""
    with st.expander("What the step starts from"):
        rows = [_summary_row(recording.describe(name)) for name in recording.inputs]
        st.dataframe(rows, hide_index=True)


def _summary_row(info: dict) -> dict:
    """A value's description as one table row."""
    if "value" in info:
        return {"name": info["name"], "shape": "scalar", "dtype": info["dtype"], "mean": info["value"]}
    return {
        "name": info["name"],
        "shape": _shape_text(info),
        "dtype": info["dtype"],
        **{stat: info[stat] for stat in ("min", "max", "mean", "std")},
    }


# --- the values of the highlighted line ---


def _line_values(recorded: Recorded, line: RecordedLine, index: int) -> None:
    """Every value the line produced, under its name, with the ReLU mask, autograd graph or update it involves."""
    recording = recorded.recording
    st.markdown(f"**Line {index + 1} of {len(recording.lines)}** · *{line.phase}*")
    st.html(code_html(line.source, f"The line: {line.source}"))
    if not line.names:
        note = next((text for mark, text in NO_VALUE_NOTES if mark in line.source), "")
        st.markdown(f"{note} *It makes no new value.*".strip())
    graph = recording.graph is not None and ("loss" in line.names or "backward(" in line.source)
    if graph and "backward(" in line.source:
        _graph(recording, line)  # first: the graph backward() walks explains the gradients below it
    if any(name.startswith(OPTIMIZER) for name in line.names):
        _optimizer_values(recording, line.names)
    else:
        for name in line.names:
            _value(recording, name)
    if graph and "backward(" not in line.source:
        _graph(recording, line)  # after the loss: the graph that produced it
    if any(mark in line.source for mark in RELU_MARKS) or set(line.names) & set(recorded.relu_inputs):
        _relu_mask(recorded, line)


def _value(recording: StepRecording, name: str) -> None:
    """One value under its name: shape with named dimensions, dtype, statistics, and a picture."""
    info = recording.describe(name)
    value = recording.values[name]
    before = recording.values.get(name + BEFORE)
    if "value" in info:
        delta = None if before is None else f"{info['value'] - float(before):+.4g} in this step"
        st.metric(f"{name} ({info['dtype']})", f"{info['value']:.6g}", delta=delta, delta_color="off")
        st.caption(f"{name} is a single number{'' if before is None else '; below it, how much this step changed it'}.")
        return
    st.markdown(f"**`{name}`** · {_shape_text(info)} · {info['dtype']}")
    st.caption(_stats_text(info))
    dims_label = " x ".join(info["dims"]) if None not in info["dims"] else ""
    if before is not None and np.shape(before) == np.shape(value):
        figure = step_charts.update_figure(before, value, name)
        figure.layout.title.text = f"{name}: before, after, change"  # the shape is in the line above the chart
        _plot(figure, f"step-update-{name}")
        st.caption(
            f"{name} before the step, after it, and the change (after − before): before and after share one "
            "colour scale, the change, far smaller, has its own. Red above zero, blue below."
        )
    elif np.ndim(value) == 1:
        _plot(step_charts.vector_figure(name, value, dims_label), f"step-vector-{name}")
        st.caption(f"{name} as bars: one bar per {_word(info['dims'][0], 'entry')}.")
    else:
        matrix = np.reshape(value, (np.shape(value)[0], -1))  # more than two axes: all but the first side by side
        figure = step_charts.matrix_figure(name, matrix, dims_label)
        _plot(_name_axes(figure, info["dims"], matrix.shape), f"step-matrix-{name}")
        st.caption(_heatmap_caption(name, info["dims"], matrix.shape))


def _optimizer_values(recording: StepRecording, names: list[str]) -> None:
    """An optimizer's step: one parameter at a time, its weights and its state (Adam's moments), before and after."""
    params = [name for name in names if not name.startswith(OPTIMIZER)]
    if st.session_state.get(PARAM) not in params:
        st.session_state[PARAM] = params[0]  # a new stage has other parameters: start from its first
    chosen = st.selectbox("Parameter", params, key=PARAM, help="The optimizer updates every parameter; pick one.")
    _value(recording, chosen)
    state = [name for name in names if name.startswith(f"{OPTIMIZER}{chosen}.")]
    if state:
        st.markdown(f"**The optimizer's state for `{chosen}`**, before and after this step:")
    for name in state:
        _value(recording, name)


def _graph(recording: StepRecording, line: RecordedLine) -> None:
    """The autograd graph behind the loss: as built on the loss line, with the gradients it filled on backward()."""
    backward = "backward(" in line.source
    graph = recording.graph if backward else {**recording.graph, "filled": []}
    title = "backward() walks this graph" if backward else "The graph autograd built for the loss"
    _plot(step_charts.graph_column_figure(graph, title=title), f"step-graph-{int(backward)}")
    if backward:
        filled = ", ".join(graph.get("filled", [])) or "none"
        st.caption(
            "The autograd graph from the loss (top) to the weights (bottom): backward() runs each function "
            f"in turn, and each AccumulateGrad fills its weight's .grad (green): {filled}."
        )
    else:
        st.caption(
            "The backward functions autograd recorded while the forward pass ran, from the loss (top) to the "
            "weights (bottom); loss.backward() will walk them."
        )


def _relu_mask(recorded: Recorded, line: RecordedLine) -> None:
    """Where h > 0: the entries the ReLU passes forward and lets the gradient through backward."""
    values = recorded.recording.values
    relu_outputs = [name for name in line.names if name in recorded.relu_inputs]
    if "h" in values:
        h, what = values["h"], "h"
    elif relu_outputs:
        name = recorded.relu_inputs[relu_outputs[0]]
        h, what = values[name], f"{name} (the ReLU's input h)"
    elif "x" in values and "w1.before" in values:
        # This line keeps no h of its own: it is recomputed from the step's inputs, the same product.
        h, what = values["x"] @ values["w1.before"], "h = x @ w1 (computed here from the step's x and w1)"
    else:
        return
    mask = np.asarray(h) > 0
    _plot(_name_axes(step_charts.mask_figure("h > 0", mask, "N x H"), ["N", "H"], mask.shape), "step-mask")
    st.caption(
        f"Where {what} is above zero (green): the ReLU passes those entries forward and lets their gradient through "
        f"backward; white entries are blocked. {mask.mean():.1%} pass; one row per example, one column per hidden unit."
    )


# --- the hidden units over the run ---


def _hidden_units(recorded: Recorded) -> None:
    """Each hidden unit's firing rate over the run, and how many units are dead now."""
    st.markdown("#### Hidden units")
    epochs, rates = recorded.firing
    chart_col, count_col = st.columns([3, 1], gap="medium")
    with chart_col:
        _plot(step_charts.firing_figure(epochs, rates), "step-firing")
        shown = len(step_charts.units_shown(recorded.hidden))
        st.caption(
            "Each row is one hidden unit, each column an epoch at which the run recorded it; the colour is the share "
            "of training rows (a fixed sample) on which the unit fires (h > 0). A dark row is a unit that stopped "
            "firing."
            + ("" if shown == recorded.hidden else f" {shown} of the {recorded.hidden} units are shown, evenly spaced.")
        )
    with count_col:
        st.metric(f"Dead hidden units now, of {recorded.hidden}", recorded.dead)
        st.caption(
            "A dead ReLU is a hidden unit whose input h is at most 0 on every training row. Its output is always 0 "
            "and the ReLU blocks its gradient everywhere, so its weights never change again: it cannot come back "
            "by itself. Too large a learning rate often kills units."
        )


# --- small helpers ---


def _plot(figure, key: str) -> None:
    # Half a page wide: a smaller title than the full-width charts' fits without being cut off. Set one property
    # at a time: update_layout() parses each path again, at several times the cost.
    figure.layout.title.font.size = 16
    figure.layout.height = figure.layout.height or CHART_HEIGHT
    # theme=None: the figures carry their own projection-ready styling.
    st.plotly_chart(figure, key=key, config=PLOTLY_CONFIG, theme=None)


def _name_axes(figure, dims: list[str | None], shape: tuple[int, ...]):
    """A heatmap titled by its name alone, its axes by what rows and columns are and how many entries a cell holds."""
    # The builder's title also holds the shape, which the line above the chart already gives: it would be cut off.
    figure.layout.title.text = figure.layout.title.text.split(":")[0]
    for axis, dim, size, shown in zip(("yaxis", "xaxis"), dims, shape, np.shape(figure.data[0].z), strict=False):
        title = (
            f"{_word(dim, 'row' if axis == 'yaxis' else 'column')} ({dim})" if dim else figure.layout[axis].title.text
        )
        block = -(-size // shown)
        figure.layout[axis].title.text = title + (f", {block} per cell" if block > 1 else "")
    return figure


def _shape_text(info: dict) -> str:
    """'N x H = 64 x 100', or the sizes alone when an axis has no name."""
    sizes = " x ".join(str(n) for n in info["shape"])
    return sizes if None in info["dims"] else f"{' x '.join(info['dims'])} = {sizes}"


def _stats_text(info: dict) -> str:
    return " · ".join(
        [*(f"{stat} {info[stat]:.4g}" for stat in ("min", "max", "mean", "std")), f"zeros {info['zeros']:.1%}"]
    )


def _word(dim: str | None, fallback: str) -> str:
    return DIM_WORDS.get(dim, fallback)


def _heatmap_caption(name: str, dims: list[str | None], shape: tuple[int, ...]) -> str:
    """What a heatmap's rows, columns and colours mean."""
    rows = _word(dims[0] if dims else None, "row")
    cols = _word(dims[1] if len(dims) > 1 else None, "column")
    text = f"{name} as a heatmap: one row per {rows}, one column per {cols}; red above zero, blue below, white at zero."
    if max(shape) > step_charts.MAX_SIDE:
        text += " Each cell is the mean of a block of neighbouring entries."
    return text
