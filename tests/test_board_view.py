"""The class board's page, driven headless with AppTest: count, scatter, table, filters, CSV, rounds and names."""

from __future__ import annotations

import dataclasses
import json

import pytest
from streamlit.testing.v1 import AppTest

from page import board_view, persist
from tests.test_app import decoded, session
from twolayer.serve.board import MAX_NAME, Entry
from twolayer.serve.store import RunStore
from twolayer.train.state import RunState

RUN = Entry("nn", 32, 1e-3, 64, 100, 100, "random", 0.0123, None, RunState.DONE)
RUNS = [
    RUN,
    dataclasses.replace(RUN, lr=1e-2, final_loss=0.5),
    dataclasses.replace(RUN, stage="optim", lr=1e-4, data="digits", final_loss=3.0, accuracy=0.93),
]
KEY = "lecturer-key-for-the-test"


def board_script(location: str) -> None:
    """The board page on the store at `location`, as app.py draws it for ?board=1."""
    from page import board_view
    from twolayer.serve.store import RunStore

    board_view.board_page(RunStore(location))


@pytest.fixture
def store(tmp_path):
    store = RunStore(tmp_path / "store")
    for browser, entry in enumerate(RUNS):
        store.board.post(f"browser-{browser}", entry)
    return store


def open_board(store: RunStore) -> AppTest:
    return AppTest.from_function(board_script, args=(str(store.db.path.parent),), default_timeout=60).run()


def figure(at: AppTest) -> dict:
    """The board's scatter as the page sends it, each trace's x and y as lists."""
    (chart,) = at.get("plotly_chart")
    spec = json.loads(chart.proto.spec)
    for trace in spec["data"]:
        trace["x"], trace["y"] = decoded(trace["x"]), decoded(trace["y"])
    return spec


def table(at: AppTest) -> list[dict]:
    """The table's rows, an empty cell as None."""
    (frame,) = at.dataframe
    return frame.value.astype(object).where(frame.value.notna(), None).to_dict("records")


def test_the_board_counts_draws_and_lists_every_run(store):
    at = open_board(store)
    assert not at.exception
    assert "**3 runs**" in [m.value for m in at.markdown]
    traces = {trace["name"]: trace for trace in figure(at)["data"]}
    assert sorted(traces) == ["nn", "optim"]
    assert sorted(traces["nn"]["x"]) == [1e-3, 1e-2] and sorted(traces["nn"]["y"]) == [0.0123, 0.5]
    layout = figure(at)["layout"]
    assert layout["xaxis"]["type"] == "log" and layout["yaxis"]["type"] == "log"
    assert traces["nn"]["marker"]["color"] != traces["optim"]["marker"]["color"]
    rows = table(at)
    assert [(r["stage"], r["lr"], r["data"], r["accuracy"]) for r in rows] == [
        ("optim", 1e-4, "digits", 0.93), ("nn", 1e-2, "random", None), ("nn", 1e-3, "random", None)
    ]  # fmt: skip
    assert not {"browser", "token", "id"} & set(rows[0]), "nothing that tells whose a run is"
    (download,) = at.get("download_button")
    assert download.proto.label == "Download the table (CSV)"


def test_a_diverged_run_is_drawn_as_a_cross_and_listed_as_diverged(store):
    diverged = dataclasses.replace(RUN, stage="numpy", epochs_done=40, final_loss=7.0, status=RunState.DIVERGED)
    store.board.post("browser-diverged", diverged)
    at = open_board(store)
    traces = {trace["name"]: trace for trace in figure(at)["data"]}
    assert traces["numpy"]["marker"]["symbol"] == ["x"] and traces["nn"]["marker"]["symbol"] == ["circle", "circle"]
    assert [(r["stage"], r["status"]) for r in table(at)][0] == ("numpy", "diverged")


def test_filters_and_the_chosen_axes(store):
    at = open_board(store)
    at.multiselect(key="board_stages").select("nn").run()
    assert "**3 runs** · 2 shown" in [m.value for m in at.markdown]
    assert [r["stage"] for r in table(at)] == ["nn", "nn"]
    at.multiselect(key="board_stages").unselect("nn").run()
    at.multiselect(key="board_data").select("digits").run()
    assert [r["data"] for r in table(at)] == ["digits"]
    at.multiselect(key="board_data").unselect("digits").run()
    at.selectbox(key="board_x").select("hidden size").run()
    at.selectbox(key="board_y").select("test accuracy").run()
    (trace,) = figure(at)["data"]
    assert trace["name"] == "optim" and trace["x"] == [32] and trace["y"] == [0.93]
    assert figure(at)["layout"]["xaxis"]["type"] == "linear" and figure(at)["layout"]["yaxis"]["type"] == "linear"
    assert "2 runs without labelled data not drawn." in [c.value for c in at.caption]


def test_a_new_run_shows_at_the_boards_next_look(store):
    at = open_board(store)
    store.board.post("browser-new", dataclasses.replace(RUN, hidden=512))
    at.run()  # AppTest never fires the fragment's timer; a script run draws what the fragment's run would
    assert "**4 runs**" in [m.value for m in at.markdown] and table(at)[0]["hidden"] == 512


def test_without_a_lecturer_key_the_board_cannot_be_emptied(store, monkeypatch):
    monkeypatch.delenv("TWOLAYER_LECTURER_KEY", raising=False)
    board_view.lecturer_key.clear()
    at = open_board(store)
    assert any("needs a lecturer key" in c.value for c in at.caption)
    assert len(at.text_input) == 0, "no key field to try"


def test_a_wrong_key_is_refused_and_the_right_one_starts_a_round(store, monkeypatch):
    monkeypatch.setenv("TWOLAYER_LECTURER_KEY", KEY)
    board_view.lecturer_key.clear()
    try:
        at = open_board(store)
        at.text_input(key="lecturer_key_given").input("not-the-key")
        at.button[0].click().run()
        assert [e.value for e in at.error] == ["That is not the lecturer key."]
        assert "**3 runs**" in [m.value for m in at.markdown]
        at.text_input(key="lecturer_key_given").input(KEY)
        at.button[0].click().run()
        assert [s.value for s in at.success][0].startswith("Round 2 started: the board is empty")
        assert "The board shows round 2: every run finished since it began." in [c.value for c in at.caption]
        assert "**0 runs**" in [m.value for m in at.markdown], "drawn after the round began, in the same run"
        assert at.text_input(key="lecturer_key_given").value == "", "the key does not stay in the field"
    finally:
        board_view.lecturer_key.clear()


def test_the_app_serves_the_board_for_board_1(open_app):
    at = open_app({"board": "1"})
    assert not at.exception
    assert [m.value for m in at.markdown][0] == "## Class board"
    assert "session" not in at.session_state, "no training session for the board"


def test_a_learner_names_a_run_on_the_board_as_plain_text(open_app):
    at = open_app({"epochs": "5", "hidden": "8"})
    at.button(key="train").click().run()
    sess = session(at)
    (entry,) = sess.store.board.own(sess.browser)
    assert any("class board" in m.value and "?board=1" in m.value for m in at.markdown)
    field = at.text_input(key="board_name_text")
    assert field.proto.max_chars == MAX_NAME
    assert field.input("x" * (MAX_NAME + 20)).value == "", "a longer name is not taken (the core refuses it too)"
    at.text_input(key="board_name_text").input("<b>Ada</b> **bold**")
    at.button(key="FormSubmitter:board_name-Put the name on the board").click().run()
    assert [s.value for s in at.success] == ["Named '<b>Ada</b> **bold**'."]
    assert sess.store.board.own(sess.browser)[0].name == "<b>Ada</b> **bold**"
    assert sess.store.board.entries()[0].id == entry.id


def test_a_store_that_cannot_be_opened_is_tried_again_later(monkeypatch, tmp_path, caplog):
    persist._opened.clear()
    monkeypatch.setenv("TWOLAYER_STORE", "mysql://nowhere/runs")
    try:
        assert persist.run_store() is None and caplog.text.count("cannot be used") == 1
        assert persist.run_store() is None and caplog.text.count("cannot be used") == 1, "not tried again at once"
        monkeypatch.setenv("TWOLAYER_STORE", str(tmp_path))
        monkeypatch.setattr(persist, "REOPEN_S", 0.0)
        store = persist.run_store()
        assert isinstance(store, RunStore) and persist.run_store() is store, "opened once, then kept"
    finally:
        persist._opened.clear()
