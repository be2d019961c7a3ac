"""The page's first paint and first chart, timed in the page's own clock (performance.now(), from navigation start).

`PAINT_PROBE_JS` is an init script (`context.add_init_script`): it runs in every document before the page's own
scripts and notes, from DOM mutations, when each sidebar control, an enabled Train button and the first Plotly
chart appear. `FIRST_LOSS_JS` presses Train and notes when the first loss chart with data appears.
Both only read the page; neither depends on Playwright's round trips for its times.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from harness.browser import VALUES_JS
from harness.server import cpu_seconds

if TYPE_CHECKING:
    from playwright.sync_api import Page

# The sidebar controls of the default page (stage numpy), by their visible labels.
CONTROL_LABELS = (
    "Stage",
    "Hidden size",
    "Learning rate",
    "Epochs",
    "Device",
    "Seed",
    "Batch size",
    "Precision",
    "Initialisation",
    "Data",
)
BUTTON_LABELS = ("Train", "Pause", "Step", "Reset")

_PAINT_PROBE = """(() => {
  const LABELS = __LABELS__;
  // Times in ms since navigation start; null until seen. `order` lists what appeared, first first.
  const rec = {labels: {}, order: [], app: null, connected: null, firstControl: null, controls: null,
               train: null, ready: null, ran: null, idle: null, firstPlot: null, plotsAtReady: null, observed: 0};
  window.__paint = rec;
  // Main-thread tasks over 50 ms (parsing a large script, a big render): [start, duration] in ms.
  rec.longTasks = [];
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) rec.longTasks.push([e.startTime, e.duration]);
    }).observe({type: 'longtask', buffered: true});
  } catch (error) { rec.longTasks = null; }
  const mark = (key) => { rec[key] = performance.now(); rec.order.push(key); };
  const check = (records = []) => {
    rec.observed += 1;
    // A run may start and end between two callbacks: its old value in a record still shows it ran.
    const ranBefore = (r) => r.attributeName === 'data-test-script-state' && r.oldValue === 'running';
    if (rec.ran === null && records.some(ranBefore)) mark('ran');
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app) return;
    if (rec.app === null) mark('app');
    if (rec.connected === null && app.getAttribute('data-test-connection-state') === 'CONNECTED') mark('connected');
    if (rec.controls === null) {
      const sidebar = document.querySelector('[data-testid="stSidebar"]');
      for (const el of sidebar ? sidebar.querySelectorAll('[data-testid="stWidgetLabel"]') : []) {
        const text = el.textContent.trim();
        if (LABELS.includes(text) && !(text in rec.labels)) {
          rec.labels[text] = performance.now();
          rec.order.push(text);
          if (rec.firstControl === null) rec.firstControl = rec.labels[text];
        }
      }
      if (LABELS.every((label) => label in rec.labels)) rec.controls = Math.max(...Object.values(rec.labels));
    }
    if (rec.train === null) {
      for (const button of document.querySelectorAll('button')) {
        if (button.textContent.trim() === 'Train' && !button.disabled) { mark('train'); break; }
      }
    }
    if (rec.ready === null && rec.controls !== null && rec.train !== null) {
      rec.ready = Math.max(rec.controls, rec.train);
      rec.plotsAtReady = document.querySelectorAll('.js-plotly-plot').length;
    }
    if (rec.firstPlot === null && document.querySelector('.js-plotly-plot')) mark('firstPlot');
    // The root reads notRunning before the first script run too: idle counts only after a run was seen.
    const state = app.getAttribute('data-test-script-state');
    if (rec.ran === null && state === 'running') mark('ran');
    if (rec.idle === null && rec.ran !== null && state === 'notRunning') mark('idle');
  };
  const start = () => {
    new MutationObserver(check).observe(document, {
      subtree: true, childList: true, characterData: true, attributes: true, attributeOldValue: true,
      attributeFilter: ['disabled', 'data-test-script-state', 'data-test-connection-state'],
    });
    check();
  };
  if (document.documentElement) start(); else document.addEventListener('readystatechange', start, {once: true});
})();"""
PAINT_PROBE_JS = _PAINT_PROBE.replace("__LABELS__", json.dumps(list(CONTROL_LABELS)))

# The probe's record, with the browser's own navigation timings (ms since navigation start).
# Before interactive, the files the page fetched (count, KB as sent, the largest few) and its long tasks' total.
PAINT_RECORD_JS = """() => {
  const rec = window.__paint || null;
  if (!rec) return null;
  const nav = performance.getEntriesByType('navigation')[0];
  const paint = Object.fromEntries(performance.getEntriesByType('paint').map((e) => [e.name, e.startTime]));
  const until = rec.ready === null ? Infinity : rec.ready;
  const files = performance.getEntriesByType('resource').filter((e) => e.responseEnd <= until)
    .map((e) => [e.name.split('/').pop().split('?')[0], (e.encodedBodySize || e.transferSize || 0) / 1024]);
  files.sort((a, b) => b[1] - a[1]);
  return {...rec, responseEnd: nav ? nav.responseEnd : null,
          domContentLoaded: nav ? nav.domContentLoadedEventEnd : null, load: nav ? nav.loadEventEnd : null,
          firstContentfulPaint: paint['first-contentful-paint'] ?? null,
          filesBeforeReady: files.length, kbBeforeReady: files.reduce((sum, f) => sum + f[1], 0),
          largestBeforeReady: files.slice(0, 3),
          longTaskMsBeforeReady: rec.longTasks === null ? null
            : rec.longTasks.filter(([start]) => start < until).reduce((sum, [, d]) => sum + d, 0)};
}"""
PAINT_READY_JS = """() => { const r = window.__paint; return !!(r && r.ready !== null && r.idle !== null); }"""

# An init script: notes when the first websocket message carrying a loss chart arrives, before the frontend reads
# it, once window.__frames.armed is set (FIRST_LOSS_JS sets it at the click). Streamlit's socket sends ArrayBuffers.
_FRAME_PROBE = """(() => {
  const needles = __NEEDLES__.map((text) => new TextEncoder().encode(text));
  const frames = {armed: false, loss: null, messages: 0};
  window.__frames = frames;
  const contains = (bytes, needle) => {
    outer: for (let i = bytes.indexOf(needle[0]); i !== -1 && i <= bytes.length - needle.length;
                i = bytes.indexOf(needle[0], i + 1)) {
      for (let j = 1; j < needle.length; j++) if (bytes[i + j] !== needle[j]) continue outer;
      return true;
    }
    return false;
  };
  const Original = window.WebSocket;
  window.WebSocket = class extends Original {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (event) => {
        if (!frames.armed || frames.loss !== null || !(event.data instanceof ArrayBuffer)) return;
        frames.messages += 1;
        const bytes = new Uint8Array(event.data);
        if (needles.some((needle) => contains(bytes, needle))) frames.loss = performance.now();
      });
    }
  };
})();"""
LOSS_TITLES = ("Loss (sum of squared errors)", "Loss per example")  # the loss chart's titles (page/training_view.py)
FRAME_PROBE_JS = _FRAME_PROBE.replace("__NEEDLES__", json.dumps(list(LOSS_TITLES)))

# Presses Train from inside the page and watches for the first chart titled "Loss..." that holds data, and for
# the script starting on the server's answer; times in ms since navigation start, read back with FIRST_LOSS_READ_JS.
FIRST_LOSS_JS = f"""() => {{
  const rec = {{clicked: null, scriptRunning: null, loss: null, points: null, status: null, longTasks: []}};
  window.__firstLoss = rec;
  try {{
    new PerformanceObserver((list) => {{
      for (const e of list.getEntries()) rec.longTasks.push([e.startTime, e.duration]);
    }}).observe({{type: 'longtask'}});
  }} catch (error) {{ rec.longTasks = null; }}
  const values = {VALUES_JS};
  const check = () => {{
    if (rec.clicked === null) return;
    const app = document.querySelector('[data-testid="stApp"]');
    if (rec.scriptRunning === null && app && app.getAttribute('data-test-script-state') === 'running') {{
      rec.scriptRunning = performance.now();
    }}
    if (rec.loss !== null) return;
    for (const el of document.querySelectorAll('.js-plotly-plot')) {{
      const title = el.layout && el.layout.title;
      const text = typeof title === 'string' ? title : title && title.text;
      // Only a chart a person can see: a hidden tab's run history is titled "Loss by run".
      if (!text || !text.startsWith('Loss') || !el.data || !el.data[0] || el.offsetParent === null) continue;
      const y = values(el.data[0].y);
      if (y.length) {{
        rec.loss = performance.now();
        rec.points = y.length;
        for (const s of document.querySelectorAll('[data-testid="stMarkdownContainer"] p > strong:first-child')) {{
          if (['Running', 'Done', 'Diverged'].includes(s.textContent.trim())) {{
            rec.status = s.parentElement.textContent; break;
          }}
        }}
        observer.disconnect();
        clearInterval(timer);
        return;
      }}
    }}
  }};
  const observer = new MutationObserver(check);
  observer.observe(document.body, {{subtree: true, childList: true, characterData: true, attributes: true,
                                    attributeFilter: ['data-test-script-state']}});
  const timer = setInterval(check, 20);  // Plotly may fill el.data after its last DOM mutation
  const train = [...document.querySelectorAll('button')].find((button) => button.textContent.trim() === 'Train');
  if (!train || train.disabled) return 'no enabled Train button on the page';
  if (window.__frames) Object.assign(window.__frames, {{armed: true, loss: null, messages: 0}});
  rec.clicked = performance.now();
  train.click();
  return null;
}}"""
# The record, with the loss frame's arrival (when FRAME_PROBE_JS ran), the long tasks' total between the click and
# the chart, and the files fetched after the click (count, KB, the largest with its fetch start and end).
# A loss chart a person can see, drawn with data: true once a run has drawn one, false after Reset.
LOSS_SHOWN_JS = """() => [...document.querySelectorAll('.js-plotly-plot')].some((el) => {
  const title = el.layout && el.layout.title;
  const text = typeof title === 'string' ? title : title && title.text;
  return !!text && text.startsWith('Loss') && el.offsetParent !== null;
})"""
FIRST_LOSS_READ_JS = """() => {
  const rec = window.__firstLoss;
  if (!rec) return null;
  const end = rec.loss === null ? Infinity : rec.loss;
  const files = performance.getEntriesByType('resource').filter((e) => e.startTime >= rec.clicked && e.startTime < end)
    .map((e) => [e.name.split('/').pop().split('?')[0], (e.encodedBodySize || e.transferSize || 0) / 1024,
                 e.startTime, e.responseEnd]);
  files.sort((a, b) => b[1] - a[1]);
  return {...rec, lossFrame: window.__frames ? window.__frames.loss : null,
          longTaskMs: rec.longTasks === null ? null
            : rec.longTasks.filter(([start]) => start >= rec.clicked && start < end).reduce((s, [, d]) => s + d, 0),
          filesAfterClick: files.length, kbAfterClick: files.reduce((sum, f) => sum + f[1], 0),
          largestAfterClick: files[0] || null};
}"""


def paint_record(page: Page) -> dict | None:
    """What `PAINT_PROBE_JS` saw on this page so far, with the navigation and paint timings."""
    return page.evaluate(PAINT_RECORD_JS)


def cpu_share(pid: int, seconds: float) -> float:
    """The process's CPU use over the next `seconds`, as a share of one core (1.0 = one core busy throughout)."""
    start_cpu, start = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - start_cpu) / max(time.monotonic() - start, 1e-9)


def wait_quiet(pid: int, below: float = 0.05, window_s: float = 0.5, timeout_s: float = 10.0) -> tuple[bool, float]:
    """Wait until the process uses under `below` of a core over a `window_s` window; (quiet, seconds waited)."""
    start = time.monotonic()
    while True:
        if cpu_share(pid, window_s) < below:
            return True, time.monotonic() - start
        if time.monotonic() - start >= timeout_s:
            return False, time.monotonic() - start
