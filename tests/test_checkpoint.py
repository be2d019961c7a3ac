"""Checkpoints: a run saved anywhere resumes to the bit in every stage; a blob that is not one, or whose data is gone
or changed, is refused saying why."""

from __future__ import annotations

import pickle
import struct
from array import array

import numpy as np
import pytest

from tests.datafiles import npz_bytes
from twolayer import TrainConfig, Trainer
from twolayer.data.files import load_npz
from twolayer.data.uploads import read_uploads, upload_source
from twolayer.train.checkpoint import KINDS, REBUILT, CannotResume, CheckpointError, data_digest, dump, restore
from twolayer.train.packing import MAGIC, Packer
from twolayer.train.stages import STAGES, stage_spec
from twolayer.train.state import RunState

# Each stage once, and the optimizer stage with Adam (the lecture's) and with SGD with momentum.
RUNS = [
    pytest.param(stage, optimizer, id=f"{stage}-{optimizer}" if stage_spec(stage).has_optimizer else stage)
    for stage in STAGES
    for optimizer in (("adam", "momentum") if stage_spec(stage).has_optimizer else ("adam",))
]
# Records pinned to the count's own spacing for these runs: on a busy machine the clock would thin them, differently in
# each run (tests/test_record_spacing.py resumes a run the clock spaces).
FULL_BATCH = {"data": "random", "hidden_size": 16, "epochs": 12, "stats_every": 2}  # one step an epoch on all 64 rows
MINI_BATCH = {"data": "digits", "hidden_size": 16, "batch_size": 32, "epochs": 3, "stats_every": 1}  # 45 steps an epoch


def without_clock(trainer: Trainer) -> bytes:
    """The trainer's checkpoint with its wall-clock times zeroed: every other bit of two runs of the same steps
    is equal, records, generators, weights, gradients and optimizer state alike."""
    trainer.train_seconds = trainer.record_seconds = trainer._record_last_seconds = 0.0
    trainer.history.columns["seconds"] = array("d", [0.0]) * len(trainer.history)
    return dump(trainer)


def cut(config: TrainConfig, epochs: int, steps: int = 0) -> Trainer:
    """A run paused after `epochs` whole epochs and `steps` mini-batch steps of the next."""
    trainer = Trainer(config)
    trainer.advance(epochs)
    for _ in range(steps):
        trainer.advance(1, time_budget=0.0)  # one step, the epoch left part way
    return trainer


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("batches", ["full", "mini"])
@pytest.mark.parametrize("stage, optimizer", RUNS)
def test_a_run_restored_anywhere_ends_bit_for_bit_as_the_run_left_alone(stage, optimizer, dtype, batches):
    settings, points = (FULL_BATCH, [(0, 0), (5, 0)]) if batches == "full" else (MINI_BATCH, [(1, 0), (1, 7)])
    config = TrainConfig(stage=stage, optimizer=optimizer, dtype=dtype, **settings)
    alone = Trainer(config)
    alone.advance(config.epochs)
    assert alone.status is RunState.DONE
    left_alone = without_clock(alone)
    for epochs, steps in points:
        original = cut(config, epochs, steps)
        assert (original._partial is not None) == (steps > 0)
        blob = dump(original)
        restored = restore(blob)
        assert dump(restored) == blob, "every attribute restored as it was, wall-clock times too"
        for name, param in restored.stage.params().items():
            assert restored.stage.host(param).dtype == np.dtype(dtype), f"{name} kept in the run's dtype"
        seconds_before = original.history.column("seconds")
        original.advance(config.epochs)
        restored.advance(config.epochs)
        assert restored.history.column("seconds")[: len(seconds_before)] == seconds_before
        assert restored.history.column("loss") == alone.history.column("loss")
        assert without_clock(restored) == without_clock(original) == left_alone, (
            f"restored after {epochs} epochs and {steps} steps: the run differs from the one left alone"
        )


def test_a_restored_run_holds_what_the_original_held():
    config = TrainConfig(stage="optim", data="digits", hidden_size=16, batch_size=32, epochs=4)
    original = cut(config, 2, 5)
    restored = restore(dump(original))
    assert (restored.epoch, restored.status, restored.started) == (2, RunState.PAUSED, True)
    assert restored._partial.start == 5 * 32 and np.array_equal(restored._partial.order, original._partial.order)
    assert restored._shuffle_rng.bit_generator.state == original._shuffle_rng.bit_generator.state
    assert restored.records() == original.records() and restored.evals.rows() == original.evals.rows()
    assert [epoch for epoch, _ in restored.histograms.snapshots] == [e for e, _ in original.histograms.snapshots]
    steps = 2 * -(-len(original.data.x_train) // 32) + 5  # two epochs of 45 steps and five more
    saved, now = original.stage.optimizer.state_dict()["state"], restored.stage.optimizer.state_dict()["state"]
    assert [float(saved[i]["step"]) for i in saved] == [float(now[i]["step"]) for i in now] == [steps] * 4
    for (name, grad), again in zip(original.stage.grads().items(), restored.stage.grads().values(), strict=True):
        assert np.array_equal(grad.numpy(), again.numpy()), f"the last step's gradient of {name}"
    x, _ = restored.next_batch()
    assert np.array_equal(x.numpy(), original.next_batch()[0].numpy()), "the same next mini-batch"


def test_a_diverged_run_stays_diverged():
    trainer = Trainer(TrainConfig(stage="numpy", hidden_size=16, epochs=50, learning_rate=1.0))
    trainer.advance(50)
    restored = restore(dump(trainer))
    assert restored.status is RunState.DIVERGED and restored.finished
    assert restored.diverged_at == trainer.diverged_at and isinstance(restored.diverged_at, tuple)
    assert restored.advance(5) == 0


def test_weights_are_saved_in_their_own_dtype_and_the_data_is_not_saved():
    trainer = Trainer(TrainConfig(stage="tensor", dtype="float32"))  # the lecture's size: H=100, 64 rows
    trainer.advance(3)
    blob = dump(trainer)
    for param in trainer.stage.params().values():
        assert param.numpy().tobytes() in blob, "float32 weights as their own bytes"
    assert trainer.data.x_train.tobytes() not in blob
    weights = sum(p.numel() * 4 for p in trainer.stage.params().values())  # 313,600 + 4,000 bytes
    start = sum(w.nbytes for w in trainer.initial_weights.values())  # float64: twice that
    assert weights == 317_600 and start == 635_200
    # The weights, their last gradients, the start, samples for the histograms, the weight path (in the run's
    # float32) and a few kilobytes of the rest.
    records = sum(v.nbytes for _, snap in trainer.histograms.snapshots for v in snap.values())
    records += len(trainer.path) * weights
    assert 2 * weights + start + records < len(blob) < 2 * weights + start + records + 20_000


def corrupt(blob: bytes, at: int) -> bytes:
    """`blob` with one bit flipped at byte `at`."""
    return blob[:at] + bytes([blob[at] ^ 1]) + blob[at + 1 :]


@pytest.fixture(scope="module")
def blob() -> bytes:
    trainer = Trainer(TrainConfig(stage="optim", hidden_size=8, epochs=10))
    trainer.advance(4)
    return dump(trainer)


@pytest.mark.parametrize(
    "bad, message",
    [
        (lambda b: b[: len(b) // 2], r"cut short: [\d,]+ bytes where its header announces [\d,]+"),
        (lambda b: b[:30], r"cut short: 30 bytes, fewer than its header's 44"),
        (lambda b: b + b"\0", r"longer than it says"),
        (lambda b: corrupt(b, len(b) - 1000), r"damaged: its contents do not match their checksum"),
        (lambda b: corrupt(b, len(MAGIC) + 30), r"damaged"),  # in the manifest
        (lambda b: b"", r"not a twolayer checkpoint: 0 bytes"),
        (lambda b: pickle.dumps({"w1": [1.0]}), r"not a twolayer checkpoint: \d+ bytes beginning b'\\x80"),
        (lambda b: b"PK\x03\x04" + b"\0" * 100, r"not a twolayer checkpoint: 104 bytes beginning b'PK"),
        (
            lambda b: MAGIC + struct.pack("<I", 2) + b[len(MAGIC) + 4 :],
            r"written in format 2; this twolayer reads format 1",
        ),
    ],
    ids=["truncated", "header-only", "trailing", "flipped-bit", "flipped-manifest", "empty", "pickle", "zip", "v2"],
)
def test_a_blob_that_is_no_checkpoint_is_refused_saying_what_is_wrong(blob, bad, message):
    with pytest.raises(CheckpointError, match=message) as refused:
        restore(bad(blob))
    assert not isinstance(refused.value, CannotResume)


def forged(trainer: Trainer, first_dtype: str | None = None, **changes) -> bytes:
    """A blob with a right checksum like `trainer`'s checkpoint, as another writer could make one: its trainer's
    attributes changed to the JSON nodes `changes`, its first array's dtype said to be `first_dtype`."""
    packer = Packer(KINDS)
    held = {name: packer.add(value) for name, value in vars(trainer).items() if name not in REBUILT}
    stage = packer.add(trainer.stage.state())
    if first_dtype is not None:
        packer.layouts[0] = (first_dtype, packer.layouts[0][1])
    manifest = {"config": trainer.config.to_dict(), "data_sha256": data_digest(trainer.data), "stage": stage}
    return packer.pack({**manifest, "trainer": {**held, **changes}})


def test_a_sound_blob_naming_a_kind_it_does_not_know_is_refused_without_making_one():
    trainer = Trainer(TrainConfig(hidden_size=8, epochs=5))
    assert restore(forged(trainer)).epoch == 0, "the forger writes what restore reads"
    with pytest.raises(CheckpointError, match=r"does not read: a value does not read: KeyError\('Popen'\)"):
        restore(forged(trainer, history={"$object": ["Popen", {"args": "touch /tmp/owned"}]}))
    with pytest.raises(CheckpointError, match=r"its manifest does not read: an array of object shaped \(784, 8\)"):
        restore(forged(trainer, first_dtype="|O"))
    with pytest.raises(CheckpointError, match=r"a value does not read: .*'default_rng' is no bit generator"):
        restore(forged(trainer, _shuffle_rng={"$generator": {"$dict": [["bit_generator", "default_rng"]]}}))


def test_a_checkpoint_of_another_version_of_the_trainer_is_refused():
    trainer = Trainer(TrainConfig(hidden_size=8, epochs=5))
    trainer.advance(2)
    trainer.weight_path = []  # a recorder this twolayer's Trainer does not make
    with pytest.raises(CheckpointError, match=r"another version of twolayer: it holds \['weight_path'\]"):
        restore(dump(trainer))
    del trainer.weight_path, trainer._partial
    with pytest.raises(CheckpointError, match=r"holds nothing more and lacks \['_partial'\]"):
        restore(dump(trainer))


def test_a_recorder_of_a_class_it_does_not_know_names_itself_and_kinds():
    class WeightPath:
        def __init__(self):
            self.points = [np.zeros(3)]

    trainer = Trainer(TrainConfig(hidden_size=8, epochs=5))
    trainer.weight_path = WeightPath()
    with pytest.raises(TypeError, match=r"the trainer's weight_path: cannot pack a .*WeightPath: .* goes in KINDS"):
        dump(trainer)


def npz_run(path, seed: int = 0) -> Trainer:
    """A run on a .npz file at `path`, written with values drawn from `seed`."""
    rng = np.random.default_rng(seed)
    np.savez(path, x=rng.standard_normal((40, 6)), y=rng.standard_normal((40, 2)))
    trainer = Trainer(TrainConfig(data=str(path), hidden_size=4, batch_size=16, epochs=6))
    trainer.advance(2)
    return trainer


def test_a_run_whose_data_changed_or_went_is_refused_saying_why(tmp_path):
    path = tmp_path / "data.npz"
    blob = dump(npz_run(path))
    assert restore(blob).epoch == 2, "the file as it was: resumed"
    npz_run(path, seed=1)
    with pytest.raises(CannotResume, match=rf"data \({path}\) is not what it trained on: the source changed"):
        restore(blob)
    with pytest.raises(CannotResume, match="is not what it trained on"):
        restore(blob, data=load_npz(path))
    with pytest.raises(CannotResume, match=rf"trained on {path}: a checkpoint from the store reads no files"):
        restore(blob, files=False)
    path.unlink()
    with pytest.raises(CannotResume, match=rf"the run's data cannot be read again: .*{path.name}"):
        restore(blob)


def uploaded(seed: int = 3) -> dict[str, bytes]:
    """An upload of one .npz file, mine.npz, of 30 rows of values drawn from `seed`."""
    rng = np.random.default_rng(seed)
    return {"mine.npz": npz_bytes(x=rng.standard_normal((30, 5)), y=rng.integers(0, 3, 30))}


def upload_run() -> Trainer:
    """A run on `uploaded()`, paused one step into its first epoch."""
    config = TrainConfig(data=upload_source(["mine.npz"]), hidden_size=4, batch_size=8, epochs=4)
    trainer = Trainer(config, data=read_uploads(uploaded()))
    trainer.advance(1, time_budget=0.0)
    return trainer


def test_a_run_on_an_upload_resumes_only_with_the_same_upload_given_again():
    trainer = upload_run()
    blob = dump(trainer)
    with pytest.raises(CannotResume, match=r"an upload \(mine.npz\) that left with the page .*upload the same file"):
        restore(blob)
    with pytest.raises(CannotResume, match="is not what it trained on"):
        restore(blob, data=read_uploads(uploaded(seed=4)))
    again = restore(blob, data=read_uploads(uploaded()))  # read anew: another object, the same values
    trainer.advance(4)
    again.advance(4)
    assert without_clock(again) == without_clock(trainer)
