"""What a person sees and does on the page: controls, training, pause, links, divergence, downloads, screenshot."""

from __future__ import annotations

import csv
import os
import re
import shutil
import time
from collections.abc import Callable

from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from harness.browser import LIVE_LOSS, VALUES_JS
from page.live_chart import FEEDS_KEY

from .helpers import (
    ARTIFACTS,
    REPO,
    RUN_TIMEOUT_MS,
    button,
    choose_stage,
    headless_run,
    no_errors,
    open_page,
    pause_seconds,
    status,
    train_until,
    wait_for_app,
)

EPOCH = re.compile(r"epoch (\d+) of (\d+)")
# Widget root test ids by visible label: the sidebar a person reads, control by control.
CONTROLS = {
    "Stage": "stSelectbox",
    "Hidden size": "stSlider",
    "Learning rate": "stSlider",
    "Epochs": "stNumberInput",
    "Device": "stSelectbox",
    "Seed": "stNumberInput",
    "Batch size": "stNumberInput",
    "Initialisation": "stRadio",
    "Data": "stSelectbox",
    "Precision": "stRadio",
}
BUTTONS = ("Train", "Pause", "Step", "Reset")
# Only the chart a person can see: hidden tabs hold other charts whose titles also start with "Loss".
LOSS_TRACE_JS = f"""() => [...document.querySelectorAll('.js-plotly-plot')]
    .filter(el => el.offsetParent !== null && String(el.layout?.title?.text ?? '').startsWith('Loss'))
    .map(el => ({{title: el.layout.title.text, yaxis: el._fullLayout.yaxis.type,
                 x: ({VALUES_JS})(el.data[0].x), y: ({VALUES_JS})(el.data[0].y)}}))"""
# The live loss chart's node and drawing, marked to tell later whether they are the same ones.
LIVE_MARK_JS = f"""() => {{ const node = document.querySelector('{LIVE_LOSS}');
    window.liveNode = node; window.liveSvg = node.querySelector('.main-svg'); }}"""
LIVE_STATE_JS = f"""() => {{ const node = document.querySelector('{LIVE_LOSS}');
    const axis = node._fullLayout.xaxis;
    return {{sameNode: node === window.liveNode, sameSvg: node.querySelector('.main-svg') === window.liveSvg,
            range: axis.range.map(Number), autorange: !!axis.autorange,
            last: Number(node._fullData[0].x.at(-1))}}; }}"""


def epoch_shown(page: Page) -> int:
    """The epoch counter as the status line shows it."""
    text = status(page).inner_text()
    match = EPOCH.search(text)
    assert match, f"the status line shows no epoch counter: {text!r}"
    return int(match.group(1))


def control(page: Page, label: str) -> Locator:
    """The sidebar widget that carries this visible label."""
    label_text = page.get_by_test_id("stWidgetLabel").get_by_text(label, exact=True)
    return page.get_by_test_id(CONTROLS[label]).filter(has=label_text)


def slider_value(page: Page, label: str) -> str:
    return control(page, label).get_by_test_id("stSliderThumbValue").inner_text()


def press_on_slider(page: Page, label: str, key: str, times: int) -> None:
    """Move a slider with the keyboard, as a person without a mouse would."""
    control(page, label).locator('input[type="range"]').focus()
    for _ in range(times):
        page.keyboard.press(key)


def loss_chart(page: Page, settle_s: float = 10) -> dict:
    """The visible loss chart (title, y-axis type, x and y of its training trace), read from its Plotly element."""
    # Plotly draws a new figure a moment after Streamlit hands it over: wait until the chart has
    # caught up with the status line's epoch counter, then let the caller judge what it shows.
    deadline = time.monotonic() + settle_s
    while True:
        charts = page.evaluate(LOSS_TRACE_JS)
        if len(charts) == 1 and len(charts[0]["y"]) == epoch_shown(page) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(charts) == 1, f"expected one visible loss chart, found {[c['title'] for c in charts]}"
    return charts[0]


def loss_trace(page: Page) -> tuple[list[float], list[float]]:
    """Epochs and losses of the loss chart's training trace."""
    chart = loss_chart(page)
    return chart["x"], chart["y"]


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = RUN_TIMEOUT_MS / 1000) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout_s:.0f} s waiting until {what}"
        time.sleep(0.1)


def headless_losses(**settings) -> list[float]:
    """The loss history of the same run trained by the core alone, with the thread count the server uses."""
    return headless_run(**settings).history.column("loss")


def test_page_shows_every_control_by_its_label(app_server, page):
    """Every setting and button is on the page by its visible label; Optimizer only for the optim stage."""
    open_page(page, app_server)

    for label in CONTROLS:
        expect(control(page, label), f"the {label!r} control").to_be_visible()
    for label in BUTTONS:
        expect(button(page, label), f"the {label!r} button").to_be_visible()
    expect(button(page, "Pause"), "nothing runs yet, so there is nothing to pause").to_be_disabled()
    expect(status(page)).to_have_text(re.compile(r"^Ready: press Train"))
    optimizer = page.get_by_test_id("stWidgetLabel").get_by_text("Optimizer", exact=True)
    expect(optimizer, "the NumPy stage has no optimizer to choose").to_have_count(0)

    choose_stage(page, "5. torch.optim")
    expect(optimizer, "the optim stage offers its optimizers").to_be_visible()
    expect(page.get_by_role("combobox", name="Optimizer", exact=True)).to_have_value("Adam")
    no_errors(page)


def test_train_with_defaults_finishes_with_the_full_loss_history(app_server, page):
    """Train runs the lecture's 500 epochs and the loss chart holds every one of them."""
    open_page(page, app_server)
    train_until(page, "Done")

    expect(status(page)).to_have_text(re.compile(r"^Done · epoch 500 of 500 · loss "))
    epochs, losses = loss_trace(page)
    assert len(losses) == 500, f"the loss chart holds {len(losses)} of 500 epochs"
    assert epochs == list(range(500))
    assert losses[0] > 1e6 and losses[-1] < 1e-2, f"the loss did not fall: {losses[0]:g} -> {losses[-1]:g}"
    shown = float(re.search(r"loss ([^ ]+)", status(page).inner_text()).group(1))
    assert shown == float(f"{losses[-1]:.4g}"), "the status line's loss is the chart's last point"
    expect(button(page, "Pause")).to_be_disabled()
    assert page.errors == [], f"the browser reported errors: {page.errors}"


def test_pause_stops_the_counter_and_train_resumes(app_server, page):
    """Pause during a long run stops the epoch counter at once; Train continues from there."""
    # The lecture's hidden size: 50,000 epochs last about 20 s, so a busy machine still has time to pause.
    open_page(page, f"{app_server}/?epochs=50000")
    button(page, "Train").click()
    # Four digits: the run is well under way and the page redraws it steadily.
    expect(status(page)).to_have_text(re.compile(r"^Running · epoch \d{4,} of 50000"), timeout=RUN_TIMEOUT_MS)

    latency_s = pause_seconds(page)
    expect(status(page)).to_have_text(re.compile(r"^Paused · "), timeout=10_000)
    print(f"pause latency: {latency_s * 1000:.0f} ms from click to 'Paused'")
    # A margin that holds on a loaded machine: the benchmark measures the latency itself.
    assert latency_s < 5, f"'Paused' showed {latency_s:.2f} s after the click"

    paused_at = epoch_shown(page)
    time.sleep(1)
    assert epoch_shown(page) == paused_at, "the epoch counter moved after Pause"
    assert paused_at < 50_000, "the run finished before Pause could stop it"
    expect(button(page, "Train")).to_be_enabled()

    button(page, "Train").click()
    expect(status(page)).to_have_text(re.compile(r"^Running · "), timeout=10_000)
    wait_until(lambda: epoch_shown(page) > paused_at + 100, "Train resumed the paused run")
    # Closing the page at the end of the test stops the run on the server.


def test_the_loss_chart_updates_in_place_and_keeps_a_zoom_while_the_run_goes_on(app_server, page):
    """The running loss chart is one Plotly chart redrawn frame after frame, not a new one each time: a learner's
    zoom holds while new epochs arrive, and the frames' carriers take no room on the page."""
    open_page(page, f"{app_server}/?epochs=50000")
    button(page, "Train").click()
    expect(status(page)).to_have_text(re.compile(r"^Running · epoch \d{4,} of 50000"), timeout=RUN_TIMEOUT_MS)
    chart = page.locator(LIVE_LOSS)
    expect(chart).to_have_count(1)
    assert page.evaluate(f"() => document.querySelector('.st-key-{FEEDS_KEY}').offsetHeight") == 0
    # Marked once Plotly has drawn it: a chart still waiting for its first draw has no svg to keep yet.
    drawn = f"() => !!document.querySelector('{LIVE_LOSS}')?._fullLayout"
    wait_until(lambda: page.evaluate(drawn), "the loss chart was drawn")
    page.evaluate(LIVE_MARK_JS)
    # A drag across the middle of the plot zooms the epoch axis, as a person's mouse would.
    for _ in range(3):  # a frame that lands mid-drag can swallow it: drag again
        box = chart.locator(".nsewdrag").bounding_box()
        y = box["y"] + box["height"] / 2
        page.mouse.move(box["x"] + 0.3 * box["width"], y)
        page.mouse.down()
        page.mouse.move(box["x"] + 0.6 * box["width"], y, steps=4)
        page.mouse.up()
        zoomed = page.evaluate(LIVE_STATE_JS)
        if not zoomed["autorange"]:
            break
    assert not zoomed["autorange"], "three drags across the loss chart did not zoom it"
    wait_until(lambda: page.evaluate(LIVE_STATE_JS)["last"] > zoomed["last"] + 1000, "the chart drew new epochs")
    later = page.evaluate(LIVE_STATE_JS)
    assert later["sameNode"] and later["sameSvg"], "the loss chart was built anew instead of updated in place"
    assert later["range"] == zoomed["range"] and not later["autorange"], (
        f"the zoom {zoomed['range']} became {later['range']} while the run went on"
    )
    assert "Running" in status(page).inner_text(), "the run ended before the test could watch it"


def test_a_paused_and_resumed_run_has_the_history_of_an_uninterrupted_one(app_server, page):
    """Train, Pause half-way, Train again: the chart equals the core's uninterrupted run, epoch for epoch."""
    # At most 2,000 epochs, so that the chart shows every epoch rather than a downsampled curve, and a hidden
    # layer wide enough that the run lasts several seconds, leaving time to pause it half-way.
    open_page(page, f"{app_server}/?stage=nn&epochs=2000&hidden=1024")
    button(page, "Train").click()
    expect(status(page)).to_have_text(re.compile(r"^Running · epoch \d{3,} of 2000"), timeout=RUN_TIMEOUT_MS)
    button(page, "Pause").click()
    expect(status(page)).to_have_text(re.compile(r"^Paused · "), timeout=10_000)
    wait_for_app(page)
    paused_at = epoch_shown(page)
    charted_at_pause = len(loss_trace(page)[1])
    assert 0 < paused_at < 2000, f"Pause should land mid-run, it landed at epoch {paused_at}"

    train_until(page, "Done")
    expect(status(page)).to_have_text(re.compile(r"^Done · epoch 2000 of 2000 · "))
    epochs, losses = loss_trace(page)
    assert epochs == list(range(2000))
    expected = headless_losses(stage="nn", epochs=2000, hidden_size=1024)
    differing = [i for i, (shown, core) in enumerate(zip(losses, expected, strict=False)) if shown != core]
    assert losses == expected, f"paused at epoch {paused_at}; the histories differ from epoch {differing[:1]}"
    # Checked last, so that a mismatch here does not hide the history comparison above.
    assert charted_at_pause == paused_at, (
        f"while paused, the status line said epoch {paused_at} but the loss chart held {charted_at_pause} epochs: "
        "the run went on training after the page showed 'Paused'"
    )


def test_changing_the_view_during_a_run_leaves_its_history_untouched(app_server, page):
    """Flipping "Log-scale loss" while training redraws the chart without changing the run's losses."""
    # A run of several seconds whose every epoch the chart shows (at most 2,000 points).
    open_page(page, f"{app_server}/?stage=nn&epochs=2000&hidden=1024")
    toggle = page.get_by_test_id("stCheckbox").filter(has_text="Log-scale loss")
    button(page, "Train").click()
    expect(status(page)).to_have_text(re.compile(r"^Running · epoch \d+ of 2000"), timeout=RUN_TIMEOUT_MS)
    flips = 0
    while status(page).inner_text().startswith("Running"):
        try:
            toggle.click(timeout=10_000)  # each flip reruns the page while the run trains
        except PlaywrightTimeoutError:
            raise AssertionError(f"after {flips} flips the toggle could not be clicked for 10 s") from None
        flips += 1
        time.sleep(0.25)
    assert flips >= 5, f"the run ended after {flips} flips; it should outlast several"
    expect(status(page)).to_have_text(re.compile(r"^Done · epoch 2000 of 2000 · "), timeout=RUN_TIMEOUT_MS)
    wait_for_app(page)

    chart = loss_chart(page)
    axis = "linear" if flips % 2 else "log"
    assert chart["yaxis"] == axis, f"after {flips} flips the loss axis is {chart['yaxis']}, not {axis}"
    expected = headless_losses(stage="nn", epochs=2000, hidden_size=1024)
    differing = [i for i, (shown, core) in enumerate(zip(chart["y"], expected, strict=False)) if shown != core]
    assert chart["y"] == expected, (
        f"{flips} flips during the run; {len(chart['y'])} epochs charted; "
        f"the history differs from an undisturbed run's from epoch {differing[:1]}"
    )


def test_stage_and_hidden_size_change_the_run_and_the_link_restores_them(app_server, page):
    """New settings give a new curve and a link with them; opening the link restores them and the same curve."""
    open_page(page, app_server)
    train_until(page, "Done")
    _, numpy_losses = loss_trace(page)

    choose_stage(page, "4. torch.nn")
    expect(page).to_have_url(re.compile(r"\?stage=nn$"))
    press_on_slider(page, "Hidden size", "ArrowLeft", 2)  # 100 -> 64 -> 50
    expect(page).to_have_url(re.compile(r"\?stage=nn&hidden=50$"), timeout=10_000)
    wait_for_app(page)
    assert slider_value(page, "Hidden size") == "50"

    train_until(page, "Done")
    expect(status(page)).to_have_text(re.compile(r"^Done · epoch 500 of 500 · "))
    _, nn_losses = loss_trace(page)
    assert len(nn_losses) == 500 and nn_losses != numpy_losses, "the new settings gave the same curve"
    link = page.url

    other = page.context.new_page()
    try:
        open_page(other, link)
        expect(other.get_by_role("combobox", name="Stage", exact=True)).to_have_value("4. torch.nn")
        assert slider_value(other, "Hidden size") == "50"
        assert slider_value(other, "Learning rate") == "1e-04", "the nn stage brings its lecture learning rate"
        train_until(other, "Done")
        _, again = loss_trace(other)
        assert again == nn_losses, "the link's run differs from the run it was copied from"
        assert other.url == link
    finally:
        other.close()


def test_an_exploding_loss_is_explained_and_the_page_stays_usable(app_server, page):
    """Too high a learning rate shows what happened; lowering it trains to the end on the same page."""
    open_page(page, f"{app_server}/?stage=tensor&lr=0.001")
    assert slider_value(page, "Learning rate") == "1e-03"
    train_until(page, "Diverged")

    explanation = page.get_by_test_id("stAlert").filter(has_text="The loss exploded")
    expect(explanation).to_be_visible()
    expect(explanation).to_contain_text("learning rate of 0.001 is too high")
    epoch = epoch_shown(page)
    assert 0 < epoch < 500
    assert len(loss_trace(page)[1]) == epoch, "the chart keeps every finite epoch"
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)

    press_on_slider(page, "Learning rate", "ArrowLeft", 12)  # 1e-3 down to the lecture's 1e-6
    expect(control(page, "Learning rate").get_by_test_id("stSliderThumbValue")).to_have_text("1e-06")
    expect(page).to_have_url(re.compile(r"\?stage=tensor$"), timeout=10_000)
    wait_for_app(page)
    train_until(page, "Done")
    expect(status(page)).to_have_text(re.compile(r"^Done · epoch 500 of 500 · "))
    expect(explanation).to_have_count(0)
    assert len(loss_trace(page)[1]) == 500


def test_history_csv_download_matches_the_chart(app_server, page):
    """The History (CSV) button delivers one row per epoch with the chart's losses."""
    open_page(page, app_server)
    train_until(page, "Done")
    epochs, losses = loss_trace(page)

    with page.expect_download() as download_info:
        button(page, "History (CSV)").click()
    download = download_info.value
    assert download.suggested_filename == "twolayer-numpy-h100-lr1e-06-seed0-random.csv"
    with open(download.path(), newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 500
    assert [int(row["epoch"]) for row in rows] == epochs
    assert [float(row["loss"]) for row in rows] == losses


def test_screenshot_of_the_finished_default_run(app_server, page):
    """Save what a person sees after a default run, for the test artifacts and the README."""
    open_page(page, app_server)
    train_until(page, "Done")
    # The app scrolls inside its main pane, so a full-page shot of a 1000 px window would cut it off:
    # grow the window to the content's height first.
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": 1400, "height": max(1000, height)})
    wait_for_app(page)

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "screenshot-default.png"
    page.screenshot(path=shot, full_page=True)
    assert shot.stat().st_size > 50_000, "the screenshot is suspiciously small"
    if os.environ.get("TWOLAYER_UPDATE_DOCS") == "1":  # the committed picture changes only on purpose
        shutil.copyfile(shot, REPO / "docs" / "screenshot.png")
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
