"""The class board on SQLite and PostgreSQL: anonymous entries, names as text, the lecturer's rounds, its limits."""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import time

import pytest

from twolayer.serve.board import (
    KEY_TRIES,
    MAX_NAME,
    PER_MINUTE,
    BoardError,
    Entry,
    board_data,
    csv_text,
    entry_from_trainer,
)
from twolayer.serve.session import TrainingSession
from twolayer.train.config import TrainConfig
from twolayer.train.state import RunState
from twolayer.train.trainer import Trainer

RUN = Entry("nn", 32, 1e-3, 64, 100, 100, "random", 0.0123, None, RunState.DONE)
KEY = "correct horse battery staple"


def test_a_finished_run_goes_on_the_board_without_whose_it_is(open_store):
    store = open_store()
    sess = TrainingSession(store, "browser-hash-1", "s")
    sess.train(TrainConfig(stage="optim", hidden_size=16, learning_rate=1e-3, epochs=20, data="digits", seed=3))
    sess.trainer.advance(20)
    trainer = sess.trainer
    sess.after_slice()
    (entry,) = store.board.entries()
    assert (entry.stage, entry.hidden, entry.lr, entry.batch, entry.epochs, entry.data) == (
        "optim", 16, 1e-3, 64, 20, "digits"
    )  # fmt: skip
    assert entry.status is RunState.DONE and entry.epochs_done == 20 and entry.final_loss == trainer.last_loss()
    assert entry.accuracy == trainer.evaluate()["test_accuracy"] and 0.5 < entry.accuracy <= 1
    assert "browser-hash-1" not in repr(store.board.entries()), "nothing read from the board names a browser"
    assert store.board.own("browser-hash-1") == [entry] and store.board.own("another") == []


def test_runs_reset_before_their_end_stay_off_the_board(open_store):
    store = open_store()
    sess = TrainingSession(store, "b", "s")
    sess.train(TrainConfig(hidden_size=8, epochs=50))
    sess.trainer.advance(10)
    sess.reset()
    assert len(store.runs("b")) == 1 and store.board.entries() == []


def test_a_diverged_run_is_on_the_board_as_diverged(open_store):
    trainer = Trainer(TrainConfig(hidden_size=8, epochs=50, learning_rate=1.0))
    trainer.advance(50)
    assert trainer.status is RunState.DIVERGED
    store = open_store()
    store.board.post("b", entry_from_trainer(trainer))
    (entry,) = store.board.entries()
    assert entry.status is RunState.DIVERGED and entry.accuracy is None and entry.epochs_done == trainer.epoch < 50


def test_at_most_a_few_entries_per_browser_per_minute(open_store):
    store = open_store()
    ids = [store.board.post("eager", RUN) for _ in range(PER_MINUTE)]
    with pytest.raises(BoardError, match=f"at most {PER_MINUTE} runs a minute"):
        store.board.post("eager", RUN)
    store.board.post("another", RUN)
    assert len(store.board.entries()) == PER_MINUTE + 1 and [e.id for e in store.board.entries()][1:] == ids[::-1]


def test_the_session_says_why_a_run_is_not_on_the_board(open_store):
    store = open_store()
    sess = TrainingSession(store, "b", "s")
    for seed in range(PER_MINUTE + 1):
        sess.train(TrainConfig(hidden_size=4, epochs=2, seed=seed))
        sess.trainer.advance(2)
        sess.after_slice()
    assert len(store.board.entries()) == PER_MINUTE and len(sess.runs) == PER_MINUTE + 1
    assert sess.board_note == f"This run is not on the class board: at most {PER_MINUTE} runs a minute go on the " \
        "class board from one browser."  # fmt: skip


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"final_loss": -1.0}, "final loss -1.0 is not a finite number of at least 0"),
        ({"final_loss": math.nan}, "final loss nan"),
        ({"final_loss": math.inf}, "final loss inf"),
        ({"final_loss": None}, "final loss None"),
        ({"accuracy": 1.5}, "accuracy 1.5 is not between 0 and 1"),
        ({"hidden": 0}, "hidden_size"),
        ({"lr": -0.1}, "learning_rate"),
        ({"stage": "<script>"}, "stage"),
        ({"epochs": 10**9}, "epochs"),
        ({"status": RunState.RUNNING}, "status 'running'"),
        ({"epochs_done": 101}, "101 epochs done of 100"),
        ({"epochs_done": 50}, "50 epochs done of 100 for a run that is done"),
        ({"data": "/home/student/secret.npz"}, "data '/home/student/secret.npz' is not one of"),
        ({"name": "x" * (MAX_NAME + 1)}, f"at most {MAX_NAME} characters"),
    ],
)
def test_impossible_values_are_refused_saying_which(open_store, change, reason):
    store = open_store()
    with pytest.raises(BoardError) as refused:
        store.board.post("b", dataclasses.replace(RUN, **change))
    assert reason in str(refused.value)
    assert store.board.entries() == []


def test_a_browser_names_its_own_run_as_plain_text_and_never_anothers(open_store):
    store = open_store()
    mine, theirs = store.board.post("me", RUN), store.board.post("them", RUN)
    html = "<b>Ada</b><script>"
    assert store.board.name("me", mine, f"  {html}  ") == html
    with pytest.raises(BoardError, match="only a run of your own"):
        store.board.name("me", theirs, "mine now")
    with pytest.raises(BoardError, match=f"at most {MAX_NAME} characters; this one has 60"):
        store.board.name("me", mine, "y" * 60)
    with pytest.raises(BoardError, match="control characters or line breaks"):
        store.board.name("me", mine, "two\nlines")
    names = {entry.id: entry.name for entry in store.board.entries()}
    assert names == {mine: html, theirs: ""}, "kept exactly as typed, and the other run untouched"


def test_without_a_lecturer_key_no_one_starts_a_new_round(open_store):
    store = open_store()
    store.board.post("b", RUN)
    for key in (None, ""):
        with pytest.raises(BoardError, match="no lecturer key was set when this server started"):
            store.board.new_round("", key)
    assert len(store.board.entries()) == 1 and store.board.round() == 1


def test_the_lecturer_key_starts_a_new_round_and_histories_stay(open_store):
    store = open_store()
    sess = TrainingSession(store, "student", "s")
    sess.train(TrainConfig(hidden_size=8, epochs=3))
    sess.trainer.advance(3)
    sess.after_slice()
    with pytest.raises(BoardError, match="not the lecturer key"):
        store.board.new_round(KEY[:-1], KEY)
    assert len(store.board.entries()) == 1
    assert store.board.round() == 1 and store.board.new_round(KEY, KEY) == 2
    assert store.board.entries() == [] and store.board.own("student") == []
    assert len(store.runs("student")) == 1, "the run stays in its browser's history"
    store.board.post("student", RUN)
    assert [e.epochs for e in store.board.entries()] == [100], "new runs go on the new round's board"
    assert open_store().board.round() == 2, "every process sees the same round"


def test_wrong_keys_are_limited_per_process(open_store):
    board = open_store().board
    for _ in range(KEY_TRIES):
        with pytest.raises(BoardError, match="not the lecturer key"):
            board.new_round("guess", KEY)
    with pytest.raises(BoardError, match=f"{KEY_TRIES} wrong keys were tried on this server in the last minute"):
        board.new_round(KEY, KEY)
    assert board.round() == 1


def test_board_entries_expire_with_the_store(open_store):
    open_store().board.post("b", RUN)
    time.sleep(0.05)
    store = open_store(ttl_s=0.01)
    store.board.post("c", RUN)
    assert len(store.board.entries()) == 1


def test_the_csv_holds_every_entry_and_no_formula(open_store):
    store = open_store()
    store.board.post("a", dataclasses.replace(RUN, name="=HYPERLINK(1)"))
    store.board.post("b", dataclasses.replace(RUN, stage="numpy", lr=1e-6, accuracy=0.5, data="digits"))
    rows = list(csv.DictReader(io.StringIO(csv_text(store.board.entries()))))
    assert [(r["stage"], float(r["lr"]), r["accuracy"], r["status"], r["name"]) for r in rows] == [
        ("numpy", 1e-6, "0.5", "done", ""),
        ("nn", 1e-3, "", "done", "'=HYPERLINK(1)"),
    ]
    assert "browser" not in rows[0] and "token" not in rows[0]


@pytest.mark.parametrize(
    ("source", "shown"),
    [("random", "random"), ("mnist5k", "mnist5k"), ("mnist:/data/mnist", "mnist"), ("upload:a.npz", "upload"),
     ("/home/x/data.csv", "file")],
)  # fmt: skip
def test_the_board_names_data_without_paths(source, shown):
    assert board_data(source) == shown
