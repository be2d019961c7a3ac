"""The run store on SQLite and on PostgreSQL alike: each browser's past runs survive a new session, stay private,
expire and stay within their cap; runs cut short are claimed once; the schema is made or upgraded at start."""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager

import pytest

from twolayer.serve import schema
from twolayer.serve.database import FILE_NAME, StoreError, open_database
from twolayer.serve.session import TrainingSession
from twolayer.serve.store import MAX_KEPT_RUNS, OWNER, RunStore, browser_key, process_alive, run_body
from twolayer.train.config import TrainConfig
from twolayer.train.state import RunState

SHORT = TrainConfig(hidden_size=8, epochs=5)
TABLES = ("runs", "live", "board", "board_rounds", "checkpoints", "schema_version")


def finished_session(store: RunStore | None, browser: str, runs: int = 1, config=SHORT) -> TrainingSession:
    """A session that trained `runs` runs to the end and put each aside."""
    sess = TrainingSession(store, browser, "session-a")
    for seed in range(runs):
        sess.train(config.replace(seed=seed))
        sess.trainer.advance(config.epochs)
        sess.after_slice()
    return sess


def stored_text(store: RunStore) -> str:
    """Every value of every table of the store, as text."""
    return repr(store.db.run(lambda tx: [tx.execute(f"SELECT * FROM {t}").fetchall() for t in TABLES], write=False))


def test_a_new_session_of_the_same_browser_gets_its_runs_back(open_store, store_location):
    first = finished_session(open_store(), "browser-1", runs=2)
    again = TrainingSession(open_store(), "browser-1", "session-b")  # a reload, or another process
    assert again.runs == first.runs
    assert [r.number for r in again.runs] == [1, 2]
    assert again.runs[0].losses == first.runs[0].losses and again.runs[0].config == SHORT.replace(seed=0)
    # Numbering goes on where it stopped, so labels stay unique.
    again.train(SHORT.replace(seed=9))
    again.trainer.advance(5)
    again.after_slice()
    assert [r.label.split()[0] for r in again.runs] == ["#1", "#2", "#3"]


def test_another_browser_sees_none_of_them(open_store, store_location):
    store = open_store()
    finished_session(store, browser_key("token-of-one"))
    assert TrainingSession(store, browser_key("token-of-another"), "s").runs == []
    # The store never holds the browser's token itself, only its hash.
    assert browser_key("token-of-one") in stored_text(store) and "token-of-one" not in stored_text(store)
    if not store_location.startswith("postgresql"):
        assert b"token-of-one" not in b"".join(path.read_bytes() for path in store.db.path.parent.iterdir())


def test_clearing_the_history_clears_the_store(open_store):
    store = open_store()
    sess = finished_session(store, "b", runs=2)
    sess.clear_runs()
    assert store.runs("b") == []


def test_at_most_max_kept_runs_per_browser(open_store):
    store = open_store()
    finished_session(store, "b", runs=MAX_KEPT_RUNS + 3)
    assert [r.number for r in store.runs("b")] == list(range(4, MAX_KEPT_RUNS + 4))


def test_entries_expire(open_store):
    finished_session(open_store(), "b")
    assert len(open_store(ttl_s=3600).runs("b")) == 1
    time.sleep(0.05)
    assert open_store(ttl_s=0.01).runs("b") == []


def test_the_oldest_runs_go_when_the_store_is_over_its_size_cap(open_store, tmp_path):
    one = len(run_body(finished_session(open_store(location=str(tmp_path / "measure")), "m").runs[0]))
    store = open_store(max_bytes=int(2.5 * one))  # room for two runs of this size
    finished_session(store, "a", runs=2)
    finished_session(store, "b", runs=1)
    assert [r.number for r in store.runs("a")] == [2], "the oldest run of all went"
    assert len(store.runs("b")) == 1


def test_a_damaged_entry_is_skipped_and_the_rest_read(open_store):
    store = open_store()
    finished_session(store, "b", runs=2)
    store.db.run(lambda tx: tx.execute("UPDATE runs SET body = '{not json' WHERE number = 1"))
    assert [r.number for r in store.runs("b")] == [2]


def test_states_are_stored_as_their_words_and_read_back_as_states(open_store):
    store = open_store()
    sess = finished_session(store, "b")
    sess.train(SHORT.replace(seed=5))
    sess.trainer.advance(2)
    sess.reset()
    bodies = store.db.run(lambda tx: tx.execute("SELECT body FROM runs ORDER BY number").fetchall(), write=False)
    assert [json.loads(body)["status"] for (body,) in bodies] == ["done", "stopped"]
    done, stopped = store.runs("b")
    assert (done.status, done.stopped_at, done.outcome) == (RunState.DONE, None, "done")
    assert (stopped.status, stopped.stopped_at, stopped.outcome) == (RunState.STOPPED, 2, "stopped at 2")
    assert stopped == sess.runs[1], "a run stopped part way comes back as it was kept"


def test_a_run_stored_with_its_status_as_text_reads_back_as_its_state(open_store):
    """Runs stored before the state was a word of its own say where they stopped in the status: "stopped at 12"."""
    store = open_store()
    sess = TrainingSession(store, "b", "s")
    sess.train(TrainConfig(hidden_size=8, epochs=50))
    sess.trainer.advance(12)
    sess.reset()
    old = json.dumps({**json.loads(run_body(sess.runs[0])), "status": "stopped at 12"})
    store.db.run(lambda tx: tx.execute("UPDATE runs SET body = ? WHERE number = 1", (old,)))
    (run,) = store.runs("b")
    assert (run.status, run.stopped_at, run.outcome) == (RunState.STOPPED, 12, "stopped at 12")
    assert run == sess.runs[0]


def test_a_broken_store_costs_the_history_not_the_run(open_store, store_location, caplog):
    store = open_store()
    sess = TrainingSession(store, "b", "s")
    if store_location.startswith("postgresql"):
        store.db.run(lambda tx: tx.execute("DROP TABLE runs"))
    else:
        (store.db.path).write_bytes(b"this is not a database" * 100)
    sess.train(SHORT)
    sess.trainer.advance(5)
    sess.after_slice()  # archiving fails in the store, and is logged
    assert sess.state is RunState.DONE and len(sess.runs) == 1
    assert "the run store could not add" in caplog.text


def test_a_run_cut_short_is_claimed_once_by_the_next_session(open_store):
    store = open_store()
    sess = TrainingSession(store, "b", "old-session")
    sess.train(TrainConfig(hidden_size=8, epochs=1000))
    sess.trainer.advance(37)
    sess.report_live()

    def nobody_alive(owner, session):
        return False

    assert store.claim_interrupted("b", lambda owner, session: True, stale_s=60) == [], "its session is alive"
    assert store.claim_interrupted("other-browser", nobody_alive, stale_s=60) == []
    (claim,) = store.claim_interrupted("b", nobody_alive, stale_s=60)
    run = claim.run
    assert claim.session == "old-session", "the key of its checkpoint"
    assert (run.status, run.stopped_at, run.outcome) == (RunState.INTERRUPTED, 37, "interrupted at 37")
    assert run.epochs_completed == 37 and len(run.losses) == 37
    assert store.claim_interrupted("b", nobody_alive, stale_s=60) == [], "claimed once"

    newer = TrainingSession(store, "b", "new-session")
    newer.keep_runs([run])
    assert [r.label.split()[0] for r in newer.runs] == ["#1"]
    assert (store.runs("b")[0].status, store.runs("b")[0].stopped_at) == (RunState.INTERRUPTED, 37)


def test_a_run_that_stops_reporting_is_claimed_even_if_its_owner_cannot_be_checked(open_store):
    store = open_store()
    sess = TrainingSession(store, "b", "s")
    sess.train(SHORT)
    sess.trainer.advance(2)
    sess.report_live()
    time.sleep(0.05)
    assert store.claim_interrupted("b", lambda owner, session: True, 0.01, own_session="s") == [], "never its own"
    assert len(store.claim_interrupted("b", lambda owner, session: True, stale_s=0.01)) == 1


@pytest.mark.parametrize("ending", ["pause", "reset", "finish"])
def test_a_run_ended_by_its_own_session_leaves_nothing_to_claim(open_store, ending):
    store = open_store()
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


def test_a_store_of_the_first_version_is_upgraded_with_its_runs(store_location):
    """A store written before the board existed (runs and live only) opens with its runs and gains the board."""
    old = open_database(store_location)
    assert schema.upgrade(old, to=1) == 0
    body = run_body(finished_session(None, "x").runs[0])
    old.run(lambda tx: tx.execute("INSERT INTO runs VALUES ('b', 1, ?, ?)", (time.time(), body)))
    old.close()

    store = RunStore(store_location)
    try:
        assert [r.number for r in store.runs("b")] == [1]
        assert store.db.run(lambda tx: tx.execute("SELECT version FROM schema_version").fetchall()) == [
            (schema.VERSION,)
        ]
        assert store.db.run(lambda tx: tx.execute("SELECT size FROM runs").fetchall()) == [(len(body),)]
        finished_session(store, "b")
        assert len(store.board.entries()) == 1
        assert schema.upgrade(store.db) == schema.VERSION, "already up to date: nothing to do"
    finally:
        store.close()


def test_a_store_from_a_newer_twolayer_is_refused_saying_so(open_store, store_location):
    open_store().db.run(lambda tx: tx.execute("UPDATE schema_version SET version = 99"))
    with pytest.raises(StoreError, match=f"schema version 99, newer than this twolayer's {schema.VERSION}"):
        RunStore(store_location)


def test_processes_opening_a_new_store_together_make_its_tables_once(store_location):
    opened, errors = [], []

    def open_one():
        try:
            opened.append(RunStore(store_location))
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=open_one) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == [] and len(opened) == 6
        assert opened[0].db.run(lambda tx: tx.execute("SELECT version FROM schema_version").fetchall()) == [
            (schema.VERSION,)
        ]
    finally:
        for store in opened:
            store.close()


class AnswerLost(Exception):
    """The server's answer to a write that it made."""


@contextmanager
def first_answer_lost(store: RunStore):
    """The store's first write commits but its answer is lost, as when a connection drops right after a commit."""
    db, lost = store.db, []
    real = db._transaction

    @contextmanager
    def transaction(write: bool):
        with real(write) as tx:
            yield tx
        if write and not lost:
            lost.append(True)
            raise AnswerLost("the connection dropped after the commit")

    db._transaction, transient = transaction, db.transient
    db.transient = (*transient, AnswerLost)
    try:
        yield lost
    finally:
        db._transaction, db.transient = real, transient


def test_a_write_whose_answer_was_lost_is_tried_again_and_kept_once(open_store):
    store = open_store()
    sess = TrainingSession(store, "b", "s")
    sess.train(SHORT)
    sess.trainer.advance(5)
    with first_answer_lost(store) as lost:
        sess.after_slice()  # the run is added (answer lost, tried again) and posted to the board
    assert lost == [True]
    assert [r.number for r in store.runs("b")] == [1]
    with first_answer_lost(store) as lost:
        store.board.post("b", store.board.entries()[0])
    assert lost == [True] and len(store.board.entries()) == 2, "one entry per post, however often it was tried"


def test_writes_during_a_postgresql_restart_are_all_kept_once(postgres, caplog):
    store = RunStore(postgres.create_database("restart"))
    try:
        finished_session(store, "before")
        restart = threading.Thread(target=postgres.restart, kwargs={"down_s": 2.0})
        restart.start()
        time.sleep(0.3)
        sessions = [threading.Thread(target=finished_session, args=(store, f"during-{i}")) for i in range(8)]
        for thread in sessions:
            thread.start()
        for thread in sessions + [restart]:
            thread.join()
        assert [len(store.runs(f"during-{i}")) for i in range(8)] == [1] * 8
        assert len(store.runs("before")) == 1
        assert len(store.board.entries()) == 9, "every finished run on the board, none twice"
        assert "the run store did not answer" in caplog.text, "the restart cut the writes off, and they were retried"
    finally:
        store.close()


def test_a_location_that_is_no_store_is_refused_saying_why(postgres, tmp_path):
    with pytest.raises(StoreError, match="neither a directory nor a postgresql:// URL"):
        RunStore("mysql://somewhere/db")
    with pytest.raises(StoreError, match=r"cannot connect to postgresql://twolayer:\*\*\*@127.0.0.1:.*/absent"):
        RunStore(postgres.database_url("absent").replace("twolayer@", "twolayer:secret@"))
    assert (tmp_path / "new" / FILE_NAME).exists() is False
    RunStore(tmp_path / "new").close()
    assert (tmp_path / "new" / FILE_NAME).is_file()


def test_process_alive_tells_a_dead_process_on_this_host():
    assert process_alive(OWNER) is True
    host = OWNER.rpartition(":")[0]
    assert process_alive(f"{host}:{2**22 + 12345}") is False  # above Linux's largest pid
    assert process_alive("some-other-host:1") is None
