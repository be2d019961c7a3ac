"""The loss landscape: its line and plane meet the probe's loss at the run's start and end, its path ends at the
plane's centre, the weight path stays bounded and evenly spaced, and the hidden units over the run need labels."""

import json

import numpy as np
import pytest

from twolayer import TrainConfig, Trainer
from twolayer.__main__ import main
from twolayer.teach.hidden_map import hidden_map
from twolayer.teach.landscape import landscape, principal_directions, record_path
from twolayer.train.config import DTYPES, STAGES
from twolayer.train.probe import as_tensors, make_probe, probe_loss
from twolayer.train.stages import stage_spec
from twolayer.train.weight_path import WeightPath, snapshot_limit
from twolayer.train.weights import read_npz

TINY = {"hidden_size": 8, "batch_size": 16, "epochs": 6}
RUNS = [
    (stage, dtype, bias)
    for stage in STAGES
    for dtype in DTYPES
    for bias in ((False, True) if stage_spec(stage).has_model else (False,))
]


def loss(weights, probe) -> float:
    return probe_loss(as_tensors(weights), probe).item()


@pytest.mark.parametrize(("stage", "dtype", "bias"), RUNS)
def test_the_line_and_the_plane_meet_the_probe_loss_at_the_start_and_the_end(stage, dtype, bias):
    config = TrainConfig(stage=stage, dtype=dtype, bias=bias, init="shared", **TINY)
    trainer, path = record_path(config)
    probe = make_probe(config, trainer.data)
    found = landscape(path, probe)
    start, end = loss(Trainer(config).weights(), probe), loss(trainer.weights(), probe)
    assert start > end, "the run trained"
    assert found.line_t[10] == 0 and found.line_t[30] == 1 and len(found.line_t) == 41
    assert found.line_loss[10] == pytest.approx(start, rel=1e-6) == found.start_loss
    assert found.line_loss[30] == pytest.approx(end, rel=1e-6) == found.end_loss
    assert found.plane_a[10] == found.plane_b[10] == 0 and found.plane_loss.shape == (21, 21)
    assert found.plane_loss[10, 10] == pytest.approx(end, rel=1e-6)
    assert found.path_epochs == list(range(7))
    assert found.path_a[-1] == found.path_b[-1] == 0, "the path ends at the centre"
    radius = found.plane_a[-1]
    assert max(np.abs(found.path_a).max(), np.abs(found.path_b).max()) * 1.25 == pytest.approx(radius)


def test_the_path_is_the_snapshots_projected_on_orthonormal_directions_and_the_plane_is_their_loss():
    config = TrainConfig(stage="nn", data="digits", hidden_size=16, epochs=12, batch_size=64)
    trainer, path = record_path(config)
    probe = make_probe(config, trainer.data)
    found = landscape(path, probe)
    snapshots = path.matrix()
    directions = principal_directions(snapshots - snapshots[-1])
    np.testing.assert_allclose(directions @ directions.T, np.eye(2), atol=1e-12)
    start = snapshots[0] - snapshots[-1]
    assert (found.path_a[0], found.path_b[0]) == pytest.approx(tuple(directions @ start), rel=1e-12)
    assert found.path_a[0] < 0 and found.path_b[0] <= 0, "the start lies on the negative side of both"
    # Two epochs' worth of steps already turn the path: two directions hold most of it, not all.
    assert 0.9 * np.linalg.norm(start) < np.hypot(found.path_a[0], found.path_b[0]) <= np.linalg.norm(start)
    for j, i in [(0, 0), (3, 17), (20, 5)]:  # row j lies at b[j], column i at a[i]
        weights = snapshots[-1] + found.plane_a[i] * directions[0] + found.plane_b[j] * directions[1]
        assert found.plane_loss[j, i] == pytest.approx(loss(path.unflatten(weights), probe), rel=1e-9)
    t = found.line_t[3]
    assert found.line_loss[3] == pytest.approx(loss(path.unflatten((1 - t) * snapshots[0] + t * snapshots[-1]), probe))


def test_a_path_that_never_moved_gets_a_plane_of_fixed_random_directions():
    config = TrainConfig(stage="tensor", dtype="float64", learning_rate=1e-300, **TINY)
    _, path = record_path(config)
    found = landscape(path, make_probe(config, Trainer(config).data))
    assert np.all(found.path_a == 0) and np.all(found.path_b == 0)
    assert found.plane_a[-1] == pytest.approx(0.1 * np.linalg.norm(path.matrix()[-1]))
    assert np.ptp(found.plane_loss) > 0 and np.all(np.isfinite(found.plane_loss))


def test_the_weight_path_keeps_at_most_its_limit_evenly_spaced_from_the_start_to_the_latest():
    path = WeightPath(limit=10)
    for epoch in range(101):
        path.record(epoch, {"w1": np.full((2, 3), float(epoch)), "w2": np.full((3, 1), -float(epoch))})
        assert len(path) <= 10
        assert path.epochs[0] == 0 and path.epochs[-1] == epoch
        kept = np.diff(path.epochs[:-1]) if len(path) > 2 else np.array([path.spacing])
        assert np.all(kept == path.spacing), path.epochs
    assert path.epochs == [0, 16, 32, 48, 64, 80, 96, 100]
    path.record(100, {"w1": np.zeros((2, 3)), "w2": np.zeros((3, 1))})
    assert path.matrix()[-1, 0] == 100, "an epoch recorded again is ignored"
    last = path.unflatten(path.matrix()[-1])
    assert last["w1"].shape == (2, 3) and last["w2"].tolist() == [[-100.0]] * 3
    with pytest.raises(ValueError, match="at least 2 snapshots"):
        WeightPath(limit=1)
    with pytest.raises(ValueError, match="the weight path is empty"):
        WeightPath().matrix()


def test_a_run_keeps_its_weights_at_its_record_epochs_thinned_evenly_within_its_limit():
    # A record every 100 epochs (the count's spacing, pinned against the clock): 51 of them, over the limit of 40.
    config = TrainConfig(hidden_size=4, epochs=5000, stats_every=100)
    trainer, path = record_path(config)
    assert path.limit == 40 and path.epochs == list(range(0, 5001, 200)) and trainer.epoch == 5000
    np.testing.assert_array_equal(path.unflatten(path.matrix()[-1])["w1"], trainer.weights()["w1"])
    start = trainer.initial_weights["w1"].astype(np.float32)  # the start as a float32 run holds it
    np.testing.assert_array_equal(path.unflatten(path.matrix()[0])["w1"], start)


def test_a_large_network_keeps_fewer_snapshots_within_the_memory_budget():
    assert snapshot_limit(79_400) == 12, "hidden 100 on 28 x 28 digits: 4 MB of float32"
    assert snapshot_limit(79_400, "float64") == 6 and snapshot_limit(1_000) == 40 and snapshot_limit(4096 * 794) == 2


def test_the_hidden_units_over_the_run_lie_on_the_final_activations_principal_axes():
    config = TrainConfig(stage="optim", data="digits", hidden_size=16, epochs=5, batch_size=2048)
    trainer, path = record_path(config)
    probe = make_probe(config, trainer.data)
    assert probe.rows == len(trainer.data.x_train), "the digits fit one batch: the probe is every row"
    found = hidden_map(path, probe, trainer.data)
    assert found.epochs == path.epochs and found.points.shape == (len(path), probe.rows, 2)
    np.testing.assert_array_equal(found.labels, trainer.data.labels_train)
    final = found.points[-1]
    np.testing.assert_allclose(final.mean(axis=0), 0, atol=1e-9)
    assert final[:, 0].var() >= final[:, 1].var() > 0
    assert not np.allclose(found.points[0], final), "the hidden units moved"
    with pytest.raises(ValueError, match="the hidden units by digit need labelled data: random has no labels"):
        random = TrainConfig(hidden_size=4, epochs=2)
        hidden_map(record_path(random)[1], make_probe(random, Trainer(random).data), Trainer(random).data)


def test_the_cli_writes_the_documented_keys_and_the_weights_train_saves(tmp_path, capsys):
    flags = ["--stage", "optim", "--hidden", "8", "--epochs", "20", "--optimizer", "sgd", "--lr", "1e-3"]
    start = tmp_path / "start.npz"
    assert main(["train", *flags, "--epochs", "3", "--quiet", "--save-weights", str(start)]) == 0
    flags += ["--init-weights", str(start)]
    out, landscape_weights, train_weights = tmp_path / "land.json", tmp_path / "l.npz", tmp_path / "t.npz"
    assert main(["landscape", *flags, "--out", str(out), "--save-weights", str(landscape_weights)]) == 0
    assert main(["train", *flags, "--quiet", "--save-weights", str(train_weights)]) == 0
    written = json.loads(out.read_text())
    assert {key: set(value) for key, value in written.items()} == {
        "line": {"t", "loss"},
        "plane": {"a", "b", "loss"},
        "path": {"a", "b", "epochs"},
    }
    assert len(written["plane"]["loss"]) == len(written["plane"]["b"]) == 21
    assert written["path"]["epochs"][0] == 0 and written["path"]["epochs"][-1] == 20
    saved, trained = read_npz(landscape_weights), read_npz(train_weights)
    assert set(saved) == {"w1", "w2", "b1", "b2"} and all(np.array_equal(saved[k], trained[k]) for k in saved)
    line = capsys.readouterr().out.splitlines()[-1]
    snapshots = len(written["path"]["epochs"])
    assert snapshots == 11, "a record every 2 epochs"
    assert line.startswith(f"landscape: stage=optim {snapshots} snapshots over 20 epochs, probe loss ")
    assert main(["landscape", "--out", str(tmp_path / "land.csv")]) == 2
    assert capsys.readouterr().err == f"error: --out {tmp_path / 'land.csv'}: the file name must end in .json\n"


def test_the_cli_writes_a_diverged_runs_landscape_and_exits_3(tmp_path, capsys):
    out = tmp_path / "land.json"
    assert main(["landscape", "--lr", "1e-3", "--epochs", "50", "--out", str(out)]) == 3
    written = json.loads(out.read_text())
    assert written["path"]["epochs"][-1] < 50 and written["path"]["a"][-1] == 0
    assert "The loss became inf" in capsys.readouterr().err
