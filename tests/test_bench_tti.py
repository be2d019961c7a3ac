"""The time-to-interactive and first-click benchmark's pure parts: summaries, the bare page it writes, its options."""

import ast
import statistics

import pytest

from bench import __main__ as cli
from bench.first_click import click_summary
from bench.first_paint import bare_app_source
from bench.tti import (
    charts_before_ready,
    median_of,
    paired,
    path_rows,
    ready,
    script_share,
    tti_section,
    tti_summary,
)
from harness.paint import BUTTON_LABELS, CONTROL_LABELS


def record(connected: float, controls: float, train: float, **extra) -> dict:
    """A paint probe's record with the fields the summaries read (ms since navigation start)."""
    return {
        "connected": connected,
        "controls": controls,
        "train": train,
        "firstPlot": None,
        "plotsAtReady": 0,
        "order": ["app", "connected", "Stage", "train"],
        **extra,
    }


def test_ready_is_the_later_of_controls_and_train():
    assert ready(record(100, 900, 1000)) == 1000
    assert ready(record(100, 1200, 1000)) == 1200
    assert script_share(record(100, 1200, 1000)) == 1100


def test_median_skips_missing_values():
    records = [{"a": 1.0}, {"a": None}, {"a": 5.0}, {}]
    assert median_of(records, "a") == 3.0
    assert median_of(records, "b") is None


def test_paired_ratio_is_the_median_of_round_ratios():
    bare = [record(0, 1000, 1000), record(0, 2000, 2000), record(0, 1000, 1000)]
    app = [record(0, 1100, 1100), record(0, 4000, 4000), record(0, 1300, 1300)]
    # Round ratios 1.1, 2.0, 1.3: the busy middle round does not pull the result as a ratio of means would.
    assert paired(app, bare, ready) == pytest.approx(1.3)


def test_summary_medians_ratio_and_chart_order():
    bare = [record(500, 1000, 1000), record(500, 1200, 1200), record(500, 1100, 1100)]
    app = [
        record(500, 1200, 1210),
        record(500, 1500, 1400),
        record(500, 1300, 1300, firstPlot=1250.0),  # a chart before Train was enabled
    ]
    summary = tti_summary(bare, app)
    assert summary["ready"] == (1100, 1300)
    assert summary["ratio"] == pytest.approx(statistics.median([1210 / 1000, 1500 / 1200, 1300 / 1100]))
    assert summary["script"] == (600, 800)
    assert summary["charts_first"] == 1 and summary["charts_on_opening"] == 1 and summary["opens"] == 3
    section = tti_section(summary, warm_ups=1)
    rows = {row[0]: row for row in section.rows}
    interactive = rows["**interactive**: every control shown and Train enabled"]
    assert interactive[1:3] == ["1,100", "1,300"] and interactive[3] == "1.21 (1.18-1.25; 1.18-1.25)"
    assert interactive[-1] == "MISS", "the interval's top, 1.25, is over 1.2"
    assert rows["opens where a Plotly chart was drawn before the controls and Train"][-1] == "MISS"
    assert all(len(row) == len(section.header) for row in section.rows), "every row fills every column"


def test_a_chart_present_when_ready_counts_as_first():
    assert charts_before_ready(record(0, 100, 100, plotsAtReady=2))
    assert not charts_before_ready(record(0, 100, 100, firstPlot=150.0))
    assert not charts_before_ready(record(0, 100, 100))


def test_click_summary_in_ms_since_the_click():
    rec = {
        "clicked": 1000.0,
        "scriptRunning": 1060.0,
        "lossFrame": 1300.0,
        "loss": 1420.0,
        "status": "Running · epoch 37 of 500 · loss 12.5 · 0.4 ms per epoch · device cpu",
    }
    summary = click_summary(rec)
    assert (summary["start"], summary["frame"], summary["chart"]) == (60.0, 300.0, 420.0)
    assert (summary["state"], summary["epoch"]) == ("Running", "37")
    assert click_summary({**rec, "lossFrame": None, "status": None})["frame"] is None


def test_bare_page_has_the_same_controls_and_buttons_and_no_chart():
    source = bare_app_source()
    tree = ast.parse(source)
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)]
    labels = [c.args[0].value for c in calls if c.args and isinstance(c.args[0], ast.Constant)]
    assert set(CONTROL_LABELS) <= set(labels), f"missing controls: {set(CONTROL_LABELS) - set(labels)}"
    assert [label for label in labels if label in BUTTON_LABELS] == list(BUTTON_LABELS)
    kinds = {c.func.attr for c in calls}
    assert {"selectbox", "select_slider", "number_input", "radio", "button"} <= kinds
    assert not kinds & {"plotly_chart", "tabs", "code"}, f"the bare page should hold no charts: {kinds}"
    imports = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
    assert [alias.name for n in imports for alias in n.names] == ["streamlit"], "only Streamlit is imported"


def test_quick_runs_never_write_the_committed_report(tmp_path):
    assert cli.parse(["--quick"]).output == cli.QUICK_REPORT != cli.REPORT
    assert cli.parse([]).output == cli.REPORT
    assert cli.parse(["--quick", "--output", str(tmp_path / "x.md")]).output == tmp_path / "x.md"
    assert cli.parse(["--only", "tti,first-click"]).only == ["tti", "first-click"]


def test_each_start_path_is_timed_against_the_bare_page_of_the_same_rounds():
    bare = [record(100, 1000, 1000) for _ in range(9)]
    app = [record(100, 1100 + 10 * i, 1100) for i in range(9)]  # 1.10 to 1.18 of the bare page
    interactive, script = path_rows("streamlit run app.py", bare, app, "back to back")
    assert interactive[0] == "**interactive via streamlit run app.py** (back to back)"
    assert interactive[1:3] == ["1,000", "1,140"] and interactive[3].startswith("1.14 (")
    assert interactive[-1] == "PASS", "every round's ratio is under 1.2"
    assert script[1:4] == ["900", "1,040", "1.16"]
    slow = [record(100, 1300, 1300) for _ in range(9)]
    assert path_rows("scripts/run-app", bare, slow, "servers quiet")[0][-1] == "MISS"
