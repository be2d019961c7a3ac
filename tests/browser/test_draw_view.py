"""The Draw tab in Chromium: strokes on the pad move the network's scores, and a test image reads as evaluated."""

from __future__ import annotations

import os
import re
import shutil

import numpy as np
from playwright.sync_api import Page, expect

from harness.browser import VALUES_JS

from .helpers import REPO, button, headless_run, no_errors, script_run_started, train_until, wait_for_app

SETTINGS = dict(stage="optim", data="digits", hidden_size=64, learning_rate=1e-3, epochs=60)
QUERY = "?data=digits&stage=optim&hidden=64&lr=0.001&epochs=60"
TEST_LINE = re.compile(r"On the pad: test image (\d+) of (\d+) · label (\d) · the evaluation predicts (\d)")
# The visible scores chart's bar heights.
SCORES_JS = f"""() => {{
  const charts = [...document.querySelectorAll('.js-plotly-plot')].filter((el) => el.offsetParent !== null
      && String(el.layout?.title?.text ?? '').startsWith('Scores'));
  return charts.length === 1 ? ({VALUES_JS})(charts[0].data[0].y) : null;
}}"""


def after_rerun(page: Page, action) -> None:
    """Do `action`, then wait until the script run it causes has started and finished."""
    with script_run_started(page):
        action()
    wait_for_app(page)


def stroke(page: Page, points: list[tuple[float, float]]) -> None:
    """One pen stroke through `points`, given as fractions of the pad's width and height."""
    box = page.locator("canvas.drawpad-canvas").bounding_box()
    assert box is not None, "the drawing pad is not visible"
    at = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]
    page.mouse.move(*at[0])
    page.mouse.down()
    for (x0, y0), (x1, y1) in zip(at, at[1:], strict=False):
        page.mouse.move(x1, y1, steps=max(2, int(np.hypot(x1 - x0, y1 - y0) / 8)))
    page.mouse.up()


def shown_scores(page: Page) -> list[float] | None:
    return page.evaluate(SCORES_JS)


def test_drawing_moves_the_scores_and_a_test_image_reads_as_evaluated(app_server, page, screenshot_dir):
    page.goto(app_server + QUERY)
    wait_for_app(page)
    train_until(page, "Done")

    page.get_by_role("tab", name="Draw").click()
    canvas = page.locator("canvas.drawpad-canvas")
    expect(canvas).to_be_visible()
    expect(page.get_by_text("draw a digit on the pad, and the network's ten scores")).to_be_visible()
    assert shown_scores(page) is None, "scores are shown before anything was drawn"

    # A one: a single slanted stroke down the middle.
    after_rerun(page, lambda: stroke(page, [(0.62, 0.15), (0.42, 0.85)]))
    expect(page.get_by_text(re.compile(r"The network reads \d"))).to_be_visible()
    first = shown_scores(page)
    assert first is not None and len(first) == 10, f"expected ten scores after a stroke, got {first}"
    expect(page.get_by_test_id("stImage").locator("img")).to_be_visible()  # the drawing as the network's input

    # A bar across the top turns it into a seven: another input, other scores.
    after_rerun(page, lambda: stroke(page, [(0.25, 0.15), (0.62, 0.15)]))
    second = shown_scores(page)
    assert second is not None and len(second) == 10
    assert not np.allclose(first, second), "the second stroke left every score as it was"
    read = re.search(r"The network reads (\d)", page.get_by_text(re.compile(r"The network reads \d")).inner_text())
    assert read and int(read.group(1)) == int(np.argmax(second)), "the sentence names another digit than the bars"
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)

    # What a person sees: the pad, the prepared input, the scores and the units, without the sidebar's height.
    main_height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": 1400, "height": max(1000, main_height)})
    wait_for_app(page)
    panel = page.get_by_role("tabpanel").filter(has=canvas)
    shot = screenshot_dir / "draw.png"
    panel.screenshot(path=shot)
    assert shot.stat().st_size > 20_000, "the screenshot is suspiciously small"
    if os.environ.get("TWOLAYER_UPDATE_DOCS") == "1":
        shutil.copyfile(shot, REPO / "docs" / "draw.png")

    # A test image on the pad: its label and the evaluation's prediction, as the core computes them.
    after_rerun(page, lambda: button(page, "Try a test image").click())
    line = page.get_by_text(TEST_LINE)
    expect(line).to_be_visible()
    number, count, label, predicted = (int(g) for g in TEST_LINE.search(line.inner_text()).groups())
    trainer = headless_run(**SETTINGS)
    data = trainer.data
    assert count == len(data.x_test)
    index = number - 1
    assert label == data.labels_test[index]
    assert predicted == int(trainer.predict(data.x_test[index : index + 1]).argmax())
    third = shown_scores(page)
    assert third is not None and not np.allclose(third, second), "the test image did not replace the drawing"
    panel.screenshot(path=screenshot_dir / "draw-test-image.png")

    # Clear empties the pad: no scores, and no line about a test image that is no longer there.
    after_rerun(page, lambda: button(page, "Clear").click())
    expect(page.get_by_text(TEST_LINE)).to_have_count(0)
    expect(page.get_by_text("draw a digit on the pad, and the network's ten scores")).to_be_visible()
    assert shown_scores(page) is None, "scores are still shown for a cleared pad"
    no_errors(page)
