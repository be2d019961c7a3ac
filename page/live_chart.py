"""Live charts: Plotly charts that each frame updates in place, where st.plotly_chart would mount them anew.

Streamlit keys a Plotly element by an id that hashes its figure, so every redrawn chart is a new chart to the
browser: Plotly builds it from nothing (`newPlot`) five times a second, on the cores the server trains on, and the
learner's zoom is lost each time. Here a chart is two elements of one component:

- its host, placed once per script run where the chart shows, with the same key every run, so the browser keeps it;
- its feeds, sent each frame into hidden placeholders: the first of a script run with the whole figure, each later one
  with what changed since the one before (a patch, `twolayer.charts.delta`: a loss curve's new points), nothing when
  nothing changed. The browser keeps the figure, applies each patch in order and `Plotly.react` redraws in place
  (keeping zoom and pan across frames).

A feed cannot be the host itself: an element's key may be used once per script run, and a new key is a new element.
Nor may a feed replace the one before it in one placeholder: a busy server sends frames in bursts, and the frontend
draws only the last element a placeholder was given in a burst, so every patch before it would be lost. Feeds are
added to a container instead, APPENDED of them, then to a second one, emptied, and so on in turn; the browser puts
feeds that come out of order back in order. A page that still misses one (its chain of patches broken) asks for a
script run through its host, whose first feed is whole again; a page that reconnects gets a new script run too (the
server stops a session's script run when its page disconnects), so a whole figure.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

import plotly.io as pio
import streamlit as st

from page import state
from page.browser import CHART_CODE, FIGURE_KEY
from twolayer.charts.delta import diff

FEEDS_KEY = "tl-live-feeds"  # the hidden container that holds the feeds
FEEDS_CSS = f"<style>.st-key-{FEEDS_KEY} {{ display: none; }}</style>"
TABLE_LABEL = "Show as table"
TABLE_SECONDS = 2.0  # an open table of a live chart is rebuilt at most this often: a run's history can be long
# The words under a live chart are rewritten at most this often while it trains: they are read, not watched, and
# sent every frame they were a tenth of a training page's bytes. The script run after training writes the last.
CAPTION_SECONDS = 2.0

APPENDED = 50  # feeds a container holds before a chart's feeds go on in the other, emptied: ten seconds of frames
_CODE = (Path(__file__).resolve().parent / "live_chart.js").read_text()
# A component's code travels with every element of it: hosts and feeds carry a few lines each, which hand their data
# to live_chart.js, and that travels once a page, as data of the first host the session places. A page that did not
# get it (its message dropped when a new script run began) asks for it again, through a host, after CODE_WAIT_MS.
_HOST_JS = """const CODE_WAIT_MS = 1500;
export default function (args) {
  const live = (window.twolayerLive ||= { waiting: [] });
  if (args.data.code && !live.loading) {
    const url = URL.createObjectURL(new Blob([args.data.code], { type: 'text/javascript' }));
    live.loading = import(url).then((module) => {
      live.show = module.default;
      for (const waiting of live.waiting.splice(0)) live.show(waiting);
    });
  }
  if (live.show) return live.show(args);
  live.waiting.push(args);
  if (!live.loading) setTimeout(() => live.loading || args.setTriggerValue('resync', true), CODE_WAIT_MS);
}"""
# On two lines: Streamlit takes a one-line string for the path of a file.
_FEED_JS = """export default (args) => { const live = (window.twolayerLive ||= { waiting: [] });
live.show ? live.show(args) : live.waiting.push(args); };"""
# Without style isolation: Plotly styles its charts from the document's head, which a shadow root would not see.
_host = st.components.v2.component("twolayer.live_chart", js=_HOST_JS, isolate_styles=False)
_feed = st.components.v2.component("twolayer.live_feed", js=_FEED_JS)


def feeds():
    """The hidden container for the frames' feeds (hidden by FEEDS_CSS); one per page."""
    return st.container(key=FEEDS_KEY)


def _as_json(figure) -> dict:
    """A Plotly figure as its JSON, parsed; a figure given so already (a Recording's) as it is."""
    return figure if isinstance(figure, dict) else json.loads(pio.to_json(figure, validate=False))


class Feeder:
    """What one chart's feeds carry in a script run: the whole figure first, then what changed since the last feed."""

    def __init__(self, name: str) -> None:
        """Feeds for chart `name`, told from an earlier script run's by a stream of their own, numbered from 0."""
        self.name = name
        self.stream, self.seq = secrets.token_hex(4), -1
        self.sent: dict | None = None  # the figure as the browser holds it after the last feed, None before one
        self.said: dict[str, str | None] = {}  # the label and progress the browser last had

    def message(self, figure: dict, config: dict, label: str, progress: str | None = None) -> dict | None:
        """The next feed's data for `figure` (Plotly's JSON, parsed) with aria-label `label` and `progress` to
        announce: the whole figure and the chart's `config` first (or after `sent` is cleared), then patches and
        whichever words changed; None when nothing changed."""
        data = {"name": self.name, "stream": self.stream, "seq": self.seq + 1}
        words = {"label": label, "progress": progress}
        if self.sent is None:
            data.update(figure=figure, config=config, chartCode=CHART_CODE, **words)
        else:
            patch = diff(self.sent, figure)
            changed = {key: value for key, value in words.items() if self.said.get(key) != value}
            if patch is None and not changed:
                return None
            data.update(base=self.seq, patch=patch, **changed)
        self.seq, self.sent, self.said = self.seq + 1, figure, words
        return data


class Spot:
    """Where one live chart shows on the page: its host, its caption and table under it, and its feed; made once a
    script run."""

    def __init__(self, name: str, feeds) -> None:
        """Placeholders for chart `name` here (in the current container) and for its feed in `feeds`."""
        self.name = name
        self._slug = name.replace(" ", "-")
        box = st.container(key=FIGURE_KEY + self._slug)
        self.chart, self.caption, self.table = box.empty(), box.empty(), box.empty()
        self._places = (feeds.empty(), feeds.empty())
        self._feeds, self._fed, self._turn = None, 0, 0  # the container feeds go to, how many it holds, its place
        self._placed = False
        self._captioned: str | None = None
        self._captioned_at = -CAPTION_SECONDS
        self._feeder = Feeder(name)
        self._table_made = False  # the table's expander, a widget, may be made once a script run
        self._rows: st.delta_generator.DeltaGenerator | None = None  # where an open table goes
        self._tabled = -TABLE_SECONDS

    def show(self, figure, caption: str, key: str, config: dict, *, name: str, table=None, progress=None) -> None:
        """Hand `figure` (a Plotly figure, or its JSON parsed) and its Plotly `config` to the chart (placing it, the
        first time this script run) with `caption` (the chart's `name` and what it shows), its data as a `table` on
        request, and its `progress` to announce, the figure whole or as what changed since the last; `key` is new
        each frame."""
        if not self._placed:
            # One key in every script run, so that the browser keeps the chart: a new key would be a new chart.
            host = {"name": self.name, "host": True}
            if not state.CHART_CODE_SENT.get():
                host["code"] = _CODE
                state.CHART_CODE_SENT.set(True)
            with self.chart:
                _host(key=f"tl-live-host-{self._slug}", data=host, on_resync_change=_resync)
            self._placed = True
        if caption != self._captioned and (
            self._captioned is None or time.monotonic() - self._captioned_at >= CAPTION_SECONDS
        ):
            self.caption.caption(caption)
            self._captioned, self._captioned_at = caption, time.monotonic()
        self._table(table)
        message = self._feeder.message(_as_json(figure), config, name, progress)
        if message is None:
            return  # the browser shows this already
        if self._feeds is None or self._fed == APPENDED:
            self._turn = 1 - self._turn
            self._feeds, self._fed = self._places[self._turn].container(), 0
        with self._feeds:
            _feed(key=key, data=message)
        self._fed += 1

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
        self._feeder.sent = None  # placed again, the chart starts from a whole figure


def _resync() -> None:
    """A page that missed a feed or the charts' code asked for a script run: its first feeds are whole, and its
    first host carries the code again."""
    state.CHART_CODE_SENT.set(False)


class Recording:
    """What drawing one chart into a Spot did, kept to replay into other Spots: a process's following pages show the
    same chart of the same frame, made once for all of them instead of once a page."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple, dict]] = []
        self.chart, self.caption = _Kept(self.calls, "chart"), _Kept(self.calls, "caption")

    def show(self, figure, caption: str, key: str, config: dict, **words) -> None:
        """As Spot.show, kept: the figure as its JSON, parsed once here; `key` is the replaying page's own."""
        self.calls.append(("show", (_as_json(figure), caption), {"config": config, **words}))

    def unplace(self) -> None:
        self.calls.append(("unplace", (), {}))

    def replay(self, spot: Spot, key: str) -> None:
        """Do to `spot` what was done to this, with the chart's `key` for this frame of that page."""
        for what, args, kwargs in self.calls:
            if what == "show":
                figure, caption = args
                spot.show(figure, caption, key, **kwargs)
            elif what == "unplace":
                spot.unplace()
            else:
                place, method = what.split(".")
                getattr(getattr(spot, place), method)(*args, **kwargs)


class _Kept:
    """A Recording's stand-in for one of a Spot's placeholders: what is written to it is kept."""

    def __init__(self, calls: list, place: str) -> None:
        self._calls, self._place = calls, place

    def __getattr__(self, method: str):
        return lambda *args, **kwargs: self._calls.append((f"{self._place}.{method}", args, kwargs))
