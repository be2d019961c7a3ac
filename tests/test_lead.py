"""The lecturer leads, the class follows: the key and its guesses, frames rebuilt into the lecturer's run, the hub's
fan-out to a process's followers, and a student's take-over at an epoch, bit for bit."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from twolayer.serve.frames import Frame, Mirror, Sender, fork, retune
from twolayer.serve.hub import Hub
from twolayer.serve.lead import GUESS_WINDOW_S, GUESSES, KeyGate, LeadError
from twolayer.serve.lecture import CHECKPOINT_EVERY_S, Lecture
from twolayer.train.checkpoint import dump
from twolayer.train.config import TrainConfig
from twolayer.train.state import RunState
from twolayer.train.trainer import Trainer

# Adam keeps a state of its own: a take-over that lost it would step differently at once.
CONFIG = TrainConfig(stage="optim", data="digits", hidden_size=16, batch_size=64, epochs=40)
LECTURE = TrainConfig(hidden_size=8, epochs=300)  # the lecture's random data, full batch


def losses(trainer: Trainer) -> list[float]:
    return trainer.history.column("loss")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_key_leads_and_is_kept_for_that_browser_alone():
    gate = KeyGate()
    token = gate.check("s3cret", "s3cret", "browser-a")
    assert gate.remembered(token, "s3cret", "browser-a")
    assert not gate.remembered(token, "s3cret", "browser-b"), "another browser cannot lead with a copied token"
    assert not gate.remembered(token, "changed", "browser-a"), "a new key ends the old tokens"
    with pytest.raises(LeadError, match="^that is not the lecturer key$"):
        gate.check("s3cre", "s3cret", "browser-a")
    with pytest.raises(LeadError, match="this server has no lecturer key"):
        gate.check("anything", None, "browser-a")


def test_a_guesser_locks_out_only_itself():
    clock = Clock()
    gate = KeyGate(clock)
    for guess in range(GUESSES):
        with pytest.raises(LeadError, match="not the lecturer key"):
            gate.check(f"guess-{guess}", "s3cret", "guesser")
    with pytest.raises(LeadError, match=f"{GUESSES} wrong keys from this browser: try again in 10 minutes"):
        gate.check("s3cret", "s3cret", "guesser")  # even the right key, until its window has passed
    assert gate.check("s3cret", "s3cret", "lecturer"), "the lecturer's browser is not held up"
    clock.now += GUESS_WINDOW_S + 1
    assert gate.check("s3cret", "s3cret", "guesser")


def test_frames_rebuild_the_lecturers_records_and_notice_a_gap():
    trainer, sender, mirror = Trainer(CONFIG), Sender("run-1"), Mirror()
    frames = []
    for _ in range(4):
        trainer.advance(5)
        frames.append(Frame.loads(sender.frame(trainer, "running", "status", tab="Training").dumps()))
    for frame in frames:
        assert mirror.apply(frame)
    assert losses(mirror.trainer) == losses(trainer)
    assert mirror.trainer.evaluations().keys() == trainer.evaluations().keys()
    assert np.array_equal(mirror.trainer.evaluations()["test_accuracy"], trainer.evaluations()["test_accuracy"])
    assert mirror.trainer.epoch == 20 and mirror.trainer.status is RunState.RUNNING
    late = Mirror()
    late.apply(frames[0])
    assert not late.apply(frames[2]), "a frame whose records start beyond the mirror's: frames were missed"


def test_a_take_over_at_epoch_k_goes_on_as_the_lecturers_run_bit_for_bit(open_store):
    store = open_store()
    lecturer = Trainer(CONFIG)
    lecture = Lecture(store.lead, store.lead.take())
    lecture.publish(lecturer, RunState.READY, "Ready")  # a checkpoint at epoch 0
    lecturer.advance(7)
    lecture.publish(lecturer, RunState.PAUSED, "Paused")  # paused: checkpointed where it stands
    lecturer.advance(5)
    lecture.publish(lecturer, RunState.RUNNING, "Running")  # running: within CHECKPOINT_EVERY_S, none
    k = lecturer.epoch
    run = lecture._run[1].run
    found = store.lead.checkpoint_at(run, k)
    assert found is not None and found[0] == 7, "the latest checkpoint at or before the epoch shown"
    student = fork(found[1], k)
    assert student.epoch == k
    assert losses(student) == losses(lecturer), "the history up to k is the lecturer's"
    lecturer.advance(1)
    student.advance(1)
    assert losses(student)[k] == losses(lecturer)[k], "the next epoch too, bit for bit"
    for name, weights in lecturer.weights().items():
        assert np.array_equal(student.weights()[name], weights), name


def test_a_take_over_goes_on_with_the_students_learning_rate_or_optimizer():
    lecturer = Trainer(CONFIG)
    lecturer.advance(3)
    student = fork(dump(lecturer), 3)
    assert not retune(student, CONFIG.replace(hidden_size=32)), "a new network is a new run, not a take-over"
    assert retune(student, CONFIG.replace(learning_rate=CONFIG.learning_rate * 10))
    lecturer.advance(1)
    student.advance(1)
    assert student.epoch == 4 and losses(student)[:3] == losses(lecturer)[:3]
    assert losses(student)[3] != losses(lecturer)[3], "the new rate applied from there"
    assert retune(student, student.config.replace(optimizer="sgd"))
    student.advance(1)
    assert student.epoch == 5 and student.config.optimizer == "sgd"


def test_a_second_lead_takes_over_and_the_first_is_told(open_store):
    store = open_store()
    first = Lecture(store.lead, store.lead.take())
    trainer = Trainer(LECTURE)
    first.publish(trainer, RunState.READY, "Ready")
    second = Lecture(store.lead, store.lead.take())
    with pytest.raises(LeadError, match="another page leads the class now"):
        first.publish(trainer, RunState.READY, "Ready")
    second.publish(trainer, RunState.READY, "Ready")
    assert store.lead.leader().token == second.token


def test_the_hub_hands_every_frame_to_all_its_followers_with_one_read_per_process(open_store, store_location):
    store = open_store()
    listen = store_location if store_location.startswith("postgresql") else None
    channel = open_store().lead
    reads: list[tuple[str, str]] = []  # (what, the thread that asked) for every read of the store
    for name in ("frames_since", "checkpoint_at"):
        read = getattr(channel, name)
        setattr(
            channel,
            name,
            lambda *args, _read=read, _name=name: (
                reads.append((_name, threading.current_thread().name)),
                _read(*args),
            )[1],
        )
    hub = Hub(channel, "test-process", listen_url=listen, poll_s=0.05).start()
    lecture = Lecture(store.lead, store.lead.take())
    trainer = Trainer(LECTURE)
    seen: dict[int, list[int]] = {}
    done = threading.Event()

    def follow(number: int) -> None:
        with hub.following():
            version = 0
            while not done.is_set():
                version = hub.wait(version, timeout=0.2)
                with hub.lock:
                    if hub.mirror.frame is not None:
                        seen.setdefault(number, []).append(hub.mirror.frame.epoch)

    followers = [threading.Thread(target=follow, args=(n,)) for n in range(20)]
    try:
        for thread in followers:
            thread.start()
        hub.wait(0, timeout=5)  # its first read of the store
        del reads[:]
        started = time.monotonic()
        for _ in range(10):
            trainer.advance(30)
            lecture.publish(trainer, RunState.RUNNING, f"Running · epoch {trainer.epoch}")
            hub.wait(hub.version, timeout=2)
        for _ in range(50):
            with hub.lock:
                if hub.mirror.frame is not None and hub.mirror.frame.epoch == 300:
                    break
            hub.wait(hub.version, timeout=0.1)
        elapsed, counted = time.monotonic() - started, list(reads)  # the hub polls on until it stops
    finally:
        done.set()
        for thread in followers:
            thread.join()
        hub.stop()
    assert sorted(seen) == list(range(20)) and all(epochs[-1] == 300 for epochs in seen.values())
    assert losses(hub.mirror.trainer) == losses(trainer), "the run rebuilt from the frames: the lecturer's records"
    assert {thread for _, thread in counted} == {"twolayer-lead-hub"}, "the process's hub reads the store, no follower"
    checkpoints = sum(what == "checkpoint_at" for what, _ in counted)
    assert checkpoints <= 1 + elapsed / CHECKPOINT_EVERY_S, f"{checkpoints} checkpoints read for 10 frames"
    frame_reads = len(counted) - checkpoints
    if listen:
        assert frame_reads == 0, f"{frame_reads} reads of frames: each came in its notification"
    else:
        # The loop waits poll_s between reads, so it cannot read more often than that, however many follow.
        polls = elapsed / 0.05
        assert frame_reads <= polls + 1, f"{frame_reads} reads of frames in {polls:.0f} polls for 20 followers"
