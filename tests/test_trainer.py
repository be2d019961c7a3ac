"""The Trainer: resumable to the bit, isolated per run, bounded in memory, safe when the loss explodes."""

import math
import re
import subprocess
import sys

import numpy as np
import pytest

from twolayer import ConfigError, DeviceError, TrainConfig, Trainer
from twolayer.teach.advice import divergence_hint
from twolayer.teach.step_record import record_next_step
from twolayer.train.config import STAGES
from twolayer.train.devices import available_devices, resolve_device
from twolayer.train.state import RunState


def _all_records(trainer):
    return trainer.history.column("loss"), trainer.stats.rows(), trainer.weights()


@pytest.mark.parametrize("stage", STAGES)
def test_pausing_and_resuming_gives_a_bit_identical_history(stage):
    config = TrainConfig(stage=stage, stats_every=50)  # records pinned: the clock's spacing differs from run to run
    whole = Trainer(config)
    assert whole.advance(500) == 500
    pieces = Trainer(config)
    for n in (1, 7, 492):
        assert pieces.advance(n) == n
    loss_a, stats_a, weights_a = _all_records(whole)
    loss_b, stats_b, weights_b = _all_records(pieces)
    assert loss_a == loss_b, f"{stage}: paused run's losses differ from the uninterrupted run's"
    assert stats_a == stats_b
    for name in weights_a:
        assert np.array_equal(weights_a[name], weights_b[name]), f"{stage}: {name} differs"
    assert whole.status is pieces.status is RunState.DONE


def test_two_trainers_advanced_in_alternation_match_each_alone():
    configs = [TrainConfig(stage="nn", seed=1), TrainConfig(stage="optim", seed=2, optimizer="momentum")]
    alone = []
    for config in configs:
        trainer = Trainer(config)
        trainer.advance(60)
        alone.append(trainer.history.column("loss"))
    interleaved = [Trainer(config) for config in configs]
    for _ in range(20):
        for trainer in interleaved:
            trainer.advance(3)
    assert [t.history.column("loss") for t in interleaved] == alone


def test_global_seeds_do_not_change_a_run():
    import torch

    runs = []
    for global_seed in (0, 123):
        torch.manual_seed(global_seed)
        np.random.seed(global_seed)
        trainer = Trainer(TrainConfig(stage="optim", epochs=5))
        trainer.advance(5)
        runs.append(trainer.history.column("loss"))
    assert runs[0] == runs[1]


def test_same_seed_same_run_other_seed_other_run():
    def losses(seed):
        trainer = Trainer(TrainConfig(stage="tensor", seed=seed, epochs=3))
        trainer.advance(3)
        return trainer.history.column("loss")

    assert losses(5) == losses(5)
    assert losses(5) != losses(6)


def test_shared_init_starts_every_stage_from_the_same_weights():
    starts = [Trainer(TrainConfig(stage=stage, init="shared", bias=False)).weights() for stage in STAGES]
    for stage, weights in zip(STAGES[1:], starts[1:], strict=True):
        for name in ("w1", "w2"):
            np.testing.assert_allclose(weights[name], starts[0][name], rtol=1e-6, err_msg=f"{stage} {name}")


def test_divergence_stops_the_run_and_keeps_the_last_finite_state():
    trainer = Trainer(TrainConfig(stage="tensor", learning_rate=1e-3, epochs=100))
    ran = trainer.advance(100)
    assert trainer.status is RunState.DIVERGED
    assert ran == trainer.epoch + 1, "the diverging epoch runs but is not counted as completed"
    losses = trainer.history.column("loss")
    assert len(losses) == trainer.epoch and all(math.isfinite(v) for v in losses)
    assert all(np.isfinite(w).all() for w in trainer.weights().values())
    assert "learning rate of 0.001 is too high" in divergence_hint(trainer)
    assert trainer.advance(10) == 0, "a diverged run does not advance"


def test_time_budget_ends_a_slice_early():
    trainer = Trainer(TrainConfig(stage="numpy", epochs=100_000, hidden_size=1, batch_size=1))
    ran = trainer.advance(100_000, time_budget=0.05)
    assert 1 <= ran < 100_000
    assert trainer.status is RunState.PAUSED, "a run between two advance() calls is paused"


def test_history_stays_bounded_over_100k_epochs():
    trainer = Trainer(TrainConfig(stage="numpy", epochs=100_000, hidden_size=2, batch_size=2))
    trainer.advance(100_000)
    assert trainer.status is RunState.DONE
    assert len(trainer.history) == 100_000
    assert trainer.history.nbytes() == 100_000 * 3 * 8, "three float64 columns, nothing per row"
    assert len(trainer.stats) <= 51
    assert len(trainer.histograms.snapshots) <= 64
    assert trainer.histograms.snapshots[-1][0] == 100_000, "the final state is always kept"


def test_histograms_keep_bounded_samples_binned_over_one_range():
    trainer = Trainer(TrainConfig(stage="nn", epochs=20, stats_every=2))
    trainer.advance(20)
    hist = trainer.histograms
    epochs = [epoch for epoch, _ in hist.snapshots]
    assert epochs == list(range(0, 21, 2)), "the starting weights, then every stats_every epochs"
    for epoch, kept in hist.snapshots:
        assert kept["w1"].size == 2011, "every 39th of the 78,400 entries: at most 2,048 are kept"
        assert kept["b2"].size == 10, "small arrays are kept whole"
        assert ("grad_w1" in kept) == (epoch > 0), "gradients exist from the first step on"
    binned = trainer.histogram_history("w1")
    assert len(binned.edges) == hist.bins + 1 and [e for e, _ in binned.counts] == epochs
    assert all(counts.sum() == 2011 for _, counts in binned.counts)


@pytest.mark.parametrize(
    ("epochs", "rows", "spacing"),
    [
        (500, 64, 50),  # the lecture: one record per 3,200 rows of training
        (20, 64, 2),  # short runs still get 10 records
        (5, 64, 1),
        (50, 1024, 4),
        (100_000, 64, 2000),  # long runs: at most 50 records
        (20, 60_000, 1),  # big data: every epoch
    ],
)
def test_record_spacing_bounds_the_cost_and_the_count(epochs, rows, spacing):
    from twolayer.train.trainer import record_spacing

    assert record_spacing(epochs, rows) == spacing


@pytest.mark.parametrize("stage", STAGES)
def test_quiet_epochs_and_recording_epochs_give_the_records_of_one_epoch_at_a_time(stage):
    config = TrainConfig(stage=stage, epochs=60, stats_every=6)  # the count's own spacing, pinned against the clock
    fast = Trainer(config)
    fast.advance(60)
    slow = Trainer(config)
    for _ in range(60):
        slow.advance(1)
    assert fast.history.column("loss") == slow.history.column("loss")
    assert fast.history.column("epoch") == list(range(60))
    assert fast.stats.rows() == slow.stats.rows()
    assert [row["epoch"] for row in fast.stats.rows()] == [0, 5, 11, 17, 23, 29, 35, 41, 47, 53, 59]
    assert [epoch for epoch, _ in fast.histograms.snapshots] == [0, 6, 12, 18, 24, 30, 36, 42, 48, 54, 60]
    assert fast.train_seconds == pytest.approx(sum(fast.history.column("seconds")))


@pytest.mark.parametrize("stage", STAGES)
def test_update_ratio_is_the_last_steps_change_relative_to_the_weight(stage):
    # Mini-batches of 100 over the 1,437 digits rows: the ratio must describe the last step, not the epoch.
    config = TrainConfig(stage=stage, data="digits", batch_size=100, epochs=3, stats_every=1, dtype="float64")
    trainer = Trainer(config)
    trainer.advance(2)
    steps = []
    original = trainer.stage.step

    def step(x, y):
        steps.append(trainer.stage.weights())
        return original(x, y)

    trainer.stage.step = step
    trainer.advance(1)
    before, after = steps[-1], trainer.weights()
    row = trainer.stats.rows()[-1]
    assert row["epoch"] == 2
    for name in ("w1", "w2"):
        change = np.linalg.norm(after[name] - before[name]) / np.linalg.norm(after[name])
        assert row[f"update_ratio_{name}"] == pytest.approx(change, rel=1e-6), f"{stage}: {name}"
        assert row[f"weight_norm_{name}"] == pytest.approx(np.linalg.norm(after[name]), rel=1e-12)


def test_records_merge_losses_and_sparse_stats():
    trainer = Trainer(TrainConfig(stage="numpy", epochs=10, stats_every=4))
    trainer.advance(10)
    records = trainer.records()
    assert [r["epoch"] for r in records] == list(range(10))
    # the first epoch, every 4th completed epoch, and the last
    assert ["grad_norm_w1" in r for r in records] == [True, False, False, True, False, False, False, True, False, True]


def test_device_selection():
    assert available_devices()[0] == "cpu"
    assert resolve_device("cuda", "numpy") == "cpu", "the NumPy stage always runs on the CPU"
    if "cuda" not in available_devices():
        with pytest.raises(DeviceError, match="device='cuda' is not available on this machine"):
            Trainer(TrainConfig(stage="tensor", device="cuda"))
        assert resolve_device("auto", "tensor") in ("cpu", "mps")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("hidden_size", 0, "hidden_size=0 is not allowed: a whole number from 1 to 4,096"),
        ("hidden_size", 5000, "hidden_size=5000 is not allowed"),
        ("learning_rate", 0.0, "learning_rate=0.0 is not allowed: a finite number greater than 0"),
        ("learning_rate", float("nan"), "learning_rate=nan is not allowed"),
        ("learning_rate", float("inf"), "learning_rate=inf is not allowed"),
        ("epochs", 0, "epochs=0 is not allowed: a whole number from 1 to 100,000"),
        ("stage", "keras", "stage='keras' is not allowed: one of numpy, tensor, autograd, nn, optim"),
        ("optimizer", "lbfgs", "optimizer='lbfgs' is not allowed"),
        ("device", "tpu", "device='tpu' is not allowed: one of auto, cpu, cuda, mps"),
        ("dtype", "float16", "dtype='float16' is not allowed"),
    ],
)
def test_config_errors_name_the_field_value_and_what_is_allowed(field, value, message):
    with pytest.raises(ConfigError) as caught:
        TrainConfig(**{field: value})
    assert str(caught.value).startswith(message)
    assert caught.value.field == field


def test_config_defaults_follow_the_lecture():
    assert TrainConfig().learning_rate == 1e-6
    assert TrainConfig(stage="nn").learning_rate == 1e-4
    assert TrainConfig(stage="numpy", init="shared").learning_rate == 1e-4
    assert TrainConfig(stage="nn").bias is True and TrainConfig().bias is False
    assert TrainConfig(stage="numpy").replace(stage="optim").learning_rate == 1e-4
    with pytest.raises(ConfigError, match=r"only the stages with an nn Module \(nn, optim\) have biases"):
        TrainConfig(stage="numpy", bias=True)
    with pytest.raises(ConfigError, match="hidden size x rows per epoch x epochs must be at most"):
        TrainConfig(hidden_size=4096, batch_size=4096, epochs=1000)


def test_histogram_bins_follow_the_values_and_clip_only_far_outliers():
    from twolayer.train.history import Histograms, bin_samples

    rng = np.random.default_rng(3)
    hist = Histograms(bins=40)
    hist.record(0, {"w": rng.standard_normal(2_000).astype(np.float32)})
    hist.record(5, {"w": 10 * rng.standard_normal(2_000)})  # the weights spread out: the bins must follow
    binned = hist.over_time("w")
    assert binned.edges[0] < -25 and binned.edges[-1] > 25 and binned.outside == 0
    for (epoch, counts), (_, values) in zip(binned.counts, hist.snapshots, strict=True):
        expected, _ = np.histogram(values["w"], bins=binned.edges)
        assert counts.tolist() == expected.tolist(), f"epoch {epoch}: the counts are not those of the sample"
    far = np.concatenate([rng.standard_normal(1000), [1e30, -1e30, np.nan]])
    clipped = bin_samples([(0, far)], 40)
    assert clipped.edges[-1] < 10 and clipped.outside == 3 + 10, "1% in the tails, the far values and NaN"
    assert clipped.counts[0][1].sum() == 1002, "clipped values count in the end bins; NaN in none"


def test_change_since_the_start_is_what_moves_in_the_lecture_run():
    trainer = Trainer(TrainConfig(stage="numpy", epochs=50))
    trainer.advance(50)
    weights, change = trainer.histogram_now("w1"), trainer.histogram_now("w1", change=True)
    assert weights.edges[-1] - weights.edges[0] > 5, "randn weights span several units"
    span, moved = weights.edges[-1] - weights.edges[0], change.edges[-1] - change.edges[0]
    assert 0 < moved < span / 10, f"the lecture's steps move them by far less ({moved:.3f} against {span:.1f})"
    over_time = trainer.histogram_history("w1", change=True)
    zero_bin = np.searchsorted(over_time.edges, 0.0, side="right") - 1
    assert over_time.counts[0][1][zero_bin] == over_time.counts[0][1].sum() == 2011, "at the start the change is 0"


def test_reading_histograms_changes_no_later_record():
    config = TrainConfig(stage="autograd", epochs=30, seed=4, stats_every=3)  # the same records in both, by count
    looked, untouched = Trainer(config), Trainer(config)
    looked.advance(1)
    untouched.advance(1)
    now = looked.histogram_now("grad_w1")  # before any snapshot of the gradients
    from twolayer.train.history import sample

    assert now.counts[0][1].sum() == sample(np.empty(784 * 100)).size == 2011 and now.edges[0] < now.edges[-1]
    assert looked.histogram_history("grad_w1") is None, "a read records nothing"
    looked.advance(29)
    untouched.advance(29)
    mine, theirs = looked.histogram_history("grad_w1"), untouched.histogram_history("grad_w1")
    assert np.array_equal(mine.edges, theirs.edges)
    assert [(e, c.tolist()) for e, c in mine.counts] == [(e, c.tolist()) for e, c in theirs.counts]


def test_states_read_the_same_everywhere():
    trainer = Trainer(TrainConfig(epochs=3))
    assert trainer.status is RunState.READY
    trainer.advance(1)
    assert trainer.status is RunState.PAUSED and trainer.summary()["status"] == "paused"
    trainer.advance(2)
    assert trainer.status is RunState.DONE and trainer.summary()["status"] == "done"


def test_work_cap_counts_the_rows_of_real_data():
    with pytest.raises(ConfigError, match=r"here 4,096 x 1,438 x 100,000 = 589,004,800,000"):
        Trainer(TrainConfig(stage="nn", data="digits", hidden_size=4096, batch_size=1, epochs=100_000))


@pytest.mark.parametrize("stage", STAGES)
def test_weights_are_a_copy_not_a_view_of_the_live_tensors(stage):
    trainer = Trainer(TrainConfig(stage=stage, dtype="float64", epochs=2))
    trainer.advance(1)
    first = trainer.weights()
    kept = {name: w.copy() for name, w in first.items()}
    trainer.advance(1)
    for name, w in first.items():
        assert np.array_equal(w, kept[name]), f"{stage}: {name} changed under the caller after another epoch"


@pytest.mark.parametrize("stage", STAGES)
def test_training_leaves_the_starting_weights_as_they_were(stage):
    trainer = Trainer(TrainConfig(stage=stage, dtype="float64", epochs=3))
    start = {name: w.copy() for name, w in trainer.initial_weights.items()}
    trainer.advance(3)
    for name, w in trainer.initial_weights.items():
        assert np.array_equal(w, start[name]), f"{stage}: training wrote into the starting {name}"


@pytest.mark.parametrize("stage", STAGES)
def test_a_unit_made_dead_is_counted_dead_and_never_fires(stage):
    config = TrainConfig(stage=stage, data="digits", hidden_size=16, epochs=3, bias=False)
    probe = Trainer(config)
    weights = {name: w.copy() for name, w in probe.initial_weights.items()}
    weights["w1"][:, 5] = -np.abs(weights["w1"][:, 5]) - 0.01  # pixels are >= 0, so h of unit 5 is < 0 on every row
    trainer = Trainer(config, data=probe.data, weights=weights)
    trainer.advance(3)
    epochs, rates = trainer.firing_history()
    assert epochs[0] == 0 and epochs[-1] == 3 and rates.shape == (16, len(epochs))
    assert (rates[5] == 0).all(), "the dead unit fired"
    never = set(np.flatnonzero(rates[:, -1] == 0))  # on the watched rows, a sample of the training data
    assert 5 in never and 1 <= trainer.dead_units() <= len(never), "dead on all rows is dead on the sample too"


def test_firing_records_stay_bounded_over_a_long_run():
    trainer = Trainer(TrainConfig(stage="numpy", epochs=100_000, hidden_size=1, batch_size=1))
    trainer.advance(100_000)
    assert len(trainer.firing.rates) <= trainer.firing.max_records
    assert trainer.firing.nbytes() <= 64 * 4


@pytest.mark.parametrize("stage", STAGES)
def test_epochs_cut_by_the_time_budget_resume_to_the_same_history(stage):
    config = TrainConfig(stage=stage, data="digits", hidden_size=32, batch_size=16, epochs=3, seed=2)
    whole = Trainer(config)
    whole.advance(3)
    sliced = Trainer(config, data=whole.data)
    cuts = 0
    while not sliced.finished:
        before = sliced.epoch
        sliced.advance(3, time_budget=0.0)  # at most one step: every epoch is cut after each batch
        cuts += sliced.epoch == before
    assert cuts >= 3 * (len(whole.data.x_train) // 16 - 1), "the epochs were not cut between batches"
    assert sliced.history.column("loss") == whole.history.column("loss")
    for name, w in whole.weights().items():
        assert np.array_equal(sliced.weights()[name], w), f"{stage}: {name} differs after resuming mid-epoch"


def test_the_recorded_step_is_the_next_batch_even_mid_epoch():
    config = TrainConfig(stage="tensor", data="digits", hidden_size=8, batch_size=100, epochs=2, dtype="float64")
    trainer = Trainer(config)
    for _ in range(5):
        trainer.advance(2, time_budget=0.0)
    assert trainer._partial is not None and trainer._partial.start == 500
    x, _ = trainer.next_batch()
    expected = trainer.data.x_train[trainer._partial.order[500:600]]
    assert np.array_equal(x.numpy(), expected)
    recording = record_next_step(trainer)
    assert np.array_equal(recording.values["x"], expected)


def test_evaluation_is_spaced_to_a_tenth_of_training():
    from twolayer.train.trainer import evaluation_spacing

    assert evaluation_spacing(60_000, 10_000) == 2  # 20,000 rows evaluated against 3 x 60,000 trained
    assert evaluation_spacing(1437, 360) == 5
    assert evaluation_spacing(100_000, 0) == 1
    trainer = Trainer(TrainConfig(stage="optim", data="digits", epochs=12))
    trainer.advance(12)
    assert trainer.evaluations()["epoch"].tolist() == [4, 9, 11], "every 5th epoch and the last"


def test_the_engine_imports_nothing_that_teaches():
    code = "import sys, twolayer.train.trainer; print(sorted(m for m in sys.modules if m.startswith('twolayer.teach')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", "train/ is what teach/ builds on, never the other way round"


def test_divergence_names_the_cause_and_a_rate_that_works_from_the_same_start():
    config = TrainConfig(hidden_size=1024, epochs=200)  # the lecture's rate, too big for this many hidden units
    trainer = Trainer(config)
    trainer.advance(200)
    assert trainer.status is RunState.DIVERGED
    hint = divergence_hint(trainer)
    assert "grows with the rows per step (64) and the hidden size (1,024)" in hint
    assert "unstable above a learning rate of 2/λ0 = 1.12e-07, and this run's 1e-06 is 8.91 times that" in hint
    found = float(re.search(r"set the learning rate to ([0-9.e+-]+)\.", hint).group(1))
    assert found == 5.6e-8, "half the limit at the start, 1/λ0"
    retried = Trainer(config.replace(learning_rate=found))
    retried.advance(200)
    losses = retried.history.column("loss")
    assert retried.status is RunState.DONE and losses[-1] < 1e-2 * losses[0]
