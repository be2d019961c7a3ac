"""The "Inside a step" tab in Chromium: walk every recorded line of each stage and see its values drawn."""

from __future__ import annotations

import os
import re
import shutil
import statistics
import time

import pytest
from playwright.sync_api import Locator, Page, expect

from twolayer import TrainConfig, Trainer
from twolayer.teach.step_record import StepRecording, record_next_step
from twolayer.train.config import STAGES

from .helpers import REPO, RUN_TIMEOUT_MS, button, open_page, server_threads, status, wait_for_app

VIEWPORT = {"width": 1280, "height": 1000}  # a lecturer's laptop: the view must read well at this width
SCREENSHOT_LINE = "grad_h = grad_h_relu * (h > 0)"  # the numpy line the committed picture shows
DOCS_PICTURE = REPO / "docs" / "inside-a-step.png"
WAIT_MS = 30_000  # for a rerun and Plotly's drawing: a second when idle, far longer on a loaded CI machine
SCREENSHOT_HEIGHT = 1300  # tall enough for the page's top, the highlighted line and its heatmap at once
ERRORS = '[data-testid="stException"], [data-testid="stAlertContentError"]'


def expected_step(stage: str) -> StepRecording:
    """The step the page should show after one Step: the same run recorded by the core, on the server's threads."""
    with server_threads():
        trainer = Trainer(TrainConfig(stage=stage, epochs=5, device="cpu"))
        trainer.advance(1)
        return record_next_step(trainer)


def values_panel(page: Page) -> Locator:
    """The column that shows the highlighted line's values."""
    return page.locator(".st-key-step_values")


def open_step_view(page: Page, url: str) -> None:
    """Open the page, take one Step and switch to the Inside a step tab."""
    page.set_viewport_size(VIEWPORT)
    open_page(page, url)
    button(page, "Step").click()
    expect(status(page)).to_have_text(re.compile(r"^Paused · epoch 1 of 5"), timeout=RUN_TIMEOUT_MS)
    wait_for_app(page)
    page.get_by_role("tab", name="Inside a step").click()
    expect(values_panel(page)).to_be_visible(timeout=WAIT_MS)


def check_line(page: Page, recording: StepRecording, index: int) -> None:
    """The highlighted line is line `index` of the recording, and each value it made is drawn under its name."""
    line, count = recording.lines[index], len(recording.lines)
    panel = values_panel(page)
    expect(panel).to_contain_text(f"Line {index + 1} of {count}", timeout=RUN_TIMEOUT_MS)
    wait_for_app(page)
    expect(page.locator(".tl-current"), "one highlighted line in the code").to_have_count(1, timeout=WAIT_MS)
    source = page.locator(".tl-current .tl-src")
    expect(source).to_have_text(re.compile(rf"^\s*{re.escape(line.source)}$"), timeout=WAIT_MS)
    expect(page.locator(ERRORS), f"no error on line {index + 1}: {line.source}").to_have_count(0)
    if not line.names:
        expect(panel.get_by_text("It makes no new value.")).to_be_visible(timeout=WAIT_MS)
        return
    drawn = panel.locator('.js-plotly-plot, [data-testid="stMetric"]')
    expect(drawn.first, f"a chart or a number for {line.source!r}").to_be_visible(timeout=WAIT_MS)
    shown = panel.inner_text()
    optimizer_line = any(name.startswith("optimizer.") for name in line.names)
    for name in line.names:
        if optimizer_line and name.startswith("optimizer.") and ".model.0.weight." not in name:
            continue  # an optimizer line shows one parameter's state at a time, the first by default
        if optimizer_line and not name.startswith("optimizer.") and name != "model.0.weight":
            continue
        assert name in shown, f"{name!r}, made by {line.source!r}, is not shown"
    if "loss" in line.names and isinstance(recording.values["loss"], float):
        metric = panel.get_by_test_id("stMetric").filter(has_text="loss").get_by_test_id("stMetricValue")
        assert float(metric.inner_text()) == pytest.approx(recording.loss, rel=1e-5), "the loss shown is not the step's"


def wait_for_charts(panel: Locator) -> None:
    """Let Plotly finish drawing every chart of the panel (it draws a moment after Streamlit hands them over)."""
    charts = panel.locator('[data-testid="stPlotlyChart"]')
    for i in range(charts.count()):
        expect(charts.nth(i).locator(".js-plotly-plot .main-svg").first).to_be_visible(timeout=WAIT_MS)


@pytest.mark.parametrize("stage", STAGES)
def test_walk_every_line_of_the_next_step(app_server, page, screenshot_dir, stage):
    """Next walks the recorded lines in the order they ran; each shows its values, and nothing fails."""
    recording = expected_step(stage)
    open_step_view(page, f"{app_server}/?stage={stage}&epochs=5")
    previous = button(page, "◀ Previous")
    expect(previous, "the first line has nothing before it").to_be_disabled(timeout=WAIT_MS)

    seconds = []
    for index in range(len(recording.lines)):
        if index:
            tick = time.perf_counter()
            button(page, "Next ▶").click()
            check_line(page, recording, index)
            seconds.append(time.perf_counter() - tick)
        else:
            check_line(page, recording, index)
        if stage == "numpy" and recording.lines[index].source.startswith(SCREENSHOT_LINE):
            save_screenshot(page, screenshot_dir)
    expect(button(page, "Next ▶"), "the last line has nothing after it").to_be_disabled(timeout=WAIT_MS)
    print(f"{stage}: Next to drawn, median {statistics.median(seconds):.2f} s, longest {max(seconds):.2f} s")

    # The slider takes the arrow keys once focused.
    page.get_by_role("slider", name=re.compile("Line of the step")).focus()
    page.keyboard.press("ArrowLeft")
    check_line(page, recording, len(recording.lines) - 2)
    assert page.errors == [], f"the browser reported errors: {page.errors}"


def save_screenshot(page: Page, screenshot_dir) -> None:
    """The tab on the grad_h line, as a person sees it; copied to docs/ only when asked to (TWOLAYER_UPDATE_DOCS=1)."""
    page.set_viewport_size({**VIEWPORT, "height": SCREENSHOT_HEIGHT})
    wait_for_charts(values_panel(page))
    button(page, "Train").scroll_into_view_if_needed()  # the page's top: its buttons, the tabs and the view
    page.mouse.move(0, 0)  # no button left looking hovered
    # The sidebar is left out: the picture is about this tab.
    sidebar = page.get_by_test_id("stSidebar").bounding_box()
    left = sidebar["x"] + sidebar["width"] if sidebar else 0
    path = screenshot_dir / "inside-a-step.png"
    page.screenshot(path=path, clip={"x": left, "y": 0, "width": VIEWPORT["width"] - left, "height": SCREENSHOT_HEIGHT})
    page.set_viewport_size(VIEWPORT)
    if os.environ.get("TWOLAYER_UPDATE_DOCS") == "1":
        shutil.copyfile(path, DOCS_PICTURE)
