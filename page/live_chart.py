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
from pathlib import Path

import plotly.io as pio
import streamlit as st

from page import state
from page.browser import CHART_CODE
from twolayer.charts.delta import diff

FEEDS_KEY = "tl-live-feeds"  # the hidden container that holds the feeds
FEEDS_CSS = f"<style>.st-key-{FEEDS_KEY} {{ display: none; }}</style>"

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


class Feeder:
    """What one chart's feeds carry in a script run: the whole figure first, then what changed since the last feed."""

    def __init__(self, name: str) -> None:
        """Feeds for chart `name`, told from an earlier script run's by a stream of their own, numbered from 0."""
        self.name = name
        self.stream, self.seq = secrets.token_hex(4), -1
        self.sent: dict | None = None  # the figure as the browser holds it after the last feed, None before one
        self.label: str | None = None

    def message(self, figure: dict, label: str, config: dict) -> dict | None:
        """The next feed's data for `figure` (Plotly's JSON, parsed) with aria-label `label`: the whole figure and
        the chart's `config` first (or after `sent` is cleared), then patches; None when nothing changed."""
        data = {"name": self.name, "stream": self.stream, "seq": self.seq + 1}
        if self.sent is None:
            data.update(figure=figure, config=config, chartCode=CHART_CODE, label=label)
        else:
            patch = diff(self.sent, figure)
            if patch is None and label == self.label:
                return None
            data.update(base=self.seq, patch=patch)
            if label != self.label:
                data["label"] = label
        self.seq, self.sent, self.label = self.seq + 1, figure, label
        return data


class Spot:
    """Where one live chart shows on the page: its host, its caption under it, and its feed; made once a script run."""

    def __init__(self, name: str, feeds) -> None:
        """Placeholders for chart `name` here (in the current container) and for its feed in `feeds`."""
        self.name = name
        self.chart, self.caption = st.empty(), st.empty()
        self._places = (feeds.empty(), feeds.empty())
        self._feeds, self._fed, self._turn = None, 0, 0  # the container feeds go to, how many it holds, its place
        self._placed = False
        self._captioned: str | None = None
        self._feeder = Feeder(name)

    def show(self, figure, caption: str, key: str, config: dict) -> None:
        """Hand `figure` and its Plotly `config` to the chart (placing it, the first time this script run) with
        `caption`, whole or as what changed since the last; `key` is new each frame."""
        if not self._placed:
            # One key in every script run, so that the browser keeps the chart: a new key would be a new chart.
            host = {"name": self.name, "host": True}
            if not state.CHART_CODE_SENT.get():
                host["code"] = _CODE
                state.CHART_CODE_SENT.set(True)
            with self.chart:
                _host(key=f"tl-live-host-{self.name.replace(' ', '-')}", data=host, on_resync_change=_resync)
            self._placed = True
        if caption != self._captioned:
            self.caption.caption(caption)
            self._captioned = caption
        data = self._feeder.message(json.loads(pio.to_json(figure, validate=False)), caption, config)
        if data is None:
            return  # the browser shows this already
        if self._feeds is None or self._fed == APPENDED:
            self._turn = 1 - self._turn
            self._feeds, self._fed = self._places[self._turn].container(), 0
        with self._feeds:
            _feed(key=key, data=data)
        self._fed += 1

    def unplace(self) -> None:
        """Take the chart and its caption off the page, for the caller to write something else in their places."""
        self.chart.empty()
        self.caption.empty()
        self._placed, self._captioned = False, None
        self._feeder.sent = None  # placed again, the chart starts from a whole figure


def _resync() -> None:
    """A page that missed a feed or the charts' code asked for a script run: its first feeds are whole, and its
    first host carries the code again."""
    state.CHART_CODE_SENT.set(False)
