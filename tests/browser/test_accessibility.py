"""Accessibility as an engine checks it: axe-core on every tab after a labelled run, and the keyboard alone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Locator, Page, expect

from .helpers import button, status, wait_for_app

TABS = ["Training", "Inside a step", "Landscape", "Draw", "Sweep", "Compare stages", "Run history"]
WCAG_A_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
LABELLED_RUN = "?data=digits&stage=optim&epochs=30&hidden=32&lr=0.001"
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
