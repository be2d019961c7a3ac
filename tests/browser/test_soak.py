"""Long use of one server: 100 trainings in a row and a 100,000-epoch run keep its memory flat; Pause answers fast."""

from __future__ import annotations

import re
import statistics
import time

import pytest

from harness.browser import STATUS_LINE_JS
from harness.server import cpu_seconds, memory_mb, server_pid

from .helpers import APP_IDLE, button, no_errors, pause_seconds, wait_for_app

# Minutes of work each: CI runs them; a quick run leaves them out with -m "not slow". The timeout is generous,
# as CI shares its machine: these tests judge memory and whether Pause lands, not speed (the benchmark does).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

GROWTH_LIMIT_MB = 50
TRAININGS = 100
WARM_UP = 3  # first runs import and cache what every later run reuses: not growth
SHORT_RUN = "epochs=20&hidden=8"
LONG_RUN = "stage=nn&epochs=100000&hidden=1&batch=1"
RUN_BEFORE_PAUSE_S = 10
PAUSE_LIMIT_S = 5.0  # that Pause lands, with a margin for a loaded machine; bench measures the latency itself
FINISH_LIMIT_S = 60  # finish the long run after the pause only if it needs less than this


def current_epoch(page) -> int:
    """The epoch the status line shows, waiting out a redraw that has briefly removed the line."""
    return epoch(wait_status(page, "", 10))


def wait_status(page, prefix: str, timeout_s: float) -> str:
    """Wait until the status line starts with `prefix`; returns it as it was then."""
    # Read in the same call that matched: a rerun redraws the line, so a second read may find it gone.
    handle = page.wait_for_function(
        f"(prefix) => {{ const text = ({STATUS_LINE_JS})(); return text && text.startsWith(prefix) && text; }}",
        arg=prefix,
        timeout=timeout_s * 1000,
        polling=50,
    )
    return handle.json_value()


def epoch(text: str) -> int:
    match = re.search(r"epoch (\d+) of", text)
    return int(match.group(1)) if match else 0


def rss_mb(pid: int) -> float:
    return memory_mb(pid)["VmRSS"]


def test_a_hundred_trainings_in_one_session_keep_server_memory_flat(app_server, page):
    pid = server_pid(app_server)
    page.goto(f"{app_server}/?{SHORT_RUN}")
    wait_for_app(page)

    def reset_and_train() -> None:
        button(page, "Reset").click()
        wait_status(page, "Ready", 30)
        button(page, "Train").click()
        text = wait_status(page, "Done", 60)
        assert "epoch 20 of 20" in text, text
        # The run's closing redraw has finished (the fading "Running..." widget need not be waited out).
        page.locator(APP_IDLE).wait_for(state="attached", timeout=60_000)

    for _ in range(WARM_UP):
        reset_and_train()
    before = rss_mb(pid)
    start = time.monotonic()
    for _ in range(TRAININGS):
        reset_and_train()
    seconds = time.monotonic() - start
    after = rss_mb(pid)

    no_errors(page)
    print(f"{TRAININGS} trainings in {seconds:.0f} s; server RSS {before:.0f} MB -> {after:.0f} MB")
    assert after - before < GROWTH_LIMIT_MB, f"server memory grew {after - before:.0f} MB over {TRAININGS} trainings"


def test_a_100000_epoch_run_pauses_and_keeps_memory_flat(app_server, page):
    pid = server_pid(app_server)
    page.goto(f"{app_server}/?{LONG_RUN}")
    wait_for_app(page)
    before = rss_mb(pid)

    # Three pauses: after RUN_BEFORE_PAUSE_S, then after two seconds of each resumed run. A machine fast
    # enough to near the end sooner pauses earlier, so that every pause lands mid-run.
    pauses, ran_s, paused_at = [], 0.0, 0
    for run_s in (RUN_BEFORE_PAUSE_S, 2, 2):
        button(page, "Train").click()
        wait_status(page, "Running · epoch", 30)
        resumed = time.monotonic()
        while time.monotonic() - resumed < run_s and current_epoch(page) < 40_000:
            time.sleep(0.25)
        ran_s += time.monotonic() - resumed
        pauses.append(pause_seconds(page))
        paused_at = current_epoch(page)
        time.sleep(1.5)
        assert current_epoch(page) == paused_at, "the epoch counter kept moving after Pause"
        assert 0 < paused_at < 100_000
    took_s = statistics.median(pauses)
    assert took_s < PAUSE_LIMIT_S, f"Pause took {took_s:.2f} s to show (median of {pauses})"

    remaining_s = (100_000 - paused_at) / (paused_at / ran_s)
    print(f"paused at epoch {paused_at} after {ran_s:.1f} s of training, pauses took {pauses} s")
    if remaining_s < FINISH_LIMIT_S:
        button(page, "Train").click()
        text = wait_status(page, "Done", 2 * remaining_s + 30)
        assert "epoch 100000 of 100000" in text, text
        wait_for_app(page)
    after = rss_mb(pid)

    no_errors(page)
    print(f"server RSS {before:.0f} MB -> {after:.0f} MB")
    assert after - before < GROWTH_LIMIT_MB, f"server memory grew {after - before:.0f} MB over the long run"


def test_closing_a_tab_stops_its_training(app_server, browser):
    pid = server_pid(app_server)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.goto(f"{app_server}/?{LONG_RUN}")
        wait_for_app(page)
        button(page, "Train").click()
        wait_status(page, "Running · epoch", 30)
        busy = cpu_share(pid, 1.0)
    finally:
        context.close()
    time.sleep(1.0)  # the server notices the closed socket and stops the script at its next slice
    idle = cpu_share(pid, 2.0)
    assert busy > 0.1, f"the server used only {busy:.0%} of a core while training"
    assert idle < min(0.1, busy / 3), f"the server still uses {idle:.0%} of a core after the tab closed"


def cpu_share(pid: int, seconds: float) -> float:
    """The share of one core the process used over the next `seconds`."""
    start = cpu_seconds(pid)
    time.sleep(seconds)
    return (cpu_seconds(pid) - start) / seconds
