"""twolayer in the browser: pick a lecture stage, press Train, watch the two-layer network learn.

Read top to bottom: widgets -> config -> run -> views. Every decision (what the settings allow, what an
upload is, how stages compare, what a download holds) is made in the `twolayer` core; the page's own
parts live in the `page` package.
"""

from __future__ import annotations

import logging
import os

# Imported here, once, before any session's thread: Plotly looks pandas up in sys.modules, and two
# sessions drawing their first chart at once could otherwise see it half-imported and crash.
import pandas  # noqa: F401
import streamlit as st
import torch
from threadpoolctl import threadpool_limits

from page import (
    board_view,
    browser,
    compare_view,
    draw_view,
    history_view,
    landscape_view,
    lead_view,
    persist,
    state,
    step_view,
    sweep_view,
    training_view,
    widgets,
)
from page.launch import THREADS, preload_in_background
from page.pacing import Pacer
from page.panels import PANELS
from twolayer.serve.session import SlotPool, TrainingSession, run_slice

log = logging.getLogger("twolayer")


@st.cache_resource
def server_resources() -> SlotPool:
    """Process-wide set-up, done once: thread count and the pool of training slots."""
    slots = int(os.environ.get("TWOLAYER_SLOTS", os.cpu_count() or 1))
    # One BLAS thread per training slot: spinning BLAS threads of several runs on few cores slow all of them.
    threadpool_limits(THREADS)
    return SlotPool(slots)


def pin_torch_threads() -> None:
    """Give this script run's thread the server's one torch thread count."""
    # The count is the same constant for every session, so no session changes another's results;
    # it is set in each script thread because OpenMP keeps it per thread, and a thread left at the
    # default would sum in a different order and drift from the same run trained elsewhere.
    if torch.get_num_threads() != THREADS:
        torch.set_num_threads(THREADS)


def main() -> None:
    if board_view.requested():  # the class board, a page of its own
        board_view.board_page(persist.run_store())
        return
    if lead_view.both_requested():
        st.error(lead_view.BOTH)
        return
    if lead_view.following():  # the lecturer's run, a page of its own until its student takes it over
        lead_view.follow_page(persist.run_store())
        return
    widgets.load_link()  # first: presenter mode decides the page's layout
    sidebar = "collapsed" if state.PRESENTER.get() else "auto"
    st.set_page_config(page_title="twolayer", page_icon="🧠", layout="wide", initial_sidebar_state=sidebar)
    pool = server_resources()
    pin_torch_threads()
    sess = persist.training_session()  # with this browser's past runs, kept across reloads
    persist.recover_interrupted(sess)
    st.html(training_view.PAGE_CSS)
    if state.PRESENTER.get():
        st.html(training_view.PRESENTER_CSS)
    # The tagline gives way on a phone, where the first screen belongs to the buttons, the status and the loss chart.
    # st.html, not markdown with HTML allowed: that fetches and compiles a 184 KB HTML parser before the page is ready.
    st.container(key="page-title").html(
        "<h2>twolayer <span class='tl-tagline'>· watch a two-layer network learn</span></h2>"
    )
    widgets.link_warnings_box()
    count_place = lead_view.lead_box(persist.run_store()) if lead_view.lead_requested() else None
    lead_view.follow_again()
    persist.interrupted_note(sess)

    # Widgets -> config: the core checks the settings and reads any upload.
    values = widgets.settings_ui()
    widgets.save_link(values)  # a leading page's link says so: a reload leads again
    config, data, problem = widgets.current_run()
    lead_view.retune_taken_over(sess, config)
    if problem:
        # Nothing uploaded yet is a hint; a refused file or setting is an error.
        waiting = values["data"] == "upload" and not state.UPLOAD.get()
        (st.info if waiting else st.error)(problem)
    if widgets.late_settings(sess, config):
        sess.retrain(config, data)
    blocked = config is not None and sess.needs_confirmation(config)
    if blocked:
        sess.pause()
        widgets.confirmation_ui(sess)
    widgets.buttons_ui(sess, ready=config is not None and not blocked)
    if error := state.ACTION_ERROR.pop():
        st.error(error)
    training_view.advice_box(config, data)

    # Views: each tab draws from the run; the live one keeps placeholders for the training loop.
    opening = "Sweep" if state.SWEEP_LINK.get() else None  # a link that hands out a sweep opens it
    # A leading page knows its tab, for its followers to show the same.
    tracked = {"key": state.TAB.name, "on_change": "rerun"} if state.LECTURE.get() is not None else {}
    tabs = st.tabs(lead_view.TABS, default=opening, **tracked)
    train_tab, inside_tab, landscape_tab, draw_tab, sweep_tab, compare_tab, runs_tab = tabs
    with train_tab:
        placeholders = training_view.training_tab(sess, config, data, values["stage"])
    with inside_tab:
        step_view.step_tab(sess)
    with landscape_tab:
        landscape_view.landscape_tab(sess, config, data, pool)
    with draw_tab:
        refresh_drawing = draw_view.draw_tab(sess)
    with sweep_tab:
        sweep_places = sweep_view.sweep_tab(config, data, state.LR_TOUCHED.get())
    with compare_tab:
        compare_view.compare_tab(config, data, pool)
    with runs_tab:
        history_view.history_tab(sess)
        board_view.own_runs(sess)
    # A run that is about to train draws its slow panels from the loop, one a frame: the first loss chart
    # must not wait behind seven other charts.
    training_view.draw_frame(sess, placeholders, frame=0, panels=() if sess.playing else PANELS, blocked_by=problem)
    lead_view.publish(sess, config, problem, count_place)
    browser.browser_hook(persist.cookie_to_set(), lead_view.lead_cookie())

    # Run: train in short slices between draws until done or paused.
    try:
        trained = training_loop(sess, pool, placeholders, problem, refresh_drawing, count_place)
        trained = sweep_view.sweep_loop(pool, sweep_places) or trained
    except Exception:
        # A bug must not leave the page spinning on "Running": stop, keep what was computed, say so.
        log.exception("training failed; config: %s", sess.trainer.config if sess.trainer else None)
        sess.pause()
        st.error(
            "Something went wrong on the server while training; the error was logged. "
            "Everything computed so far is kept. Press Reset to start afresh."
        )
        return
    if trained:
        st.rerun()  # draw the finished run once more with every view and the buttons' new state


def training_loop(
    sess: TrainingSession,
    pool: SlotPool,
    placeholders: dict,
    blocked_by: str | None,
    refresh_drawing=None,
    count_place=None,
) -> bool:
    """Advance the run slice by slice, redrawing as the pacer says (the drawing's scores too, and the lead's frame
    for its followers); True if any ran."""
    # Slices are short so a Pause click (which interrupts the script at its next st.* call) lands quickly.
    pacer = Pacer(PANELS, starting=True)
    trained = False
    while sess.playing and sess.trainer is not None and not sess.trainer.finished:
        trained = True
        if not run_slice(sess, pool, pacer.slice_seconds()):
            placeholders["status"].info(
                f"Waiting for a free training slot: {pool.size} runs are training on this "
                "server right now. Yours continues as soon as one finishes."
            )
            continue
        persist.report_live(sess)
        panels = pacer.due(finished=sess.trainer is None or sess.trainer.finished)
        if panels is not None:
            training_view.draw_frame(sess, placeholders, pacer.frame, panels, blocked_by)
            lead_view.publish(sess, sess.trainer.config, blocked_by, count_place, pacer.frame)
            if refresh_drawing is not None:
                refresh_drawing()
    return trained


main()
# Once a process, after its first page is drawn (a no-op after the launcher): served by `streamlit run app.py`, the
# app imports and warms up what the launcher would and freezes the collector, so that later pages open as fast.
preload_in_background()
