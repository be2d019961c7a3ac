"""Leading a class (`?lead=1`) and following its lecturer (`?follow=1`): the key, the frames, the take-over.

A leading page publishes its run as it goes (twolayer/serve/lecture.py); a following page draws the lecturer's run
from its process's hub (twolayer/serve/hub.py), which hears each frame once for every follower of the process, and
trains nothing until its student takes the run over.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from functools import partial

import segno
import streamlit as st

from page import persist, state, training_view, widgets
from page.board_view import lecturer_key
from page.live_chart import Recording, Spot, feeds
from page.panels import PANELS, Panel
from twolayer.serve.frames import fork, retune
from twolayer.serve.hub import Hub
from twolayer.serve.lead import KeyGate, LeadError
from twolayer.serve.lecture import Lecture
from twolayer.serve.session import TrainingSession
from twolayer.serve.store import OWNER, RunStore
from twolayer.teach.code_html import code_html
from twolayer.teach.program import program_source
from twolayer.train.checkpoint import CheckpointError
from twolayer.train.config import TrainConfig
from twolayer.train.state import RunState

log = logging.getLogger("twolayer")
TABS = ("Training", "Inside a step", "Landscape", "Draw", "Sweep", "Compare stages", "Run history")
LEAD_COOKIE = "twolayer_lead"
HEAVY_S = 3.0  # a following page redraws its slow charts this often, one at a time, as a training page does
WAIT_S = 1.0  # a following page with nothing new looks again after this long (a lecturer who stopped leading)
BOTH = "A page leads the class (?lead=1) or follows its lecturer (?follow=1), not both: open one of the two links."


def both_requested() -> bool:
    """Whether the link asks to lead and to follow at once, which is refused."""
    return st.query_params.get("lead") == "1" and st.query_params.get("follow") == "1"


def lead_requested() -> bool:
    """Whether this page is a lecturer's: as its link said at first (the link keeps saying so, widgets.save_link)."""
    if st.query_params.get("lead") == "1":
        state.LEAD_PAGE.set(True)
    return state.LEAD_PAGE.get()


def following() -> bool:
    """Whether this page follows the lecturer: as its link said at first, then as its student chose."""
    if state.FOLLOWING.get() is None:
        state.FOLLOWING.set(st.query_params.get("follow") == "1")
    return bool(state.FOLLOWING.get())


@st.cache_resource
def _process() -> dict:
    """The process's key gate, its hub once a page follows (made once, by the first) and the charts of the lead's
    latest frame, drawn once for every follower (`_drawing`)."""
    return {"gate": KeyGate(), "lock": threading.Lock(), "drawn": {}}


def hub(store: RunStore) -> Hub:
    """This process's hub: one LISTEN connection (PostgreSQL) or one poll (SQLite) for all its followers."""
    shared = _process()
    with shared["lock"]:
        if "hub" not in shared:
            url = getattr(store.db, "url", None)
            shared["hub"] = Hub(store.lead, OWNER, listen_url=url).start()
        return shared["hub"]


# The lecturer's page.


def lead_box(store: RunStore | None):
    """At the top of a leading page: the key's field until it is given, then that it leads and how many follow; the
    place where the count is kept current, or None."""
    key = lecturer_key()
    if key is None:
        st.error("This server has no lecturer key (TWOLAYER_LECTURER_KEY was not set when it started): no page leads.")
        return None
    if store is None:
        st.error("Leading needs the run store, which this server could not open (its log says why).")
        return None
    browser = persist.browser_id()
    if state.LECTURE.get() is None and _process()["gate"].remembered(
        str(st.context.cookies.get(LEAD_COOKIE, "")), key, browser
    ):
        _lead(store)  # the key was given in this browser before: a reload leads again
    if note := state.LEAD_NOTE.pop():
        st.error(note)
    if state.LECTURE.get() is None:
        with st.form("lead", border=False):
            st.text_input("Lecturer key", type="password", key=state.LEAD_KEY_GIVEN.name)
            st.form_submit_button("Lead the class", on_click=_give_key, args=(store, key, browser))
        return None
    place = st.container(key="lead-status").empty()
    _say_leading(place, store.lead)
    # For phones in the hall: the link as a QR code, large enough to scan from the back rows on a projector.
    width = 260 if state.PRESENTER.get() else 140
    link = _follow_link()
    st.html(f"<img src='{qr_code(link)}' width='{width}' alt='QR code of the link that follows the lecturer: {link}'>")
    return place


def _follow_link() -> str:
    """The link a student opens to follow this page's lead: this server's address with ?follow=1."""
    return f"{(st.context.url or '').split('?')[0]}?follow=1"


@functools.lru_cache(maxsize=8)
def qr_code(link: str) -> str:
    """`link` as a QR code: an SVG data URI (dark on white, with its quiet zone, so any phone camera reads it)."""
    return segno.make(link, error="m").svg_data_uri(scale=4, dark="#000", light="#fff")


def _give_key(store: RunStore, key: str, browser: str) -> None:
    given = state.LEAD_KEY_GIVEN.pop()  # the key does not stay in the field
    try:
        token = _process()["gate"].check(given, key, browser)
    except LeadError as refusal:
        state.LEAD_NOTE.set(f"{str(refusal).capitalize()}.")
        return
    # Kept for this browser: a reload leads again without the key.
    state.LEAD_COOKIE_TO_SET.set(f"{LEAD_COOKIE}={token}; path=/; max-age={12 * 3600}; SameSite=Strict")
    _lead(store)


def _lead(store: RunStore) -> None:
    try:
        state.LECTURE.set(Lecture(store.lead, store.lead.take()))
    except Exception:
        log.warning("could not take the lead", exc_info=True)
        state.LEAD_NOTE.set("The run store cannot be reached just now: try again in a moment.")


def _say_leading(place, channel) -> None:
    try:
        count = channel.followers()
    except Exception:  # a store that is away costs the count, never the page
        count = None
    follows = "" if count is None else f" · **{count}** follow"
    link = _follow_link()
    size = "2rem" if state.PRESENTER.get() else "1rem"
    place.markdown(
        f"**leading**{follows} · the class follows at <span style='font-size:{size}'>**{link}**</span>",
        unsafe_allow_html=True,
    )


def lead_cookie() -> str | None:
    """The lead cookie to set in this browser, once, after the key was given."""
    return state.LEAD_COOKIE_TO_SET.pop()


def publish(
    sess: TrainingSession, config: TrainConfig | None, blocked_by: str | None, count_place=None, frame: int = 0
) -> None:
    """Send the page's run to its followers (before it starts, its settings), when the page leads; the follower count
    every few frames."""
    lecture = state.LECTURE.get()
    if lecture is None or sess.trainer is None and config is None:
        return
    with sess.lock:
        status = training_view.status_text(sess, sess.trainer, blocked_by)
        tab = state.TAB.get() or TABS[0]
        try:
            if sess.trainer is None:
                lecture.publish_ready(config, status, tab=tab)
            else:
                lecture.publish(sess.trainer, sess.state, status, tab=tab, line=state.STEP_LINE.get())
        except LeadError:
            state.LECTURE.set(None)
            state.LEAD_NOTE.set("Another page took the lead: this page leads no more. Give the key again to lead.")
            return
        except Exception:
            log.warning("could not publish the lead's frame", exc_info=True)
    if count_place is not None and frame % 10 == 0:
        _say_leading(count_place, lecture.channel)


# A student's page following the lecturer.


def follow_page(store: RunStore | None) -> None:
    """The lecturer's run, live: status line, stage and code, loss and Training-tab charts, on the lecturer's tab."""
    st.set_page_config(page_title="twolayer · following", page_icon="🧠", layout="wide")
    st.html(training_view.PAGE_CSS)
    st.container(key="page-title").html("<h2>twolayer <span class='tl-tagline'>· following the lecturer</span></h2>")
    if store is None:
        st.error("Following needs the run store, which this server could not open (its log says why).")
        return
    ignored = sorted(key for key in st.query_params if key != "follow")
    if ignored:
        st.warning(f"A following page takes its settings from the lecturer: the link's {', '.join(ignored)} is unused.")
    st.container(key="follow-note").markdown("**following the lecturer**")
    if note := state.LEAD_NOTE.pop():
        st.error(note)
    shared = hub(store)
    with shared.lock:
        frame, version = shared.mirror.frame, shared.version
    if frame is None:
        st.container(key="run-status").info("No one leads the class just now: this page waits for the lecturer.")
        with shared.following():
            while shared.wait(version, WAIT_S) == version:
                pass
        st.rerun()
    _follow(shared, frame, version)


def _follow(shared: Hub, frame, version: int) -> None:
    config = TrainConfig(**frame.config)
    with st.sidebar:
        st.header("The lecturer's settings")
        st.dataframe([{"setting": k, "value": str(v)} for k, v in config.values().items()], hide_index=True)
    tabs = st.tabs(TABS, default=frame.tab if frame.tab in TABS else TABS[0])
    places = {}
    with tabs[0]:
        places["status"] = st.container(key="run-status").empty()
        why = "Your own run from the epoch shown, with the lecturer's weights and optimizer state: then yours."
        st.button("Take it over", key="take_over", type="primary", on_click=_take_over, args=(shared,), help=why)
        places["what_went_wrong"] = st.empty()
        loss_col, code_col = st.columns(2, gap="large")
        chart_feeds = feeds()
        with loss_col:
            places["loss"] = Spot("loss", chart_feeds)
        with code_col:
            st.markdown(f"**The code that runs:** stage {config.stage}")
            rows = config.batch_size if config.data == "random" else training_view.training_rows(config, None)
            st.html(code_html(program_source(config, rows), f"The program of the {config.stage} stage"))
        for panel in PANELS:
            places[panel] = st.empty() if panel is Panel.LABELS else Spot(panel.value, chart_feeds)
    with tabs[1]:
        st.markdown(f"The lecturer shows line **{frame.line + 1}** of the step.")
    for tab in tabs[2:]:
        tab.caption("This page follows the lecturer's Training tab and step; take the run over to use this tab.")
    with shared.following():
        _live(shared, frame, version, places)


def _live(shared: Hub, frame, version: int, places: dict) -> None:
    """Redraw each new frame: the status and loss at once, one slow chart a frame every HEAVY_S."""
    drawn, heavy, due = 0, time.monotonic(), list(PANELS)
    while True:
        charts = []
        with shared.lock:
            now_frame, trainer, problem = shared.mirror.frame, shared.mirror.trainer, shared.mirror.problem
            if now_frame is None or now_frame.run != frame.run or now_frame.tab != frame.tab:
                break  # a new run, no lead, another tab: the page is drawn anew
            if trainer is not None and trainer.epoch:
                drawn += 1
                moment = (now_frame.run, now_frame.epoch, now_frame.state, shared.mirror.checkpoint)
                run = RunState(now_frame.state)
                loss = partial(training_view.loss_panel, trainer=trainer, log_y=True, key="", run=run)
                charts.append(("loss", _drawing("loss", moment, loss)))
                if due:
                    panel = due.pop(0)
                    draw = partial(training_view.PANEL_DRAWERS[panel], trainer=trainer, key=f"{panel.value}-{drawn}")
                    if panel is Panel.LABELS:  # columns of charts, not one live chart: drawn by each page
                        draw(places[panel])
                    else:
                        charts.append((panel, _drawing(panel.value, moment, draw)))
                elif time.monotonic() - heavy >= HEAVY_S:
                    due, heavy = list(PANELS), time.monotonic()
        # Sent outside the hub's lock: the process's other followers and its next frame need not wait for this page.
        places["status"].markdown(now_frame.status)
        if problem:
            places["what_went_wrong"].info(problem)
        for place, recording in charts:
            recording.replay(places[place], f"{getattr(place, 'value', place)}-{drawn}")
        version = shared.wait(version, WAIT_S)
    st.rerun()


def _drawing(name: str, moment: tuple, draw) -> Recording:
    """Chart `name` of the lead's frame at `moment` as `draw(spot)` draws it: drawn once for all the process's
    followers (called holding its hub's lock), then replayed into each page's own spot."""
    drawn = _process()["drawn"]
    kept = drawn.get(name)
    if kept is None or kept[0] != moment:
        recording = Recording()
        draw(recording)
        kept = drawn[name] = (moment, recording)
    return kept[1]


def _take_over(shared: Hub) -> None:
    """Fork the lecturer's run at the epoch shown into this page's own run, paused, with its settings."""
    with shared.lock:
        frame, mirror = shared.mirror.frame, shared.mirror.trainer
        reference = None if mirror is None else tuple(c.tolist() for c in mirror.loss_curve())
    store = persist.run_store()
    if frame is None or store is None:
        return
    try:
        found = store.lead.checkpoint_at(frame.run, frame.epoch)
        trainer = None if found is None else fork(found[1], frame.epoch)
    except CheckpointError as error:
        state.LEAD_NOTE.set(f"The lecturer's run cannot be taken over: {error}.")
        return
    if trainer is None:
        state.LEAD_NOTE.set("The lecturer's run has no checkpoint to take over yet: try again in a moment.")
        return
    sess = persist.training_session()
    sess.take_over(trainer)
    st.query_params.clear()  # the settings are the lecturer's: the link's are never read
    widgets.load_link()
    widgets.restore_run_settings(sess)
    state.LEAD_REFERENCE.set(reference)
    state.FOLLOWING.set(False)


def follow_again() -> None:
    """On a run taken over: the button back to following the lecturer."""
    if state.LEAD_REFERENCE.get() is not None:
        st.button("Follow again", key="follow_again", on_click=_follow_again)


def _follow_again() -> None:
    state.FOLLOWING.set(True)
    state.LEAD_REFERENCE.set(None)
    st.query_params.from_dict({"follow": "1"})


def retune_taken_over(sess: TrainingSession, config: TrainConfig | None) -> None:
    """A run taken over goes on under the student's new learning rate or optimizer instead of asking to reset."""
    if config is None or state.LEAD_REFERENCE.get() is None:
        return
    with sess.lock:
        if sess.trainer is not None and not sess.trainer.finished and sess.state is not RunState.RUNNING:
            retune(sess.trainer, config)
