"""Section 3: what the page adds to training, measured in headless Chromium against the engine alone."""

from __future__ import annotations

import bisect
import os
import re
import statistics
import time

import torch
from threadpoolctl import threadpool_limits

from bench.report import Section
from bench.timing import verdict
from harness.browser import LOSS_JS, STATUS_LINE_JS, chromium
from harness.server import ROOT, free_port, start_server, stop_server, wait_healthy
from twolayer import TrainConfig, Trainer

ENGINE_SECONDS = 10.0  # the long run: about this much pure training
QUICK_ENGINE_SECONDS = 2.0
RATIO_TARGET = 1.05  # page wall time / engine time
RATE_TARGET = 4.0  # chart updates per second, at least
BYTES_TARGET = 200_000  # per chart update, at most
LOSS_TITLE = b"Loss (sum of squared errors)"  # found in each websocket frame that carries a loss chart
SETTLE_MS = 1500  # after the page opens, before the click
REPEATS, QUICK_REPEATS = 3, 1  # engine and page runs, interleaved
APP_THREADS = 1  # the server's own setting (TWOLAYER_THREADS), so the engine is timed as the page runs it


def engine_seconds(epochs: int) -> float:
    """Seconds `Trainer.advance` takes for the lecture's numpy run of `epochs` epochs, at the app's thread count."""
    previous = torch.get_num_threads()
    torch.set_num_threads(APP_THREADS)
    try:
        with threadpool_limits(APP_THREADS):
            trainer = Trainer(TrainConfig(epochs=epochs))
            start = time.perf_counter()
            trainer.advance(epochs)
            return time.perf_counter() - start
    finally:
        torch.set_num_threads(previous)


def epochs_for(seconds: float) -> int:
    """Epochs of the lecture run that take about `seconds` of engine time here."""
    probe = 2000
    per_epoch = engine_seconds(probe) / probe
    return max(probe, min(100_000, round(seconds / per_epoch)))


def browser_cpu_seconds() -> float:
    """CPU seconds used so far by every Chromium process this process started (through Playwright's driver)."""
    parents, cpu, tick = {}, {}, os.sysconf("SC_CLK_TCK")
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                name, fields = stat.read().rsplit(")", 1)
        except OSError:  # gone meanwhile
            continue
        fields = fields.split()
        parents[int(entry.name)] = int(fields[1])
        if "chrom" in name:
            cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick

    def ours(pid: int) -> bool:
        while pid > 1:
            if pid == os.getpid():
                return True
            pid = parents.get(pid, 1)
        return False

    return sum(seconds for pid, seconds in cpu.items() if ours(pid))


def timed_run(browser, url: str, epochs: int) -> dict[str, float]:
    """Press Train on `url` and time it to the final epoch on screen, counting the loss charts sent meanwhile."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    frames: list[tuple[float, int]] = []  # (arrival, bytes) of each loss chart update
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: _count(frames, payload)))
    page.goto(url)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=60_000)
    train = page.get_by_role("button", name="Train", exact=True)
    train.wait_for(state="visible")
    # Let the browser finish drawing the opened page: the clock measures the run, not the page load.
    page.wait_for_timeout(SETTLE_MS)
    frames.clear()
    done = f"Done · epoch {epochs} of {epochs}"
    start, start_cpu = time.perf_counter(), browser_cpu_seconds()
    train.click()
    # The status line as it read when done: the page's last redraw may replace it a moment later.
    shown = page.wait_for_function(
        f"() => {{ const s = ({STATUS_LINE_JS})(); return s && s.startsWith({done!r}) && s; }}",
        timeout=600_000,
        polling=20,
    ).json_value()
    end, browser_cpu = time.perf_counter(), browser_cpu_seconds() - start_cpu
    # The server's own training time for this run, from the status line's time per epoch (3 digits).
    per_epoch_ms = float(re.search(r"([\d.]+) ms per epoch", shown).group(1))
    points = len(page.evaluate(LOSS_JS) or [])
    page.close()
    arrivals = [t for t, _ in frames]
    return {
        "wall": end - start,
        "server": per_epoch_ms * epochs / 1000,
        "updates": len(frames),
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


def run(quick: bool) -> list[Section]:
    """Section 3: page wall time over engine time, chart update rate and size, and the lecture run's click-to-chart."""
    epochs = epochs_for(QUICK_ENGINE_SECONDS if quick else ENGINE_SECONDS)
    engines, long_runs = [], []
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(port, ROOT / "test-artifacts" / "bench-page-server.log")
    try:
        wait_healthy(server, url)
        with chromium() as browser:
            # Interleaved, so a slow spell of the shared machine falls on both halves of a pair.
            for _ in range(QUICK_REPEATS if quick else REPEATS):
                engines.append(engine_seconds(epochs))
                long_runs.append(timed_run(browser, f"{url}/?epochs={epochs}", epochs))
            lecture = timed_run(browser, f"{url}/", 500)
    finally:
        stop_server(server)
    ratios = [run["wall"] / engine for run, engine in zip(long_runs, engines, strict=True)]
    ratio = statistics.median(ratios)
    long_run, engine = next((r, e) for r, e, q in zip(long_runs, engines, ratios, strict=True) if q == ratio)
    # Where the time goes: the page beyond its run's own training, and that training against the engine alone.
    beyond = statistics.median(run["wall"] / run["server"] for run in long_runs)
    slowed = statistics.median(run["server"] / engine for run, engine in zip(long_runs, engines, strict=True))
    fewest = min(run["fewest"] for run in long_runs)
    section = Section(
        "3. The page's cost",
        f"The lecture's NumPy run for {epochs:,} epochs (about {engine:.1f} s of engine time at the server's one "
        "thread), trained in headless Chromium: wall time from the Train click to the status line reading the final "
        "epoch, over the engine's own time for the same run measured just before; the median of "
        f"{len(long_runs)} such pairs, interleaved. Chart updates are the websocket frames that carry the loss "
        "figure, counted in the page as they arrive; bytes are their median size. The two 'of which' rows split the "
        "ratio: drawing and the browser's latency (wall over the seconds the run's epochs took in the server, read "
        "from the status line's time per epoch), and the training itself slowed in the server while the browser "
        "renders on the same cores. The browser's CPU: the CPU seconds of every Chromium process over the run "
        "(from /proc), against its wall time.",
        ["what", "measured", "target", "result"],
    )
    section.rows = [
        [
            "page wall / engine time",
            f"{ratio:.3f} ({long_run['wall']:.2f} s / {engine:.2f} s)",
            f"<= {RATIO_TARGET}",
            verdict(ratio <= RATIO_TARGET),
        ],
        [
            "of which: page wall / the run's training time in the server",
            f"{beyond:.3f} ({long_run['wall']:.2f} s / {long_run['server']:.2f} s)",
            "report",
            "",
        ],
        [
            "of which: training time in the server / engine time",
            f"{slowed:.3f} ({long_run['server']:.2f} s / {engine:.2f} s)",
            "report",
            "",
        ],
        [
            "loss chart updates per second, on average (median run)",
            f"{long_run['updates'] / long_run['wall']:.1f} ({long_run['updates']} in {long_run['wall']:.1f} s)",
            "report",
            "",
        ],
        [
            "fewest loss chart updates in any one second (all runs)",
            str(fewest),
            f">= {RATE_TARGET:g}",
            verdict(fewest >= RATE_TARGET),
        ],
        [
            "bytes per chart update (median frame)",
            f"{long_run['bytes']:,.0f}",
            f"< {BYTES_TARGET:,}",
            verdict(long_run["bytes"] < BYTES_TARGET),
        ],
        [
            "the browser's CPU seconds per second of the run (median run)",
            f"{long_run['browser'] / long_run['wall']:.2f} ({long_run['browser']:.1f} s in {long_run['wall']:.1f} s)",
            "report",
            "",
        ],
        ["points in the final loss trace", f"{long_run['points']:,}", "<= 2,000", verdict(long_run["points"] <= 2000)],
        ["lecture default (500 epochs): click to final chart", f"{lecture['wall']:.2f} s", "report", ""],
    ]
    return [section]
