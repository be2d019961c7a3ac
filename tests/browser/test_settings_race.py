"""The run uses exactly the settings on screen, even when Train is pressed right after a slider moved."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from .helpers import RUN_TIMEOUT_MS, button, status, wait_for_app

STATUS = re.compile(r"^Done · epoch 3 of 3 · .* · hidden (\d+), lr ([^ ]+)$")


def test_train_right_after_a_slider_move_runs_the_new_value(app_server, page):
    page.goto(app_server + "?epochs=3")
    wait_for_app(page)
    line = status(page)
    sliders = {
        label: page.get_by_test_id("stSlider").filter(has=page.get_by_test_id("stWidgetLabel").get_by_text(label))
        for label in ("Hidden size", "Learning rate")
    }
    for attempt in range(8):
        label, key = ("Hidden size", "ArrowRight") if attempt % 2 == 0 else ("Learning rate", "ArrowLeft")
        sliders[label].locator('input[type="range"]').focus()
        page.keyboard.press(key)
        # No wait for the page to catch up: the click follows the key press at once.
        button(page, "Train").click()
        expect(line).to_have_text(STATUS, timeout=RUN_TIMEOUT_MS)
        wait_for_app(page)
        shown = {name: s.get_by_test_id("stSliderThumbValue").inner_text() for name, s in sliders.items()}
        # The run on screen, once the page has settled, is one with exactly the sliders' values.
        hidden, lr = shown["Hidden size"], f"{float(shown['Learning rate']):g}"
        settled = re.compile(rf"^Done · epoch 3 of 3 · .* · hidden {hidden}, lr {re.escape(lr)}$")
        expect(line, f"attempt {attempt}: the run differs from the sliders {shown}").to_have_text(settled)
    assert int(hidden) > 100 and float(lr) < 1e-6, "the sliders moved: 4 stops up and 4 down"
