"""A layer's weights: histograms of their values now and over epochs, and the hidden units' weights as images."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from twolayer.charts.base import PALETTE, figure, grid_height, image_figure, tile

MAX_UNIT_IMAGES = 32  # hidden units drawn as images
UNIT_COLUMNS = 8  # hidden units per row: 32 units of 8x8 digits come out about 100 px each
LOG_COLOR_STEPS = 16  # a heatmap's colour steps per unit of log(1 + count)


def histogram_figure(
    edges: Sequence[float], counts: Sequence[int], title: str = "Histogram", *, color: str = PALETTE[0]
) -> go.Figure:
    """Bars of pre-binned counts, one per bin between consecutive edges."""
    edges, counts = np.asarray(edges, dtype=float), np.asarray(counts)
    _check_bins(edges, counts)
    # Counts read best as plain numbers.
    yaxis = dict(exponentformat="none", separatethousands=True)
    fig = figure(title, "value", "count", yaxis=yaxis, bargap=0, showlegend=False)
    # Typed arrays, positions in float32: a live chart sends this figure whole every few seconds, and a float32 bar
    # edge is off by far less than a pixel.
    fig.add_trace(
        go.Bar(
            x=((edges[:-1] + edges[1:]) / 2).astype(np.float32),
            y=counts.astype(np.int32),
            width=np.diff(edges).astype(np.float32),
            marker=dict(color=color, line=dict(width=0)),
            name=title,
        )
    )
    return fig


def histogram_over_time_figure(
    edges: Sequence[float],
    snapshots: Sequence[tuple[int, Sequence[int]]],
    title: str = "Histogram over epochs",
    *,
    log_color: bool = True,
) -> go.Figure:
    """Bin counts over epochs as a heatmap (x epoch, y bin centre), colour on a log scale by default."""
    edges = np.asarray(edges, dtype=float)
    fig = figure(title, "epoch", "value", xaxis=dict(showgrid=False), yaxis=dict(showgrid=False))
    if not snapshots:
        return fig
    counts = np.array([np.asarray(c) for _, c in snapshots]).T  # (bins, snapshots): a row per value, column per epoch
    _check_bins(edges, counts)
    # log1p so that the few far-out weights stay visible next to thousands in the central bins; the colour is in
    # whole steps of 1/LOG_COLOR_STEPS (over a hundred across a sample's counts): short numbers for a live chart
    colour = np.rint(np.log1p(counts) * LOG_COLOR_STEPS).astype(int) if log_color else counts
    top = int(counts.max())
    ticks = [0] + [10**k for k in range(int(math.log10(top)) + 1)] if log_color and top > 0 else None
    fig.add_trace(
        go.Heatmap(
            x=[epoch for epoch, _ in snapshots],
            y=((edges[:-1] + edges[1:]) / 2).tolist(),
            z=colour.tolist(),
            customdata=counts.tolist(),
            colorscale="Viridis",
            colorbar=dict(
                title=dict(text="count"),
                tickvals=(np.log1p(ticks) * LOG_COLOR_STEPS).tolist() if ticks else None,
                ticktext=[str(t) for t in ticks] if ticks else None,
            ),
            hovertemplate="epoch %{x}<br>value %{y:.3g}<br>count %{customdata}<extra></extra>",
        )
    )
    return fig


def weight_images_figure(
    w1: np.ndarray,
    image_shape: tuple[int, int],
    max_units: int = MAX_UNIT_IMAGES,
    *,
    title: str = "Incoming weights of hidden units",
) -> go.Figure:
    """The first `max_units` hidden units' incoming weights (columns of w1) drawn as images in one tiled heatmap."""
    w1 = np.asarray(w1, dtype=float)
    height, width = image_shape
    if w1.ndim != 2 or w1.shape[0] != height * width:
        raise ValueError(f"w1 has shape {w1.shape}; {height}x{width} images need shape ({height * width}, hidden)")
    units = w1[:, :max_units].T.reshape(-1, height, width)  # (units, height, width)
    # Each unit scaled to its own largest |weight|: the pattern shows, whatever the unit's size.
    scale = np.abs(units).max(axis=(1, 2), keepdims=True)
    units = units / np.where(scale > 0, scale, 1.0)
    tiled, _ = tile(units, columns=min(len(units), UNIT_COLUMNS), gap=max(1, height // 8))
    # The colour bar short and thin below the grid, at its right: the grid keeps the width.
    colorbar = dict(
        orientation="h",
        len=0.3,
        lenmode="fraction",
        thickness=14,
        x=1,
        xanchor="right",
        y=0,
        yref="container",
        yanchor="bottom",
        tickvals=[-1, 0, 1],
        title=dict(text="w / max|w|", side="right"),
    )
    fig = image_figure(title, height=grid_height(tiled.shape, bottom=70), margin=dict(l=10, r=10, t=90, b=70))
    fig.add_trace(go.Heatmap(z=tiled, zmin=-1, zmax=1, colorscale="RdBu_r", colorbar=colorbar))
    return fig


def _check_bins(edges: np.ndarray, counts: np.ndarray) -> None:
    """Raise unless there is one count per bin along the first axis of `counts`."""
    if edges.ndim != 1 or len(edges) < 2 or len(counts) != len(edges) - 1:
        raise ValueError(f"{len(edges)} edges make {len(edges) - 1} bins, but counts have {len(counts)} values per set")
