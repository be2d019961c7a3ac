"""What a learner takes home from the page: the program, which reproduces the page's run, and the run as one page
that opens from disk with every network request refused, its charts drawn and its histogram slider working."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from .helpers import REPO, button, no_errors, open_page, train_until

RUN = "stage=optim&data=digits&epochs=30&lr=0.001&hidden=32"
STEM = "twolayer-optim-h32-lr0.001-seed0-digits"
CHART_TITLES = [
    "Loss per example",
    "Accuracy",
    "W1 after 30 epochs",
    "W2 after 30 epochs",
    "Gradient norm per layer",
    "Update size / weight size",
    "Confusion matrix: accuracy",
    "Incoming weights of hidden units",
]
# Each chart's title, whether Plotly drew it (its SVG is there), and the heights of the W1 histogram's bars.
CHARTS_JS = """() => [...document.querySelectorAll('.plotly-graph-div')].map(div => ({
    title: div.querySelector('.gtitle')?.textContent ?? '',
    drawn: div.querySelectorAll('.main-svg').length > 0 && !!div._fullLayout,
}))"""
BARS_JS = """() => [...document.querySelectorAll('#chart-2 .bars .point path')].map(p => p.getAttribute('d'))"""


def download(page: Page, label: str, folder: Path) -> Path:
    """Click a download button of the page and keep the file under its suggested name."""
    with page.expect_download() as info:
        button(page, label).click()
    path = folder / info.value.suggested_filename
    info.value.save_as(path)
    return path


def run_at_home(script: Path) -> list[float]:
    """The losses a downloaded program prints, run by a Python of its own with one thread, as the server trains."""
    threads = os.environ.get("TWOLAYER_THREADS", "1")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DISPLAY")}
    env |= {"MPLBACKEND": "Agg", "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
    result = subprocess.run(
        [sys.executable, script.name], cwd=script.parent, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return [float(line.split("Loss: ")[1]) for line in result.stdout.splitlines() if line.startswith("Epoch: ")]


def test_the_downloaded_program_reproduces_the_pages_run(app_server: str, page: Page, tmp_path: Path):
    open_page(page, f"{app_server}/?{RUN}")
    # before any training: the program of the run as set, as a script and as a notebook
    script = download(page, "Program (.py)", tmp_path)
    notebook = download(page, "Notebook (.ipynb)", tmp_path)
    assert (script.name, notebook.name) == (f"{STEM}.py", f"{STEM}.ipynb")
    nbformat.validate(nbformat.reads(notebook.read_text(), as_version=4))
    train_until(page, "Done")
    with download(page, "History (CSV)", tmp_path).open(newline="") as file:
        losses = [float(row["loss"]) for row in csv.DictReader(file)]
    assert run_at_home(script) == losses and len(losses) == 30
    no_errors(page)


def test_the_run_as_one_page_opens_from_disk_with_no_network(
    app_server: str, page: Page, browser: Browser, tmp_path: Path, screenshot_dir: Path
):
    open_page(page, f"{app_server}/?{RUN}")
    train_until(page, "Done")
    report = download(page, "Download this run as a page", tmp_path)
    animation = download(page, "Animation for slides (.gif)", tmp_path)
    assert (report.name, animation.name) == (f"{STEM}.html", f"{STEM}.gif")
    with Image.open(animation) as image:
        assert image.is_animated
        frames = image.n_frames

    context = browser.new_context(viewport={"width": 1400, "height": 1150})
    requests, refused, errors = [], [], []
    context.on("request", lambda request: requests.append(request.url))
    context.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith("file://")
            else (refused.append(route.request.url), route.abort())
        ),
    )
    shown = context.new_page()
    shown.on("console", lambda message: message.type == "error" and errors.append(message.text))
    shown.on("pageerror", lambda error: errors.append(str(error)))
    shown.goto(report.as_uri())
    shown.wait_for_function("() => document.querySelectorAll('.plotly-graph-div .main-svg').length >= 16")
    charts = shown.evaluate(CHARTS_JS)
    assert [chart["title"] for chart in charts][:6] == CHART_TITLES[:6]
    assert charts[6]["title"].startswith(CHART_TITLES[6]) and charts[7]["title"] == CHART_TITLES[7]
    assert all(chart["drawn"] for chart in charts)
    # The run's snapshots (their spacing is the trainer's, by count and time): one frame each, one slider step each.
    snapshots = shown.evaluate("() => document.getElementById('chart-2').layout.sliders[0].steps.length")
    assert frames == snapshots >= 2, f"{frames} frames of the animation, {snapshots} snapshots on the page"
    program = shown.get_by_role("figure", name="The whole program of the torch.optim optimizer stage")
    expect(program).to_contain_text("def train_step(model, loss_fn, optimizer, x, y):")
    expect(program).to_contain_text('print(f"Epoch: {epoch}, Loss: {loss}")')

    shown.screenshot(path=screenshot_dir / "report-full.png", full_page=True)
    shown.screenshot(path=screenshot_dir / "report.png", clip={"x": 0, "y": 0, "width": 1400, "height": 1150})
    if os.environ.get("TWOLAYER_UPDATE_DOCS") == "1":  # the committed picture changes only on purpose
        shutil.copy(screenshot_dir / "report.png", REPO / "docs" / "report.png")

    # the slider under W1 goes back to the start: other bars, and the title says which epoch they are
    before = shown.evaluate(BARS_JS)
    rail = shown.locator("#chart-2 .slider-rail-touch-rect")
    rail.click(position={"x": 2, "y": rail.bounding_box()["height"] / 2})  # the rail's left end: the first snapshot
    expect(shown.locator("#chart-2 .gtitle")).to_have_text("W1 after 0 epochs")
    after = shown.evaluate(BARS_JS)
    assert len(after) == len(before) and after != before

    assert requests == [report.as_uri()] and refused == [], "the page asked for more than its own file"
    assert errors == []
    context.close()
