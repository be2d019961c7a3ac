"""The sweep's chart: each value's loss curve in its own colour, its test curve dotted beside it."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from twolayer.charts.training import PALETTE, Curve, _figure, _line


def sweep_figure(
    runs: Sequence[tuple[str, Curve, Curve | None]],
    *,
    log_y: bool = True,
    title: str = "Loss by value",
    unit: str = "loss",
) -> go.Figure:
    """One colour per (label, training curve, test curve or None); test curves dotted in their value's colour."""
    fig = _figure(title, "epoch", unit, log_y=log_y)
    for i, (label, train, test) in enumerate(runs):
        color = PALETTE[i % len(PALETTE)]
        fig.add_trace(_line(*train, f"{label} train" if test is not None else label, color))
        if test is not None:
            dotted = _line(*test, f"{label} test", color)
            dotted.line.dash = "dot"
            fig.add_trace(dotted)
    return fig
