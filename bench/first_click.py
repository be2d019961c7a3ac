"""Section 6: each stage's first click on a fresh server, to its first loss chart, in the page's own clock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from bench.first_paint import LOGS, OPEN_TIMEOUT_MS, QUIET_TIMEOUT_S, ms, probed_page
from bench.report import Section
from bench.timing import verdict
from harness.browser import chromium, wait_for_app
from harness.paint import FIRST_LOSS_JS, FIRST_LOSS_READ_JS, FRAME_PROBE_JS, LOSS_SHOWN_JS, wait_quiet
from harness.server import free_port, start_server, stop_server, wait_healthy
from harness.sessions import STAGES

CLICK_TARGET_MS = 500  # a fresh server's first click to the first loss chart, under
WARM_UP_WAIT_S = 3.0  # after the opened page is idle, before the click: the page settles and loads its chart code
QUICK_STAGES = ("numpy", "optim")  # the first stage and the one with the most lazy imports (Adam)


def first_click(browser, url: str, server_pid: int, before_click: Callable[[], None] = lambda: None) -> dict:
    """Open `url`, wait for idle plus the warm-up wait, press Train in the page; the times in the page's clock.

    `before_click` runs just before the wait for a quiet server (the caller's chance to finish other work)."""
    with probed_page(browser, FRAME_PROBE_JS) as page:
        page.goto(url, timeout=OPEN_TIMEOUT_MS)
        wait_for_app(page, OPEN_TIMEOUT_MS)
        page.get_by_role("button", name="Train", exact=True).wait_for(state="visible", timeout=OPEN_TIMEOUT_MS)
        idle_at = time.monotonic()
        time.sleep(WARM_UP_WAIT_S)
        before_click()
        quiet, _ = wait_quiet(server_pid, timeout_s=QUIET_TIMEOUT_S)
        waited = time.monotonic() - idle_at
        record = _click_to_loss(page, url)
        # Once more on the same page after Reset: the frontend's Plotly code is loaded, the server's run is warm.
        wait_for_app(page, OPEN_TIMEOUT_MS)
        page.get_by_role("button", name="Reset", exact=True).click()
        page.wait_for_function(f"() => !({LOSS_SHOWN_JS})()", timeout=OPEN_TIMEOUT_MS, polling=100)
        wait_for_app(page, OPEN_TIMEOUT_MS)
        wait_quiet(server_pid, timeout_s=QUIET_TIMEOUT_S)
        again = _click_to_loss(page, url)
        return {**record, "waited": waited, "quiet": quiet, "again": again}


def _click_to_loss(page, url: str) -> dict:
    """Press Train from inside the page and wait for the loss chart; the page's record of it."""
    problem = page.evaluate(FIRST_LOSS_JS)
    if problem:
        raise RuntimeError(f"{url}: {problem}")
    page.wait_for_function("() => window.__firstLoss.loss !== null", timeout=OPEN_TIMEOUT_MS, polling=100)
    return page.evaluate(FIRST_LOSS_READ_JS)


def click_summary(record: dict) -> dict:
    """Milliseconds from the click to the script's start, to the loss chart's frame arriving and to the chart drawn;
    the state and epoch the status line showed then."""
    status = record.get("status") or ""
    epoch = status.split("epoch ", 1)[1].split(" ", 1)[0] if "epoch " in status else "?"

    def since_click(key: str) -> float | None:
        return record[key] - record["clicked"] if record.get(key) is not None else None

    return {
        "start": since_click("scriptRunning"),
        "frame": since_click("lossFrame"),
        "chart": since_click("loss"),
        "epoch": epoch,
        "state": status.split(" ", 1)[0] if status else "?",
    }


def _files(record: dict) -> str:
    largest = record.get("largestAfterClick")
    if not record.get("filesAfterClick"):
        return "none"
    name, kb, start, end = largest
    return (
        f"{record['filesAfterClick']}, {record['kbAfterClick']:,.0f} KB "
        f"({name} {kb:,.0f} KB, fetched {start - record['clicked']:,.0f}-{end - record['clicked']:,.0f} ms)"
    )


def run_first_click(quick: bool) -> list[Section]:
    """Section 6: for each stage a fresh server, its page opened with ?stage=, Train pressed once."""
    stages = QUICK_STAGES if quick else STAGES
    LOGS.mkdir(parents=True, exist_ok=True)
    section = Section(
        "6. First click on a fresh server",
        "For each stage a fresh server as `scripts/run-app` starts it (`python -m page.launch`: the app's modules "
        "imported and every stage run once before it answers, its only warm-up), its page opened at `?stage=`, "
        f"then, once the page is idle, {WARM_UP_WAIT_S:g} s more and until the server process uses under 5% of a "
        f"core (at most {QUIET_TIMEOUT_S:g} s more) so that the page has settled; then Train is pressed from "
        "inside the page. Times are the page's own clock, from the click to the frontend marking the script as "
        "running and to the first chart titled 'Loss...' holding data (before any run the page shows an empty "
        "box, not a chart). The loss frame is the first websocket message carrying the loss chart, noted as it "
        "arrives and before the frontend reads it: click to frame is the server's share (with the network), frame "
        "to chart the browser's. Long tasks: the page's main thread blocked over 50 ms at a time between the click "
        "and the chart; files: what the page fetched in that time (the frontend loads each kind of element's code "
        "when it first needs it). The last column presses Train once more on the same page after Reset, with the "
        "frontend's chart code loaded and the server's run warm. One fresh server per stage; the 500-epoch lecture "
        "run.",
        [
            "stage",
            "waited after idle",
            "server quiet at the click",
            "click to script start ms",
            "click to loss frame ms",
            "click to first loss chart ms",
            "shown with it",
            "long tasks ms",
            "files fetched (largest)",
            "again after Reset: click to chart ms",
            "target",
            "result",
        ],
    )
    # A server takes seconds to exit: each is stopped in the background while the next starts, and is gone
    # before the next click (`before_click` waits for it).
    stopping = threading.Thread()
    try:
        with chromium() as browser:
            for stage in stages:
                port = free_port()
                server = start_server(port, LOGS / f"bench-first-click-{stage}-server.log")
                try:
                    url = f"http://127.0.0.1:{port}"
                    wait_healthy(server, url)
                    record = first_click(browser, f"{url}/?stage={stage}", server.pid, _joiner(stopping))
                finally:
                    stopping = threading.Thread(target=stop_server, args=(server,), name=f"stop {stage}")
                    stopping.start()
                s = click_summary(record)
                section.rows.append(
                    [
                        stage,
                        f"{record['waited']:.1f} s",
                        "yes" if record["quiet"] else "no",
                        ms(s["start"]),
                        ms(s["frame"]),
                        ms(s["chart"]),
                        f"{s['state']} · epoch {s['epoch']}",
                        ms(record.get("longTaskMs")),
                        _files(record),
                        ms(click_summary(record["again"])["chart"]),
                        f"< {CLICK_TARGET_MS}",
                        verdict(s["chart"] < CLICK_TARGET_MS),
                    ]
                )
    finally:
        _joiner(stopping)()
    return [section]


def _joiner(thread: threading.Thread) -> Callable[[], None]:
    """A function that waits for `thread` to end, if it was started."""
    return lambda: thread.join() if thread.ident is not None else None
