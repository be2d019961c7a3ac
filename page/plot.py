"""Where the page shows a figure: every chart, drawn once or live, goes through `plot`, with one Plotly config."""

from __future__ import annotations

import plotly.graph_objects as go

from page import live_chart, state
from twolayer.charts.base import FONT_SIZE, TITLE_SIZE

CONFIG = {"displaylogo": False}
# Chart text in presenter mode, a layout for a projector (set in app.py and training_view.PRESENTER_CSS), against
# FONT_SIZE.
PRESENTER_FONT = 26
PRESENTER_TITLE = PRESENTER_FONT + 2  # a full-size title, TITLE_SIZE otherwise; smaller titles grow in proportion


def plot(where, figure: go.Figure, key: str, caption: str | None = None) -> None:
    """Show `figure` in `where`: a container (st, a column, a placeholder) or a live chart's spot, which needs a
    `caption`; when given, the caption is what a screen reader says for the chart and is written under it (so not
    into a placeholder, which holds one element)."""
    if state.PRESENTER.get():
        _enlarge(figure)
    if isinstance(where, live_chart.Spot):
        where.show(figure, caption, key, CONFIG)
        return
    # theme=None: the figures carry their own projection-ready styling.
    where.plotly_chart(figure, key=key, config=CONFIG, theme=None, alt=caption)
    if caption is not None:
        where.caption(caption)


def _enlarge(figure: go.Figure) -> None:
    """Scale the figure's text up for the back of the room."""
    # One property at a time: update_layout() parses each path again, at several times the cost.
    layout = figure.layout
    layout.title.font.size = round((layout.title.font.size or TITLE_SIZE) * PRESENTER_TITLE / TITLE_SIZE)
    layout.font.size = round((layout.font.size or FONT_SIZE) * PRESENTER_FONT / FONT_SIZE)
