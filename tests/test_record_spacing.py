"""Records (norms and snapshots) spaced by their count and by the trainer's own clock: dear records keep to their share
of the training time, the first and last epochs always record, and a run the clock spaces resumes to the bit."""

import types

import pytest

import twolayer.train.trainer as trainer_module
from twolayer import TrainConfig, Trainer
from twolayer.train.checkpoint import dump, restore
from twolayer.train.trainer import MAX_RECORDS, RECORD_FREE_SECONDS, RECORD_SHARE, record_spacing

EPOCH_SECONDS = 1 / 1024  # what each step takes by the fake clock: sums of it are exact, whatever the clock reads
RECORD_SECONDS = 5 * EPOCH_SECONDS  # a dear record: one per 3,200 rows would take 10% of the training time


@pytest.fixture
def clock(monkeypatch):
    """The trainer's clock, moved only by the steps and records that `timed` wraps: the same in every run."""
    fake = types.SimpleNamespace(now=0.0)
    fake.perf_counter = lambda: fake.now
    monkeypatch.setattr(trainer_module, "time", fake)
    return fake


def timed(trainer: Trainer, clock, record_seconds: float) -> Trainer:
    """`trainer`, each of whose steps takes EPOCH_SECONDS and each of whose records `record_seconds` by `clock`."""
    step, norms = trainer.stage.step, trainer.stage.norms

    def slow_step(x, y):
        clock.now += EPOCH_SECONDS
        return step(x, y)

    def slow_norms(before=None):
        clock.now += record_seconds
        return norms(before)

    trainer.stage.step, trainer.stage.norms = slow_step, slow_norms
    return trainer


def recorded(trainer: Trainer) -> tuple[list[int], list[int]]:
    """The epochs of the norms and of the snapshots."""
    return [int(e) for e in trainer.stats.column("epoch")], [e for e, _ in trainer.histograms.snapshots]


def test_cheap_records_keep_the_counts_spacing(clock):
    trainer = timed(Trainer(TrainConfig(epochs=500)), clock, record_seconds=0.0)
    trainer.advance(500)
    assert recorded(trainer) == ([0, *range(49, 500, 50)], list(range(0, 501, 50)))


@pytest.mark.parametrize("stage", ["numpy", "optim"])
@pytest.mark.parametrize("epochs", [500, 2000])
def test_dear_records_stay_within_their_share_by_the_trainers_own_clock(clock, stage, epochs):
    trainer = timed(Trainer(TrainConfig(stage=stage, epochs=epochs)), clock, RECORD_SECONDS)
    trainer.advance(epochs)
    norms, snapshots = recorded(trainer)
    assert norms[0] == 0 and norms[-1] == epochs - 1, "the first and last epochs always record"
    assert snapshots[0] == 0 and snapshots[-1] == epochs, "the starting weights and the last"
    assert [n + 1 for n in norms[1:]] == snapshots[1:], "norms and a snapshot, after the same epochs"
    every = record_spacing(epochs, 64)
    assert all(s % every == 0 for s in snapshots[:-1]) and len(snapshots) <= MAX_RECORDS + 2
    assert trainer.train_seconds == pytest.approx(epochs * EPOCH_SECONDS)
    assert trainer.record_seconds == pytest.approx(len(norms) * RECORD_SECONDS)
    assert trainer.record_seconds <= max(RECORD_SHARE * trainer.train_seconds, RECORD_FREE_SECONDS)
    assert len(norms) >= (3 if epochs == 2000 else 2), "a long enough run still records between the first and last"


def test_a_run_the_clock_spaces_resumes_deciding_as_the_run_left_alone(clock):
    config = TrainConfig(stage="optim", epochs=2000)
    alone = timed(Trainer(config), clock, RECORD_SECONDS)
    alone.advance(2000)
    for epochs in (1, 60, 700, 1500):
        original = timed(Trainer(config), clock, RECORD_SECONDS)
        original.advance(epochs)
        restored = timed(restore(dump(original)), clock, RECORD_SECONDS)
        assert restored._record_due == original._record_due
        restored.advance(2000)
        assert recorded(restored) == recorded(alone), f"resumed after {epochs} epochs"
        assert dump(restored) == dump(alone), f"resumed after {epochs} epochs: the run differs from the one left alone"
