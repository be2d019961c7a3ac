"""The run store: each browser's past runs survive a new session, stay private, expire and stay within their cap."""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import closing

import pytest

from twolayer.serve.session import TrainingSession
from twolayer.serve.store import MAX_KEPT_RUNS, OWNER, RunStore, browser_key, process_alive, run_body
from twolayer.train.config import TrainConfig
from twolayer.train.state import RunState

SHORT = TrainConfig(hidden_size=8, epochs=5)


def finished_session(store: RunStore, browser: str, runs: int = 1, config: TrainConfig = SHORT) -> TrainingSession:
    """A session that trained `runs` runs to the end and put each aside."""
    sess = TrainingSession(store, browser, "session-a")
    for seed in range(runs):
        sess.train(config.replace(seed=seed))
        sess.trainer.advance(config.epochs)
        sess.after_slice()
    return sess


def test_a_new_session_of_the_same_browser_gets_its_runs_back(tmp_path):
    store = RunStore(tmp_path)
    first = finished_session(store, "browser-1", runs=2)
    again = TrainingSession(RunStore(tmp_path), "browser-1", "session-b")  # a reload, or another process
    assert again.runs == first.runs
    assert [r.number for r in again.runs] == [1, 2]
    assert again.runs[0].losses == first.runs[0].losses and again.runs[0].config == SHORT.replace(seed=0)
    # Numbering goes on where it stopped, so labels stay unique.
    again.train(SHORT.replace(seed=9))
    again.trainer.advance(5)
    again.after_slice()
    assert [r.label.split()[0] for r in again.runs] == ["#1", "#2", "#3"]


def test_another_browser_sees_none_of_them(tmp_path):
    store = RunStore(tmp_path)
    finished_session(store, browser_key("token-of-one"))
    assert TrainingSession(store, browser_key("token-of-another"), "s").runs == []
    # The file never holds the browser's token itself.
    assert b"token-of-one" not in (tmp_path / "runs.sqlite3").read_bytes()


def test_clearing_the_history_clears_the_store(tmp_path):
    store = RunStore(tmp_path)
    sess = finished_session(store, "b", runs=2)
    sess.clear_runs()
    assert store.runs("b") == []


def test_at_most_max_kept_runs_per_browser(tmp_path):
    store = RunStore(tmp_path)
    finished_session(store, "b", runs=MAX_KEPT_RUNS + 3)
    assert [r.number for r in store.runs("b")] == list(range(4, MAX_KEPT_RUNS + 4))


def test_entries_expire(tmp_path):
    finished_session(RunStore(tmp_path), "b")
    assert len(RunStore(tmp_path, ttl_s=3600).runs("b")) == 1
    time.sleep(0.05)
    assert RunStore(tmp_path, ttl_s=0.01).runs("b") == []


def test_the_oldest_runs_go_when_the_store_is_over_its_size_cap(tmp_path):
    one = len(run_body(finished_session(RunStore(tmp_path / "measure"), "m").runs[0]))
    store = RunStore(tmp_path, max_bytes=int(2.5 * one))  # room for two runs of this size
    finished_session(store, "a", runs=2)
    finished_session(store, "b", runs=1)
    assert [r.number for r in store.runs("a")] == [2], "the oldest run of all went"
    assert len(store.runs("b")) == 1


def test_a_damaged_entry_is_skipped_and_the_rest_read(tmp_path):
    store = RunStore(tmp_path)
    finished_session(store, "b", runs=2)
    with sqlite3.connect(tmp_path / "runs.sqlite3") as db:
        db.execute("UPDATE runs SET body = '{not json' WHERE number = 1")
    assert [r.number for r in store.runs("b")] == [2]


def test_states_are_stored_as_their_words_and_read_back_as_states(tmp_path):
    store = RunStore(tmp_path)
    sess = finished_session(store, "b")
    sess.train(SHORT.replace(seed=5))
    sess.trainer.advance(2)
    sess.reset()
    with closing(sqlite3.connect(store.path)) as db:
        stored = [json.loads(body)["status"] for (body,) in db.execute("SELECT body FROM runs ORDER BY number")]
    assert stored == ["done", "stopped at 2"]
    done, stopped = (run.status for run in store.runs("b"))
    assert done is RunState.DONE and stopped == "stopped at 2"


def test_a_broken_store_file_costs_the_history_not_the_run(tmp_path, caplog):
    store = RunStore(tmp_path)
    sess = TrainingSession(store, "b", "s")
    (tmp_path / "runs.sqlite3").write_bytes(b"this is not a database" * 100)
    sess.train(SHORT)
    sess.trainer.advance(5)
    sess.after_slice()  # archiving fails in the store, and is logged
    assert sess.state == "done" and len(sess.runs) == 1
    assert "the run store could not add" in caplog.text


def test_a_run_cut_short_is_claimed_once_by_the_next_session(tmp_path):
    store = RunStore(tmp_path)
    sess = TrainingSession(store, "b", "old-session")
    sess.train(TrainConfig(hidden_size=8, epochs=1000))
    sess.trainer.advance(37)
    sess.report_live()

    def nobody_alive(owner, session):
        return False

    assert store.claim_interrupted("b", lambda owner, session: True, stale_s=60) == [], "its session is alive"
    assert store.claim_interrupted("other-browser", nobody_alive, stale_s=60) == []
    (run,) = store.claim_interrupted("b", nobody_alive, stale_s=60)
    assert run.status == "interrupted at 37" and run.epochs_completed == 37 and len(run.losses) == 37
    assert store.claim_interrupted("b", nobody_alive, stale_s=60) == [], "claimed once"

    newer = TrainingSession(store, "b", "new-session")
    newer.keep_runs([run])
    assert [r.label.split()[0] for r in newer.runs] == ["#1"] and store.runs("b")[0].status == "interrupted at 37"


def test_a_run_that_stops_reporting_is_claimed_even_if_its_owner_cannot_be_checked(tmp_path):
    store = RunStore(tmp_path)
    sess = TrainingSession(store, "b", "s")
    sess.train(SHORT)
    sess.trainer.advance(2)
    sess.report_live()
    time.sleep(0.05)
    assert store.claim_interrupted("b", lambda owner, session: True, 0.01, own_session="s") == [], "never its own"
    assert len(store.claim_interrupted("b", lambda owner, session: True, stale_s=0.01)) == 1


@pytest.mark.parametrize("ending", ["pause", "reset", "finish"])
def test_a_run_ended_by_its_own_session_leaves_nothing_to_claim(tmp_path, ending):
    store = RunStore(tmp_path)
    sess = TrainingSession(store, "b", "s")
    sess.train(SHORT)
    sess.trainer.advance(2)
    sess.report_live()
    if ending == "pause":
        sess.pause()
    elif ending == "reset":
        sess.reset()
    else:
        sess.trainer.advance(5)
        sess.after_slice()
    assert store.claim_interrupted("b", lambda owner, session: False, stale_s=60) == []


def test_process_alive_tells_a_dead_process_on_this_host():
    assert process_alive(OWNER) is True
    host = OWNER.rpartition(":")[0]
    assert process_alive(f"{host}:{2**22 + 12345}") is False  # above Linux's largest pid
    assert process_alive("some-other-host:1") is None
