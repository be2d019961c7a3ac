"""A run whose session is lost mid-run (reload, dropped connection, process gone) resumes from its latest checkpoint
on whichever page of its browser comes back, to the same history and weights as the run left alone."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from page import state
from twolayer.serve.session import TrainingSession
from twolayer.serve.store import HOST
from twolayer.train.config import TrainConfig
from twolayer.train.state import RunState
from twolayer.train.trainer import Trainer

CONFIG = TrainConfig(stage="nn", data="digits", hidden_size=16, batch_size=64, epochs=12)
LINK = {"stage": "nn", "data": "digits", "hidden": "16", "batch": "64", "epochs": "12"}
BROWSER = "resume-test-browser-000000000001"


def nobody_alive(owner: str, session: str) -> bool:
    return False


def checkpoints(store, browser: str = "b") -> list[str]:
    """The runs (session ids) the browser keeps checkpoints of."""
    return [
        run
        for (run,) in store.db.run(
            lambda tx: tx.execute("SELECT run FROM checkpoints WHERE browser = ? ORDER BY run", (browser,)).fetchall(),
            write=False,
        )
    ]


def resumed_notes(at) -> list[str]:
    return [info.value for info in at.info if info.value.startswith("Resumed")]


def left_alone() -> Trainer:
    trainer = Trainer(CONFIG)
    trainer.advance(CONFIG.epochs)
    return trainer


def lost_mid_run(store, browser: str = "b", session: str = "old") -> TrainingSession:
    """A session playing CONFIG that saved its checkpoint at epoch 3 and reported epoch 5, then was lost."""
    sess = TrainingSession(store, browser, session)
    sess.train(CONFIG)
    sess.trainer.advance(3)
    sess.save_checkpoint()
    sess.trainer.advance(2)  # trained after the checkpoint: trained again once resumed
    sess.report_live()
    return sess


def test_a_claimed_run_resumes_from_its_checkpoint_to_the_run_left_alone(open_store):
    store = open_store()
    lost_mid_run(store)
    (claim,) = open_store().claim_interrupted("b", nobody_alive, stale_s=60)  # another process of the class
    resumed = open_store().latest_checkpoint("b", claim.session)
    newer = TrainingSession(store, "b", "new")
    newer.resume(resumed, claim.session)
    assert (newer.state, newer.trainer.epoch) == (RunState.RUNNING, 3)
    assert checkpoints(store) == ["new"], "kept under the session that plays it now, the lost one's dropped"
    newer.trainer.advance(CONFIG.epochs)
    newer.after_slice()
    alone = left_alone()
    assert newer.trainer.history.column("loss") == alone.history.column("loss")
    assert np.array_equal(newer.trainer.weights()["w1"], alone.weights()["w1"])
    assert [run.status for run in newer.runs] == [RunState.DONE], "one run, kept once, not a cut-short one too"
    assert checkpoints(store) == [], "a finished run needs none"


@pytest.mark.parametrize("ending", ["pause", "reset", "finish", "replace"])
def test_a_run_that_ends_or_is_replaced_keeps_no_checkpoint(open_store, ending):
    store = open_store()
    sess = lost_mid_run(store, session="s")
    assert checkpoints(store) == ["s"]
    if ending == "pause":
        sess.pause()
    elif ending == "reset":
        sess.reset()
    elif ending == "finish":
        sess.trainer.advance(CONFIG.epochs)
        sess.after_slice()
    else:
        sess.train(TrainConfig(stage="nn", data="digits", hidden_size=8, epochs=3))
    assert checkpoints(store) == []


def test_a_paused_session_saves_no_checkpoint(open_store):
    store = open_store()
    sess = TrainingSession(store, "b", "s")
    sess.step(CONFIG)
    sess.save_checkpoint()
    assert checkpoints(store) == []


def lose_a_page_mid_run(open_app, browser_id: str = BROWSER):
    """A page of `browser_id` three epochs into CONFIG with its checkpoint saved, then five in, then its process
    gone (its live row names a process that ended)."""
    old = open_app(LINK, session={state.BROWSER_ID.name: browser_id})
    for _ in range(3):
        old.button(key="step").click().run()
    sess = old.session_state[state.SESSION.name]
    sess.session_id = "the-lost-page"  # every headless page has one session id
    sess.playing = True  # as between two slices of its training loop
    sess.save_checkpoint()
    sess.trainer.advance(2)
    sess.report_live()
    ended = subprocess.Popen(["true"])
    ended.wait()
    dead = f"{HOST}:{ended.pid}"
    sess.store.db.run(lambda tx: tx.execute("UPDATE live SET owner = ? WHERE session = ?", (dead, sess.session_id)))
    return sess


def test_a_page_that_comes_back_resumes_its_run_by_itself_to_the_same_end(open_app):
    lose_a_page_mid_run(open_app)
    back = open_app(LINK, session={state.BROWSER_ID.name: BROWSER})
    sess = back.session_state[state.SESSION.name]
    assert resumed_notes(back) == ["Resumed at epoch 3 after the server lost it; nothing else changed."]
    assert not [w for w in back.warning if "stopped at" in w.value], "no word of a run cut short"
    assert (sess.state, sess.trainer.epoch) == (RunState.DONE, CONFIG.epochs)
    alone = left_alone()
    assert sess.trainer.history.column("loss") == alone.history.column("loss"), "bit for bit"
    assert np.array_equal(sess.trainer.weights()["w2"], alone.weights()["w2"])
    assert [run.status for run in sess.runs] == [RunState.DONE]

    again = open_app(LINK, session={state.BROWSER_ID.name: BROWSER})
    assert not resumed_notes(again) and not [w for w in again.warning if "stopped at" in w.value], "resumed once"


def test_a_run_without_a_usable_checkpoint_is_reported_as_cut_short_with_why(open_app):
    lost = lose_a_page_mid_run(open_app, browser_id="resume-test-browser-000000000002")
    day = lost.store.ttl_s
    lost.store.db.run(lambda tx: tx.execute("UPDATE checkpoints SET saved = saved - ?", (day + 3600,)))
    back = open_app(LINK, session={state.BROWSER_ID.name: "resume-test-browser-000000000002"})
    (warning,) = back.warning
    assert "stopped at epoch 5 of 12" in warning.value and "It cannot be resumed: the run's checkpoint is" in (
        warning.value
    )
    assert not resumed_notes(back)
    sess = back.session_state[state.SESSION.name]
    assert sess.trainer is None and [run.status for run in sess.runs] == [RunState.INTERRUPTED]


def test_a_corrupt_checkpoint_is_logged_and_the_run_reported_as_today(open_app, caplog):
    lost = lose_a_page_mid_run(open_app, browser_id="resume-test-browser-000000000003")
    lost.store.db.run(lambda tx: tx.execute("UPDATE checkpoints SET body = ?", (b"not a checkpoint" * 10,)))
    back = open_app(LINK, session={state.BROWSER_ID.name: "resume-test-browser-000000000003"})
    (warning,) = back.warning
    assert "stopped at epoch 5 of 12" in warning.value and "cannot be resumed" not in warning.value
    assert "skipped a stored checkpoint" in caplog.text


def test_a_page_with_a_run_of_its_own_keeps_it_and_reports_the_other(open_app):
    """Two tabs of one browser: the one with a run does not take over the other tab's lost run."""
    browser_id = "resume-test-browser-000000000004"
    tab = open_app({**LINK, "epochs": "2"}, session={state.BROWSER_ID.name: browser_id})
    tab.button(key="step").click().run()
    lose_a_page_mid_run(open_app, browser_id)
    tab.run()
    assert tab.session_state[state.SESSION.name].trainer.config.epochs == 2
    assert any("stopped at epoch 5 of 12" in w.value for w in tab.warning) and not resumed_notes(tab)
