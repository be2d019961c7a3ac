"""The class board in Chromium: a class served by `scripts/serve-class 2 --store postgresql://...`, four students
training at once, the board's count, scatter and table, a run showing without a reload, names as text, a restart
of the whole class server, and the lecturer's new round."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from harness.browser import VALUES_JS
from harness.server import ROOT, free_port
from harness.sessions import STAGES, run_sessions, session_settings

from .helpers import history_rows, status, wait_for_app

KEY = "a-lecturer-key-for-the-test"
EPOCHS = 100
RUN_TIMEOUT_MS = 120_000
COUNT = re.compile(r"^[\d,]+ runs?\b")
# Every point of the board's scatter, per stage, read from the chart the page drew.
POINTS_JS = f"""() => {{
  for (const el of document.querySelectorAll('.js-plotly-plot')) {{
    const title = el.layout && el.layout.title;
    if ((title && (title.text || title)) !== 'Class board') continue;
    return Object.fromEntries(el.data.map((trace) => [trace.name, ({VALUES_JS})(trace.x).length]));
  }}
  return null;
}}"""

# What a screen reader hears of the board's chart beside its name: the text its aria-describedby points to.
DESCRIBED_JS = """() => {
  const chart = document.querySelector('[data-testid="stPlotlyChart"][aria-describedby]');
  const words = chart && document.getElementById(chart.getAttribute('aria-describedby'));
  return words && words.textContent;
}"""


class ServeClass:
    """`bash scripts/serve-class 2` on a loopback port with the run store at `store`, as a lecturer runs it."""

    def __init__(self, store: str) -> None:
        self.store, self.port = store, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.script: subprocess.Popen | None = None

    def start(self) -> None:
        command = ["bash", "scripts/serve-class", "2", "--port", str(self.port), "--address", "127.0.0.1"]
        self.script = subprocess.Popen(
            [*command, "--store", self.store],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
            env=dict(os.environ, TWOLAYER_LECTURER_KEY=KEY),
        )
        lines = []
        for line in self.script.stdout:
            lines.append(line)
            if "Serving twolayer on" in line:
                return
        pytest.fail("serve-class did not start:\n" + "".join(lines), pytrace=False)

    def stop(self) -> None:
        """Ctrl+C, as the lecturer stops it."""
        if self.script is not None and self.script.poll() is None:
            os.killpg(self.script.pid, signal.SIGINT)
            try:
                self.script.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.script.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def served(postgres) -> Iterator[ServeClass]:
    server = ServeClass(postgres.create_database("board_in_chromium"))
    server.start()
    yield server
    server.stop()


def open_board(browser: Browser, url: str) -> Page:
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.goto(f"{url}/?board=1")
    wait_for_app(page)
    return page


def count(page: Page):
    """The board's count, "37 runs"."""
    return page.get_by_test_id("stMarkdown").filter(has_text=COUNT)


def points(page: Page) -> dict[str, int]:
    """Points per stage in the board's scatter, once the chart is drawn."""
    return page.wait_for_function(f"({POINTS_JS})()", timeout=30_000).json_value()


def table_rows(page: Page, runs: int) -> list[str]:
    """The board table's rows as text once it lists `runs` (its accessible copy: the table is drawn on a canvas)."""
    rows = page.get_by_test_id("stDataFrame").locator('[role="row"]')
    expect(rows).to_have_count(runs + 1)
    return [row.text_content() or "" for row in rows.all()[1:]]


def train_to_done(page: Page, url: str, query: str) -> None:
    page.goto(f"{url}/?{query}")
    wait_for_app(page)
    page.get_by_role("button", name="Train", exact=True).click()
    expect(status(page)).to_have_text(re.compile(r"^Done"), timeout=RUN_TIMEOUT_MS)


def test_four_students_runs_are_counted_drawn_and_listed(served, browser):
    results = run_sessions(browser, served.url, session_settings(4, epochs=EPOCHS), timeout_s=240)
    assert [r.errors for r in results] == [[]] * 4 and all(r.finished for r in results), [r.status for r in results]
    assert {r.served_by for r in results} == {"app1", "app2"}, "both processes served students"
    board = open_board(browser, served.url)
    try:
        expect(count(board)).to_have_text("4 runs")
        assert points(board) == {"numpy": 1, "tensor": 1, "autograd": 1, "nn": 1}
        rows = table_rows(board, 4)
        stages = sorted(next(stage for stage in STAGES if row.startswith(stage)) for row in rows)
        assert stages == ["autograd", "nn", "numpy", "tensor"], rows
        assert all("32" in row and "random" in row and "done" in row for row in rows), rows
        words = board.wait_for_function(DESCRIBED_JS, timeout=10_000).json_value()  # linked once drawn
        assert words.startswith("Class board chart: ") and "4 runs; " in words, words
        assert all(f"{stage} 1" in words for stage in ("numpy", "tensor", "autograd", "nn")), words
    finally:
        board.context.close()


def test_a_finished_run_shows_on_an_open_board_within_5_s(served, browser):
    board = open_board(browser, served.url)
    student = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    try:
        before = int(count(board).inner_text().split()[0])
        train_to_done(student, served.url, f"stage=optim&hidden=64&epochs={EPOCHS}")
        expect(count(board)).to_have_text(f"{before + 1} runs", timeout=5_000)
        assert points(board)["optim"] == 1
    finally:
        board.context.close()
        student.context.close()


def test_a_name_is_at_most_20_characters_and_shows_as_text(served, browser):
    student = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    board = open_board(browser, served.url)
    try:
        train_to_done(student, served.url, f"stage=nn&hidden=100&epochs={EPOCHS}")
        student.get_by_role("tab", name="Run history").click()
        field = student.get_by_label("Name on the board (at most 20 characters)")
        field.fill("")
        field.press_sequentially("y" * 40)
        expect(field).to_have_value("y" * 20)
        field.fill("<b>Ada</b><i>!</i>")
        student.get_by_role("button", name="Put the name on the board").click()
        expect(student.get_by_text("Named '<b>Ada</b><i>!</i>'.")).to_be_visible()
        named = board.get_by_test_id("stDataFrame").locator('[role="row"]').filter(has_text="<b>Ada</b><i>!</i>")
        expect(named, "the name shows on the open board as typed").to_have_count(1, timeout=10_000)
        assert board.locator("b", has_text="Ada").count() == 0 and board.locator("i", has_text="!").count() == 0
    finally:
        board.context.close()
        student.context.close()


def test_a_restarted_class_server_keeps_the_board_and_each_history(served, browser):
    student = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = student.new_page()
    try:
        train_to_done(page, served.url, f"stage=autograd&hidden=50&epochs={EPOCHS}")
        board = open_board(browser, served.url)
        held = count(board).inner_text()
        board.context.close()

        served.stop()
        served.start()

        board = open_board(browser, served.url)
        expect(count(board)).to_have_text(held)
        board.context.close()
        page.goto(f"{served.url}/?stage=autograd&hidden=50&epochs={EPOCHS}")
        wait_for_app(page)
        assert "autograd, H=50" in history_rows(page, 1)[0]
    finally:
        student.close()


def test_only_the_lecturer_key_starts_a_new_round(served, browser):
    board = open_board(browser, served.url)
    try:
        held = count(board).inner_text()
        assert held != "0 runs"
        board.get_by_text("Lecturer: start a new round").click()
        key = board.get_by_label("Lecturer key")
        key.fill("not the key")
        board.get_by_role("button", name="Start a new round").click()
        expect(board.get_by_text("That is not the lecturer key.")).to_be_visible()
        expect(count(board)).to_have_text(held)
        key.fill(KEY)
        board.get_by_role("button", name="Start a new round").click()
        expect(board.get_by_text(re.compile(r"^Round 2 started"))).to_be_visible()
        expect(count(board)).to_have_text("0 runs")
        time.sleep(2 * 2.0)  # two more looks of the live board: it stays empty
        expect(count(board)).to_have_text("0 runs")
    finally:
        board.context.close()
