"""URL settings and the per-viewer session, without a browser."""

import threading

from twolayer import TrainConfig
from twolayer.serve.links import DEFAULTS, nearest, parse_query, to_query
from twolayer.serve.session import SlotPool, TrainingSession, run_slice
from twolayer.train.config import LEARNING_RATES
from twolayer.train.state import RunState


def test_query_round_trip_keeps_only_non_defaults():
    settings = {**DEFAULTS, "stage": "nn", "hidden": 32, "lr": 3e-5, "seed": 9, "present": True, "hide": ("seed",)}
    settings["lead"] = True  # a leading page's link leads again on a reload
    query = to_query(settings)
    assert query == {
        "stage": "nn", "hidden": "32", "lr": "3e-05", "seed": "9", "present": "1", "hide": "seed", "lead": "1"
    }  # fmt: skip
    parsed, warnings = parse_query(query)
    assert warnings == []
    assert {k: parsed[k] for k in query} == {k: settings[k] for k in query}


def test_lecture_learning_rate_is_left_out_of_the_link():
    assert "lr" not in to_query({**DEFAULTS, "stage": "nn", "lr": 1e-4})
    assert to_query({**DEFAULTS, "stage": "nn", "lr": 1e-6})["lr"] == "1e-06"


def test_an_upload_is_never_put_into_a_link():
    assert "data" not in to_query({**DEFAULTS, "data": "upload"})


def test_bad_queries_fall_back_with_a_warning_each():
    parsed, warnings = parse_query({"hidden": ["8", "16"], "epochs": "0", "lr": "inf", "hide": "seed,nope"})
    assert parsed["hidden"] == 16 and parsed["epochs"] == 500 and parsed["lr"] is None and parsed["hide"] == ()
    assert warnings == [
        "The link gives 'hidden' 2 times; the last one is used.",
        "The link's epochs='0' is not allowed (a whole number from 1 to 100,000); the default is used.",
        "The link's lr='inf' is not allowed (a number from 1e-08 to 1); the default is used.",
        "The link's hide='seed,nope' is not allowed (a comma-separated list of setting names such as seed,batch); "
        "the default is used.",
    ]


def test_an_overlong_query_is_ignored_whole():
    parsed, warnings = parse_query({"stage": "nn", "junk": "x" * 10_000})
    assert parsed == DEFAULTS
    assert warnings == [
        "The link's settings are 10,011 characters long (at most 2,000); all settings are at their defaults."
    ]


def test_nearest_snaps_on_a_log_scale():
    assert nearest(LEARNING_RATES, 1e-6) == 1e-6
    assert nearest(LEARNING_RATES, 4e-4) == 5e-4
    assert nearest(LEARNING_RATES, 3.4e-4) == 3e-4
    assert nearest(LEARNING_RATES, 1e-12) == 1e-8


def test_session_train_pause_resume_and_archive():
    config = TrainConfig(stage="tensor", epochs=30)
    sess = TrainingSession()
    assert sess.state is RunState.READY
    sess.step(config)
    assert sess.state is RunState.PAUSED and sess.trainer.epoch == 1
    sess.train(config)
    assert sess.state is RunState.RUNNING
    pool = SlotPool(1)
    while sess.playing:
        assert run_slice(sess, pool, 0.01)
    assert sess.state is RunState.DONE and sess.trainer.epoch == 30
    assert [run.status for run in sess.runs] == [RunState.DONE] and len(sess.runs[0].losses) == 30
    assert sess.needs_confirmation(config.replace(hidden_size=8)) is False, "a finished run needs no confirmation"
    sess.train(config.replace(hidden_size=8))
    assert sess.trainer.config.hidden_size == 8 and sess.trainer.epoch == 0
    sess.step(config.replace(hidden_size=8))
    assert sess.needs_confirmation(config) is True
    sess.reset()
    assert sess.state is RunState.READY and len(sess.runs) == 2
    assert (sess.runs[1].status, sess.runs[1].stopped_at) == (RunState.STOPPED, 1)


def test_session_keeps_at_most_eight_runs():
    sess = TrainingSession()
    for seed in range(10):
        sess.step(TrainConfig(stage="numpy", epochs=5, seed=seed))
        sess.reset()
    assert len(sess.runs) == 8 and sess.runs[0].label.startswith("#3 ")


def test_slot_pool_refuses_when_full_and_frees_after():
    pool = SlotPool(1)
    held = threading.Event()
    release = threading.Event()

    def hold():
        with pool.slot(timeout=1) as acquired:
            assert acquired
            held.set()
            release.wait(5)

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(5)
    with pool.slot(timeout=0.05) as acquired:
        assert acquired is False
    release.set()
    thread.join()
    with pool.slot(timeout=0.05) as acquired:
        assert acquired is True


def test_a_kept_run_ends_where_the_run_ended_and_names_its_settings():
    from twolayer.train.export import past_run_csv

    sess = TrainingSession()
    config = TrainConfig(stage="numpy", epochs=5003, hidden_size=1, batch_size=1, seed=4)
    sess.train(config)
    sess.trainer.advance(5003)
    sess.after_slice()
    [run] = sess.runs
    assert run.epochs_completed == 5003 and run.epochs[-1] == 5002 and len(run.epochs) <= 2001
    assert run.losses[-1] == sess.trainer.history.column("loss")[-1]
    assert run.label == "#1 numpy, H=1, lr=1e-06, batch 1, seed 4, random"
    text = past_run_csv(run)
    assert text.startswith("# #1 numpy, H=1, lr=1e-06, batch 1, seed 4, random: done; stage=numpy hidden=1 ")
    assert text.splitlines()[1] == "epoch,loss" and len(text.splitlines()) == 2 + len(run.epochs)


def test_retrain_replaces_the_run_just_started_without_keeping_it():
    sess = TrainingSession()
    sess.train(TrainConfig(epochs=3))
    sess.trainer.advance(3)
    sess.after_slice()
    assert len(sess.runs) == 1
    sess.retrain(TrainConfig(epochs=3, hidden_size=128))
    assert sess.runs == [] and sess.playing and sess.trainer.config.hidden_size == 128
    sess.trainer.advance(3)
    sess.after_slice()
    assert [run.config.hidden_size for run in sess.runs] == [128]
