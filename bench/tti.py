"""Section 5: time to interactive of twolayer's page against a bare Streamlit page with the same controls.

Both pages are timed in the page's own clock (performance.now(), milliseconds from navigation start) by a script that
watches the DOM from inside the page (`harness.paint`), so Playwright's round trips never count.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.first_paint import LOGS, OPEN_TIMEOUT_MS, QUIET_TIMEOUT_S, bare_app_source, ms, probed_page
from bench.report import Section
from bench.timing import median_interval, verdict, with_noise
from harness.browser import chromium, wait_for_app
from harness.paint import CONTROL_LABELS, PAINT_PROBE_JS, PAINT_READY_JS, paint_record, wait_quiet
from harness.server import ROOT, free_port, start_server, stop_server, wait_healthy

OPENS, QUICK_OPENS = 9, 2  # counted opens of each page, after one uncounted warm-up round (9: see bench.timing)
TTI_TARGET = 1.2  # twolayer's time to interactive over the bare page's, at most
FIRST_SESSION_TARGET = 1.5  # the same on each server's first session, at most


# --- one open of a page, in the page's clock ---


def open_timed(browser, url: str) -> dict:
    """Open `url` in a fresh browser context and return what the paint probe saw (ms since navigation start)."""
    with probed_page(browser, PAINT_PROBE_JS) as page:
        page.goto(url, wait_until="commit", timeout=OPEN_TIMEOUT_MS)
        page.wait_for_function(PAINT_READY_JS, timeout=OPEN_TIMEOUT_MS, polling=100)
        wait_for_app(page, OPEN_TIMEOUT_MS)
        record = paint_record(page)
        # A chart drawn after the script's run ends would still count as "before": look once more, a moment later.
        page.wait_for_timeout(300)
        later = paint_record(page)
        record["firstPlot"] = later["firstPlot"]
        return record


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


def _ratio(a: float | None, b: float | None) -> str:
    return "" if a is None or b is None or b <= 0 else f"{a / b:.2f}"


def judged_rows(summary: dict, interactive: str, script: str) -> list[list[str]]:
    """A summary's time to interactive, judged by its interval's top, and the script's part after connecting."""
    _, high = median_interval(summary["ratios"])
    (bare_ready, app_ready), (bare_script, app_script) = summary["ready"], summary["script"]
    return [
        [interactive, ms(bare_ready), ms(app_ready), with_noise(summary["ratios"], 2)]
        + [f"<= {TTI_TARGET} (interval's top)", verdict(high <= TTI_TARGET)],
        [script, ms(bare_script), ms(app_script), f"{summary['script_ratio']:.2f}", "", ""],
    ]


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
        section.rows.append([what, ms(bare), ms(app), _ratio(app, bare), "", ""])
    interactive = "**interactive**: every control shown and Train enabled"
    section.rows += judged_rows(summary, interactive, "of which after connecting (the script's run)")
    for key, what in COSTS:
        bare, app = summary["costs"][key]
        section.rows.append([what, ms(bare), ms(app), _ratio(app, bare), "report", ""])
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


# The pages a round opens, in turn: (name, served by the launcher, its server's log); the bare page is served by
# `streamlit run` too.
LAUNCHER, USUAL = "scripts/run-app", "streamlit run app.py"
PAGES = (("bare", False, "bare"), (LAUNCHER, True, "twolayer"), (USUAL, False, "streamlit-run"))
BACK_TO_BACK_PAUSE_S = 1.0  # between opens when the servers are not left to go quiet


def path_rows(name: str, bare: Sequence[dict], app: Sequence[dict], protocol: str) -> list[list[str]]:
    """The rows for one start path of the app against the bare page opened in the same rounds under `protocol`."""
    interactive = f"**interactive via {name}** ({protocol})"
    return judged_rows(tti_summary(bare, app), interactive, f"of which after connecting, via {name} ({protocol})")


def open_rounds(browser, urls: dict[str, str], servers: dict, opens: int, quiet: bool) -> dict[str, list[dict]]:
    """`opens` rounds of every page in PAGES order, each open timed; before each, the servers go quiet (`quiet`) or
    the page opens BACK_TO_BACK_PAUSE_S after the last."""
    records: dict[str, list[dict]] = {name: [] for name, *_ in PAGES}
    for _ in range(opens):
        for name, *_ in PAGES:
            if quiet:
                for server in servers.values():
                    wait_quiet(server.pid, timeout_s=QUIET_TIMEOUT_S)
            else:
                time.sleep(BACK_TO_BACK_PAUSE_S)
            records[name].append(open_timed(browser, urls[name]))
    return records


def run_tti(quick: bool) -> list[Section]:
    """Section 5: twolayer's default page, served by its launcher and by `streamlit run app.py`, and a bare page with
    the same controls, opened in turn."""
    opens = QUICK_OPENS if quick else OPENS
    LOGS.mkdir(parents=True, exist_ok=True)
    cold: dict[str, dict] = {}  # the warm-up round: each server's first session
    with tempfile.TemporaryDirectory(prefix="twolayer-bare-") as tmp:
        bare_app = Path(tmp) / "bare_app.py"
        bare_app.write_text(bare_app_source())
        servers, urls = {}, {}
        try:
            for name, launcher, log in PAGES:
                port = free_port()
                urls[name] = f"http://127.0.0.1:{port}/"
                app = bare_app if name == "bare" else ROOT / "app.py"
                servers[name] = start_server(port, LOGS / f"bench-tti-{log}-server.log", app=app, launcher=launcher)
            for name in servers:
                wait_healthy(servers[name], urls[name].rstrip("/"))
            with chromium() as browser:
                for name, *_ in PAGES:
                    # A fresh server can stay busy a while after its first session: let it go quiet.
                    for server in servers.values():
                        wait_quiet(server.pid, timeout_s=3 * QUIET_TIMEOUT_S)
                    cold[name] = open_timed(browser, urls[name])
                quiet = open_rounds(browser, urls, servers, opens, quiet=True)
                back_to_back = open_rounds(browser, urls, servers, opens, quiet=False)
        finally:
            for server in servers.values():
                stop_server(server)
    section = tti_section(tti_summary(quiet["bare"], quiet[LAUNCHER]), warm_ups=1)
    section.note += (
        " The usual command: a third server serves app.py by plain `streamlit run app.py` (which imports, warms up "
        "and freezes the collector as the launcher does, in a thread it starts once its first page is drawn), "
        "opened after the launcher's page in each round; and the same rounds again back to back, each page opened "
        f"{BACK_TO_BACK_PAUSE_S:g} s after the last without waiting for the servers to go quiet, as a plain browser "
        "timing would."
    )
    section.rows += path_rows(USUAL, quiet["bare"], quiet[USUAL], "servers quiet")
    for name, *_ in PAGES[1:]:
        section.rows += path_rows(name, back_to_back["bare"], back_to_back[name], "back to back")
    bare = ready(cold["bare"])
    for name, launcher, _ in PAGES[1:]:
        app = ready(cold[name])
        # Only the launcher imports before the first page; `streamlit run app.py` imports in it, as any app does.
        met = app / bare <= FIRST_SESSION_TARGET
        target = [f"<= {FIRST_SESSION_TARGET}", verdict(met)] if launcher else ["report", ""]
        section.rows.append(
            [f"interactive on a server's first session (the warm-up round, one open), {name}", ms(bare), ms(app)]
            + [_ratio(app, bare), *target]
        )
    return [section]
