"""Plotly figures for the "Inside a step" view: one recorded value, the autograd graph, a weight update."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from twolayer.charts.base import FONT_SIZE, INK, PALETTE, figure

HEIGHT_PX = 380  # a heatmap and its stats fit beside the code on a laptop screen
# Half a page wide: a smaller title than the full-width charts' fits without being cut off.
TITLE_SIZE = 16
MAX_SIDE = 64  # cells per side of a drawn matrix: enough to see structure, small enough to resend
DIVERGING = "RdBu_r"  # red above zero, blue below, white at zero
MAX_FIRING_ROWS = 256  # rows of the firing heatmap: more would be thinner than a pixel on a laptop screen
# Blocked (0) is white, passing (1) green; block means in between are shades of the two.
MASK_SCALE = [[0.0, "#ffffff"], [1.0, PALETTE[2]]]


def block_means(matrix: np.ndarray, max_side: int = MAX_SIDE) -> np.ndarray:
    """The matrix shrunk to at most `max_side` x `max_side` cells, each the mean of a block of neighbours."""
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"block_means needs a 2-D matrix, got shape {matrix.shape}")
    rows, cols = matrix.shape
    block_rows, block_cols = -(-rows // max_side), -(-cols // max_side)
    out_rows, out_cols = -(-rows // block_rows), -(-cols // block_cols)
    # Padded to whole blocks with zeros that count for nothing: the last blocks may be partial.
    sums = np.zeros((out_rows * block_rows, out_cols * block_cols))
    counts = np.zeros_like(sums)
    sums[:rows, :cols] = matrix
    counts[:rows, :cols] = 1
    blocks = (out_rows, block_rows, out_cols, block_cols)
    return sums.reshape(blocks).sum(axis=(1, 3)) / counts.reshape(blocks).sum(axis=(1, 3))


def matrix_figure(name: str, array: np.ndarray, dims_label: str = "") -> go.Figure:
    """A matrix as a heatmap, colours diverging from white at 0, titled with its true shape."""
    array = np.asarray(array, dtype=np.float64)
    shown = block_means(array)
    title = f"{name}: {_shape_text(array.shape, dims_label)}"
    if shown.shape != array.shape:
        title += f" (block means, {shown.shape[0]} x {shown.shape[1]})"
    fig = _figure(
        title,
        "column",
        "row",
        xaxis=dict(showgrid=False),
        yaxis=dict(showgrid=False, autorange="reversed"),  # row 0 on top, as the matrix is written
    )
    fig.add_trace(_heatmap(shown, array.shape, colorbar=dict(title=dict(text="value"))))
    return fig


def vector_figure(name: str, array: np.ndarray, dims_label: str = "") -> go.Figure:
    """A vector as one bar per entry."""
    array = np.asarray(array, dtype=np.float64).ravel()
    fig = _figure(f"{name}: {_shape_text(np.shape(array), dims_label)}", "index", "value", showlegend=False)
    fig.add_trace(go.Bar(x=np.arange(len(array)), y=array, marker=dict(color=PALETTE[0], line=dict(width=0))))
    return fig


def mask_figure(name: str, mask: np.ndarray, dims_label: str = "") -> go.Figure:
    """Where a ReLU lets the gradient through (1) or blocks it (0), as a two-colour heatmap."""
    mask = np.asarray(mask, dtype=np.float64)
    shown = block_means(mask)
    title = f"{name}: {_shape_text(mask.shape, dims_label)}"
    if shown.shape != mask.shape:
        title += " (share passing per block)"
    fig = _figure(title, "column", "row", xaxis=dict(showgrid=False), yaxis=dict(showgrid=False, autorange="reversed"))
    fig.add_trace(
        go.Heatmap(
            z=shown,
            colorscale=MASK_SCALE,
            zmin=0,
            zmax=1,
            colorbar=dict(title=dict(text="passes"), tickvals=[0, 1], ticktext=["no", "yes"]),
            hovertemplate=f"block (%{{y}}, %{{x}}) of {mask.shape}: %{{z:.2f}} passing<extra></extra>",
        )
    )
    return fig


def units_shown(hidden: int, max_units: int = MAX_FIRING_ROWS) -> np.ndarray:
    """The hidden units a firing heatmap draws: all of them, or every k-th when there are more than `max_units`."""
    return np.arange(0, hidden, -(-hidden // max_units))


def firing_figure(epochs: list[int], rates: np.ndarray, title: str = "Hidden units firing over the run") -> go.Figure:
    """Each hidden unit's firing rate (share of rows with h > 0) at each recorded epoch, as a units x epochs heatmap."""
    rates = np.asarray(rates, dtype=np.float64)
    units = units_shown(rates.shape[0])
    fig = _figure(
        title,
        "epochs completed",
        "hidden unit",
        # One column per record, evenly spaced; the labels say which epoch each is.
        xaxis=dict(showgrid=False, type="category"),
        yaxis=dict(showgrid=False, autorange="reversed"),  # unit 0 on top
    )
    fig.add_trace(
        go.Heatmap(
            x=[str(epoch) for epoch in epochs],
            y=units,
            z=rates[units].astype(np.float32),  # float32 halves what is sent
            colorscale="Viridis",  # dark at 0: a dead unit is a dark row
            zmin=0,
            zmax=1,
            colorbar=dict(title=dict(text="fires on")),
            hovertemplate="unit %{y}, epoch %{x}: fires on %{z:.0%} of rows<extra></extra>",
        )
    )
    return fig


def graph_column_figure(graph: dict, title: str = "The graph autograd built") -> go.Figure:
    """The backward functions from the loss (top) to the weights' .grad (bottom), each depth a row of boxes."""
    rows: dict[int, list[int]] = {}
    for i, node in enumerate(graph["nodes"]):
        rows.setdefault(node["depth"], []).append(i)
    width = max(len(members) for members in rows.values())
    # Each row centred; a node's slot is one unit wide, rows one unit apart, depth 0 on top.
    position = {
        i: ((width - len(members)) / 2 + slot, -depth)
        for depth, members in rows.items()
        for slot, i in enumerate(members)
    }
    filled = set(graph.get("filled", []))
    box_width, box_height = 0.92, 0.62
    shapes, annotations = [], []
    for i, node in enumerate(graph["nodes"]):
        x, y = position[i]
        param = node["param"]
        label = node["name"] if param is None else f"{node['name']}<br>→ {param}"
        shapes.append(
            dict(
                type="rect",
                x0=x - box_width / 2,
                x1=x + box_width / 2,
                y0=y - box_height / 2,
                y1=y + box_height / 2,
                line=dict(color=INK, width=1.5),
                fillcolor=PALETTE[2] if f"{param}.grad" in filled else "white",  # the .grad backward() filled
                layer="below",
            )
        )
        annotations.append(dict(x=x, y=y, text=label, showarrow=False, font=dict(size=FONT_SIZE - 6)))
    for parent, child in graph["edges"]:
        (x0, y0), (x1, y1) = position[parent], position[child]
        annotations.append(
            dict(
                x=x1,
                y=y1 + box_height / 2,
                ax=x0,
                ay=y0 - box_height / 2,
                xref="x",
                yref="y",
                axref="x",
                ayref="y",
                text="",
                showarrow=True,
                arrowhead=2,
                arrowwidth=1.5,
                arrowcolor=INK,
            )
        )
    depths = max(rows) + 1
    hidden = dict(visible=False, showgrid=False, fixedrange=True)
    return _figure(
        title,
        "",
        "",
        xaxis={**hidden, "range": [-0.5, width - 0.5]},
        yaxis={**hidden, "range": [-depths + 0.5, 0.5]},
        shapes=shapes,
        annotations=annotations,
        showlegend=False,
        height=80 + 58 * depths,
        margin=dict(l=5, r=5, t=50, b=5),
    )


def update_figure(before: np.ndarray, after: np.ndarray, name: str = "weights") -> go.Figure:
    """A weight before and after the step, and the change, as three small heatmaps side by side, colour bars under."""
    before, after = np.atleast_2d(np.asarray(before, dtype=np.float64)), np.atleast_2d(np.asarray(after, np.float64))
    if before.shape != after.shape:
        raise ValueError(f"before has shape {before.shape} but after has {after.shape}")
    change = after - before
    # Before and after share one colour scale, so they look alike; the change, far smaller, gets its own.
    largest = float(np.abs(np.concatenate([before.ravel(), after.ravel()])).max())
    panels = [("before", before, "coloraxis"), ("after", after, "coloraxis"), ("change", change, "coloraxis2")]
    axes, annotations, traces = {}, [], []
    for i, (label, values, colour) in enumerate(panels):
        suffix = str(i + 1) if i else ""  # Plotly names the axes x, x2, x3
        left = i / 3
        axes[f"xaxis{suffix}"] = dict(domain=[left + 0.02, left + 0.28], visible=False, anchor=f"y{suffix}")
        axes[f"yaxis{suffix}"] = dict(autorange="reversed", visible=False, anchor=f"x{suffix}")
        annotations.append(
            dict(text=label, x=left + 0.15, y=1.0, xref="paper", yref="paper", yanchor="bottom", showarrow=False)
        )
        traces.append(
            _heatmap(block_means(values), values.shape, coloraxis=colour, xaxis=f"x{suffix}", yaxis=f"y{suffix}")
        )
    # The colour bars lie under the panels (beside them they would overlap the panels in half a page): the first
    # under before and after, which share it, the second under the change.
    bar = dict(orientation="h", thickness=12, y=-0.04, yanchor="top", tickfont=dict(size=13))
    fig = _figure(
        f"{name}: {_shape_text(before.shape, '')} before and after the step",
        "",
        "",
        xaxis=axes.pop("xaxis"),
        yaxis=axes.pop("yaxis"),
        coloraxis=dict(colorscale=DIVERGING, cmin=-largest, cmax=largest, colorbar={**bar, "x": 0.32, "len": 0.6}),
        coloraxis2=dict(colorscale=DIVERGING, cmid=0, colorbar={**bar, "x": 0.82, "len": 0.34}),
        annotations=annotations,
        **axes,
    )
    fig.layout.margin.b = 70  # room for the colour bars
    fig.add_traces(traces)
    return fig


def _figure(title: str, x_title: str, y_title: str, **layout: object) -> go.Figure:
    """The shared layout at this view's size, half a page wide beside the code; `layout` adds to it or overrides it."""
    return figure(title, x_title, y_title, title_size=TITLE_SIZE, **{"height": HEIGHT_PX, **layout})


def _heatmap(shown: np.ndarray, true_shape: tuple[int, ...], **options: object) -> go.Heatmap:
    """A heatmap of block means centred on 0; hovering names the block mean and the matrix's true shape."""
    return go.Heatmap(
        z=shown,
        colorscale=DIVERGING,
        zmid=0,
        xgap=0,
        ygap=0,
        hovertemplate=f"block (%{{y}}, %{{x}}) of {true_shape}: %{{z:.4g}}<extra></extra>",
        **options,
    )


def _shape_text(shape: tuple[int, ...], dims_label: str) -> str:
    """'N x H = 64 x 100', or the sizes alone when the dimensions have no names."""
    sizes = " x ".join(str(n) for n in shape)
    return f"{dims_label} = {sizes}" if dims_label else sizes
