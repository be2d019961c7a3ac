"""Sections 5 and 6: time to interactive against a bare Streamlit page, and each stage's first click on a fresh server.

Both are timed in the page's own clock (performance.now(), milliseconds from navigation start) by scripts that
watch the DOM from inside the page (`harness.paint`), so Playwright's round trips never count.
"""

from __future__ import annotations

import contextlib
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.report import Section
from bench.timing import median_interval, verdict, with_noise
from harness.browser import chromium, wait_for_app
from harness.paint import (
    BUTTON_LABELS,
    CONTROL_LABELS,
    FIRST_LOSS_JS,
    FIRST_LOSS_READ_JS,
    FRAME_PROBE_JS,
    LOSS_SHOWN_JS,
    PAINT_PROBE_JS,
    PAINT_READY_JS,
    paint_record,
    wait_quiet,
)
from harness.server import ROOT, free_port, start_server, stop_server, wait_healthy
from harness.sessions import STAGES

OPENS, QUICK_OPENS = 9, 2  # counted opens of each page, after one uncounted warm-up round (9: see bench.timing)
TTI_TARGET = 1.2  # twolayer's time to interactive over the bare page's, at most
FIRST_SESSION_TARGET = 1.5  # the same on each server's first session, at most
CLICK_TARGET_MS = 500  # a fresh server's first click to the first loss chart, under
WARM_UP_WAIT_S = 3.0  # after the opened page is idle, before the click: the page settles and loads its chart code
QUIET_TIMEOUT_S = 10.0  # then at most this much longer, until the server process uses under 5% of a core
QUICK_STAGES = ("numpy", "optim")  # the first stage and the one with the most lazy imports (Adam)
OPEN_TIMEOUT_MS = 90_000
VIEWPORT = {"width": 1400, "height": 1000}
LOGS = ROOT / "test-artifacts"


# --- the bare page: the same sidebar controls and buttons, nothing else ---


def bare_app_source() -> str:
    """A Streamlit script with twolayer's default sidebar controls (same widget kinds, options, defaults and help)
    and its four buttons: no charts, no tabs, no imports beyond Streamlit. Built from `twolayer.train.config.SETTINGS`,
    so it follows the page's controls when they change."""
    from twolayer.serve.links import resolve_link
    from twolayer.train.config import SETTINGS
    from twolayer.train.devices import available_devices

    devices = available_devices()
    values = resolve_link({}, devices).values
    lines = [
        "import streamlit as st",
        "",
        'st.set_page_config(page_title="bare", layout="wide")',
        'st.markdown("## A bare page with the same controls")',
        "with st.sidebar:",
        '    st.header("Settings")',
    ]
    for spec in SETTINGS:
        control = spec.control
        if control is None or values["stage"] not in control.stages:
            continue
        common = f"key={spec.key!r}, help={spec.help[0].upper() + spec.help[1:] + '.'!r}"
        value = values[spec.key]
        if control.widget in ("select", "radio"):
            options = list(devices if spec.key == "device" else control.choices or spec.choices)
            widget = "st.selectbox" if control.widget == "select" else "st.radio"
            extra = ", horizontal=True" if spec.key == "dtype" else ""
            labels = dict(control.labels)
            lines.append(
                f"    {widget}({control.label!r}, {options!r}, index={options.index(value)}, "
                f"format_func=lambda v: {labels!r}.get(v, v), {common}{extra})"
            )
        elif control.widget == "stops":
            fmt = 'lambda v: f"{v:.0e}"' if spec.key == "lr" else "str"
            lines.append(
                f"    st.select_slider({control.label!r}, {list(control.stops)!r}, value={value!r}, "
                f"format_func={fmt}, {common})"
            )
        elif control.widget == "number":
            high = control.high if control.high is not None else spec.high
            low = spec.low if spec.low is None else int(spec.low)
            high = high if high is None else int(high)
            lines.append(
                f"    st.number_input({control.label!r}, min_value={low!r}, max_value={high!r}, "
                f"step={control.step!r}, value={value!r}, {common})"
            )
        else:
            lines.append(f"    st.checkbox({control.label!r}, value={bool(value)!r}, {common})")
    lines.append("cols = st.columns([1, 1, 1, 1, 4])")
    for i, label in enumerate(BUTTON_LABELS):
        primary = ', type="primary"' if label == "Train" else ""
        disabled = ", disabled=True" if label == "Pause" else ""  # nothing runs yet, as on twolayer's page
        lines.append(f"cols[{i}].button({label!r}, key={label.lower()!r}{primary}{disabled}, use_container_width=True)")
    return "\n".join(lines) + "\n"


# --- one open of a page, in the page's clock ---


def open_timed(browser, url: str) -> dict:
    """Open `url` in a fresh browser context and return what the paint probe saw (ms since navigation start)."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        context.add_init_script(PAINT_PROBE_JS)
        page = context.new_page()
        page.goto(url, wait_until="commit", timeout=OPEN_TIMEOUT_MS)
        page.wait_for_function(PAINT_READY_JS, timeout=OPEN_TIMEOUT_MS, polling=100)
        wait_for_app(page, OPEN_TIMEOUT_MS)
        record = paint_record(page)
        # A chart drawn after the script's run ends would still count as "before": look once more, a moment later.
        page.wait_for_timeout(300)
        later = paint_record(page)
        record["firstPlot"] = later["firstPlot"]
        return record
    finally:
        with contextlib.suppress(Exception):
            context.close()


# --- summaries: pure, tested in tests/test_bench_tti.py ---

# (key, what it is) for the table's rows, in the order a page reaches them; each a median over the opens.
MILESTONES = (
    ("domContentLoaded", "the frontend's HTML and scripts loaded (DOMContentLoaded)"),
    ("connected", "connected to the server (websocket open)"),
    ("firstControl", "first sidebar control"),
    ("controls", f"all {len(CONTROL_LABELS)} sidebar controls"),
    ("train", "Train button enabled"),
    ("idle", "the script's first run finished"),
)

# (key, what it is, how it is shown) for the rows that say where the time goes.
COSTS = (
    ("filesBeforeReady", "files fetched before interactive"),
    ("kbBeforeReady", "KB fetched before interactive (as sent)"),
    ("longTaskMsBeforeReady", "main-thread long tasks (> 50 ms) before interactive, ms in all"),
)


def median_of(records: Sequence[dict], key: str) -> float | None:
    """The median of `key` over the records that have it, or None when none does."""
    values = [r[key] for r in records if r.get(key) is not None]
    return statistics.median(values) if values else None


def paired(candidate: Sequence[dict], baseline: Sequence[dict], value: Callable[[dict], float]) -> float:
    """Median of the per-round ratios value(candidate) / value(baseline): pairs ran back to back."""
    return statistics.median(value(c) / value(b) for c, b in zip(candidate, baseline, strict=True))


def ready(record: dict) -> float:
    """Time to interactive: every sidebar control shown and the Train button enabled."""
    return max(record["controls"], record["train"])


def script_share(record: dict) -> float:
    """From the websocket's opening to interactive: what the script's run adds to Streamlit's own start."""
    return ready(record) - record["connected"]


def charts_before_ready(record: dict) -> bool:
    """Whether any Plotly chart was in the page before the controls and Train were."""
    return (record.get("plotsAtReady") or 0) > 0 or (
        record.get("firstPlot") is not None and record["firstPlot"] < ready(record)
    )


def tti_summary(bare: Sequence[dict], app: Sequence[dict]) -> dict:
    """Medians of each milestone for both pages, the paired ratio of time to interactive, and the order check."""
    return {
        "milestones": {key: (median_of(bare, key), median_of(app, key)) for key, _ in MILESTONES},
        "ready": (statistics.median(map(ready, bare)), statistics.median(map(ready, app))),
        "ratio": paired(app, bare, ready),
        "ratios": [ready(a) / ready(b) for a, b in zip(app, bare, strict=True)],
        "script": (statistics.median(map(script_share, bare)), statistics.median(map(script_share, app))),
        "script_ratio": paired(app, bare, script_share),
        # Where the time goes: what each page fetched and how long its main thread was blocked before interactive.
        "costs": {key: (median_of(bare, key), median_of(app, key)) for key, _ in COSTS},
        "largest": app[-1].get("largestBeforeReady") if app else None,
        "charts_first": sum(charts_before_ready(r) for r in app),
        "charts_on_opening": sum(r.get("firstPlot") is not None for r in app),
        "opens": len(app),
        "order": app[-1]["order"] if app else [],
    }


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _ratio(a: float | None, b: float | None) -> str:
    return "" if a is None or b is None or b <= 0 else f"{a / b:.2f}"


def tti_section(summary: dict, warm_ups: int) -> Section:
    """Section 5's table from `tti_summary`."""
    section = Section(
        "5. Time to interactive",
        f"Each page opened {summary['opens']} times in headless Chromium, each time in a fresh browser context "
        "(no cache), alternating bare, twolayer, bare, ... after "
        f"{warm_ups} uncounted round (each server's first session, in the last row). twolayer is served as "
        "`scripts/run-app` serves it (`python -m page.launch`: its modules imported and every stage run once before "
        "the server answers), the bare page by plain `streamlit run`. "
        "Before each open both servers are left to go quiet (under 5% of a core for 0.5 s). Times are the page's "
        "own clock, ms from navigation start, as a MutationObserver injected before the page's scripts saw each "
        f"element: the sidebar controls ({', '.join(CONTROL_LABELS)}) and an enabled Train button; medians "
        "over the opens. The bare page is a Streamlit script the benchmark writes with the same sidebar controls "
        "(widget kinds, options, defaults and help from `twolayer.train.config`) and the four buttons, no charts or "
        "tabs, served by its own `streamlit run` from the repository root (same `.streamlit/config.toml`) in the "
        "same run. The interactive row's ratio (the target's) is the median of the per-round ratios, beside a 95% "
        "interval for that median and their lowest and highest, and meets the target when the interval's top does; "
        "the other rows divide the two medians.",
        ["what (ms from navigation start)", "bare", "twolayer", "twolayer / bare", "target", "result"],
    )
    for key, what in MILESTONES:
        bare, app = summary["milestones"][key]
        section.rows.append([what, _ms(bare), _ms(app), _ratio(app, bare), "", ""])
    bare, app = summary["ready"]
    _, high = median_interval(summary["ratios"])
    section.rows.append(
        [
            "**interactive**: every control shown and Train enabled",
            _ms(bare),
            _ms(app),
            with_noise(summary["ratios"], 2),
            f"<= {TTI_TARGET} (interval's top)",
            verdict(high <= TTI_TARGET),
        ]
    )
    bare, app = summary["script"]
    section.rows.append(
        ["of which after connecting (the script's run)", _ms(bare), _ms(app), f"{summary['script_ratio']:.2f}", "", ""]
    )
    for key, what in COSTS:
        bare, app = summary["costs"][key]
        section.rows.append([what, _ms(bare), _ms(app), _ratio(app, bare), "report", ""])
    if summary["largest"]:
        largest = ", ".join(f"{name} {kb:,.0f} KB" for name, kb in summary["largest"])
        section.rows.append(["largest files before interactive (last twolayer open)", "", largest, "", "", ""])
    opens = summary["opens"]
    section.rows.append(
        [
            "opens where a Plotly chart was drawn before the controls and Train",
            "",
            f"{summary['charts_first']} of {opens}",
            "",
            "0",
            verdict(summary["charts_first"] == 0),
        ]
    )
    section.rows.append(
        ["opens that drew any Plotly chart before Train was pressed", "", f"{summary['charts_on_opening']} of {opens}"]
        + ["", "report", ""]
    )
    section.rows.append(["order of appearance (last twolayer open)", "", " → ".join(summary["order"]), "", "", ""])
    return section


def run_tti(quick: bool) -> list[Section]:
    """Section 5: twolayer's default page and a bare page with the same controls, opened in turn."""
    opens = QUICK_OPENS if quick else OPENS
    LOGS.mkdir(parents=True, exist_ok=True)
    records: dict[str, list[dict]] = {"bare": [], "twolayer": []}
    cold: dict[str, dict] = {}  # the warm-up round: each server's first session
    with tempfile.TemporaryDirectory(prefix="twolayer-bare-") as tmp:
        bare_app = Path(tmp) / "bare_app.py"
        bare_app.write_text(bare_app_source())
        servers, urls = {}, {}
        try:
            for name, app in (("bare", bare_app), ("twolayer", ROOT / "app.py")):
                port = free_port()
                urls[name] = f"http://127.0.0.1:{port}/"
                servers[name] = start_server(port, LOGS / f"bench-tti-{name}-server.log", app=app)
            for name in servers:
                wait_healthy(servers[name], urls[name].rstrip("/"))
            with chromium() as browser:
                for round_ in range(1 + opens):
                    for name in ("bare", "twolayer"):
                        # A fresh server can stay busy a while after its first session: let it go quiet.
                        for server in servers.values():
                            wait_quiet(server.pid, timeout_s=3 * QUIET_TIMEOUT_S if round_ < 2 else QUIET_TIMEOUT_S)
                        record = open_timed(browser, urls[name])
                        if round_ >= 1:
                            records[name].append(record)
                        else:
                            cold[name] = record
        finally:
            for server in servers.values():
                stop_server(server)
    section = tti_section(tti_summary(records["bare"], records["twolayer"]), warm_ups=1)
    bare, app = ready(cold["bare"]), ready(cold["twolayer"])
    section.rows.append(
        ["interactive on a server's first session (the warm-up round, one open)", _ms(bare), _ms(app)]
        + [_ratio(app, bare), f"<= {FIRST_SESSION_TARGET}", verdict(app / bare <= FIRST_SESSION_TARGET)]
    )
    return [section]


# --- section 6: the first click of each stage, on a fresh server ---


def first_click(browser, url: str, server_pid: int, before_click: Callable[[], None] = lambda: None) -> dict:
    """Open `url`, wait for idle plus the warm-up wait, press Train in the page; the times in the page's clock.

    `before_click` runs just before the wait for a quiet server (the caller's chance to finish other work)."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        context.add_init_script(FRAME_PROBE_JS)
        page = context.new_page()
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
    finally:
        with contextlib.suppress(Exception):
            context.close()


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
                        _ms(s["start"]),
                        _ms(s["frame"]),
                        _ms(s["chart"]),
                        f"{s['state']} · epoch {s['epoch']}",
                        _ms(record.get("longTaskMs")),
                        _files(record),
                        _ms(click_summary(record["again"])["chart"]),
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
