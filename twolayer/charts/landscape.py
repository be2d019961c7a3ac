"""Why a setting works: the sharpness against its edge, the loss along the line and over the plane a run crossed,
and the hidden units over the run, each from plain values."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from twolayer.charts.base import INK, PALETTE, figure

# Ten colours for ten digits: the palette's seven, then three more that stay apart from them.
DIGIT_COLORS = (*PALETTE, "#8C564B", "#7F7F7F", "#BCBD22")


def sharpness_figure(
    epochs: Sequence[float], values: Sequence[float], threshold: float, rule: str, *, quantity: str = "λmax"
) -> go.Figure:
    """The sharpness at each measured epoch, and the level `threshold` (2/lr, ...) above which steps are unstable."""
    fig = figure("Sharpness against the edge of stability", "epoch", quantity, log_y=True)
    mode = "lines+markers" if len(epochs) <= 40 else "lines"
    fig.add_trace(go.Scatter(x=list(epochs), y=list(values), name=quantity, mode=mode, line=dict(color=PALETTE[0])))
    if len(epochs):
        span = [min(epochs), max(max(epochs), min(epochs) + 1)]
        edge = go.Scatter(x=span, y=[threshold] * 2, name=f"{rule} = {threshold:.4g}", mode="lines")
        edge.line = dict(color=PALETTE[1], width=3, dash="dash")
        fig.add_trace(edge)
    return fig


def line_figure(t: Sequence[float], losses: Sequence[float]) -> go.Figure:
    """The loss along the straight line from the start (t = 0) to the end (t = 1), beyond both ends."""
    fig = figure("Loss on the line from start to end", "t  (weights = start + t · (end − start))", "loss", log_y=True)
    fig.add_trace(go.Scatter(x=list(t), y=list(losses), name="loss", mode="lines", line=dict(color=PALETTE[0])))
    t, losses = np.asarray(t), np.asarray(losses)
    for at, name, color in ((0.0, "start", PALETTE[2]), (1.0, "end", PALETTE[1])):
        y = float(losses[t == at][0])
        fig.add_trace(go.Scatter(x=[at], y=[y], name=f"{name}: {y:.4g}", mode="markers", marker=_mark(color)))
    return fig


def plane_figure(
    a: Sequence[float],
    b: Sequence[float],
    losses: np.ndarray,
    path_a: Sequence[float],
    path_b: Sequence[float],
    path_epochs: Sequence[int],
) -> go.Figure:
    """Contours of log10 of the loss over the plane (row j at b[j]), with the path the weights took across it."""
    fig = figure(
        "Loss around the end, and the path taken",
        "first direction",
        "second direction",
        yaxis=dict(scaleanchor="x", constrain="domain"),
        xaxis=dict(constrain="domain"),
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        levels = np.log10(np.where(np.isfinite(losses) & (losses > 0), losses, np.nan))
    contour = go.Contour(x=list(a), y=list(b), z=levels, colorscale="Viridis", ncontours=24, name="log10 loss")
    contour.colorbar = dict(title=dict(text="log10 loss", side="right"), len=0.8)
    fig.add_trace(contour)
    path = go.Scatter(x=list(path_a), y=list(path_b), name="path", mode="lines+markers", text=list(path_epochs))
    path.line, path.marker = dict(color="white", width=3), dict(color="white", size=7, line=dict(color=INK, width=1))
    path.hovertemplate = "epoch %{text}<extra></extra>"
    fig.add_trace(path)
    ends = ((0, "start", PALETTE[2]), (-1, "end", PALETTE[1]))
    for i, name, color in ends:
        if len(path_a):
            marker = _mark(color)
            fig.add_trace(go.Scatter(x=[path_a[i]], y=[path_b[i]], name=name, mode="markers", marker=marker))
    return fig


def hidden_map_figure(points: np.ndarray, labels: Sequence[int], epoch: int) -> go.Figure:
    """The probe images at one epoch, placed by their hidden units' two principal components, coloured by digit."""
    fig = figure(f"Hidden units by digit, epoch {epoch:,}", "first component", "second component")
    labels = np.asarray(labels)
    for digit in np.unique(labels).tolist():
        mine = points[labels == digit]
        color = DIGIT_COLORS[digit % len(DIGIT_COLORS)]
        trace = go.Scatter(x=mine[:, 0], y=mine[:, 1], name=str(digit), mode="markers")
        trace.marker = dict(color=color, size=8, symbol=digit)  # a shape per digit too, for eyes that mix colours
        fig.add_trace(trace)
    return fig


def _mark(color: str) -> dict:
    return dict(color=color, size=14, line=dict(color=INK, width=2))
