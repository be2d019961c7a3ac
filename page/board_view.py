"""The class board (`?board=1`) and, on the training page, a learner's own runs on it.

The board shows every finished run of the class, from every process and machine, without whose it is: a count,
a scatter of a chosen setting against a chosen result, the table and its CSV. Its live part is a fragment that
runs again every EVERY_S, so a run finished anywhere shows within a few seconds without a reload.
"""

from __future__ import annotations

import os

import streamlit as st

from page import browser, state
from page.plot import Words, plot
from twolayer.charts.board import board_figure
from twolayer.serve.board import DATA, MAX_NAME, RESULTS, SETTINGS, Board, BoardError, Entry, csv_text
from twolayer.serve.session import TrainingSession
from twolayer.serve.store import RunStore
from twolayer.teach.describe import board_words
from twolayer.train.config import STAGES
from twolayer.train.state import RunState

EVERY_S = 2.0  # how often an open board looks for new runs: a run shows within this plus a draw
LINK = "./?board=1"
TABLE = {  # column: (title, format)
    "stage": ("stage", None), "hidden": ("hidden size", "%d"), "lr": ("learning rate", "%.0e"),
    "batch": ("batch", "%d"), "epochs": ("epochs", "%d"), "data": ("data", None),
    "final_loss": ("final loss", "%.3e"), "accuracy": ("test accuracy", "percent"), "status": ("status", None),
    "name": ("name", None),
}  # fmt: skip


def requested() -> bool:
    """Whether the link asks for the board instead of the training page."""
    return st.query_params.get("board") == "1"


@st.cache_resource
def lecturer_key() -> str | None:
    """The lecturer key this server process was started with (TWOLAYER_LECTURER_KEY); None without one."""
    return os.environ.get("TWOLAYER_LECTURER_KEY") or None


def board_page(store: RunStore | None) -> None:
    """The whole board page: its choices, the live part and the lecturer's new round."""
    st.set_page_config(page_title="twolayer · class board", page_icon="🧠", layout="wide")
    st.markdown("## Class board")
    st.markdown("Every finished run of this class, anonymous. [Back to training](./)")
    if store is None:
        st.error("The class board needs the run store, which this server could not open (its log says why).")
        return
    across, up, stages, data = st.columns(4)
    x = across.selectbox("Across: a setting", list(SETTINGS), key=state.BOARD_X.name)
    y = up.selectbox("Up: a result", list(RESULTS), key=state.BOARD_Y.name, help="Test accuracy: runs on labelled data")
    chosen_stages = stages.multiselect("Stages", list(STAGES), key=state.BOARD_STAGES.name, placeholder="every stage")
    chosen_data = data.multiselect("Data", DATA, key=state.BOARD_DATA.name, placeholder="all data")
    live(store.board, x, y, tuple(chosen_stages), tuple(chosen_data))
    new_round_ui(store.board)
    browser.browser_hook(None)  # links the chart to its words


@st.fragment(run_every=EVERY_S)
def live(board: Board, x: str, y: str, stages: tuple[str, ...], data: tuple[str, ...]) -> None:
    """The board's live part, read afresh from the store at each run of the fragment."""
    board_body(board.entries(), x, y, stages, data)


def board_body(entries: list[Entry], x: str, y: str, stages: tuple[str, ...] = (), data: tuple[str, ...] = ()) -> None:
    """The count, the scatter, the table and its CSV for these entries, filtered by stage and data when chosen."""
    shown = [e for e in entries if (not stages or e.stage in stages) and (not data or e.data in data)]
    count = f"**{_runs(len(entries))}**"
    if len(shown) != len(entries):
        count += f" · {len(shown):,} shown"
    st.markdown(count)
    if not entries:
        st.info("Runs appear here as they finish, from every student of the class.")
        return
    (x_field, log_x), (y_field, log_y) = SETTINGS[x], RESULTS[y]
    points = [
        (e.stage, getattr(e, x_field), getattr(e, y_field), e.status is RunState.DIVERGED)
        for e in shown
        if getattr(e, y_field) is not None and (not log_y or getattr(e, y_field) > 0)
    ]
    if len(points) < len(shown):
        missing = len(shown) - len(points)
        why = "without labelled data" if y_field == "accuracy" else "that diverged at once"
        st.caption(f"{_runs(missing)} {why} not drawn.")
    figure = board_figure(points, x_title=x, y_title=y, log_x=log_x, log_y=log_y)
    what = f"{y} against {x}, a point per run coloured by its stage, a cross where it diverged. "
    said = what + board_words(points, x, y, higher_is_better=y_field == "accuracy")
    # No table of its own: the board's table below lists every run drawn, with its settings and results.
    plot(st, figure, "board_chart", Words("Class board chart", said + " The table below lists every run."))
    rows = [{column: getattr(e, column) for column in TABLE} for e in shown]
    config = {
        column: st.column_config.NumberColumn(title, format=form) if form else st.column_config.TextColumn(title)
        for column, (title, form) in TABLE.items()
    }
    st.dataframe(rows, hide_index=True, column_config=config, key="board_table")
    st.download_button("Download the table (CSV)", csv_text(shown), "class-board.csv", "text/csv", key="board_csv")


def new_round_ui(board: Board) -> None:
    """The lecturer's new round: only with the key this server was started with."""
    with st.expander("Lecturer: start a new round", expanded=state.ROUND_NOTE.get() is not None):
        st.caption(f"The board shows round {board.round()}: every run finished since it began.")
        key = lecturer_key()
        if key is None:
            st.caption(
                "Starting a new round needs a lecturer key, set when the server starts "
                "(`TWOLAYER_LECTURER_KEY`). Without one no one can empty the board."
            )
            return
        with st.form("new_round", border=False):
            st.text_input("Lecturer key", type="password", key=state.LECTURER_KEY_GIVEN.name)
            # In a callback, which runs before the page is drawn: the board below already shows the new round.
            st.form_submit_button("Start a new round", on_click=_start_round, args=(board, key))
        if note := state.ROUND_NOTE.pop():
            (st.success if note.startswith("Round") else st.error)(note)


def _start_round(board: Board, key: str) -> None:
    given = state.LECTURER_KEY_GIVEN.pop()  # the key does not stay in the field
    try:
        number = board.new_round(given, key)
    except BoardError as refusal:
        state.ROUND_NOTE.set(f"{str(refusal).capitalize()}.")
    else:
        state.ROUND_NOTE.set(f"Round {number} started: the board is empty, and every run stays in its history.")


def own_runs(sess: TrainingSession) -> None:
    """On the training page: where the class board is, why a run is not on it, and naming one's own runs there."""
    st.markdown(
        f"Finished runs also go to the [class board]({LINK}), where the class sees every run side by side, "
        "without your name unless you add one."
    )
    if sess.board_note:
        st.info(sess.board_note)
    if sess.store is None:
        return
    try:
        mine = sess.store.board.own(sess.browser)
    except Exception:  # a store that is away costs the naming, never the page
        return
    if not mine:
        return
    with st.form("board_name", clear_on_submit=True):
        left, right = st.columns(2)
        entry = left.selectbox("Your run on the board", mine, format_func=_describe)
        name = right.text_input(
            f"Name on the board (at most {MAX_NAME} characters)", max_chars=MAX_NAME, key=state.BOARD_NAME.name
        )
        if st.form_submit_button("Put the name on the board"):
            try:
                kept = sess.store.board.name(sess.browser, entry.id, name)
            except BoardError as refusal:
                st.error(f"{str(refusal).capitalize()}.")
            except Exception:
                st.error("The class board cannot be reached just now: try again in a moment.")
            else:
                st.success(f"Named {kept!r}." if kept else "Name removed.")


def _describe(entry: Entry) -> str:
    loss = "no finite loss" if entry.final_loss is None else f"loss {entry.final_loss:.3g}"
    named = f" · named {entry.name!r}" if entry.name else ""
    return f"{entry.stage}, hidden {entry.hidden}, lr {entry.lr:g}, {entry.data} · {loss}{named}"


def _runs(count: int) -> str:
    return f"{count:,} run" if count == 1 else f"{count:,} runs"
