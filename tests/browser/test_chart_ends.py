"""A run's last frame reaches every live chart, however late: after Done the loss chart ends where the status does."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from urllib.parse import urlparse

import numpy as np
import plotly.io as pio
import pytest
from playwright.sync_api import Page, Route

from harness.browser import DROP_SOCKETS_JS, KEEP_SOCKETS_JS, LIVE_LOSS, LOSS_JS, LOSS_TRACES_JS, STATUS_LINE_JS
from harness.sessions import (
    Settings,
    held,
    loss_chart_traces,
    reference_losses,
    same_traces,
    session_settings,
)
from page.live_chart import Feeder
from twolayer.charts.curves import loss_figure
from twolayer.charts.delta import is_typed, typed_values
from twolayer.train.trainer import Trainer

from .helpers import REPO, wait_for_app

CONTENDED_TIMEOUT_MS = 180_000  # three pages training beside a busy loop on every core
CATCH_UP_S = 20  # after Done, how long the charts may take to draw the run's end on a starved browser
SESSIONS = 3
JS = "text/javascript"
ORIGIN = "http://live-chart.test"  # answered by the test itself (page.route): no server
LIVE_CHART_JS = (REPO / "page" / "live_chart.js").read_text()
PLOTLY_STUB = """window.Plotly = {
  react: async (node, data) => { node._fullLayout = {}; node.drawn = data[0].name; },
  purge: (node) => { delete node._fullLayout; delete node.drawn; },
  Plots: {resize: async () => {}},
};"""
CHART_PAGE = f"""<!doctype html><div id="box" style="width: 400px"></div><script type="module">
import show from '{ORIGIN}/live_chart.js';
window.resyncs = 0;
window.host = (parentElement) => show({{data: {{name: 'loss', host: true}}, parentElement,
  setTriggerValue: () => {{ window.resyncs += 1; }}}});
// A feed as a script run's first sends it: the whole figure, here one trace named `name`.
let seq = 0;
window.feed = (name) => show({{data: {{name: 'loss', stream: 'run', seq: seq++, label: 'Loss chart', config: {{}},
  chartCode: '{ORIGIN}/plotly.js', figure: {{data: [{{name}}], layout: {{}}}}}}, parentElement: document.body}});
window.send = (data) => show({{data, parentElement: document.body}});
window.drawn = () => window.twolayerLiveCharts.loss.node.drawn ?? null;
// The figure the chart keeps, its typed arrays as plain ones.
window.kept = () => JSON.parse(JSON.stringify(window.twolayerLiveCharts.loss.kept,
  (key, value) => ArrayBuffer.isView(value) ? Array.from(value) : value));
// Resize observers, animation frames and the draw loop have run their course.
window.settled = () => new Promise((resolve) => setTimeout(resolve, 300));
</script>"""
# The loss chart's stream: the script run its last whole figure came from.
STREAM_JS = "() => window.twolayerLiveCharts?.loss?.stream ?? null"
# Every live chart that holds a figure it has not drawn yet, or is drawing one.
WAITING_JS = """() => Object.entries(window.twolayerLiveCharts || {})
  .filter(([, chart]) => chart.figure !== null || chart.drawing).map(([name]) => name)"""


@pytest.fixture
def busy_cores() -> Iterator[None]:
    """A busy loop pinned to each core for the test's duration: the server and the browser get what is left."""
    loops = []
    try:
        for core in sorted(os.sched_getaffinity(0)):
            loop = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            os.sched_setaffinity(loop.pid, {core})
            loops.append(loop)
        yield
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()


def test_runs_finished_under_contention_end_their_charts_where_their_status_ends(app_server, browser, busy_cores):
    """Three pages train at once beside a busy loop on every core: each chart ends with every epoch, equal to the
    core's run, its last point the status line's loss, and no live chart keeps a figure undrawn."""
    pages = []
    try:
        for settings in session_settings(SESSIONS):
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            page.goto(f"{app_server}/?{settings.query()}", timeout=CONTENDED_TIMEOUT_MS)
            pages.append((settings, page))
        for _, page in pages:
            wait_for_app(page, CONTENDED_TIMEOUT_MS)
        for _, page in pages:
            page.get_by_role("button", name="Train", exact=True).click()
        for settings, page in pages:
            assert_chart_ends_with_the_run(page, settings)
    finally:
        for _, page in pages:
            page.context.close()


def test_a_page_that_reconnects_mid_run_gets_the_whole_figure_and_its_chart_stays_the_cores(app_server, browser):
    """Drop the page's WebSocket while a run trains: the page reconnects, the run goes on in a new script run whose
    first feed is the whole figure (a new stream), and the chart then, mid-run and at the end, is the core's."""
    settings = Settings("numpy", hidden=100, seed=5, epochs=20_000)  # long enough to reconnect mid-run
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.add_init_script(KEEP_SOCKETS_JS)
    page = context.new_page()
    try:
        page.goto(f"{app_server}/?{settings.query()}", timeout=CONTENDED_TIMEOUT_MS)
        wait_for_app(page, CONTENDED_TIMEOUT_MS)
        page.get_by_role("button", name="Train", exact=True).click()
        running = "() => /^Running · epoch \\d{3,}/.test((STATUS)() || '')".replace("STATUS", STATUS_LINE_JS)
        page.wait_for_function(running, timeout=CONTENDED_TIMEOUT_MS)
        before = page.evaluate(STREAM_JS)
        assert page.evaluate(DROP_SOCKETS_JS) == 1
        # Fed again after the reconnect, still mid-run: a stream of the new script run, its chart read as the wait
        # found it drawn (a second read could meet the chart being rebuilt, without data).
        fed = page.wait_for_function(
            f"(before) => {{ const s = ({STATUS_LINE_JS})() || ''; const now = ({STREAM_JS})();"
            f" return s.startsWith('Running') && now && now !== before && ({LOSS_TRACES_JS})(); }}",
            arg=before,
            timeout=CONTENDED_TIMEOUT_MS,
        )
        mid = fed.json_value()
        core = Trainer(settings.config())
        core.advance(settings.epochs)
        assert held(mid) < settings.epochs, "the run ended before the chart could be read mid-run"
        assert same_traces(mid, loss_chart_traces(core, held(mid))), f"mid-run chart at {held(mid)} epochs differs"
        done = f"Done · epoch {settings.epochs} of {settings.epochs}"
        page.wait_for_function(f"() => (({STATUS_LINE_JS})() || '').startsWith({done!r})", timeout=CONTENDED_TIMEOUT_MS)
        deadline = time.monotonic() + CATCH_UP_S
        while held(end := page.evaluate(LOSS_TRACES_JS)) < settings.epochs and time.monotonic() < deadline:
            time.sleep(0.2)
        assert same_traces(end, loss_chart_traces(core)), f"the chart at the end holds {held(end)} epochs, or differs"
    finally:
        context.close()


def test_a_figure_fed_while_the_chart_is_hidden_is_drawn_when_it_is_shown_at_the_same_width(chart_module):
    """Streamlit hides a live chart's host while a script run rebuilds the page, and a learner hides it by opening
    another tab: a figure that came meanwhile is drawn once the chart is shown again, though its width is unchanged."""
    drawn = chart_module.evaluate(
        """async () => {
        const box = document.getElementById('box');
        host(box);
        feed('first');
        await settled();
        box.style.display = 'none';
        feed('last');
        await settled();
        const hidden = drawn();
        box.style.display = '';
        await settled();
        return [hidden, drawn()];
    }"""
    )
    assert drawn == ["first", "last"]


def test_a_host_replaced_before_its_call_ran_leaves_the_chart_on_the_page(chart_module):
    """The frontend calls a component asynchronously: a call for a host the page has already replaced must not move
    the chart into that detached element."""
    placed = chart_module.evaluate(
        """async () => {
        host(document.getElementById('box'));
        feed('first');
        await settled();
        host(document.createElement('div'));
        await settled();
        return [document.querySelector('.tl-live-chart')?.parentElement.id, drawn()];
    }"""
    )
    assert placed == ["box", "first"]


def live_feeds(points: list[int], total: int = 20_000) -> tuple[list[dict], list[dict]]:
    """The figures (Plotly's JSON, parsed) of a loss curve of `total` epochs as it reaches each count of `points`,
    and the feeds a script run sends for them."""
    epochs, losses = np.arange(total), 600 * np.exp(-np.arange(total) / 4000) + np.sin(np.arange(total))
    figures = [json.loads(pio.to_json(loss_figure(epochs[:n], losses[:n], total=total))) for n in points]
    feeder = Feeder("loss")
    feeds = [feeder.message(figure, "Loss chart", {}) for figure in figures]
    feeds[0]["chartCode"] = f"{ORIGIN}/plotly.js"
    return figures, feeds


def traces(figure: dict) -> list[tuple[str, list, list]]:
    """Each trace's name, x and y as plain lists, from typed arrays as sent or arrays as merged."""

    def values(v):
        return typed_values(v).tolist() if is_typed(v) else list(v)

    return [(t["name"], values(t["x"]), values(t["y"])) for t in figure["data"]]


def test_patches_that_come_out_of_order_build_the_figure_the_server_last_sent(chart_module):
    """The whole figure, then four frames' patches, two pairs swapped as the frontend may mount them: the chart
    holds exactly the last figure, and drew it."""
    figures, (whole, *patches) = live_feeds([1000, 1160, 1320, 1480, 1640])
    kept, resyncs = chart_module.evaluate(
        """async ([whole, patches]) => {
        host(document.getElementById('box'));
        for (const data of [whole, ...patches]) send(data);
        await settled();
        return [kept(), resyncs];
    }""",
        [whole, [patches[1], patches[0], patches[3], patches[2]]],
    )
    assert resyncs == 0, "the chart asked for a whole figure though no feed was missing"
    assert all("figure" not in patch and len(json.dumps(patch)) < 2000 for patch in patches)
    assert traces(kept) == traces(figures[-1])


def test_a_chart_missing_a_feed_asks_for_a_whole_figure_once_and_takes_it(chart_module):
    """A patch that never comes leaves the chart where it was (not wrong) and, after a while, asks the server for a
    script run; that run's whole figure is drawn and later patches of the old run are ignored."""
    _, (whole, _, second) = live_feeds([1000, 1160, 1320])
    _, (fresh, _, late) = live_feeds([1320, 1330, 1340])
    state = chart_module.evaluate(
        """async ([whole, second, fresh, late]) => {
        host(document.getElementById('box'));
        send(whole);
        send(second);
        await new Promise((resolve) => setTimeout(resolve, 2500));
        const asked = resyncs;
        send(fresh);
        send(late);
        await settled();
        return [asked, resyncs, kept()];
    }""",
        [whole, second, fresh, {**late, "stream": whole["stream"], "base": 0}],
    )
    assert state[:2] == [1, 1], f"resyncs asked: {state[:2]}"
    assert traces(state[2]) == traces(fresh["figure"])


@pytest.fixture
def chart_module(page: Page) -> Page:
    """A page holding page/live_chart.js and a stand-in for Plotly that records what it draws; helpers `host(el)`,
    `feed(name)`, `settled()` and `drawn()` (the name of the figure on screen)."""
    files = {"/": (CHART_PAGE, "text/html"), "/live_chart.js": (LIVE_CHART_JS, JS), "/plotly.js": (PLOTLY_STUB, JS)}

    def serve(route: Route) -> None:
        body, kind = files[urlparse(route.request.url).path]
        route.fulfill(body=body, content_type=kind)

    page.route(f"{ORIGIN}/**", serve)
    page.goto(f"{ORIGIN}/")
    page.wait_for_function("() => window.feed !== undefined")
    return page


def assert_chart_ends_with_the_run(page: Page, settings: Settings) -> None:
    """Wait for Done, then up to CATCH_UP_S for every live chart to draw its last figure; check the loss chart."""
    done = f"Done · epoch {settings.epochs} of {settings.epochs}"
    # The status line as it read when done: a script run that redraws the page takes it away for a moment.
    status = page.wait_for_function(
        f"() => {{ const s = ({STATUS_LINE_JS})(); return s?.startsWith({done!r}) && s; }}",
        timeout=CONTENDED_TIMEOUT_MS,
    ).json_value()
    wait_for_app(page, CONTENDED_TIMEOUT_MS)
    deadline = time.monotonic() + CATCH_UP_S
    while True:
        losses, waiting = page.evaluate(LOSS_JS), page.evaluate(WAITING_JS)
        if losses is not None and len(losses) == settings.epochs and not waiting:
            break
        if time.monotonic() > deadline:
            held = 0 if losses is None else len(losses)
            pytest.fail(
                f"{settings.query()}: {CATCH_UP_S} s after Done the loss chart holds {held} of {settings.epochs} "
                f"epochs; charts with a figure not drawn yet: {waiting}"
            )
        time.sleep(0.2)
    assert page.locator(LIVE_LOSS).is_visible(), f"{settings.query()}: the loss chart is not on the screen"
    assert losses == reference_losses(settings), f"{settings.query()}: the chart differs from the core's run"
    shown = float(re.search(r"loss ([^ ]+)", status).group(1))
    assert shown == float(f"{losses[-1]:.4g}"), f"the status line ({status}) and the chart's last point differ"
