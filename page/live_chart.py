"""Live charts: Plotly charts that each frame updates in place, where st.plotly_chart would mount them anew.

Streamlit keys a Plotly element by an id that hashes its figure, so every redrawn chart is a new chart to the
browser: Plotly builds it from nothing (`newPlot`) five times a second, on the cores the server trains on, and the
learner's zoom is lost each time. Here a chart is two elements of one component:

- its host, placed once per script run where the chart shows, with the same key every run, so the browser keeps it;
- its feed, sent each frame into a hidden placeholder with the figure: it hands the figure to the chart, which
  `Plotly.react` redraws in place (only what changed, keeping zoom and pan across frames).

A feed cannot be the host itself: an element's key may be used once per script run, and a new key is a new element.
"""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from page.browser import CHART_CODE, FIGURE_KEY

FEEDS_KEY = "tl-live-feeds"  # the hidden container that holds the feeds
FEEDS_CSS = f"<style>.st-key-{FEEDS_KEY} {{ display: none; }}</style>"
TABLE_LABEL = "Show as table"
TABLE_SECONDS = 2.0  # an open table of a live chart is rebuilt at most this often: a run's history can be long

_JS = (Path(__file__).resolve().parent / "live_chart.js").read_text()
# Without style isolation: Plotly styles its charts from the document's head, which a shadow root would not see.
_component = st.components.v2.component("twolayer.live_chart", js=_JS, isolate_styles=False)


def feeds():
    """The hidden container for the frames' feeds (hidden by FEEDS_CSS); one per page."""
    return st.container(key=FEEDS_KEY)


class Spot:
    """Where one live chart shows on the page: its host, its caption and table under it, and its feed; made once a
    script run."""

    def __init__(self, name: str, feeds) -> None:
        """Placeholders for chart `name` here (in the current container) and for its feed in `feeds`."""
        self.name = name
        self._slug = name.replace(" ", "-")
        box = st.container(key=FIGURE_KEY + self._slug)
        self.chart, self.caption, self.table = box.empty(), box.empty(), box.empty()
        self._feed = feeds.empty()
        self._placed = False
        self._captioned: str | None = None
        self._table_made = False  # the table's expander, a widget, may be made once a script run
        self._rows: st.delta_generator.DeltaGenerator | None = None  # where an open table goes
        self._tabled = -TABLE_SECONDS

    def show(self, figure, caption: str, key: str, config: dict, *, name: str, table=None, progress=None) -> None:
        """Hand `figure` and its Plotly `config` to the chart (placing it, the first time this script run) with
        `caption` (the chart's `name` and what it shows), its data as a `table` on request, and its `progress` to
        announce; `key` is new each frame."""
        if not self._placed:
            # One key in every script run, so that the browser keeps the chart: a new key would be a new chart.
            with self.chart:
                _component(key=f"tl-live-host-{self.name.replace(' ', '-')}", data={"name": self.name, "host": True})
            self._placed = True
        if caption != self._captioned:
            self.caption.caption(caption)
            self._captioned = caption
        self._table(table)
        data = {
            "name": self.name,
            "label": name,
            "progress": progress,
            "figure": figure.to_json(),
            "config": config,
            "chartCode": CHART_CODE,
        }
        with self._feed:
            _component(key=key, data=data)

    def _table(self, table) -> None:
        """The chart's data in an expander, built only while it is open, and at most every TABLE_SECONDS."""
        if table is None:
            return
        if not self._table_made:
            self._table_made = True
            expander = self.table.expander(TABLE_LABEL, key=f"tl-table-{self._slug}", on_change="rerun")
            self._rows = expander.empty() if expander.open else None
        if self._rows is not None and time.monotonic() - self._tabled >= TABLE_SECONDS:
            self._rows.dataframe(table(), hide_index=True)
            self._tabled = time.monotonic()

    def unplace(self) -> None:
        """Take the chart, its caption and table off the page, for the caller to write something else in their
        places."""
        self.chart.empty()
        self.caption.empty()
        self.table.empty()
        self._placed, self._captioned, self._rows = False, None, None
