"""Checkpoints in the run store, on SQLite and on PostgreSQL alike: the latest of each run is kept once and resumes
to the bit; an old one is not resumed, saying so; one that does not read is logged and taken as none."""

from __future__ import annotations

import re
import time

import numpy as np

from tests.test_checkpoint import npz_run, upload_run, uploaded, without_clock
from tests.test_store import first_answer_lost
from twolayer.data.uploads import read_uploads
from twolayer.serve.store import CheckpointProblem, RunStore
from twolayer.train.checkpoint import dump
from twolayer.train.config import TrainConfig
from twolayer.train.state import RunState
from twolayer.train.trainer import Trainer

CONFIG = TrainConfig(stage="optim", data="digits", hidden_size=8, batch_size=64, epochs=4)


def rows(store: RunStore) -> list[tuple]:
    """Every checkpoint row's key, size and length of body."""
    return store.db.run(
        lambda tx: tx.execute(
            "SELECT browser, run, size, LENGTH(body) FROM checkpoints ORDER BY browser, run"
        ).fetchall(),
        write=False,
    )


def test_the_latest_checkpoint_of_a_run_resumes_it_to_the_bit(open_store):
    store = open_store()
    trainer = Trainer(CONFIG)
    trainer.advance(1)
    store.save_checkpoint("b", "session-1", trainer)
    for _ in range(3):
        trainer.advance(1, time_budget=0.0)  # part way into the second epoch
    size = store.save_checkpoint("b", "session-1", trainer)
    assert size == len(dump(trainer))
    assert rows(store) == [("b", "session-1", size, size)], "one row a run: the latest replaced the one before"

    resumed = open_store().latest_checkpoint("b", "session-1")  # another process of the class
    assert isinstance(resumed, Trainer)
    assert (resumed.epoch, resumed._partial.start, resumed.status) == (1, 3 * 64, RunState.PAUSED)
    trainer.advance(4)
    resumed.advance(4)
    assert without_clock(resumed) == without_clock(trainer)
    assert np.array_equal(resumed.weights()["w1"], trainer.weights()["w1"])


def test_runs_and_browsers_keep_checkpoints_of_their_own_until_dropped(open_store):
    store = open_store()
    for browser, run, epochs in [("a", "s1", 1), ("a", "s2", 2), ("b", "s1", 3)]:
        trainer = Trainer(CONFIG)
        trainer.advance(epochs)
        store.save_checkpoint(browser, run, trainer)
    assert [store.latest_checkpoint(*key).epoch for key in [("a", "s1"), ("a", "s2"), ("b", "s1")]] == [1, 2, 3]
    assert store.latest_checkpoint("c", "s1") is None and store.latest_checkpoint("a", "s3") is None
    store.drop_checkpoint("a", "s1")
    assert store.latest_checkpoint("a", "s1") is None
    assert [key[:2] for key in rows(store)] == [("a", "s2"), ("b", "s1")]


def test_a_write_whose_answer_was_lost_keeps_one_checkpoint(open_store):
    store = open_store()
    trainer = Trainer(CONFIG)
    trainer.advance(2)
    with first_answer_lost(store) as lost:
        size = store.save_checkpoint("b", "s", trainer)
    assert lost == [True] and rows(store) == [("b", "s", size, size)]
    assert store.latest_checkpoint("b", "s").epoch == 2


def test_a_checkpoint_older_than_the_store_keeps_runs_is_not_resumed_saying_so(open_store):
    trainer = Trainer(CONFIG)
    trainer.advance(1)
    open_store().save_checkpoint("b", "old", trainer)
    time.sleep(0.05)
    short = open_store(ttl_s=0.01)
    problem = short.latest_checkpoint("b", "old")
    assert isinstance(problem, CheckpointProblem)
    # Its age is whatever the machine took since the save: a busy one takes longer.
    pattern = r"the run's checkpoint is [0-9.]+ seconds old, and runs are kept for 0.01 seconds: it is not resumed"
    assert re.fullmatch(pattern, problem.reason), problem.reason
    assert isinstance(open_store().latest_checkpoint("b", "old"), Trainer), "within a day it resumes"
    short.save_checkpoint("b", "new", trainer)  # a write takes the expired checkpoints away
    assert [key[:2] for key in rows(short)] == [("b", "new")]


def test_a_day_old_checkpoint_is_said_to_be_hours_old(open_store):
    store = open_store()
    trainer = Trainer(CONFIG)
    store.save_checkpoint("b", "s", trainer)
    store.db.run(lambda tx: tx.execute("UPDATE checkpoints SET saved = saved - ?", (26 * 3600,)))
    assert store.latest_checkpoint("b", "s") == CheckpointProblem(
        "the run's checkpoint is 26 hours old, and runs are kept for 24 hours: it is not resumed"
    )


def test_a_checkpoint_that_does_not_read_is_logged_and_taken_as_none(open_store, caplog):
    store = open_store()
    trainer = Trainer(CONFIG)
    trainer.advance(1)
    store.save_checkpoint("b", "s", trainer)
    body = dump(trainer)
    damaged = body[:-10] + bytes(10)
    store.db.run(lambda tx: tx.execute("UPDATE checkpoints SET body = ?", (damaged,)))
    assert store.latest_checkpoint("b", "s") is None
    assert "skipped a stored checkpoint: the checkpoint does not read: damaged" in caplog.text
    store.db.run(lambda tx: tx.execute("UPDATE checkpoints SET body = ?", (b"not a checkpoint",)))
    assert store.latest_checkpoint("b", "s") is None
    assert "not a twolayer checkpoint: 16 bytes beginning b'not a checkp'" in caplog.text


def test_a_run_on_an_upload_that_is_gone_says_why_it_does_not_resume(open_store):
    store = open_store()
    store.save_checkpoint("b", "s", upload_run())
    problem = store.latest_checkpoint("b", "s")
    assert isinstance(problem, CheckpointProblem) and "an upload (mine.npz) that left with the page" in problem.reason
    assert store.latest_checkpoint("b", "s", data=read_uploads(uploaded())).started, "given the upload again"


def test_a_checkpoint_naming_a_file_of_the_server_does_not_make_the_store_read_it(open_store, tmp_path):
    store = open_store()
    store.save_checkpoint("b", "s", npz_run(tmp_path / "data.npz"))  # as the command line could train
    problem = store.latest_checkpoint("b", "s")
    assert problem == CheckpointProblem(
        f"the run trained on {tmp_path / 'data.npz'}: a checkpoint from the store reads no files"
    )
