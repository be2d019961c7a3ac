"""The order in which the opened page appears: controls and an enabled Train first, no chart shown before a run.

Only the order is checked, never a time: how fast the page paints is measured by `python -m bench --only tti`.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from harness.paint import CONTROL_LABELS, LOSS_SHOWN_JS, PAINT_PROBE_JS, paint_record

from .helpers import RUN_TIMEOUT_MS, button, wait_for_app

# When the page asked for the frontend's Plotly code, in ms of the page's clock (as the paint probe's times).
CHART_CODE_REQUESTS_JS = (
    "() => performance.getEntriesByType('resource').filter((e) => /PlotlyChart[.-]/.test(e.name))"
    ".map((e) => e.startTime)"
)


def test_controls_and_train_appear_and_no_chart_is_drawn_before_a_run(app_server: str, page: Page):
    # The probe runs before the page's own scripts and notes each element as it enters the DOM.
    page.context.add_init_script(PAINT_PROBE_JS)
    page.goto(app_server)
    wait_for_app(page)
    train = button(page, "Train")
    expect(train).to_be_enabled()
    sidebar = page.get_by_test_id("stSidebar")
    for label in CONTROL_LABELS:
        expect(sidebar.get_by_test_id("stWidgetLabel").filter(has_text=label).first).to_be_visible()

    seen = paint_record(page)
    missing = [label for label in CONTROL_LABELS if label not in seen["labels"]]
    assert not missing, f"the probe never saw these sidebar controls: {missing}; order seen: {seen['order']}"
    assert seen["ready"] is not None, f"the probe never saw every control and an enabled Train: {seen['order']}"
    assert seen["plotsAtReady"] == 0, f"a Plotly chart came before the controls; order seen: {seen['order']}"

    training = page.get_by_role("tabpanel").first  # the Training tab, shown on opening
    expect(page.get_by_role("tab", name="Training")).to_have_attribute("aria-selected", "true")
    expect(training).to_contain_text("The loss curve appears here")
    # The chart code (megabytes) is loaded once the page has settled, after the controls, with no chart drawn.
    page.wait_for_function(f"() => ({CHART_CODE_REQUESTS_JS})().length > 0", timeout=RUN_TIMEOUT_MS)
    chart_code = page.evaluate(CHART_CODE_REQUESTS_JS)
    assert min(chart_code) > seen["ready"], f"chart code asked for at {chart_code} ms, before interactive at {seen}"
    expect(page.locator(".js-plotly-plot")).to_have_count(0)

    train.click()
    page.wait_for_function(LOSS_SHOWN_JS, timeout=RUN_TIMEOUT_MS, polling=100)
    expect(training.locator(".js-plotly-plot").first).to_be_visible()
    assert not page.errors, f"errors on the page: {page.errors}"
