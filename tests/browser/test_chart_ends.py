"""A run's last frame reaches every live chart, however late: after Done the loss chart ends where the status does."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Page, Route

from harness.browser import LIVE_LOSS, LOSS_JS, STATUS_LINE_JS
from harness.sessions import Settings, reference_losses, session_settings

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
window.host = (parentElement) => show({{data: {{name: 'loss', host: true}}, parentElement}});
window.feed = (name) => show({{data: {{name: 'loss', label: 'Loss chart', config: {{}}, chartCode: '{ORIGIN}/plotly.js',
  figure: JSON.stringify({{data: [{{name}}], layout: {{}}}})}}, parentElement: document.body}});
window.drawn = () => window.twolayerLiveCharts.loss.node.drawn ?? null;
// Resize observers, animation frames and the draw loop have run their course.
window.settled = () => new Promise((resolve) => setTimeout(resolve, 300));
</script>"""
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
