"""The page's layout in Chromium, at a lecturer's laptop width and larger: code that never scrolls sideways, legends
clear of titles and curves, label views legible from the back row, presenter mode, captions, and the pictures in docs/.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from twolayer.train.stages import STAGES

from .helpers import (
    REPO,
    RUN_TIMEOUT_MS,
    button,
    choose_stage,
    no_errors,
    open_page,
    status,
    train_until,
    wait_for_app,
)

WIDTHS = (1280, 1400, 1920)  # a lecturer's laptop, the tests' usual window, a projector's full HD
CHART_WIDTHS = (1280, 1920)
HEIGHT = 1000
DIGITS = "data=digits&stage=optim&lr=0.001&hidden=64&epochs=40"
# The runs whose finished page the chart tests look at, by name: the query each opens with.
RUNS = {
    "lecture": "",
    "digits": f"?{DIGITS}",
    "lecture-presenter": "?present=1",
    "digits-presenter": f"?{DIGITS}&present=1",
}
# Pictures for docs/, written only with TWOLAYER_UPDATE_DOCS=1 (always to the screenshot folder).
DOCS_PICTURES = {"lecture": "screenshot.png", "digits": "digits.png", "lecture-presenter": "presenter.png"}
MIN_CAPTION_PX = 16  # the prediction captions, read from the back row
SETTLE_S = 10  # for Plotly to redraw every chart at a new width: well under a second when the machine is idle
# Charts drawn by panels whose captions are someone else's to write: they are reported, not failed.

CODE_OVERFLOW_JS = """() => [...document.querySelectorAll('.tl-code')].filter((el) => el.offsetParent !== null)
  .map((el) => ({
    panel: [el.scrollWidth, el.clientWidth],
    right: el.getBoundingClientRect().right,
    viewport: document.documentElement.clientWidth,
    lines: [...el.querySelectorAll('.tl-src')].filter((src) => src.scrollWidth > src.clientWidth)
      .map((src) => `${src.scrollWidth} > ${src.clientWidth}: ${src.textContent.slice(0, 60)}`),
  }))"""
# Every visible chart's title and the boxes of the figure, its title, its legend and its plot area.
CHART_BOXES_JS = """() => [...document.querySelectorAll('.js-plotly-plot')].filter((el) => el.offsetParent !== null)
  .map((el) => {
    const box = (e) => {
      if (!e) return null;
      const r = e.getBoundingClientRect();
      return r.width && r.height ? {left: r.left, top: r.top, right: r.right, bottom: r.bottom} : null;
    };
    const title = el.layout && el.layout.title;
    return {
      title: String((title && title.text) || title || ''),
      figure: box(el.querySelector('.main-svg')),
      gtitle: box(el.querySelector('.gtitle')),
      legend: box(el.querySelector('.legend')),
      plot: box(el.querySelector('.draglayer .nsewdrag')),
    };
  })"""
# Each visible chart: whether a caption comes right after it, or it carries an aria-label.
CHART_TEXT_JS = """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"], .tl-live-chart')]
  .filter((el) => el.offsetParent !== null)
  .map((el) => {
    const plot = el.matches('.js-plotly-plot') ? el : el.querySelector('.js-plotly-plot');
    const title = plot && plot.layout && plot.layout.title;
    const container = el.closest('[data-testid="stElementContainer"]') || el;
    const next = container.nextElementSibling;
    const caption = next && (next.matches('[data-testid="stCaptionContainer"]')
      || next.querySelector('[data-testid="stCaptionContainer"]'));
    const labelled = el.closest('[aria-label]');
    return {
      title: String((title && title.text) || title || ''),
      text: caption ? caption.textContent : labelled ? labelled.getAttribute('aria-label') : '',
    };
  })"""
SIDEBAR_JS = """(el) => {
  const aria = el.getAttribute('aria-expanded'), collapsed = el.getAttribute('data-collapsed');
  const box = el.getBoundingClientRect();
  return {expanded: aria !== null ? aria === 'true' : collapsed !== 'true', right: box.right, width: box.width,
          aria, collapsed};
}"""
TITLE_JS = """() => {
  // The page title's text itself (a heading's box includes its padding), and the header band over the page.
  const heading = [...document.querySelectorAll('[data-testid="stMain"] h2')]
    .find((h) => h.textContent.startsWith('twolayer'));
  const range = document.createRange();
  range.selectNodeContents(heading);
  const text = range.getBoundingClientRect(), header = document.querySelector('[data-testid="stHeader"]');
  return {title: {top: text.top, bottom: text.bottom}, header: {bottom: header.getBoundingClientRect().bottom}};
}"""
# The label views' images and captions: the grids' and colour bars' sizes, each caption's size and colours.
LABEL_VIEWS_JS = """() => {
  const charts = [...document.querySelectorAll('.js-plotly-plot')].filter((el) => el.offsetParent !== null);
  const find = (start) => charts.find((el) => String(el.layout.title.text || '').startsWith(start));
  const rect = (el, selector) => {
    const e = el && el.querySelector(selector);
    return e ? e.getBoundingClientRect() : null;
  };
  const units = find('Incoming weights'), predictions = find('Test images');
  const main = document.querySelector('[data-testid="stMainBlockContainer"]').getBoundingClientRect().width;
  const grid = rect(units, '.draglayer .nsewdrag'), bar = rect(units, '.colorbar');
  return {
    main,
    units: units && {grid: [grid.width, grid.height], bar: bar && [bar.width, bar.height]},
    captions: predictions ? [...predictions.querySelectorAll('.annotation-text')].map((text) => {
      const style = getComputedStyle(text);
      return {text: text.textContent, size: parseFloat(style.fontSize), fill: style.fill,
              marks: [...text.querySelectorAll('tspan[style*="fill"]')].map((t) => t.textContent)};
    }) : null,
  };
}"""


def settle_charts(page: Page) -> list[dict]:
    """The visible charts' boxes once Plotly has redrawn them for the window's width (two reads agree)."""
    wait_for_app(page)
    deadline = time.monotonic() + SETTLE_S
    before = page.evaluate(CHART_BOXES_JS)
    while True:
        time.sleep(0.3)
        now = page.evaluate(CHART_BOXES_JS)
        if now == before or time.monotonic() > deadline:
            return now
        before = now


def overlaps(a: dict | None, b: dict | None, slack: float = 1) -> bool:
    if a is None or b is None:
        return False
    return (
        a["left"] < b["right"] - slack
        and b["left"] < a["right"] - slack
        and a["top"] < b["bottom"] - slack
        and b["top"] < a["bottom"] - slack
    )


def inside(a: dict, outer: dict, slack: float = 1) -> bool:
    return (
        a["left"] >= outer["left"] - slack
        and a["right"] <= outer["right"] + slack
        and a["top"] >= outer["top"] - slack
        and a["bottom"] <= outer["bottom"] + slack
    )


def chart_layout_problems(charts: list[dict]) -> list[str]:
    """What is wrong with each chart's legend and title: outside the figure, or covering each other or the plot."""
    problems = []
    for chart in charts:
        name, figure, legend, title = chart["title"] or "(untitled)", chart["figure"], chart["legend"], chart["gtitle"]
        if figure is None:
            problems.append(f"{name}: no figure drawn")
            continue
        if title is not None and not inside(title, figure):
            problems.append(f"{name}: the title is clipped, {title} outside the figure {figure}")
        if legend is None:
            continue
        if not inside(legend, figure):
            problems.append(f"{name}: the legend {legend} lies outside its figure {figure}")
        if overlaps(legend, title):
            problems.append(f"{name}: the legend {legend} covers the title {title}")
        if overlaps(legend, chart["plot"]):
            problems.append(f"{name}: the legend {legend} covers the plot {chart['plot']}")
    return problems


def check_charts_at(page: Page, widths: tuple[int, ...], what: str) -> int:
    """Assert the legend and title of every visible chart at each window width; the number of charts looked at."""
    problems, seen = [], 0
    for width in widths:
        page.set_viewport_size({"width": width, "height": HEIGHT})
        charts = settle_charts(page)
        seen += len(charts)
        problems += [f"{width} px: {problem}" for problem in chart_layout_problems(charts)]
    assert not problems, f"{what}:\n" + "\n".join(problems)
    return seen


def save_picture(page: Page, screenshot_dir: Path, name: str, docs_name: str | None) -> Path:
    """The whole page at 1400 px as a person scrolls through it; copied to docs/ only with TWOLAYER_UPDATE_DOCS=1."""
    # The app scrolls inside its main pane: grow the window to the content's height for a full-page shot.
    page.set_viewport_size({"width": 1400, "height": HEIGHT})
    wait_for_app(page)
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": 1400, "height": max(HEIGHT, height)})
    settle_charts(page)
    page.mouse.move(0, 0)  # nothing left looking hovered
    path = screenshot_dir / f"layout-{name}.png"
    page.screenshot(path=path, full_page=True)
    page.set_viewport_size({"width": 1400, "height": HEIGHT})
    assert path.stat().st_size > 50_000, f"{path} is suspiciously small"
    if docs_name and os.environ.get("TWOLAYER_UPDATE_DOCS") == "1":
        shutil.copyfile(path, REPO / "docs" / docs_name)
    return path


@pytest.fixture(scope="module", params=list(RUNS))
def finished(request: pytest.FixtureRequest, browser: Browser, app_server: str) -> Iterator[tuple[str, Page]]:
    """A page after a finished run (lecture or digits, normal or presenter mode), shared by the tests that look."""
    context = browser.new_context(viewport={"width": 1400, "height": HEIGHT})
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(f"page error: {error}"))
    open_page(page, f"{app_server}/{RUNS[request.param]}")
    train_until(page, "Done")
    yield request.param, page
    context.close()


# --- the code panel ----------------------------------------------------------------------------


@pytest.mark.parametrize("presenter", [False, True], ids=["normal", "presenter"])
@pytest.mark.parametrize("stage", STAGES)
def test_code_panel_never_scrolls_sideways(app_server, page, stage, presenter):
    """Every line of each stage's code wraps inside its column at 1280, 1400 and 1920 px, in both modes."""
    open_page(page, f"{app_server}/?stage={stage}" + ("&present=1" if presenter else ""))
    code = page.locator(".tl-code:visible")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": HEIGHT})
        wait_for_app(page)
        # The page may still be drawing a second script run (its elements stand as grey placeholders meanwhile).
        expect(code).to_have_count(1, timeout=RUN_TIMEOUT_MS)
        expect(code).to_contain_text("def train_step")
        page.wait_for_timeout(200)  # a frame or two for the new layout
        panels = page.evaluate(CODE_OVERFLOW_JS)
        assert len(panels) == 1, f"{width} px: expected the Training tab's one code panel, found {len(panels)}"
        [panel] = panels
        scroll, client = panel["panel"]
        assert scroll <= client, f"{width} px: the code panel scrolls sideways ({scroll} > {client} px)"
        assert not panel["lines"], f"{width} px: lines wider than the panel: {panel['lines']}"
        assert panel["right"] <= panel["viewport"], f"{width} px: the panel runs off the window at {panel['right']}"


def test_choosing_a_stage_shows_its_code_before_train(app_server, page):
    """The code panel follows the Stage select at once: the code a learner is about to run, not the last run's."""
    open_page(page, app_server)
    code = page.locator(".tl-code").first
    expect(code).to_contain_text("def train_step(w1, w2, x, y, learning_rate)")
    expect(code).not_to_contain_text("def build_model")

    choose_stage(page, "4. torch.nn")
    expect(code).to_contain_text("def build_model", timeout=5_000)
    expect(status(page)).to_have_text(re.compile(r"^Ready: "))  # nothing trained to get there
    assert page.errors == [], f"the browser reported errors: {page.errors}"


def test_presenter_mode_collapses_the_sidebar_and_enlarges_the_code(app_server, page):
    """?present=1: the sidebar folded away and the code in a larger type than the normal page's."""
    sizes, sidebars = {}, {}
    for mode, query in (("normal", ""), ("presenter", "?present=1")):
        open_page(page, f"{app_server}/{query}")
        code = page.locator(".tl-code").first
        expect(code).to_be_visible()
        sizes[mode] = code.evaluate("(el) => parseFloat(getComputedStyle(el).fontSize)")
        # Streamlit marks its sidebar with data-collapsed (aria-expanded in some versions) and slides it out.
        sidebars[mode] = page.get_by_test_id("stSidebar").evaluate(SIDEBAR_JS)
    assert sidebars["normal"]["expanded"], f"the normal page should show its sidebar: {sidebars['normal']}"
    presenter = sidebars["presenter"]
    assert not presenter["expanded"] and presenter["right"] <= 1, f"presenter mode leaves the sidebar open: {presenter}"
    assert sizes["presenter"] > sizes["normal"], f"code type in px, presenter against normal: {sizes}"
    assert page.errors == [], f"the browser reported errors: {page.errors}"


def test_presenter_mode_shows_the_page_title_below_the_header(app_server, page):
    """Presenter mode drops the band above the title, but the title itself stays in view, not under the header."""
    open_page(page, f"{app_server}/?present=1")
    expect(page.locator(".tl-code").first).to_be_visible()
    boxes = page.evaluate(TITLE_JS)
    assert boxes["title"]["top"] >= boxes["header"]["bottom"] - 1, f"the header covers the page title: {boxes}"


# --- charts after a finished run -----------------------------------------------------------------


def test_legends_lie_inside_their_figure_clear_of_title_and_plot(finished):
    """Every chart of the Training tab and of Run history, at 1280 and 1920 px: its legend within the figure,
    covering neither the title nor the plot, and the title not cut off."""
    name, page = finished
    seen = check_charts_at(page, CHART_WIDTHS, f"{name}: the Training tab")
    assert seen >= 2 * 6, f"{name}: only {seen} charts seen over {len(CHART_WIDTHS)} widths"
    page.get_by_role("tab", name="Run history").click()
    try:
        expect(page.locator(".js-plotly-plot:visible")).to_have_count(1, timeout=RUN_TIMEOUT_MS)
        check_charts_at(page, CHART_WIDTHS, f"{name}: the Run history tab")
    finally:
        page.get_by_role("tab", name="Training").click()
        page.set_viewport_size({"width": 1400, "height": HEIGHT})
        wait_for_app(page)


def test_every_chart_has_a_text_for_those_who_cannot_see_it(finished):
    """A caption right after each chart of the Training tab, or an aria-label, says what it shows."""
    name, page = finished
    charts = page.evaluate(CHART_TEXT_JS)
    assert charts, f"{name}: no chart on the Training tab"
    missing = sorted({chart["title"] for chart in charts if not chart["text"].strip()})
    assert not missing, f"{name}: charts with neither a caption after them nor an aria-label: {missing}"


def test_label_views_read_from_the_back_row(finished):
    """Digits: the hidden units a grid across the page with a small colour bar, and each test image captioned in
    ink at 16 px or more with a coloured ✓ or ✗."""
    name, page = finished
    page.set_viewport_size({"width": 1280, "height": HEIGHT})
    settle_charts(page)
    views = page.evaluate(LABEL_VIEWS_JS)
    page.set_viewport_size({"width": 1400, "height": HEIGHT})
    if not name.startswith("digits"):
        assert not views["units"], f"{name}: the lecture's random data has no labels, yet label views are drawn"
        return
    assert views["units"], f"{name}: no hidden-unit images"
    (grid_w, grid_h), bar = views["units"]["grid"], views["units"]["bar"]
    assert grid_w >= 0.6 * views["main"], f"{name}: the unit grid is {grid_w:.0f} px of a {views['main']:.0f} px page"
    tile = grid_w / 8
    assert tile >= 60, f"{name}: each hidden unit is drawn {tile:.0f} px wide"
    assert bar and bar[0] * bar[1] < 0.15 * grid_w * grid_h, f"{name}: the colour bar {bar} rivals the grid"

    captions = views["captions"]
    assert captions, f"{name}: no captioned test images"
    for caption in captions:
        assert caption["size"] >= MIN_CAPTION_PX, f"{name}: caption {caption['text']!r} at {caption['size']} px"
        red, green, blue = (int(c) for c in re.findall(r"\d+", caption["fill"])[:3])
        assert max(red, green, blue) <= 0x40, f"{name}: caption {caption['text']!r} is {caption['fill']}, not ink"
        assert caption["marks"] in (["✓"], ["✗"]), f"{name}: caption {caption['text']!r} has no coloured mark"
        assert re.fullmatch(r"\d → \d [✓✗]", caption["text"]), f"{name}: caption {caption['text']!r}"


def test_picture_of_the_finished_run(finished, screenshot_dir):
    """The finished page as a person sees it, for the test artifacts and (lecture, digits, presenter) docs/."""
    name, page = finished
    save_picture(page, screenshot_dir, name, DOCS_PICTURES.get(name))
    no_errors(page)


def test_compare_stages_charts_and_picture(app_server, page, screenshot_dir):
    """Compare every stage: both charts' legends clear of their titles and plots; the picture for docs/."""
    open_page(page, f"{app_server}/?epochs=200")
    page.get_by_role("tab", name="Compare stages").click()
    button(page, "Compare every stage").click()
    panel = page.get_by_role("tabpanel").filter(has_text="Compare every stage")
    expect(panel.locator(".js-plotly-plot")).to_have_count(2, timeout=RUN_TIMEOUT_MS)
    expect(panel.get_by_text("Gradient check")).to_be_visible(timeout=RUN_TIMEOUT_MS)
    wait_for_app(page)
    seen = check_charts_at(page, CHART_WIDTHS, "Compare stages")
    assert seen == 2 * len(CHART_WIDTHS)
    save_picture(page, screenshot_dir, "compare", "compare.png")
    no_errors(page)
