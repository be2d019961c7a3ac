"""Section 3b: the bytes a training page receives over its WebSocket while a run trains, in headless Chromium.

The lecture's run at 20,000 epochs with the Training tab open, as a student would start it: every frame the page
receives from Train to Done is counted (Playwright's `framereceived`, the payload as sent), split by what it carries
(each ForwardMsg parsed), and the loss chart in the page is checked against the core's history twice: once mid-run
(what the frames built) and once at the end.
"""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter

from threadpoolctl import threadpool_limits

from bench.page import PRESS_AND_TIME_JS
from bench.report import Section
from bench.timing import verdict
from harness.browser import LOSS_TRACES_JS, chromium, wait_for_app
from harness.server import ROOT, free_port, start_server, stop_server, wait_healthy
from harness.sessions import held, loss_chart_traces, same_traces

EPOCHS, QUICK_EPOCHS = 20_000, 5_000
REPEATS, QUICK_REPEATS = 3, 1
RATE_TARGET_KBS = 20.0  # KB received a second per training page, at most
UPDATES_TARGET = 5.0  # loss chart updates a second while the run trains, at least (rounded to one digit)
SETTLE_MS = 1500  # after the page opens, before the click
CATCH_UP_S = 20  # after Done, how long the chart may take to draw the run's end
KB = 1000
# Once the status line passes half the run: the chart as the frames built it then (no whole figure since the start).
MID_RUN_JS = f"""(half) => {{
  const timer = setInterval(() => {{
    for (const el of document.querySelectorAll('[data-testid="stMarkdownContainer"] p > strong:first-child')) {{
      const match = el.parentElement.textContent.match(/^Running · epoch (\\d+)/);
      if (match && Number(match[1]) >= half) {{
        window.__midRun = ({LOSS_TRACES_JS})();
        clearInterval(timer);
      }}
    }}
  }}, 20);
}}"""


def kind(payload: bytes) -> str:
    """What a ForwardMsg from the server carries: the live loss chart, another live chart, the status line, ..."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    message = ForwardMsg()
    message.ParseFromString(payload)
    what = message.WhichOneof("type")
    if what != "delta":
        return what or "other"
    delta = message.delta
    if delta.WhichOneof("type") != "new_element":
        return delta.WhichOneof("type") or "delta"
    element = delta.new_element
    which = element.WhichOneof("type")
    if which == "bidi_component":
        component = element.bidi_component
        if not component.component_name.startswith("twolayer.live_"):
            return f"component {component.component_name}"
        name = json.loads(component.json or "{}").get("name")
        return "live loss chart" if name == "loss" else f"live chart {name}"
    if which == "markdown" and element.markdown.body.startswith("**Running**"):
        return "status line"
    return which or "element"


def reference(config):
    """The core's own run of `config`, trained here at the server's one thread."""
    from twolayer.train.trainer import Trainer

    with threadpool_limits(1):
        trainer = Trainer(config)
        trainer.advance(config.epochs)
    return trainer


def timed_run(browser, url: str, epochs: int) -> dict:
    """Press Train on `url` and count what the page receives until the status line reads Done."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    frames: list[tuple[float, bytes]] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda p: frames.append((time.perf_counter(), p))))
    try:
        page.goto(f"{url}/?epochs={epochs}")
        wait_for_app(page)
        page.get_by_role("button", name="Train", exact=True).wait_for(state="visible")
        page.wait_for_timeout(SETTLE_MS)
        page.evaluate(MID_RUN_JS, epochs // 2)
        frames.clear()
        start = time.perf_counter()
        seconds, _ = page.evaluate(PRESS_AND_TIME_JS, f"Done · epoch {epochs} of {epochs}")
        end = start + seconds
        wait_for_app(page)
        deadline = time.monotonic() + CATCH_UP_S
        final = page.evaluate(LOSS_TRACES_JS)
        while (final is None or final[0]["x"][-1] != epochs - 1) and time.monotonic() < deadline:
            time.sleep(0.2)
            final = page.evaluate(LOSS_TRACES_JS)
        mid = page.evaluate("() => window.__midRun || null")
    finally:
        page.close()
    during = [(t, p if isinstance(p, bytes) else p.encode()) for t, p in frames if start <= t <= end]
    split = Counter()
    for _, payload in during:
        split[kind(payload)] += len(payload)
    updates = [t for t, p in during if kind(p) == "live loss chart"]
    rate = (len(updates) - 1) / (updates[-1] - updates[0]) if len(updates) > 1 else 0.0
    return {"seconds": seconds, "bytes": sum(split.values()), "split": split, "rate": rate, "final": final, "mid": mid}


def run(quick: bool) -> list[Section]:
    """Section 3b: bytes a second to one training page, what they carry, and the chart against the core's run."""
    from twolayer.serve.links import resolve_link
    from twolayer.train.config import TrainConfig

    epochs = QUICK_EPOCHS if quick else EPOCHS
    # The settings the page makes of its link, as the page's own controls would (TrainConfig's own defaults differ).
    config = TrainConfig.from_values(resolve_link({"epochs": str(epochs)}, ["cpu"]).values)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(port, ROOT / "test-artifacts" / "bench-traffic-server.log")
    runs = []
    try:
        wait_healthy(server, url)
        with chromium() as browser:
            for _ in range(QUICK_REPEATS if quick else REPEATS):
                runs.append(timed_run(browser, url, epochs))
    finally:
        stop_server(server)
    trainer = reference(config)
    finals = sum(same_traces(r["final"], loss_chart_traces(trainer)) for r in runs)
    # Each mid-run chart against the run's history up to the last epoch it holds.
    mids = sum(bool(m) and same_traces(m, loss_chart_traces(trainer, held(m))) for m in (r["mid"] for r in runs))
    rates = [r["bytes"] / r["seconds"] / KB for r in runs]
    worst = max(rates)
    updates = [r["rate"] for r in runs]
    section = Section(
        "3b. Bytes to a training page",
        f"The lecture's run (NumPy stage, random data) at {epochs:,} epochs, Train pressed in headless Chromium with "
        f"the Training tab open, {len(runs)} runs on one server started as `scripts/run-app` starts it. Received: "
        "every WebSocket frame from the click to the status line reading Done (Playwright's framereceived, payload "
        "bytes as sent), over that time (KB = 1,000 bytes); split by what each message carries. Loss chart updates: "
        "the messages for the live loss chart, a second, from the first to the last. The chart is checked against "
        "the core's own run of the same settings: mid-run (as the frames built it, the moment the status line "
        "passed half the run) and after Done, every trace's x and y to the last bit.",
        ["what", "measured: median (lowest-highest)", "target", "result"],
    )

    def spread(values: list[float], digits: int = 1) -> str:
        return f"{statistics.median(values):,.{digits}f} ({min(values):,.{digits}f}-{max(values):,.{digits}f})"

    section.rows += [
        [
            "KB a second received while the run trains",
            spread(rates),
            f"<= {RATE_TARGET_KBS:g}",
            verdict(worst <= RATE_TARGET_KBS),
        ],
        ["of the target (worst run)", f"{worst / RATE_TARGET_KBS:.2f}", "<= 1", ""],
        ["run time, click to Done (s)", spread([r["seconds"] for r in runs], 2), "report", ""],
        ["loss chart updates a second", spread(updates, 2), f">= {UPDATES_TARGET:g}"]
        + [verdict(round(min(updates), 1) >= UPDATES_TARGET)],
    ]
    for what in sorted({k for r in runs for k in r["split"]}, key=lambda k: -sum(r["split"][k] for r in runs)):
        section.rows.append(
            [f"of which: {what}, KB a second", spread([r["split"][what] / r["seconds"] / KB for r in runs], 2)]
            + ["report", ""]
        )
    section.rows += [
        ["runs whose chart mid-run equals the core's history then", f"{mids} of {len(runs)}", "all"]
        + [verdict(mids == len(runs))],
        ["runs whose final chart equals the core's history", f"{finals} of {len(runs)}", "all"]
        + [verdict(finals == len(runs))],
    ]
    return [section]
