"""A learner tweaking settings: a sweep on real digits, each stage's changes, and the page on a phone."""

from __future__ import annotations

import os
import shutil

import pytest
from playwright.sync_api import Page, expect

from twolayer.train.config import STAGES

from .helpers import REPO, button, status, wait_for_app

PHONE = {"width": 390, "height": 844}
TABS = ["Training", "Inside a step", "Landscape", "Draw", "Sweep", "Compare stages", "Run history"]


def test_a_sweep_of_three_learning_rates_on_mnist_trains_to_the_end(page: Page, app_server: str, screenshot_dir):
    page.goto(f"{app_server}/?stage=optim&data=mnist5k&epochs=15&sweep=lr:1e-4,1e-3,1e-2")
    wait_for_app(page)
    expect(page.get_by_role("tab", name="Sweep")).to_have_attribute("aria-selected", "true")  # the link opens it
    button(page, "Train sweep").click()
    expect(page.get_by_text("Done · sweep of learning rate over 3 values · 45 of 45 epochs")).to_be_visible(
        timeout=240_000
    )
    wait_for_app(page)
    # three values, each with a train and a test curve in the chart's legend
    legend = page.locator(".stPlotlyChart .legendtext").evaluate_all("texts => texts.map(t => t.textContent)")
    assert legend == [f"lr={v} {split}" for v in ("0.0001", "0.001", "0.01") for split in ("train", "test")], legend
    table = page.get_by_test_id("stDataFrame").last
    expect(table).to_be_visible()
    expect(page.get_by_text("is best: the highest test accuracy")).to_be_visible()
    page.get_by_text("is best: the highest test accuracy").scroll_into_view_if_needed()
    page.screenshot(path=screenshot_dir / "sweep.png")
    if os.environ.get("TWOLAYER_UPDATE_DOCS") == "1":  # the committed picture changes only on purpose
        shutil.copy(screenshot_dir / "sweep.png", REPO / "docs" / "sweep.png")


@pytest.mark.parametrize("stage", STAGES[1:])
def test_the_code_panel_shows_what_each_stage_changed(page: Page, app_server: str, stage: str, screenshot_dir):
    page.goto(f"{app_server}/?stage={stage}")
    wait_for_app(page)
    number = STAGES.index(stage)  # the previous stage's number, counting from 1
    page.get_by_text(f"Show what changed since stage {number}").click()
    wait_for_app(page)
    code = page.get_by_role("figure", name=f"What the {_title(stage)} stage changed")
    expect(code).to_be_visible()
    added, removed = code.locator(".tl-added"), code.locator(".tl-removed")
    assert added.count() > 0 and removed.count() > 0, f"{stage}: {added.count()} added, {removed.count()} removed"
    assert code.locator(".tl-note").count() >= 1
    assert set(added.locator(".tl-sign").all_inner_texts()) == {"+"}
    assert set(removed.locator(".tl-sign").all_inner_texts()) == {"−"}
    if stage == "autograd":  # the backward pass giving way to loss.backward(): the README's picture
        note = code.locator(".tl-note").nth(1)
        note.scroll_into_view_if_needed()
        panel, top = code.bounding_box(), note.bounding_box()["y"]
        clip = {"x": panel["x"] - 8, "y": max(top - 200, 0), "width": panel["width"] + 16, "height": 760}
        page.screenshot(path=screenshot_dir / "stage-diff.png", clip=clip)
        if os.environ.get("TWOLAYER_UPDATE_DOCS") == "1":
            shutil.copy(screenshot_dir / "stage-diff.png", REPO / "docs" / "stage-diff.png")


def test_on_a_phone_the_buttons_keep_one_row_and_the_chart_is_on_the_first_screen(browser, app_server, screenshot_dir):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(f"{app_server}/?epochs=300")
        wait_for_app(page)
        button(page, "Train").click()
        expect(status(page)).to_contain_text("Done", timeout=60_000)
        wait_for_app(page)
        tops = [button(page, name).bounding_box()["y"] for name in ("Train", "Pause", "Step", "Reset")]
        assert max(tops) - min(tops) < 2, f"the buttons are not on one row: tops {tops}"
        chart = page.locator(".tl-live-chart").first.bounding_box()
        assert status(page).bounding_box()["y"] < PHONE["height"]
        assert chart["y"] + chart["height"] / 2 < PHONE["height"], (
            f"the loss chart's middle is below the screen: {chart}"
        )
        page.screenshot(path=screenshot_dir / "phone.png")
        for tab in TABS:
            page.get_by_role("tab", name=tab).click()
            wait_for_app(page)
            width = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
            assert width[0] <= width[1], f"the {tab} tab scrolls sideways: {width[0]} px of content in {width[1]} px"
    finally:
        context.close()


def _title(stage: str) -> str:
    from twolayer.train.stages import stage_spec

    return stage_spec(stage).title
