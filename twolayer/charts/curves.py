"""Lines over epochs: the loss, runs or stages overlaid, a sweep's values, gradient norms, update ratios, accuracy;
and the loss over learning rates, from the range test."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from twolayer.charts.base import FIGURE_HEIGHT_PX, INK, PALETTE, figure

FEW_POINTS = 20  # at most this many points in a line: drawn with markers too
MAX_POINTS = 2000  # per line trace and draw: a full-width curve, yet light enough to resend a few times a second
UPDATE_RATIO_REFERENCE = 1e-3  # the usual healthy size of one step relative to the weights
LONG_LABEL = 24  # legend entries longer than this (a past run's settings) take a row each at presenter sizes
LEGEND_ROW_PX = 40  # a row of legend entries at the presenter's chart font

Curve = tuple[Sequence[float], Sequence[float]]  # (epochs, values)


def downsample(
    x: Sequence[float], y: Sequence[float], max_points: int = MAX_POINTS, total: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """At most `max_points` of the points (x, y), in order: first, last, and each bucket's lowest and highest.

    `total`: how many points the curve will have (a live run's epochs): buckets are as wide as they will be then,
    so the points kept for finished buckets stay the same as the curve grows, and it ends as if downsampled whole."""
    if max_points < 2:
        raise ValueError(f"max_points must be at least 2 (the first and last points), got {max_points}")
    x, y = np.asarray(x), np.asarray(y, dtype=float)
    if x.shape != y.shape or y.ndim != 1:
        raise ValueError(f"x and y must be 1-D and of equal length, got shapes {x.shape} and {y.shape}")
    measured = ~np.isnan(y)  # NaN marks a value not measured at that epoch
    x, y = x[measured], y[measured]
    n = len(y)
    final = max(n, total or 0)
    if final <= max_points or n <= 2:
        return x, y
    buckets = (max_points - 2) // 2  # each contributes its minimum and maximum, so a one-epoch spike survives
    if buckets == 0:
        return x[[0, -1]], y[[0, -1]]
    # Runs of `width` inner points, the last one padded: one argmin and one argmax over a
    # (buckets, width) view find every run's extremes in linear time, a few times a second.
    width = -(-(final - 2) // buckets)
    runs = -(-(n - 2) // width)
    padded = np.full(runs * width, np.inf)
    padded[: n - 2] = y[1:-1]
    lowest = padded.reshape(runs, width).argmin(axis=1)
    padded[n - 2 :] = -np.inf
    highest = padded.reshape(runs, width).argmax(axis=1)
    first = 1 + width * np.arange(runs)
    keep = np.unique(np.concatenate(([0], first + lowest, first + highest, [n - 1])))
    return x[keep], y[keep]


def loss_figure(
    epochs: Sequence[float],
    losses: Sequence[float],
    *,
    test: Curve | None = None,
    log_y: bool = True,
    mark_current: bool = True,
    title: str = "Loss",
    unit: str = "loss",
    validate: bool = True,
    total: int | None = None,
) -> go.Figure:
    """The training loss over epochs, an optional test curve, and the latest point marked; `unit` titles the y axis.
    `validate=False` skips Plotly's checks, a third of the figure's cost: for the live chart, rebuilt five times a
    second from the same code that tests build checked (tests/test_charts.py compares the two). `total`: the epochs
    the run will have, for a live chart whose points drawn so far stay as it grows (see `downsample`)."""
    fig = figure(title, "epoch", unit, log_y=log_y, validate=validate)
    train = _line(epochs, losses, "train", PALETTE[0], validate, total)
    fig.add_trace(train)
    if test is not None:
        fig.add_trace(_line(*test, "test", PALETTE[1], validate))
    if mark_current and len(train.x):
        x, y = train.x[-1], train.y[-1]
        fig.add_trace(
            go.Scatter(
                x=[x],
                y=[y],
                name=f"latest: {y:.4g}",
                mode="markers",
                marker=dict(color=PALETTE[1], size=14, line=dict(color=INK, width=2)),
                _validate=validate,
            )
        )
    return fig


def compare_figure(
    curves: Mapping[str, Curve], *, log_y: bool = True, title: str = "Loss by run", y_title: str = "loss"
) -> go.Figure:
    """Several curves overlaid, one per label (runs or stages): losses, or what `y_title` names."""
    return _lines_figure(title, y_title, curves, log_y=log_y)


def sweep_figure(
    runs: Sequence[tuple[str, Curve, Curve | None]],
    *,
    log_y: bool = True,
    title: str = "Loss by value",
    unit: str = "loss",
) -> go.Figure:
    """One colour per (label, training curve, test curve or None); test curves dotted in their value's colour."""
    fig = figure(title, "epoch", unit, log_y=log_y)
    for i, (label, train, test) in enumerate(runs):
        color = PALETTE[i % len(PALETTE)]
        fig.add_trace(_line(*train, f"{label} train" if test is not None else label, color))
        if test is not None:
            dotted = _line(*test, f"{label} test", color)
            dotted.line.dash = "dot"
            fig.add_trace(dotted)
    return fig


def norms_figure(
    epochs: Sequence[float],
    series: Mapping[str, Sequence[float]],
    *,
    log_y: bool = True,
    title: str = "Gradient norm per layer",
    y_title: str = "L2 norm",
) -> go.Figure:
    """One norm curve per named array (e.g. gradient of each layer) over epochs."""
    return _lines_figure(title, y_title, {name: (epochs, values) for name, values in series.items()}, log_y=log_y)


def update_ratio_figure(
    epochs: Sequence[float],
    series: Mapping[str, Sequence[float]],
    *,
    log_y: bool = True,
    reference: float = UPDATE_RATIO_REFERENCE,
    title: str = "Update size / weight size",
) -> go.Figure:
    """Each layer's step size relative to its weights over epochs, with a dashed reference level."""
    fig = norms_figure(epochs, series, log_y=log_y, title=title, y_title="|update| / |weight|")
    if len(epochs):
        first, last = float(np.min(epochs)), float(np.max(epochs))
        fig.add_trace(
            go.Scatter(
                x=[first, last],
                y=[reference, reference],
                name=f"{reference:g} (typical)",
                mode="lines",
                line=dict(color=INK, width=2, dash="dash"),
                hoverinfo="skip",
            )
        )
    return fig


def accuracy_figure(
    epochs: Sequence[float],
    train_acc: Sequence[float],
    test_acc: Sequence[float] | None = None,
    *,
    title: str = "Accuracy",
) -> go.Figure:
    """Train (and test) accuracy over epochs, fractions 0..1 shown as percentages."""
    # Autorange keeps 90% vs 97% visible, but never beyond the meaningful 0..100%.
    yaxis = dict(tickformat=".0%", autorangeoptions=dict(minallowed=0, maxallowed=1))
    fig = figure(title, "epoch", "accuracy", yaxis=yaxis)
    fig.add_trace(_line(epochs, train_acc, "train", PALETTE[0]))
    if test_acc is not None:
        fig.add_trace(_line(epochs, test_acc, "test", PALETTE[1]))
    fig.update_traces(hovertemplate="epoch %{x}: %{y:.1%}")
    return fig


def rate_finder_figure(
    lrs: Sequence[float],
    losses: Sequence[float],
    smoothed: Sequence[float],
    *,
    suggested: float | None = None,
    diverged_at: float | None = None,
    edge: float | None = None,
    edge_rule: str = "2/λ",
    title: str = "Loss as the learning rate rises",
) -> go.Figure:
    """The learning-rate range test: each step's loss (thin) and its moving average against the rate, with upright
    dashed marks at the suggested rate, where the loss blew up and, when given, `edge`: the edge of stability, named
    `edge_rule` (2/λ, λ the sharpness, the top eigenvalue of the loss's Hessian), beyond which steps cannot settle."""
    fig = figure(title, "learning rate", "loss", log_y=True, xaxis=dict(type="log"))
    raw = _line(lrs, losses, "loss of each step", PALETTE[5])
    raw.line.width = 1
    fig.add_trace(raw)
    fig.add_trace(_line(lrs, smoothed, "moving average", PALETTE[0]))
    span = [float(np.min(losses)), float(np.max(losses))] if len(losses) else []
    marks = (("suggested", suggested, PALETTE[2]), ("blew up", diverged_at, PALETTE[1]), (edge_rule, edge, INK))
    for name, rate, color in marks:
        if rate is not None and span:
            fig.add_trace(
                go.Scatter(
                    x=[rate, rate],
                    y=span,
                    name=f"{name} {rate:.3g}",
                    mode="lines",
                    line=dict(color=color, width=2, dash="dash"),
                    hoverinfo="skip",
                )
            )
    return fig


def _line(
    x: Sequence[float], y: Sequence[float], name: str, color: str, validate: bool = True, total: int | None = None
) -> go.Scatter:
    """A downsampled line trace; `total` as for `downsample`."""
    # Arrays, not lists: Plotly checks them in one step and sends them as compact typed arrays.
    xs, ys = downsample(x, y, total=total)
    # Each value in the fewest bytes that hold it exactly: a live chart sends its new points five times a second.
    xs, ys = _narrowed(xs, whole=True), _narrowed(ys)
    # A few points (the records of a run that diverged early) need markers: one point draws no line.
    mode = "lines+markers" if len(xs) <= FEW_POINTS else "lines"
    return go.Scatter(x=xs, y=ys, name=name, mode=mode, line=dict(color=color, width=3), _validate=validate)


def _narrowed(values: np.ndarray, whole: bool = False) -> np.ndarray:
    """`values` as 32-bit integers (when `whole` and each is one) or 32-bit floats when that loses nothing."""
    if values.dtype.kind != "f" or not len(values) or not np.isfinite(values).all():
        return values
    if whole and np.array_equal(values, np.round(values)) and np.abs(values).max() < 2**31:
        return values.astype(np.int32)
    narrow = values.astype(np.float32)
    return narrow if np.array_equal(narrow, values) else values


def _lines_figure(title: str, y_title: str, curves: Mapping[str, Curve], *, log_y: bool) -> go.Figure:
    """One downsampled line per labelled (epochs, values) curve, colours in palette order."""
    # Long labels (a past run's settings) wrap to a row each: the figure grows by those rows, not the plot shrinks.
    rows = sum(len(label) > LONG_LABEL for label in curves)
    layout = {"height": FIGURE_HEIGHT_PX + LEGEND_ROW_PX * (rows - 1)} if rows > 1 else {}
    fig = figure(title, "epoch", y_title, log_y=log_y, **layout)
    for i, (label, (x, y)) in enumerate(curves.items()):
        fig.add_trace(_line(x, y, label, PALETTE[i % len(PALETTE)]))
    return fig
