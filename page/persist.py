"""What survives a reload: the browser's id (a cookie), its session on the shared run store, and runs cut short,
resumed from their checkpoints.

The store is what `TWOLAYER_STORE` names, a directory (SQLite) or a `postgresql://` URL (scripts/serve-class gives
every process the same one), else a per-user cache directory; a page whose store cannot be opened keeps its runs in
memory, as before.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import threading
import time
from pathlib import Path

import streamlit as st
from streamlit import runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from page import state, widgets
from twolayer.serve.database import describe
from twolayer.serve.session import TrainingSession
from twolayer.serve.store import OWNER, Claimed, RunStore, browser_key, process_alive
from twolayer.train.trainer import Trainer

log = logging.getLogger("twolayer")
COOKIE = "twolayer_browser"
COOKIE_DAYS = 30
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{22,64}")
# A run reports its progress every LIVE_EVERY_S while it trains; one silent for STALE_S has stopped, even where
# its process cannot be checked (another host).
LIVE_EVERY_S = 2.0
STALE_S = 15.0
# A playing run's checkpoint is saved at most this often: a lost process costs its runs at most these seconds of
# training, while a save (a few ms, BENCHMARKS.md section 9) takes a small share of it.
CHECKPOINT_EVERY_S = 5.0
REOPEN_S = 30.0  # between tries to open a store that could not be opened


@st.cache_resource
def _opened() -> dict:
    """The process's store once it opened ("store"), or when it last failed to ("failed_at"), and a lock."""
    return {"lock": threading.Lock()}


def run_store() -> RunStore | None:
    """The process's run store; None (runs kept in memory only) while it cannot be used."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    location = os.environ.get("TWOLAYER_STORE") or cache / "twolayer"
    opened = _opened()
    with opened["lock"]:
        if "store" in opened:
            return opened["store"]
        # A database restarting as this process started comes back: it is tried again, at most every REOPEN_S.
        if time.monotonic() - opened.get("failed_at", -REOPEN_S) < REOPEN_S:
            return None
        try:
            opened["store"] = RunStore(location)
        except Exception as error:  # a broken file, a database that is down: a broken store must not stop the page
            opened["failed_at"] = time.monotonic()
            where = describe(location)
            log.warning("run history is kept in memory only: the store at %s cannot be used (%s)", where, error)
            return None
        return opened["store"]


def browser_id() -> str:
    """This browser's id from its cookie; a new one (for `cookie_to_set`) when it came without."""
    known = state.BROWSER_ID.get()
    if known is None:
        sent = st.context.cookies.get(COOKIE, "")
        sent = sent if isinstance(sent, str) else ""  # no cookies at all where no browser connects (AppTest)
        known = sent if ID_PATTERN.fullmatch(sent) else secrets.token_urlsafe(24)
        state.BROWSER_ID.set(known)
        state.SET_COOKIE.set(known != sent)
    return known


def cookie_to_set() -> str | None:
    """The id cookie the page sets (Streamlit's server sets none), or None when the browser already sent it."""
    if not state.SET_COOKIE.get():
        return None
    # SameSite=Strict keeps it off other sites' requests; the token is random, so only this browser can name its runs.
    return f"{COOKIE}={state.BROWSER_ID.get()}; path=/; max-age={COOKIE_DAYS * 24 * 3600}; SameSite=Strict"


def training_session() -> TrainingSession:
    """This page's TrainingSession, created on its first script run with the browser's past runs."""
    browser = browser_key(browser_id())
    sess = state.SESSION.get()
    if sess is None:
        store = run_store()
        try:
            sess = TrainingSession(store, browser, _session_id())
        except Exception as error:  # an unreadable store file: carry on without it
            log.warning("run history is kept in memory only: %s", error)
            sess = TrainingSession()
        state.SESSION.set(sess)
    return sess


def recover_interrupted(sess: TrainingSession) -> None:
    """Resume this browser's run cut short (reload, a server process gone) from its checkpoint where the page has no
    run of its own; put the others into the run history, and say so."""
    if sess.store is None:
        return
    try:
        claimed = sess.store.claim_interrupted(sess.browser, _alive, STALE_S, own_session=sess.session_id)
    except Exception as error:  # a busy or broken store costs the recovery, never the page
        log.warning("could not check for interrupted runs: %s", error)
        return
    if not claimed:
        return
    # Only what this page claimed is resumed, so two pages (or processes) never both go on with one run; a page
    # with a run of its own (another tab) keeps it.
    found = _checkpoint(sess, claimed[-1]) if sess.trainer is None else None
    if isinstance(found, Trainer):
        _resume(sess, found, claimed.pop().session)
        if not claimed:
            return
    sess.keep_runs([claim.run for claim in claimed])
    last = claimed[-1].run
    why = f" It cannot be resumed: {found}." if found else ""
    state.INTERRUPTED_NOTE.set(
        f"Your last run ({last.config.stage}, hidden {last.config.hidden_size}) stopped at epoch "
        f"{last.epochs_completed} of {last.config.epochs}: the page was reloaded or the server process it "
        f"trained on stopped.{why} Its loss curve is in **Run history**, and the settings come back from the link: "
        "press **Train** to run it again."
    )


def _checkpoint(sess: TrainingSession, claim: Claimed) -> Trainer | str | None:
    """The claimed run as its latest checkpoint left it; why it cannot resume; None when it left none that reads."""
    try:
        found = sess.store.latest_checkpoint(sess.browser, claim.session)
    except Exception as error:  # as above: the run is then reported as cut short
        log.warning("could not read the checkpoint of an interrupted run: %s", error)
        return None
    if isinstance(found, Trainer) and found.config != claim.run.config:
        log.warning("skipped a checkpoint of other settings than its run in progress")
        return None
    return found if found is None or isinstance(found, Trainer) else found.reason


def _resume(sess: TrainingSession, trainer: Trainer, left_by: str) -> None:
    """Play on the claimed run in this page, its settings in the controls, and say so once."""
    sess.resume(trainer, left_by)
    widgets.restore_run_settings(sess)
    state.put_settings({"data": trainer.config.data})  # a run that resumes trained on data a link may name
    now = time.monotonic()
    state.LIVE_REPORTED.set(now)
    state.CHECKPOINT_SAVED.set(now)
    state.RESUMED_NOTE.set(
        (trainer, f"Resumed at epoch {trainer.epoch} after the server lost it; nothing else changed.")
    )


def report_live(sess: TrainingSession) -> None:
    """Save the playing run's checkpoint, at most every CHECKPOINT_EVERY_S, and how far it got, every LIVE_EVERY_S."""
    now = time.monotonic()
    if now - state.CHECKPOINT_SAVED.get() >= CHECKPOINT_EVERY_S:
        state.CHECKPOINT_SAVED.set(now)
        sess.save_checkpoint()
    if now - state.LIVE_REPORTED.get() < LIVE_EVERY_S:
        return
    state.LIVE_REPORTED.set(now)
    sess.report_live()


def interrupted_note(sess: TrainingSession) -> None:
    """The message about a run resumed, or about runs cut short, until another run starts."""
    resumed = state.RESUMED_NOTE.get()
    if resumed is not None and resumed[0] is sess.trainer:
        st.info(resumed[1], icon=":material/restart_alt:")
    else:
        state.RESUMED_NOTE.pop()
    if sess.playing:
        state.INTERRUPTED_NOTE.pop()
    if note := state.INTERRUPTED_NOTE.get():
        st.warning(note, icon=":material/history:")


def _session_id() -> str:
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else secrets.token_hex(8)


def _alive(owner: str, session: str) -> bool:
    """Whether the session that reported a run in progress is still connected, as far as this process can tell."""
    if owner == OWNER:
        return runtime.exists() and runtime.get_instance().is_active_session(session)
    return process_alive(owner) is not False  # another host: only staleness tells
