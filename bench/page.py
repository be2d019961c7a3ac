"""Section 3: what the page adds to training, measured in headless Chromium against the engine alone.

Two arrangements take turns. Apart: the app server on one core and Chromium on another, as in a lecture hall where
the browsers run on the students' machines, against the engine alone on the server's core. Shared: everything free
to run on every core, the server, the browser and the engine alike, as the section measured before.
"""

from __future__ import annotations

import bisect
import contextlib
import os
import re
import statistics
import time
from collections.abc import Callable

import torch
from threadpoolctl import threadpool_limits

from bench.busy import descendants, processes
from bench.report import Section
from bench.timing import median, median_interval, verdict, with_noise
from harness.browser import LOSS_JS, STATUS_LINE_JS, chromium
from harness.server import ROOT, free_port, start_server, stop_server, wait_healthy
from twolayer import TrainConfig, Trainer

ENGINE_SECONDS = 10.0  # the long run: about this much pure training
QUICK_ENGINE_SECONDS = 2.0
RATIO_TARGET = 1.05  # page wall time / engine time, server and browser apart: the interval's upper end at most
RATE_TARGET = 5.0  # loss chart updates a second while the run trains, apart: the interval's lower end at least
FEWEST_TARGET = 4  # chart updates in any one second of any run, at least
BYTES_TARGET = 200_000  # per chart update, at most
LOSS_TITLE = b"Loss (sum of squared errors)"  # found in each websocket frame that carries a loss chart
SETTLE_MS = 1500  # after the page opens, before the click
REPEATS, QUICK_REPEATS = 9, 1  # rounds of (engine, page) pairs for each arrangement, interleaved: 9 is the
# fewest for which a 95% interval of the median is narrower than the lowest and highest round
APP_THREADS = 1  # the server's own setting (TWOLAYER_THREADS), so the engine is timed as the page runs it
APART, SHARED = "apart", "shared"


def engine_seconds(epochs: int, stage: str, device: str) -> float:
    """Seconds `Trainer.advance` takes for the lecture's run of `epochs` epochs, at the app's thread count."""
    previous = torch.get_num_threads()
    torch.set_num_threads(APP_THREADS)
    try:
        with threadpool_limits(APP_THREADS):
            trainer = Trainer(TrainConfig(stage=stage, epochs=epochs, device=device))
            start = time.perf_counter()
            trainer.advance(epochs)
            return time.perf_counter() - start
    finally:
        torch.set_num_threads(previous)


def epochs_for(seconds: float, stage: str, device: str) -> int:
    """Epochs of the lecture run that take about `seconds` of engine time here."""
    probe = 2000
    per_epoch = engine_seconds(probe, stage, device) / probe
    return max(probe, min(100_000, round(seconds / per_epoch)))


def pin(pids: set[int], cores: set[int]) -> None:
    """Let every thread of these processes run only on `cores`; threads they start later inherit it."""
    for pid in pids:
        with contextlib.suppress(OSError):  # a process or thread that ended meanwhile
            for task in os.listdir(f"/proc/{pid}/task"):
                with contextlib.suppress(OSError):
                    os.sched_setaffinity(int(task), cores)


class Arrangement:
    """Where the server, the browser (Chromium, Playwright's driver and this process) and the engine run."""

    def __init__(self, server_pid: int, cores: list[int]) -> None:
        self.server_pid, self.all = server_pid, set(cores)
        self.server_core, self.browser_core = {cores[0]}, {cores[-1]}

    def _browser(self) -> set[int]:
        table = processes()
        server = {self.server_pid} | descendants(self.server_pid, table)
        return ({os.getpid()} | descendants(os.getpid(), table)) - server

    def page(self, arrangement: str) -> None:
        """Place the server and the browser for a page run."""
        apart = arrangement == APART
        pin({self.server_pid}, self.server_core if apart else self.all)
        pin(self._browser(), self.browser_core if apart else self.all)

    def engine(self, arrangement: str, time_it: Callable[[], float]) -> float:
        """`time_it()` on the server's core (apart) or on every core (shared), this process alone there."""
        pin({os.getpid()}, self.server_core if arrangement == APART else self.all)
        try:
            return time_it()
        finally:
            pin({os.getpid()}, self.all)


def browser_cpu_seconds() -> float:
    """CPU seconds used so far by every Chromium process this process started, and their ended children."""
    table = processes()
    return sum(table[pid][2] for pid in descendants(os.getpid(), table) if "chrom" in table[pid][1])


# Presses Train and resolves, on the page's clock, when the status line first reads `done`: [seconds, the line].
PRESS_AND_TIME_JS = f"""async (done) => {{
  const status = {STATUS_LINE_JS};
  const train = [...document.querySelectorAll('button')].find((button) => button.textContent.trim() === 'Train');
  return await new Promise((resolve) => {{
    const start = performance.now();
    const observer = new MutationObserver(() => {{
      const line = status();
      if (line && line.startsWith(done)) {{
        observer.disconnect();
        resolve([(performance.now() - start) / 1000, line]);
      }}
    }});
    observer.observe(document.body, {{subtree: true, childList: true, characterData: true}});
    train.click();
  }});
}}"""


def timed_run(browser, url: str, epochs: int, place: Callable[[], None]) -> dict[str, float]:
    """Press Train on `url` and time it to the final epoch on screen, counting the loss charts sent meanwhile;
    `place()` arranges the processes once the page has settled, just before the click."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    frames: list[tuple[float, int]] = []  # (arrival, bytes) of each loss chart update
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: _count(frames, payload)))
    page.goto(url)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=60_000)
    train = page.get_by_role("button", name="Train", exact=True)
    train.wait_for(state="visible")
    # Let the browser finish drawing the opened page: the clock measures the run, not the page load.
    page.wait_for_timeout(SETTLE_MS)
    place()  # after the page opened: its renderer process exists now
    frames.clear()
    done = f"Done · epoch {epochs} of {epochs}"
    start, start_cpu = time.perf_counter(), browser_cpu_seconds()
    # Pressed and timed inside the page, on its clock: the driver's own way to a click is not the page's cost.
    seconds, shown = page.evaluate(PRESS_AND_TIME_JS, done)
    end, browser_cpu = start + seconds, browser_cpu_seconds() - start_cpu
    # The server's own training time for this run, from the status line's time per epoch (3 digits).
    per_epoch_ms = float(re.search(r"([\d.]+) ms per epoch", shown).group(1))
    points = len(page.evaluate(LOSS_JS) or [])
    page.close()
    arrivals = [t for t, _ in frames]
    return {
        "wall": seconds,
        "server": per_epoch_ms * epochs / 1000,
        "updates": len(frames),
        # While the run trains: from the first frame to the last, so the click's latency and the end don't count.
        "rate": (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) if len(arrivals) > 1 else 0.0,
        "fewest": fewest_in_a_second(arrivals, start, end),
        "bytes": statistics.median(n for _, n in frames) if frames else 0,
        "points": points,
        "browser": browser_cpu,
    }


def fewest_in_a_second(arrivals: list[float], start: float, end: float) -> int:
    """The fewest arrivals in any one-second window of [start, end]: the update rate "throughout" the run."""
    if end - start < 1:
        return len(arrivals)
    # The emptiest windows begin just after an arrival (or at the start).
    openings = [start] + [t for t in arrivals if t + 1 <= end]
    return min(bisect.bisect_right(arrivals, t + 1) - bisect.bisect_right(arrivals, t) for t in openings)


def _count(frames: list[tuple[float, int]], payload) -> None:
    data = payload if isinstance(payload, bytes) else payload.encode()
    if LOSS_TITLE in data:
        frames.append((time.perf_counter(), len(data)))


def run(quick: bool, device: str = "cpu") -> list[Section]:
    """Section 3: page wall time over engine time with the server and browser apart and on shared cores, chart
    update rate and size, and the lecture run's click-to-chart."""
    # On a GPU the torch tensor stage: NumPy's stage, the lecture's default, runs on the CPU whatever is asked.
    stage = "numpy" if device == "cpu" else "tensor"
    epochs = epochs_for(QUICK_ENGINE_SECONDS if quick else ENGINE_SECONDS, stage, device)
    cores = sorted(os.sched_getaffinity(0))
    arrangements = [APART, SHARED] if len(cores) > 1 else [SHARED]
    engines: dict[str, list[float]] = {name: [] for name in arrangements}
    runs: dict[str, list[dict]] = {name: [] for name in arrangements}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    query = f"/?stage={stage}&device={device}"
    server = start_server(port, ROOT / "test-artifacts" / "bench-page-server.log")
    try:
        wait_healthy(server, url)
        arrange = Arrangement(server.pid, cores)
        with chromium() as browser:
            # Interleaved, so a slow spell of the shared machine falls on both halves of a pair and on both
            # arrangements.
            for _ in range(QUICK_REPEATS if quick else REPEATS):
                for name in arrangements:
                    engines[name].append(arrange.engine(name, lambda: engine_seconds(epochs, stage, device)))
                    runs[name].append(
                        timed_run(browser, f"{url}{query}&epochs={epochs}", epochs, lambda n=name: arrange.page(n))
                    )
            lecture = timed_run(browser, f"{url}{query}", 500, lambda: arrange.page(SHARED))
    finally:
        stop_server(server)
    section = Section(
        "3. The page's cost",
        f"The lecture's {'NumPy' if stage == 'numpy' else 'tensor'} run for {epochs:,} epochs (about "
        f"{median(engines[SHARED]):.1f} s of engine time at the server's one thread on {device}), trained in headless "
        "Chromium: wall time from the Train click to the status line reading the final epoch (both seen inside the "
        "page, on its clock), over the engine's own "
        "time for the same run measured just before. Two arrangements take turns: **apart**, the app server "
        f"pinned to core {cores[0]} and Chromium (with Playwright's driver and the benchmark) to core {cores[-1]}, "
        "against the engine alone on the server's core, as in a lecture hall where the browsers run on the "
        "students' machines; and **shared**, everything free to run on every core, as this section measured "
        f"before. {len(runs[SHARED])} (engine, page) pairs for each, interleaved; each ratio is the median of "
        "the per-pair ratios, beside a 95% interval for that median (distribution-free: the k-th lowest and k-th "
        "highest pair) and the lowest and highest pair; a target is met when the interval's end meets it. "
        "Chart updates are the websocket frames that carry the loss figure, counted in the page as they arrive; "
        "the rate is theirs from the first to the last (while the run trains); bytes are their "
        "median size. The two 'of which' rows split the ratio: drawing and the browser's latency (wall over "
        "the seconds the run's epochs took in the server, read from the status line's time per epoch), and the "
        "training itself slowed in the server. The browser's CPU: the CPU seconds of every Chromium process over "
        "the run (from /proc), against its wall time.",
        ["what", "measured: median (95% interval; lowest-highest)", "target", "result"],
    )
    for name in arrangements:
        section.rows += arrangement_rows(name, engines[name], runs[name])
    every = [run for name in arrangements for run in runs[name]]
    fewest = min(run["fewest"] for run in every)
    sizes = [run["bytes"] for run in every]
    points = max(run["points"] for run in every)
    section.rows += [
        ["fewest loss chart updates in any one second (all runs)", str(fewest), f">= {FEWEST_TARGET}"]
        + [verdict(fewest >= FEWEST_TARGET)],
        [
            "bytes per chart update (each run's median frame)",
            f"{median(sizes):,.0f} ({min(sizes):,.0f}-{max(sizes):,.0f})",
        ]
        + [f"< {BYTES_TARGET:,}", verdict(max(sizes) < BYTES_TARGET)],
        ["points in the final loss trace (most of any run)", f"{points:,}", "<= 2,000", verdict(points <= 2000)],
        ["lecture default (500 epochs, shared): click to final chart", f"{lecture['wall']:.2f} s", "report", ""],
    ]
    return [section]


def arrangement_rows(name: str, engines: list[float], runs: list[dict]) -> list[list[str]]:
    """The rows of one arrangement: the ratio and its split, the update rate and the browser's CPU."""
    ratios = [run["wall"] / engine for run, engine in zip(runs, engines, strict=True)]
    rates = [run["rate"] for run in runs]
    apart = name == APART
    where = "server and browser apart" if apart else "on shared cores"
    # The targets are the apart arrangement's: the shared one is reported as before.
    met_ratio, met_rate = median_interval(ratios)[1] <= RATIO_TARGET, median_interval(rates)[0] >= RATE_TARGET
    ratio_target = (f"<= {RATIO_TARGET} (interval's top)", verdict(met_ratio)) if apart else ("report", "")
    rate_target = (f">= {RATE_TARGET:g} (interval's bottom)", verdict(met_rate)) if apart else ("report", "")

    def row(what: str, values: list[float], digits: int = 3, target: str = "report", result: str = "") -> list[str]:
        return [f"{what}, {where}", with_noise(values, digits), target, result]

    return [
        row("page wall / engine time", ratios, 3, *ratio_target),
        row("of which: page wall / the run's training time in the server", [r["wall"] / r["server"] for r in runs]),
        row(
            "of which: training time in the server / engine time",
            [r["server"] / engine for r, engine in zip(runs, engines, strict=True)],
        ),
        row("loss chart updates per second while the run trains", rates, 2, *rate_target),
        row("the browser's CPU seconds per second of the run", [r["browser"] / r["wall"] for r in runs], 2),
    ]
