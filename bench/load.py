"""Load: K browser sessions press Train at once on one server; finish times, errors, health latency, memory and CPU.

Run it as `python -m bench.load [--sessions 30]`. It serves app.py on a free loopback port, opens one headless
Chromium with one context per session, and writes its figures between the load markers of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlparse

if TYPE_CHECKING:
    from twolayer.config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOG = ROOT / "test-artifacts" / "bench-load-server.log"  # kept after the run: a traceback there explains a failure
START_MARK, END_MARK = "<!-- load:start -->", "<!-- load:end -->"
STAGES = ("numpy", "tensor", "autograd", "nn", "optim")
HIDDEN = (32, 50, 64, 100)  # lecture-sized runs that all converge at each stage's lecture learning rate
HEALTH_TARGET_S = 1.0
HEALTH_EVERY_S = 0.1
HEALTH_TIMEOUT_S = 5.0
PROC_EVERY_S = 0.25
# A page whose script sits idle this long while its status says Running has crashed; one still Ready after
# Train lost the click (the longer wait allows for a server too busy to start the run at once).
STALL_RUNNING_S, STALL_READY_S = 10, 60
MAX_LISTED = 12  # page errors written into BENCHMARKS.md
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

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
LOSS_JS = f"""() => {{
  for (const el of document.querySelectorAll('.js-plotly-plot')) {{
    const title = el.layout && el.layout.title;
    const text = typeof title === 'string' ? title : title && title.text;
    if (text && text.startsWith('Loss') && el.data && el.data[0]) return ({VALUES_JS})(el.data[0].y);
  }}
  return null;
}}"""
ERRORS_JS = """() => [
  ...[...document.querySelectorAll('[data-testid="stException"]')].map(e => 'exception: ' + e.textContent),
  ...[...document.querySelectorAll('[data-testid="stAlertContentError"]')]
    .filter(e => !e.closest('[data-testid="stException"]')).map(e => 'error box: ' + e.textContent),
]"""


# --- sessions ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """One session's link settings: lecture-sized random data, default learning rate of the stage."""

    stage: str
    hidden: int
    seed: int
    epochs: int = 500

    def query(self) -> str:
        return urlencode({"stage": self.stage, "hidden": self.hidden, "seed": self.seed, "epochs": self.epochs})

    def config(self) -> TrainConfig:
        """The TrainConfig the page builds from this link (the app's cpu device and lecture defaults)."""
        # Imported where needed: the core pulls in torch, which `--help` and the probes do without.
        from twolayer.config import TrainConfig

        return TrainConfig(stage=self.stage, hidden_size=self.hidden, seed=self.seed, epochs=self.epochs, device="cpu")


def session_settings(count: int, epochs: int = 500) -> list[Settings]:
    """`count` different settings: every stage, four hidden sizes and a seed of its own each."""
    return [Settings(STAGES[i % len(STAGES)], HIDDEN[i // len(STAGES) % len(HIDDEN)], i, epochs) for i in range(count)]


def reference_losses(settings: Settings) -> list[float]:
    """The loss history the headless core computes alone for these settings."""
    from twolayer.trainer import Trainer

    trainer = Trainer(settings.config())
    trainer.advance(settings.epochs)
    return trainer.history.column("loss")


@dataclass
class SessionResult:
    """What one browser session saw."""

    settings: Settings
    status: str | None = None  # the status line's last text
    seconds: float | None = None  # from pressing Train to "Done", None if it never finished
    waited: bool = False  # showed "Waiting for a free training slot" at least once
    errors: list[str] = field(default_factory=list)
    checked: bool = False  # whether the page's loss trace is compared with the core's
    losses: list[float] | None = None  # that trace; None when the page had none

    @property
    def finished(self) -> bool:
        return self.seconds is not None and (self.status or "").startswith("Done")


def wait_idle(page, timeout_s: float) -> None:
    """Wait until the page is connected and its script has finished running."""
    page.locator(APP_IDLE).wait_for(state="attached", timeout=timeout_s * 1000)
    page.locator(RUNNING_WIDGET).wait_for(state="detached", timeout=timeout_s * 1000)


def run_sessions(
    browser, base_url: str, settings: list[Settings], check: int = 0, timeout_s: float = 300
) -> list[SessionResult]:
    """Open one context per settings at once, press Train in each, wait for all to finish; read `check` traces."""
    results = [SessionResult(s) for s in settings]
    contexts, pages = [], []
    try:
        for result in results:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            # Bind this session's error list now: a closure over the loop variable would see the last one.
            page.on("pageerror", lambda error, errors=result.errors: errors.append(f"page error: {error}"))
            page.on(
                "console",
                lambda message, errors=result.errors: (
                    message.type == "error" and errors.append(f"console: {message.text}")
                ),
            )
            contexts.append(context)
            pages.append(page)
        # Start every load before waiting for any, so the sessions' first runs overlap as a class's would.
        for page, result in zip(pages, results, strict=True):
            page.goto(f"{base_url}/?{result.settings.query()}", wait_until="commit", timeout=timeout_s * 1000)
        deadline = time.monotonic() + timeout_s
        for page in pages:
            wait_idle(page, max(1.0, deadline - time.monotonic()))
            # On a cold server the idle marker can show before the first run has drawn anything: wait for Train.
            train = page.get_by_role("button", name="Train", exact=True)
            from playwright.sync_api import expect  # imported where used, like sync_playwright below

            expect(train).to_be_enabled(timeout=max(1.0, deadline - time.monotonic()) * 1000)
        pending = set(range(len(pages)))
        for i, page in enumerate(pages):
            problem = page.evaluate(WATCH_JS)
            if problem:
                results[i].errors.append(problem)
                pending.discard(i)
        while pending and time.monotonic() < deadline:
            time.sleep(0.25)
            for i in sorted(pending):
                state = pages[i].evaluate(STATUS_JS) or {}
                results[i].status, results[i].waited = state.get("status"), bool(state.get("waited"))
                if state.get("done") is not None:
                    results[i].seconds = (state["done"] - state["pressed"]) / 1000
                    pending.discard(i)
                elif state.get("stalled"):
                    results[i].errors.append(
                        f"stalled: the script stopped while the status said {results[i].status!r} "
                        f"(a run started after Train: {state.get('started')}; polls disconnected: "
                        f"{state.get('disconnected')})"
                    )
                    pending.discard(i)
        for i, (page, result) in enumerate(zip(pages, results, strict=True)):
            result.checked = i < check
            if i in pending:
                result.errors.append(f"not finished after {timeout_s:.0f} s; last status: {result.status}")
                continue
            with contextlib.suppress(Exception):  # a page that will not settle is reported by its status
                wait_idle(page, 30)
            result.errors += page.evaluate(ERRORS_JS)
            if i < check:
                result.losses = page.evaluate(LOSS_JS)
    finally:
        for context in contexts:
            with contextlib.suppress(Exception):
                context.close()
    return results


def compare_histories(results: list[SessionResult]) -> list[tuple[Settings, bool, str]]:
    """For each session whose trace was read: (settings, equal to the core's history, a note)."""
    out = []
    for result in results:
        if not result.checked:
            continue
        if result.losses is None:
            out.append((result.settings, False, "no loss chart on the page"))
            continue
        expected = reference_losses(result.settings)
        if result.losses == expected:
            out.append((result.settings, True, f"{len(expected)} losses, bit-identical"))
            continue
        n = min(len(expected), len(result.losses))
        gap = max((abs(a - b) / abs(b) for a, b in zip(result.losses[:n], expected[:n], strict=True) if b), default=0)
        note = f"page {len(result.losses)} vs core {len(expected)} losses, largest relative gap {gap:.3g}"
        out.append((result.settings, False, note))
    return out


# --- the server and its process ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(
    port: int, log: Path, env: dict[str, str] | None = None, app: Path = ROOT / "app.py"
) -> subprocess.Popen:
    """`streamlit run app.py` on 127.0.0.1:port in its own process group, output to `log`."""
    # Run from the repository root whatever the app's path: that is where .streamlit/config.toml is read.
    command = [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.headless=true", f"--server.port={port}", "--server.address=127.0.0.1",
        "--browser.gatherUsageStats=false", "--server.fileWatcherType=none",
    ]  # fmt: skip
    with log.open("wb") as out:
        return subprocess.Popen(
            command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env
        )


def _opener() -> urllib.request.OpenerDirector:
    # Loopback only: never let a proxy from the environment answer for the server.
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


def wait_healthy(server: subprocess.Popen, url: str, timeout_s: float = 60) -> None:
    opener = _opener()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"streamlit exited with {server.returncode} before serving")
        with contextlib.suppress(OSError), opener.open(f"{url}/_stcore/health", timeout=2) as response:
            if response.read().decode().strip() == "ok":
                return
        time.sleep(0.2)
    raise RuntimeError(f"streamlit did not answer {url}/_stcore/health within {timeout_s:.0f} s")


def stop_server(server: subprocess.Popen) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, sig)
        try:
            server.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            continue


def server_pid(url: str) -> int:
    """The pid of the `streamlit run` process serving `url`, found by the port on its command line."""
    flag = f"--server.port={urlparse(url).port}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # the process ended while we looked
            continue
        if flag in args and b"streamlit" in args and b"run" in args:
            return int(entry.name)
    raise LookupError(f"no streamlit process with {flag.decode()} in /proc")


def memory_mb(pid: int) -> dict[str, float]:
    """Resident memory now (VmRSS) and at its peak (VmHWM), in MB, from /proc/<pid>/status."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) / 1024  # reported in kB
    return out


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of every thread of the process so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # the name in parentheses may itself hold spaces
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime and stime, fields 14 and 15


class Sampler(threading.Thread):
    """Calls `sample` every `every` seconds on its own thread until stopped; the calls' results in `samples`."""

    def __init__(self, sample, every: float) -> None:
        super().__init__(daemon=True)
        self.sample, self.every = sample, every
        self.samples: list = []
        self._stop_event = threading.Event()

    def run(self) -> None:
        next_at = time.monotonic()
        while not self._stop_event.is_set():
            self.samples.append(self.sample())
            next_at += self.every
            # A late sample (a slow answer) skips the missed ticks instead of firing them in a burst.
            next_at = max(next_at, time.monotonic())
            self._stop_event.wait(next_at - time.monotonic())

    def stop(self) -> list:
        self._stop_event.set()
        self.join(timeout=HEALTH_TIMEOUT_S + 1)
        return self.samples


def health_probe(url: str):
    """A sample function: seconds /_stcore/health took to answer "ok", or None when it failed or timed out."""
    opener = _opener()

    def sample() -> float | None:
        start = time.perf_counter()
        try:
            with opener.open(f"{url}/_stcore/health", timeout=HEALTH_TIMEOUT_S) as response:
                ok = response.read().decode().strip() == "ok"
        except OSError:
            return None
        return time.perf_counter() - start if ok else None

    return sample


def process_probe(pid: int):
    """A sample function: (monotonic time, CPU seconds, RSS MB) of the process."""

    def sample() -> tuple[float, float, float]:
        return time.monotonic(), cpu_seconds(pid), memory_mb(pid)["VmRSS"]

    return sample


# --- figures -------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank q-th percentile (the smallest value with at least q% of the values at or below it)."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@dataclass
class LoadReport:
    """The figures of one load run."""

    sessions: int
    results: list[SessionResult]
    histories: list[tuple[Settings, bool, str]]
    health: list[float | None]
    process: list[tuple[float, float, float]]
    peak_rss_mb: float
    server_errors: list[str]
    wall_s: float
    slots: str

    @property
    def finished(self) -> int:
        return sum(r.finished for r in self.results)

    @property
    def errors(self) -> list[str]:
        return [f"session {i} ({r.settings.query()}): {e}" for i, r in enumerate(self.results) for e in r.errors]

    @property
    def times(self) -> list[float]:
        return [r.seconds for r in self.results if r.seconds is not None]

    @property
    def health_ok(self) -> list[float]:
        return [s for s in self.health if s is not None]

    @property
    def health_p95(self) -> float:
        # A failed probe counts as the slowest possible answer.
        return percentile([HEALTH_TIMEOUT_S if s is None else s for s in self.health], 95)

    def cpu_percent(self) -> tuple[float, float]:
        """Mean CPU over the load and the busiest one-second window, in % of one core."""
        p = self.process
        if len(p) < 2:
            return math.nan, math.nan
        mean = 100 * (p[-1][1] - p[0][1]) / (p[-1][0] - p[0][0])
        peak, j = 0.0, 0
        for i in range(len(p)):
            while j < i and p[i][0] - p[j][0] > 1.0:
                j += 1
            if j < i and p[i][0] - p[j][0] >= 0.5:
                peak = max(peak, 100 * (p[i][1] - p[j][1]) / (p[i][0] - p[j][0]))
        return mean, peak

    def passed(self) -> bool:
        return (
            self.finished == self.sessions
            and not self.errors
            and not self.server_errors
            and self.health_p95 < HEALTH_TARGET_S
            and all(equal for _, equal, _ in self.histories)
        )

    def rows(self) -> list[list[str]]:
        """The table: measure, value, target."""
        times, mean_cpu, peak_cpu = self.times, *self.cpu_percent()
        rss = [s[2] for s in self.process]
        equal = sum(e for _, e, _ in self.histories)
        failed = sum(s is None for s in self.health)
        waited = sum(r.waited for r in self.results)
        return [
            [
                "sessions finished (status Done)",
                f"{self.finished} / {self.sessions}",
                f"{self.sessions} / {self.sessions}",
            ],
            ["errors on any page (exceptions, error boxes, page and console errors)", str(len(self.errors)), "0"],
            ["tracebacks in the server log", str(len(self.server_errors)), "0"],
            ["time to finish, Train to Done: median", f"{statistics.median(times):.1f} s" if times else "n/a", ""],
            ["time to finish: 95th percentile", f"{percentile(times, 95):.1f} s" if times else "n/a", ""],
            ["time to finish: slowest", f"{max(times):.1f} s" if times else "n/a", ""],
            ["sessions that showed 'Waiting for a free training slot'", str(waited), ""],
            [
                f"/_stcore/health latency, 95th percentile ({len(self.health)} probes every {HEALTH_EVERY_S:g} s)",
                f"{1000 * self.health_p95:.0f} ms",
                f"< {1000 * HEALTH_TARGET_S:.0f} ms",
            ],
            [
                "/_stcore/health latency: median / slowest / failed",
                f"{1000 * percentile(self.health_ok, 50):.0f} ms / {1000 * max(self.health_ok, default=math.nan):.0f}"
                f" ms / {failed}",
                "",
            ],
            ["server memory: peak (VmHWM)", f"{self.peak_rss_mb:.0f} MB", ""],
            ["server memory: before and after the load (VmRSS)", f"{rss[0]:.0f} MB -> {rss[-1]:.0f} MB", ""],
            ["server CPU: mean / busiest second (% of one core)", f"{mean_cpu:.0f}% / {peak_cpu:.0f}%", ""],
            ["histories equal to the headless core (checked sessions)", f"{equal} / {len(self.histories)}", "all"],
            ["wall time of the load (first page opened to last Done)", f"{self.wall_s:.1f} s", ""],
        ]

    def markdown(self, command: str) -> str:
        """The BENCHMARKS.md section, between the load markers."""
        from bench.report import Section, cpu_model, usable_cores

        now = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
        note = (
            f"Measured {now} with `{command}` on {usable_cores()} usable cores ({cpu_model()}); "
            f"server training slots: {self.slots}. One headless Chromium on the same machine opens "
            f"{self.sessions} contexts at once, each on its own link (every stage, hidden 32 to 100, its own seed, "
            f"{self.results[0].settings.epochs if self.results else 0} epochs of the lecture's 64 x 784 data), "
            "and presses Train in each; the browser competes with the server for the same cores. "
            "Health is probed from a separate thread throughout; CPU and memory are read from /proc. "
            "Checked sessions compare the page's loss trace with the same settings trained alone in the core "
            "(one torch and one BLAS thread, as the server runs)."
        )
        section = Section(f"Load: {self.sessions} sessions press Train at once", note, ["measure", "value", "target"])
        section.rows = self.rows()
        lines = [START_MARK, section.markdown()]
        if self.errors or self.server_errors:
            # The server's tracebacks first: one cause usually explains many pages' errors.
            server = [f"- {count} x `{error}`" for error, count in Counter(self.server_errors).most_common()]
            pages = [f"- `{error[:200]}`" for error in self.errors[:MAX_LISTED]]
            more = len(self.errors) - MAX_LISTED
            lines += ["Errors seen:", "", *server, *pages, *([f"- ... and {more} more"] if more > 0 else []), ""]
        lines.append(END_MARK)
        return "\n".join(lines)


def update_benchmarks(path: Path, section: str) -> None:
    """Replace the text between the load markers of `path`, adding them at its end if missing."""
    text = path.read_text() if path.exists() else ""
    start, end = text.find(START_MARK), text.find(END_MARK)
    if start != -1 and end > start:
        text = text[:start] + section + text[end + len(END_MARK) :]
    else:
        text = (text.rstrip("\n") + "\n\n" if text.strip() else "") + section + "\n"
    path.write_text(text)


def server_tracebacks(log: Path) -> list[str]:
    """The last line of each traceback the server logged."""
    lines = log.read_text(errors="replace").splitlines()
    out = []
    for i, line in enumerate(lines):
        if line.startswith("Traceback"):
            tail = next((later for later in lines[i + 1 :] if later and not later[0].isspace()), line)
            out.append(f"server: {tail}")
    return out


# --- command line --------------------------------------------------------------------------------


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30, help="browser sessions at once (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=500, help="epochs of each session's run (default: %(default)s)")
    parser.add_argument(
        "--check", type=int, default=5, help="sessions whose history is compared with the core's (default: %(default)s)"
    )
    parser.add_argument(
        "--slots", type=int, default=None, help="TWOLAYER_SLOTS for the server (default: the app's own default)"
    )
    parser.add_argument(
        "--timeout", type=float, default=600, help="seconds the sessions may take in all (default: %(default)s)"
    )
    parser.add_argument(
        "--output", type=Path, default=ROOT / "BENCHMARKS.md", help="file to update (default: BENCHMARKS.md)"
    )
    parser.add_argument(
        "--app",
        type=Path,
        default=Path(os.environ.get("TWOLAYER_APP") or ROOT / "app.py"),
        help="the page to serve (default: $TWOLAYER_APP or app.py)",
    )
    parser.add_argument("--no-write", action="store_true", help="print the table only (default: off)")
    args = parser.parse_args(argv)
    if args.sessions < 1 or args.epochs < 1 or args.check < 0 or args.timeout <= 0:
        parser.error("--sessions and --epochs must be at least 1, --check at least 0, --timeout above 0")
    return args


def run_load(
    sessions: int, epochs: int, check: int, timeout_s: float, slots: int | None, app: Path = ROOT / "app.py"
) -> LoadReport:
    """Start a server, run the sessions against it with the probes on, stop it and gather the figures."""
    from playwright.sync_api import sync_playwright

    env = dict(os.environ)
    if slots is not None:
        env["TWOLAYER_SLOTS"] = str(slots)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = session_settings(sessions, epochs)
    LOG.parent.mkdir(parents=True, exist_ok=True)
    server = start_server(port, LOG, env, app)
    try:
        wait_healthy(server, url)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                health = Sampler(health_probe(url), HEALTH_EVERY_S)
                process = Sampler(process_probe(server.pid), PROC_EVERY_S)
                health.start()
                process.start()
                start = time.monotonic()
                results = run_sessions(browser, url, settings, check=min(check, sessions), timeout_s=timeout_s)
                wall = time.monotonic() - start
                health_samples, process_samples = health.stop(), process.stop()
            finally:
                browser.close()
        peak = memory_mb(server.pid)["VmHWM"]
    finally:
        stop_server(server)
    errors = server_tracebacks(LOG)
    if server.returncode not in (0, -signal.SIGTERM) and not errors:
        errors = [f"server: exited with {server.returncode}"]
    return LoadReport(
        sessions=sessions,
        results=results,
        histories=compare_histories(results),
        health=health_samples,
        process=process_samples,
        peak_rss_mb=peak,
        server_errors=errors,
        wall_s=wall,
        slots=env.get("TWOLAYER_SLOTS", f"the app's default (cores: {os.cpu_count()})"),
    )


def main(argv: list[str] | None = None) -> int:
    """Run the load, print its table, update BENCHMARKS.md; exit 0 when every target is met, else 1."""
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    import torch
    from threadpoolctl import threadpool_limits

    # The core's references must compute exactly what the server does: one torch and one BLAS thread.
    torch.set_num_threads(1)
    threadpool_limits(1)
    report = run_load(args.sessions, args.epochs, args.check, args.timeout, args.slots, args.app.resolve())
    section = report.markdown(" ".join(["python -m bench.load", *argv]))
    print(section)
    for settings, equal, note in report.histories:
        print(f"history {settings.query()}: {'equal' if equal else 'DIFFERENT'} ({note})")
    if not args.no_write:
        update_benchmarks(args.output, section)
        print(f"updated the load section of {args.output}")
    print("all targets met" if report.passed() else "TARGETS MISSED")
    return 0 if report.passed() else 1


if __name__ == "__main__":
    sys.exit(main())
