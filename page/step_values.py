"""The values beside the Inside a step tab's highlighted line: each under its name, with the picture its line calls for.

What a line calls for (the ReLU's mask, the autograd graph backward() walks) is what its stage declares of it.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import streamlit as st

from page.plot import Words, plot
from page.state import STEP_PARAM
from twolayer.charts import step as step_charts
from twolayer.teach.code_html import code_html
from twolayer.teach.describe_net import (
    array_table,
    array_words,
    graph_table,
    graph_words,
    mask_words,
    update_words,
)
from twolayer.teach.step_record import BEFORE, RecordedLine, StepRecording

OPTIMIZER = "optimizer.state."
DIM_WORDS = {"N": "example", "D_in": "input", "H": "hidden unit", "D_out": "output"}


def line_values(recording: StepRecording, line: RecordedLine, index: int, relu_inputs: dict[str, str]) -> None:
    """Every value the line produced, under its name, with the ReLU mask, autograd graph or update it involves."""
    st.markdown(f"**Line {index + 1} of {len(recording.lines)}** · *{line.phase}*")
    st.html(code_html(line.source, f"The line: {line.source}"))
    if not line.names:
        st.markdown(f"{line.declared.note} *It makes no new value.*".strip())
    backprop = line.declared.backprop
    graph = recording.graph is not None and ("loss" in line.names or backprop)
    if graph and backprop:
        _graph(recording, line)  # first: the graph backward() walks explains the gradients below it
    if any(name.startswith(OPTIMIZER) for name in line.names):
        _optimizer_values(recording, line.names)
    else:
        for name in line.names:
            _value(recording, name)
    if graph and not backprop:
        _graph(recording, line)  # after the loss: the graph that produced it
    if line.declared.relu:
        _relu_mask(recording, line, relu_inputs)


def inputs_table(recording: StepRecording) -> None:
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
        what = (
            f"{name} before the step, after it, and the change (after − before): before and after share one "
            "colour scale, the change, far smaller, has its own. Red above zero, blue below. "
        )
        table = partial(array_table, np.asarray(value) - np.asarray(before))
        plot(st, figure, f"step-update-{name}", Words("Update chart", what + update_words(name, before, value), table))
    elif np.ndim(value) == 1:
        what = f"{name} as bars: one bar per {_word(info['dims'][0], 'entry')}. {array_words(name, value)}"
        words = Words("Bar chart", what, partial(array_table, value))
        plot(st, step_charts.vector_figure(name, value, dims_label), f"step-vector-{name}", words)
    else:
        matrix = np.reshape(value, (np.shape(value)[0], -1))  # more than two axes: all but the first side by side
        figure = step_charts.matrix_figure(name, matrix, dims_label)
        what = f"{_heatmap_caption(name, info['dims'], matrix.shape)} {array_words(name, value)}"
        words = Words("Heatmap", what, partial(array_table, value))
        plot(st, _name_axes(figure, info["dims"], matrix.shape), f"step-matrix-{name}", words)


def _optimizer_values(recording: StepRecording, names: list[str]) -> None:
    """An optimizer's step: one parameter at a time, its weights and its state (Adam's moments), before and after."""
    params = [name for name in names if not name.startswith(OPTIMIZER)]
    if STEP_PARAM.get() not in params:
        STEP_PARAM.set(params[0])  # a new stage has other parameters: start from its first
    chosen = st.selectbox(
        "Parameter", params, key=STEP_PARAM.name, help="The optimizer updates every parameter; pick one."
    )
    _value(recording, chosen)
    state = [name for name in names if name.startswith(f"{OPTIMIZER}{chosen}.")]
    if state:
        st.markdown(f"**The optimizer's state for `{chosen}`**, before and after this step:")
    for name in state:
        _value(recording, name)


def _graph(recording: StepRecording, line: RecordedLine) -> None:
    """The autograd graph behind the loss: as built on the loss line, with the gradients it filled on backward()."""
    backward = line.declared.backprop
    graph = recording.graph if backward else {**recording.graph, "filled": []}
    title = "backward() walks this graph" if backward else "The graph autograd built for the loss"
    if backward:
        filled = ", ".join(graph.get("filled", [])) or "none"
        what = (
            "the autograd graph from the loss (top) to the weights (bottom): backward() runs each function "
            f"in turn, and each AccumulateGrad fills its weight's .grad (green): {filled}."
        )
    else:
        what = (
            "the backward functions autograd recorded while the forward pass ran, from the loss (top) to the "
            "weights (bottom); loss.backward() will walk them."
        )
    words = Words("Graph chart", f"{what} {graph_words(graph)}", partial(graph_table, graph))
    plot(st, step_charts.graph_column_figure(graph, title=title), f"step-graph-{int(backward)}", words)


def _relu_mask(recording: StepRecording, line: RecordedLine, relu_inputs: dict[str, str]) -> None:
    """Where h > 0: the entries the ReLU passes forward and lets the gradient through backward."""
    values = recording.values
    relu_outputs = [name for name in line.names if name in relu_inputs]
    if "h" in values:
        h, what = values["h"], "h"
    elif relu_outputs:
        name = relu_inputs[relu_outputs[0]]
        h, what = values[name], f"{name} (the ReLU's input h)"
    elif "x" in values and "w1.before" in values:
        # This line keeps no h of its own: it is recomputed from the step's inputs, the same product.
        h, what = values["x"] @ values["w1.before"], "h = x @ w1 (computed here from the step's x and w1)"
    else:
        return
    mask = np.asarray(h) > 0
    said = (
        f"where {what} is above zero (green): the ReLU passes those entries forward and lets their gradient through "
        f"backward; white entries are blocked; one row per example, one column per hidden unit. {mask_words(mask)}"
    )
    figure = _name_axes(step_charts.mask_figure("h > 0", mask, "N x H"), ["N", "H"], mask.shape)
    plot(st, figure, "step-mask", Words("ReLU mask chart", said, partial(array_table, mask.astype(int))))


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
