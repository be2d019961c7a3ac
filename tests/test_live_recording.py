"""A chart drawn once for a process's following pages: what a Recording keeps, and what it does to each page's spot."""

from __future__ import annotations

import plotly.graph_objects as go

from page.live_chart import Recording


class Place:
    """A placeholder that notes what is written to it."""

    def __init__(self, name: str, calls: list) -> None:
        self._name, self._calls = name, calls

    def __getattr__(self, method: str):
        return lambda *args, **kwargs: self._calls.append((f"{self._name}.{method}", args, kwargs))


class PageSpot:
    """A page's spot as the replay sees it: show, unplace and its placeholders."""

    def __init__(self) -> None:
        self.calls: list = []
        self.chart, self.caption = Place("chart", self.calls), Place("caption", self.calls)

    def show(self, figure, caption, key, config, **words) -> None:
        self.calls.append(("show", (figure, caption, key, config), words))

    def unplace(self) -> None:
        self.calls.append(("unplace", (), {}))


def test_a_recording_replays_each_call_into_every_page_with_the_pages_own_key():
    recording = Recording()
    recording.unplace()
    recording.caption.caption("W1: no gradient yet; take a step first.")
    figure = go.Figure(go.Scatter(x=[0, 1, 2], y=[3.0, 2.0, 1.5], name="training loss"))
    recording.show(figure, "Loss chart: falling.", "ignored", {"displaylogo": False}, name="Loss chart", progress="p")
    shown = recording.calls[-1][1][0]
    assert isinstance(shown, dict) and shown["data"][0]["y"] == [3.0, 2.0, 1.5], "the figure's JSON, parsed once"

    pages = [PageSpot(), PageSpot()]
    for number, page in enumerate(pages):
        recording.replay(page, f"loss-{number}")
    for number, page in enumerate(pages):
        assert page.calls == [
            ("unplace", (), {}),
            ("caption.caption", ("W1: no gradient yet; take a step first.",), {}),
            ("show", (shown, "Loss chart: falling.", f"loss-{number}", {"displaylogo": False}),
             {"name": "Loss chart", "progress": "p"}),
        ]  # fmt: skip
    assert pages[0].calls[2][1][0] is pages[1].calls[2][1][0], "one figure for all the pages, not a copy each"
