"""Why a setting works, in the browser: the sharpness chart with its 2/lr line while a run trains, and the Landscape
tab's charts after it, with the numbers the run recorded."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from harness.browser import VALUES_JS

from .helpers import RUN_TIMEOUT_MS, button, open_page, status, train_until

# The live sharpness chart's traces: the measured values, and the level of the edge.
SHARPNESS_JS = f"""() => {{
  const el = document.querySelector('.tl-live-chart[aria-label^="Sharpness chart"]');
  if (!el || !el.data || el.data.length < 2) return null;
  return {{values: ({VALUES_JS})(el.data[0].y), edge: ({VALUES_JS})(el.data[1].y), name: el.data[1].name}};
}}"""


def test_the_sharpness_is_drawn_against_2_over_lr_during_a_run_and_the_landscape_after(page: Page, app_server: str):
    open_page(page, f"{app_server}/?stage=tensor&epochs=3000&sharpness_every=100")
    button(page, "Train").click()
    expect(status(page)).to_have_text(re.compile(r"^Running · "), timeout=RUN_TIMEOUT_MS)
    during = page.wait_for_function(SHARPNESS_JS, timeout=RUN_TIMEOUT_MS).json_value()
    assert during["name"].startswith("2/lr = ") and during["edge"] == [2 / 1e-6, 2 / 1e-6]
    assert all(value > 0 for value in during["values"])
    expect(status(page)).to_have_text(re.compile(r"^Done · epoch 3000 of 3000"), timeout=RUN_TIMEOUT_MS)
    # Epochs 0, 100, ..., 2,900: the finished run's last frame brings the thirtieth.
    # Null for a moment while the finished run's page is drawn anew: waited through, and read where it was whole.
    thirty = f"() => {{ const drawn = ({SHARPNESS_JS})(); return drawn?.values.length === 30 ? drawn : null; }}"
    after = page.wait_for_function(thirty, timeout=RUN_TIMEOUT_MS).json_value()
    assert after["values"][: len(during["values"])] == during["values"], "values drawn once stay as they were"

    page.get_by_role("tab", name="Landscape").click()
    panel = page.get_by_role("tabpanel").filter(has_text="Why a learning rate trains")
    line = panel.get_by_text(re.compile(r"^Line chart: From the start \(t = 0, loss [0-9.e+]+\) to the end"))
    expect(line).to_be_visible(timeout=RUN_TIMEOUT_MS)
    expect(panel.get_by_text(re.compile(r"^Plane chart: .*ends at the centre \(0, 0\)"))).to_be_visible()
    expect(panel.get_by_text(re.compile(r"^Sharpness chart: λmax went from [0-9.e+]+ at epoch 0 to"))).to_be_visible()
    expect(panel.locator(".js-plotly-plot")).to_have_count(3)  # sharpness, line, plane: random data has no digits


def test_the_landscape_tab_waits_for_a_pause_and_draws_where_the_run_stands(page: Page, app_server: str):
    open_page(page, f"{app_server}/?data=digits&stage=optim&hidden=16&epochs=4")
    train_until(page)
    page.get_by_role("tab", name="Landscape").click()
    panel = page.get_by_role("tabpanel").filter(has_text="Why a learning rate trains")
    expect(panel.get_by_text(re.compile(r"^Hidden units chart: \d+ probe images .* at epoch 4:"))).to_be_visible(
        timeout=RUN_TIMEOUT_MS
    )
    expect(panel.locator(".js-plotly-plot")).to_have_count(4)  # sharpness at the start, line, plane, hidden units
