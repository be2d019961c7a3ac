"""The class board's scatter: one setting across, one result up, a point per run, coloured by stage."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from twolayer.charts.base import INK, PALETTE, figure
from twolayer.train.config import STAGES

Point = tuple[str, float, float, bool]  # (stage, setting, result, diverged)


def board_figure(
    points: Sequence[Point], *, x_title: str, y_title: str, log_x: bool, log_y: bool, title: str = "Class board"
) -> go.Figure:
    """A point per run, one colour per stage (always the same one), a diverged run drawn as a cross."""
    fig = figure(
        title,
        x_title,
        y_title,
        log_y=log_y,
        revision=f"{title}|{x_title}|{y_title}",  # a new pair of axes is a new view; new points keep the zoom
        xaxis={"type": "log" if log_x else "linear"},
    )
    for stage, color in zip(STAGES, PALETTE, strict=False):
        mine = [point for point in points if point[0] == stage]
        if not mine:
            continue
        _, x, y, diverged = zip(*mine, strict=True)
        fig.add_trace(
            go.Scatter(
                x=np.array(x, dtype=float),
                y=np.array(y, dtype=float),
                mode="markers",
                name=stage,
                marker=dict(
                    color=color,
                    size=13,
                    opacity=0.8,
                    symbol=["x" if d else "circle" for d in diverged],
                    line=dict(color=INK, width=1),
                ),
                hovertemplate=f"{stage}<br>{x_title} %{{x:.3g}}<br>{y_title} %{{y:.4g}}<extra></extra>",
            )
        )
    return fig
