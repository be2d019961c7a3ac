"""Plotly figures for the "Draw" tab: the network's scores for a drawing, and the hidden units behind the top one."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from twolayer.charts.base import FONT_SIZE, INK, PALETTE, figure, tile

HIGHLIGHT, OTHER = PALETTE[1], "#8c8c8c"  # the predicted digit's bar, and every other bar
SCORES_HEIGHT_PX, UNITS_HEIGHT_PX = 340, 210  # beside the pad, and one row of small images under it
MARGIN = dict(l=10, r=10, t=50, b=10)  # a title of one short line
# Fixed revisions: the digit read, in each title, changes with the drawing; the view should not.


def scores_figure(values: np.ndarray, predicted: int) -> go.Figure:
    """One bar per output, the predicted one in the highlight colour with its value on top."""
    names = [str(i) for i in range(len(values))]
    low, high = min(0.0, float(values.min())), max(1.0, float(values.max()))
    pad = 0.12 * (high - low)  # room for the values written above and below the bars
    fig = figure(
        f"Scores: reads {predicted}",
        "digit",
        "score",
        revision="draw-scores",
        height=SCORES_HEIGHT_PX,
        margin=MARGIN,
        showlegend=False,
        xaxis=dict(type="category", showgrid=False),
        yaxis=dict(range=[low - pad, high + pad], zeroline=True, zerolinecolor=INK),
    )
    fig.add_trace(
        go.Bar(
            x=names,
            y=values,
            marker=dict(color=[HIGHLIGHT if i == predicted else OTHER for i in range(len(values))]),
            text=[f"{v:.2f}" if i == predicted else "" for i, v in enumerate(values)],  # one label fits any width
            textposition="outside",
            textfont=dict(size=FONT_SIZE - 2),
            cliponaxis=False,
            hovertemplate="digit %{x}: score %{y:.3f}<extra></extra>",
        )
    )
    return fig


def units_figure(w1: np.ndarray, units: list[tuple[int, float]], shape: tuple[int, int], predicted: int) -> go.Figure:
    """The given hidden units' incoming weights as images in one row, each labelled with its number and share."""
    height, width = shape
    images = np.stack([w1[:, unit].reshape(height, width) for unit, _ in units])
    # Each unit scaled to its own largest |weight|: the pattern shows, whatever the unit's size.
    scale = np.abs(images).max(axis=(1, 2), keepdims=True)
    row, origins = tile(images / np.where(scale > 0, scale, 1.0), columns=len(units), gap=max(1, width // 4))
    fig = figure(
        f"Hidden units adding most to the score for {predicted}",
        "",
        "",
        revision="draw-units",
        height=UNITS_HEIGHT_PX,
        margin=MARGIN,
        showlegend=False,
        xaxis=dict(
            tickmode="array",
            tickvals=[left + (width - 1) / 2 for _, left in origins],
            ticktext=[f"unit {unit}<br>+{contribution:.2f}" for unit, contribution in units],
            showgrid=False,
            showline=False,
            ticks="",
            constrain="domain",
        ),
        yaxis=dict(visible=False, autorange="reversed", scaleanchor="x", constrain="domain"),
    )
    fig.add_trace(
        go.Heatmap(
            z=row,
            zmin=-1,
            zmax=1,
            colorscale="RdBu_r",
            colorbar=dict(title=dict(text="w / max|w|"), thickness=14, tickvals=[-1, 0, 1]),
            hovertemplate="weight / max|weight|: %{z:.2f}<extra></extra>",
        )
    )
    return fig
