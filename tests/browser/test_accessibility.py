"""Accessibility as an engine checks it: axe-core on every tab after a labelled run, and the keyboard alone."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Locator, Page, expect

from twolayer.teach.describe import number, percent

from .helpers import RUN_TIMEOUT_MS, button, headless_run, script_run_started, status, train_until, wait_for_app

TABS = ["Training", "Inside a step", "Landscape", "Draw", "Sweep", "Compare stages", "Run history"]
WCAG_A_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
LABELLED_RUN = "?data=digits&stage=optim&epochs=30&hidden=32&lr=0.001"
SETTINGS = {"data": "digits", "stage": "optim", "epochs": 30, "hidden_size": 32, "learning_rate": 0.001}  # the same
MAX_TABS = 250  # key presses to walk the whole page once


@pytest.fixture(scope="module", params=["normal", "presenter"])
def labelled(request: pytest.FixtureRequest, browser: Browser, app_server: str) -> Iterator[Page]:
    """A page after a finished run on labelled data, in the normal or the presenter layout."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    query = LABELLED_RUN + ("&present=1" if request.param == "presenter" else "")
    page.goto(f"{app_server}/{query}")
    wait_for_app(page)
    button(page, "Train").click()
    expect(status(page)).to_contain_text("Done", timeout=120_000)
    wait_for_app(page)
    yield page
    context.close()


def violations(page: Page) -> list[str]:
    """Every WCAG 2 A or AA rule axe-core finds broken, with the first element that breaks it."""
    options = {"runOnly": {"type": "tag", "values": WCAG_A_AA}, "resultTypes": ["violations"]}
    found = Axe().run(page, options=options).response["violations"]
    return [
        f"{v['id']} ({v['impact']}, {len(v['nodes'])} elements), e.g. {v['nodes'][0]['target']}: "
        f"{v['nodes'][0]['failureSummary'].splitlines()[-1].strip()}"
        for v in found
    ]


def test_axe_finds_no_wcag_a_or_aa_violation_on_any_tab(labelled: Page):
    problems = []
    for tab in TABS:
        labelled.get_by_role("tab", name=tab).click()
        wait_for_app(labelled)
        labelled.wait_for_timeout(500)  # charts drawn after the script run ends
        problems += [f"{tab}: {problem}" for problem in violations(labelled)]
    labelled.get_by_role("tab", name="Training").click()
    labelled.get_by_text("Show what changed since stage 4").click()  # the difference view's tints and marks
    wait_for_app(labelled)
    problems += [f"Training, stage difference: {problem}" for problem in violations(labelled)]
    labelled.get_by_text("Show what changed since stage 4").click()
    wait_for_app(labelled)
    assert not problems, "\n".join(problems)


def tab_order(page: Page, targets: dict[str, Locator]) -> list[str]:
    """The targets the Tab key reaches, in order, walking the page once from its top."""
    for name, locator in targets.items():
        locator.evaluate("(el, name) => el.setAttribute('data-kb', name)", name)
    page.evaluate("() => document.activeElement && document.activeElement.blur()")  # Tab starts at the top
    reached: list[str] = []
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        name = page.evaluate(
            """() => { let el = document.activeElement;
                while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
                const marked = el && el.closest('[data-kb]');
                return marked ? marked.getAttribute('data-kb') : null; }"""
        )
        if name and name not in reached:
            reached.append(name)
        if len(reached) == len(targets):
            break
    return reached


def test_every_control_is_reached_and_used_by_keyboard(labelled: Page):
    page = labelled
    page.get_by_role("tab", name="Training").click()
    wait_for_app(page)
    controls = {name: button(page, name) for name in ("Train", "Step", "Reset")}
    sidebar = page.get_by_test_id("stSidebar")
    if sidebar.is_visible():  # collapsed in presenter mode, where its controls are one key press away
        controls |= {
            "Stage": sidebar.get_by_role("combobox").first,
            "Hidden size": sidebar.get_by_role("slider").first,
            "Epochs": sidebar.get_by_role("spinbutton").first,
        }
    controls["tab Training"] = page.get_by_role("tab", name="Training")  # the open tab: the others by arrow keys
    reached = tab_order(page, controls)
    assert set(reached) == set(controls), f"not reached by Tab: {sorted(set(controls) - set(reached))}"
    for tab in TABS[1:]:  # tabs as ARIA tabs are: one stop in the Tab order, then the arrow keys
        page.keyboard.press("ArrowRight")
        expect(page.get_by_role("tab", name=tab)).to_be_focused()

    # The drawing pad's buttons: reached by Tab and pressed with the keyboard alone.
    page.get_by_role("tab", name="Draw").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("tab", name="Draw")).to_have_attribute("aria-selected", "true")
    wait_for_app(page)
    pad = {"Try a test image": button(page, "Try a test image")}
    pad["Clear"] = page.locator(".drawpad-clear")
    assert set(tab_order(page, pad)) == set(pad)
    pad["Try a test image"].focus()
    page.keyboard.press("Enter")
    wait_for_app(page)
    hint = page.get_by_text("draw a digit on the pad, and the network's ten scores for it appear here")
    expect(hint).to_have_count(0)  # a test image on the pad: its scores are drawn instead of the hint
    pad["Clear"].focus()
    page.keyboard.press("Space")
    wait_for_app(page)
    expect(hint).to_be_visible()


# Each visible chart: its accessible name, and the text of what its aria-describedby points to (null: nothing).
DESCRIBED_JS = """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"], .tl-live-chart')]
  .filter((el) => el.offsetParent !== null)
  .map((el) => {
    const id = el.getAttribute('aria-describedby'), target = id && document.getElementById(id);
    return {name: el.getAttribute('aria-label') || '', words: target ? target.textContent : null};
  })"""
# The live loss chart's polite region: each text it is given from now on (the same text again too: a short run's end,
# announced alone, reads as the same run's end did before a reset), with when (ms).
PROGRESS_JS = """() => {
  const region = document.querySelector('.tl-live-progress');
  const said = (window.progressSaid = []);
  new MutationObserver(() => said.push({text: region.textContent, at: performance.now()}))
    .observe(region, {subtree: true, childList: true, characterData: true});
}"""
ANNOUNCE_S = 5  # live_chart.js: the most often a screen reader hears the run's progress


def described(page: Page, tab: str, least: int) -> dict[str, str]:
    """The visible charts of `tab`, at least `least` of them, each by its name with the description a screen reader
    reaches from it (its aria-describedby), once every chart has one."""
    page.get_by_role("tab", name=tab).click()
    wait_for_app(page)
    # The page links a chart to its caption a moment after either is drawn; the charts are read as the wait found them
    # whole (a second read could meet a chart being drawn anew, its words not yet linked).
    found = page.wait_for_function(
        f"() => {{ const charts = ({DESCRIBED_JS})(); "
        f"return charts.length >= {least} && charts.every((c) => c.name && c.words) && charts; }}",
        timeout=RUN_TIMEOUT_MS,
    )
    return {chart["name"]: chart["words"] for chart in found.json_value()}


def test_every_chart_is_told_in_words_with_the_runs_numbers(labelled: Page, request: pytest.FixtureRequest):
    """On every tab, each chart points a screen reader to a description of what it shows now, with the run's
    numbers: the loss as the core's own history has it; mid-run and at the end, the words differ; the loss chart's
    progress is announced at most every few seconds; and axe-core still finds nothing wrong."""
    page = labelled
    trainer = headless_run(**SETTINGS)
    epochs, losses = trainer.loss_curve()
    per_example = losses / len(trainer.data.x_train)
    done = {"Training": described(page, "Training", 9)}  # loss, 4 histograms, 2 norms, accuracy, confusion, ...
    loss = done["Training"]["Loss chart"]
    assert f"fell from {number(per_example[0])} at epoch 0 to {number(per_example[-1])} at epoch 29" in loss, loss
    accuracy = f"Test accuracy {percent(trainer.evaluations()['test_accuracy'][-1])} at epoch 29"
    assert accuracy in done["Training"]["Accuracy chart"]
    done["Inside a step"] = described(page, "Inside a step", 2)
    done["Landscape"] = described(page, "Landscape", 3)
    page.get_by_role("tab", name="Draw").click()
    button(page, "Try a test image").click()
    done["Draw"] = described(page, "Draw", 2)
    # The presenter layout draws the same charts: the tabs that train runs of their own are walked once.
    if request.node.callspec.params["labelled"] == "normal":
        page.get_by_role("tab", name="Sweep").click()
        button(page, "Train sweep").click()
        expect(page.get_by_text(re.compile(r"^Done · sweep"))).to_be_visible(timeout=RUN_TIMEOUT_MS)
        done["Sweep"] = described(page, "Sweep", 1)
        assert "lr=0.001" in done["Sweep"]["Sweep chart"]
        page.get_by_role("tab", name="Compare stages").click()
        button(page, "Compare every stage").click()
        done["Compare stages"] = described(page, "Compare stages", 2)
        assert "numpy" in done["Compare stages"]["Loss by stage"]
        problems = [f"{tab}: {problem}" for tab in ("Sweep", "Compare stages") for problem in violations(page)]
        assert not problems, "\n".join(problems)
    for tab, charts in done.items():
        for name, words in charts.items():
            assert re.search(r"\d", words.split(":", 1)[1]), f"{tab}, {name}: no number in {words!r}"

    # The same run paused after its first epoch: other words; then trained to its end, its progress told politely.
    page.get_by_role("tab", name="Training").click()
    button(page, "Reset").click()
    wait_for_app(page)
    with script_run_started(page):
        button(page, "Step").click()
    expect(status(page)).to_contain_text("epoch 1 of 30", timeout=RUN_TIMEOUT_MS)
    paused = {tab: described(page, tab, least) for tab, least in (("Training", 9), ("Inside a step", 2))}
    assert f"It is {number(per_example[0])} at epoch 0" in paused["Training"]["Loss chart"]
    for tab, charts in paused.items():
        same = [name for name, words in charts.items() if done[tab].get(name) == words]
        assert not same, f"{tab}: told the same mid-run and at the end: {same}"
    page.get_by_role("tab", name="Training").click()
    page.evaluate(PROGRESS_JS)
    train_until(page)
    final = f"Done, epoch 30 of 30: loss {number(per_example[-1])}"
    page.wait_for_function(f"() => window.progressSaid.some((s) => s.text === {final!r})", timeout=10_000)
    said = page.evaluate("() => window.progressSaid")
    gaps = [(b["at"] - a["at"]) / 1000 for a, b in zip(said, said[1:], strict=False)]
    assert all(gap > ANNOUNCE_S - 0.2 for gap in gaps), f"announced too often: {said}"
