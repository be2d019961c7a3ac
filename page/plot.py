"""Where the page shows a figure: every chart, drawn once or live, goes through `plot`, with one Plotly config.

Each chart comes with its words: a short name (what a screen reader calls it), a description of what it shows now
with the run's numbers (written under it; page.browser links the chart to it with aria-describedby), and its data
as a table, on request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import plotly.graph_objects as go

from page import live_chart, state
from page.browser import FIGURE_KEY
from twolayer.charts.base import FONT_SIZE, TITLE_SIZE

CONFIG = {"displaylogo": False}
# Chart text in presenter mode, a layout for a projector (set in app.py and training_view.PRESENTER_CSS), against
# FONT_SIZE.
PRESENTER_FONT = 26
PRESENTER_TITLE = PRESENTER_FONT + 2  # a full-size title, TITLE_SIZE otherwise; smaller titles grow in proportion


@dataclass(frozen=True)
class Words:
    """What a chart says to those who cannot see it: its name, what it shows now, and its data as a table."""

    name: str  # "Loss chart": the chart's accessible name, and the start of its caption
    description: str  # what it shows now, with the run's numbers
    table: Callable[[], dict[str, list]] | None = None  # its data as columns, built when the table is shown
    progress: str | None = None  # a live chart's progress, announced now and then to a screen reader

    @property
    def caption(self) -> str:
        """The text written under the chart: its name, then what it shows."""
        return f"{self.name}: {self.description}"


def plot(where, figure: go.Figure, key: str, words: Words) -> None:
    """Show `figure` in `where` (a container: st, a column, a placeholder; or a live chart's spot) with its `words`,
    written under it and linked to it for a screen reader, and its table on request."""
    if state.PRESENTER.get():
        _enlarge(figure)
    if isinstance(where, live_chart.Spot | live_chart.Recording):
        where.show(figure, words.caption, key, CONFIG, name=words.name, table=words.table, progress=words.progress)
        return
    # One keyed container per chart: the browser finds the chart and its caption in it (page.browser).
    box = where.container(key=f"{FIGURE_KEY}{key}")
    # theme=None: the figures carry their own projection-ready styling.
    box.plotly_chart(figure, key=key, config=CONFIG, theme=None, alt=words.name)
    box.caption(words.caption)
    if words.table is not None:
        # Built with the chart, so kept small (tables thin long runs): a chart redrawn in a loop cannot hold a widget.
        box.expander(live_chart.TABLE_LABEL).dataframe(words.table(), hide_index=True)


def _enlarge(figure: go.Figure) -> None:
    """Scale the figure's text up for the back of the room."""
    # One property at a time: update_layout() parses each path again, at several times the cost.
    layout = figure.layout
    layout.title.font.size = round((layout.title.font.size or TITLE_SIZE) * PRESENTER_TITLE / TITLE_SIZE)
    layout.font.size = round((layout.font.size or FONT_SIZE) * PRESENTER_FONT / FONT_SIZE)
