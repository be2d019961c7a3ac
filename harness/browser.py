"""Chromium and the page: where the browser is, how to tell Streamlit is done, and scripts that read the page."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# A page whose script sits idle this long while its status says Running has crashed; one still Ready after
# Train lost the click (the longer wait allows for a server too busy to start the run at once).
STALL_RUNNING_S, STALL_READY_S = 10, 60

# The frontend marks its root with the connection and the script's run state; "notRunning" is set only
# after a run has finished, and the "Running..." widget is gone once nothing is still drawing.
APP_IDLE = '[data-testid="stApp"][data-test-connection-state="CONNECTED"][data-test-script-state="notRunning"]'
RUNNING_WIDGET = '[data-testid="stStatusWidget"]'

# Presses Train in the page and watches it there, so a finish time does not depend on how fast this process
# gets round to K pages. The press is the button's own click(): a busy renderer can take longer to acknowledge
# synthetic mouse input than to run a script, and the script then times both ends on one clock.
WATCH_JS = """() => {
  const state = {pressed: null, done: null, status: null, waited: false, stalled: false, started: false,
                 disconnected: 0};
  window.__load = state;
  let idleSince = null;
  const timer = setInterval(() => {
    for (const el of document.querySelectorAll('[data-testid="stAlertContentInfo"]')) {
      if (el.textContent.includes('Waiting for a free training slot')) state.waited = true;
    }
    for (const el of document.querySelectorAll('[data-testid="stMarkdownContainer"] p > strong:first-child')) {
      const word = el.textContent.trim();
      if (['Ready', 'Running', 'Paused', 'Done', 'Diverged'].includes(word)) {
        state.status = el.parentElement.textContent;
        if (word === 'Done' || word === 'Diverged') { state.done = Date.now(); clearInterval(timer); }
        break;
      }
    }
    // A script that stopped while its status still says Running will never finish: a crashed run.
    const app = document.querySelector('[data-testid="stApp"]');
    const idle = app && app.getAttribute('data-test-script-state') === 'notRunning';
    if (app && app.getAttribute('data-test-script-state') === 'running') state.started = true;
    if (app && app.getAttribute('data-test-connection-state') !== 'CONNECTED') state.disconnected += 1;
    idleSince = idle ? (idleSince || Date.now()) : null;
    const limit = state.status && state.status.startsWith('Ready') ? STALL_READY_MS : STALL_RUNNING_MS;
    if (idleSince && Date.now() - idleSince > limit) { state.stalled = true; clearInterval(timer); }
  }, 50);
  const train = [...document.querySelectorAll('button')].find((button) => button.textContent.trim() === 'Train');
  if (!train || train.disabled) return 'no enabled Train button on the page';
  state.pressed = Date.now();
  train.click();
  return null;
}""".replace("STALL_READY_MS", str(STALL_READY_S * 1000)).replace("STALL_RUNNING_MS", str(STALL_RUNNING_S * 1000))
STATUS_JS = """() => window.__load || null"""
# The page's status line ("Running · epoch 12 of 500 · loss ..."), or null before it is drawn.
STATUS_LINE_JS = """() => {
  for (const el of document.querySelectorAll('[data-testid="stMarkdownContainer"] p > strong:first-child')) {
    if (['Ready', 'Running', 'Paused', 'Done', 'Diverged'].includes(el.textContent.trim())) {
      return el.parentElement.textContent;
    }
  }
  return null;
}"""
# A trace's values as a plain array: the page receives NumPy arrays as base64 typed arrays.
VALUES_JS = """(v) => {
  if (!v || !v.bdata) return Array.from(v || []);
  const types = {f8: Float64Array, f4: Float32Array, i4: Int32Array, u4: Uint32Array,
                 i2: Int16Array, u2: Uint16Array, i1: Int8Array, u1: Uint8Array};
  const bytes = Uint8Array.from(atob(v.bdata), (c) => c.charCodeAt(0));
  return Array.from(new types[v.dtype](bytes.buffer));
}"""
# The live loss chart, by its label: hidden tabs hold other charts titled "Loss ..." (Run history).
LIVE_LOSS = '.tl-live-chart[aria-label^="Loss chart"]'
# Its training trace's values, or null before it has one.
LOSS_JS = f"""() => {{
  const el = document.querySelector('{LIVE_LOSS}');
  return el && el.data && el.data[0] ? ({VALUES_JS})(el.data[0].y) : null;
}}"""
# Every trace of the live loss chart: its name, x and y as plain arrays; null before it has data.
LOSS_TRACES_JS = f"""() => {{
  const el = document.querySelector('{LIVE_LOSS}');
  if (!el || !el.data || !el.data.length) return null;
  const values = {VALUES_JS};
  return el.data.map((trace) => ({{name: trace.name, x: values(trace.x), y: values(trace.y)}}));
}}"""
# Kept by an init script: the page's WebSockets, so a test can drop the connection as a network would.
KEEP_SOCKETS_JS = """
window.__sockets = [];
const Original = window.WebSocket;
window.WebSocket = class extends Original {
  constructor(...args) { super(...args); window.__sockets.push(this); }
};
"""
DROP_SOCKETS_JS = "() => window.__sockets.filter(s => s.readyState === 1).map(s => (s.close(), 1)).length"
ERRORS_JS = """() => [
  ...[...document.querySelectorAll('[data-testid="stException"]')].map(e => 'exception: ' + e.textContent),
  ...[...document.querySelectorAll('[data-testid="stAlertContentError"]')]
    .filter(e => !e.closest('[data-testid="stException"]')).map(e => 'error box: ' + e.textContent),
]"""


def wait_for_app(page: Page, timeout_ms: float = 60_000) -> None:
    """Wait until the page is connected and Streamlit has finished running the script."""
    page.locator(APP_IDLE).wait_for(state="attached", timeout=timeout_ms)
    # The "Running..." widget fades out after the run; gone means nothing is still drawing.
    page.locator(RUNNING_WIDGET).wait_for(state="detached", timeout=timeout_ms)


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium with CHROMIUM_ARGS, driven by Playwright, closed on leaving."""
    # Imported at launch: benchmarks that only time the engine import this module where no browser is installed.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
