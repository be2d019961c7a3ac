"""What browser tests share: the repository and its artifacts, Chromium, and how to open, read and drive the page."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator

import torch
from playwright.sync_api import Locator, Page, expect
from threadpoolctl import threadpool_limits

# Where Debian's Chromium is, and how to tell Streamlit is done: shared with the benchmarks.
from harness.browser import APP_IDLE, CHROMIUM, wait_for_app  # noqa: F401
from harness.server import ROOT as REPO
from twolayer import TrainConfig, Trainer

ARTIFACTS = REPO / "test-artifacts"
RUN_TIMEOUT_MS = 90_000  # runs here take seconds on an idle machine; a loaded CI runner can be many times slower
# Set before an action: the frontend marks its root "running" while a script run is under way.
SCRIPT_RUN_PROBE_JS = """() => {
  window.scriptRan = false;
  const root = document.querySelector('[data-testid="stApp"]');
  new MutationObserver((records) => {
    if (records.some((r) => r.oldValue === 'running') || root.dataset.testScriptState === 'running') {
      window.scriptRan = true;
    }
  }).observe(root, {attributes: true, attributeFilter: ['data-test-script-state'], attributeOldValue: true});
}"""
# Timed in the page itself, so Playwright's own round trips do not count as the app's delay.
PAUSE_PROBE_JS = """() => {
    const probe = {clicked: null, paused: null};
    window.pauseProbe = probe;
    document.addEventListener('click', (event) => {
        const button = event.target.closest('button');
        if (probe.clicked === null && button && button.innerText.trim() === 'Pause') probe.clicked = performance.now();
    }, true);
    new MutationObserver(() => {
        if (probe.clicked === null || probe.paused !== null) return;
        for (const el of document.querySelectorAll('[data-testid="stMarkdown"]')) {
            if (el.innerText.startsWith('Paused')) { probe.paused = performance.now(); return; }
        }
    }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def open_page(page: Page, url: str) -> None:
    """Open the page (with settings in the URL's query) and wait until it has drawn without an exception."""
    page.goto(url)
    wait_for_app(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)


def history_rows(page: Page, count: int, timeout_ms: float = 30_000) -> list[str]:
    """The Run history tab's table once it lists `count` runs: one text per run."""
    page.get_by_role("tab", name="Run history").click()
    # Only this tab's table: a live run's chart has a table of its own. The table is drawn on a canvas; its
    # accessible copy (header row first) holds the cells.
    table = page.get_by_role("tabpanel", name="Run history").get_by_test_id("stDataFrame").first
    rows = table.locator('[role="row"]')
    expect(rows).to_have_count(count + 1, timeout=timeout_ms)
    return [row.text_content() or "" for row in rows.all()[1:]]


def status(page: Page) -> Locator:
    """The status line: state in bold, then epoch k of E, loss, time per epoch and device."""
    # Its own keyed container holds it; the newest there, as a rerun may still show the one before for a moment.
    return page.locator(".st-key-run-status").get_by_test_id("stMarkdown").last


def button(page: Page, label: str) -> Locator:
    """The button with exactly this label."""
    return page.get_by_role("button", name=label, exact=True)


def choose_stage(page: Page, option: str) -> None:
    page.get_by_role("combobox", name="Stage", exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()
    expect(page.get_by_role("combobox", name="Stage", exact=True)).to_have_value(option)
    wait_for_app(page)


@contextlib.contextmanager
def script_run_started(page: Page, timeout_ms: float = RUN_TIMEOUT_MS) -> Iterator[None]:
    """Wait, once the block is done, until what it did has started a script run."""
    page.evaluate(SCRIPT_RUN_PROBE_JS)
    yield
    page.wait_for_function("() => window.scriptRan", timeout=timeout_ms)


def train_until(page: Page, state: str = "Done") -> None:
    """Press Train and wait until the run ends in `state` and the page has redrawn the finished run."""
    # The status line may already read "Done" from the run before: first see the script start.
    with script_run_started(page):
        button(page, "Train").click()
    expect(status(page)).to_have_text(re.compile(rf"^{state} · "), timeout=RUN_TIMEOUT_MS)
    wait_for_app(page)


def pause_seconds(page: Page, timeout_ms: float = 10_000) -> float:
    """Press Pause: the seconds from the click to the first status line that says Paused, by the page's clock."""
    page.evaluate(PAUSE_PROBE_JS)
    button(page, "Pause").click()
    page.wait_for_function("() => window.pauseProbe.paused !== null", timeout=timeout_ms, polling=50)
    probe = page.evaluate("() => window.pauseProbe")
    return (probe["paused"] - probe["clicked"]) / 1000


def no_errors(page: Page) -> None:
    """The page shows no exception, and the browser reported no error."""
    expect(page.get_by_test_id("stException")).to_have_count(0)
    assert page.errors == [], f"the browser reported errors: {page.errors}"


@contextlib.contextmanager
def server_threads() -> Iterator[None]:
    """torch and BLAS on the thread count the server trains with, as before once the block is done."""
    # Float sums depend on how work is split over threads; the server trains on TWOLAYER_THREADS (default 1).
    threads = int(os.environ.get("TWOLAYER_THREADS", 1))
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with threadpool_limits(threads):
            yield
    finally:
        torch.set_num_threads(before)


def headless_run(**settings) -> Trainer:
    """The page's run trained to its end by the core alone, with the thread count the server uses."""
    with server_threads():
        trainer = Trainer(TrainConfig(device="cpu", **settings))
        trainer.advance(trainer.config.epochs)
    assert trainer.status == "done", f"the headless run ended {trainer.status}"
    return trainer
