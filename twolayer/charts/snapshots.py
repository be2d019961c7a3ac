"""A histogram with a slider across a run's snapshots: one figure that shows the weights at each recorded epoch."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from twolayer.charts.base import FIGURE_HEIGHT_PX, PALETTE
from twolayer.charts.weights import histogram_figure

SLIDER_MARGIN_PX = 160
SLIDER_FIGURE_HEIGHT_PX = FIGURE_HEIGHT_PX + SLIDER_MARGIN_PX


def histogram_slider_figure(
    edges: Sequence[float],
    snapshots: Sequence[tuple[int, Sequence[int]]],
    title: str = "Histogram",
    *,
    color: str = PALETTE[0],
) -> go.Figure:
    """Bars of one snapshot's counts over shared bins, and a slider whose steps show each (epoch, counts) in turn.

    The slider starts at the last snapshot; the count axis is fixed to the largest count of any snapshot, so
    that bars keep their scale while the slider moves.
    """
    if not snapshots:
        raise ValueError("a histogram slider needs at least one snapshot")
    counts = [np.asarray(c).tolist() for _, c in snapshots]
    last_epoch = snapshots[-1][0]
    fig = histogram_figure(edges, counts[-1], title=_title(title, last_epoch), color=color)
    top = max(max(c) for c in counts) or 1
    steps = [
        dict(method="update", label=str(epoch), args=[{"y": [c]}, {"title.text": _title(title, epoch)}])
        for (epoch, _), c in zip(snapshots, counts, strict=True)
    ]
    fig.update_layout(
        height=SLIDER_FIGURE_HEIGHT_PX,
        margin_b=SLIDER_MARGIN_PX,  # the slider sits in the bottom margin, below the value axis and its title
        yaxis_range=[0, 1.05 * top],
        sliders=[
            dict(
                active=len(steps) - 1,
                steps=steps,
                currentvalue=dict(prefix="epochs trained: "),
                y=0,
                yanchor="top",
                pad=dict(t=SLIDER_MARGIN_PX - 90),
            )
        ],
    )
    return fig


def _title(title: str, epoch: int) -> str:
    return f"{title} after {epoch:,} epochs"
