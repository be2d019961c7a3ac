"""The run for slides: an animated GIF, one frame per snapshot of the run, at most 10 seconds long."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageChops

from twolayer import TrainConfig, Trainer
from twolayer.__main__ import main
from twolayer.teach.animation import HOLD_MS, MAX_SECONDS, SIZE_PX, animation_gif, frame_durations


@pytest.fixture(scope="module")
def lecture() -> tuple[Trainer, Image.Image]:
    trainer = Trainer(TrainConfig(stats_every=50))  # the count's spacing of a lecture run, pinned against the clock
    trainer.advance(500)
    return trainer, Image.open(io.BytesIO(animation_gif(trainer)))


def frames(image: Image.Image) -> list[Image.Image]:
    shown = []
    for index in range(image.n_frames):
        image.seek(index)
        shown.append(image.convert("RGB"))
    return shown


def test_a_lecture_run_is_one_frame_per_snapshot_and_a_few_seconds(lecture):
    trainer, image = lecture
    snapshots = [epoch for epoch, _ in trainer.histograms.snapshots]
    assert snapshots == [0, 50, 100, 150, 200, 250, 300, 350, 400, 450, 500]
    assert image.format == "GIF" and image.is_animated and image.n_frames == len(snapshots)
    assert image.size == SIZE_PX == (960, 400)
    durations = []
    for index in range(image.n_frames):
        image.seek(index)
        durations.append(image.info["duration"])
    assert durations == [200] * 10 + [HOLD_MS] and sum(durations) <= 1000 * MAX_SECONDS
    assert image.info["loop"] == 0  # plays round, as on a slide


def test_each_frame_shows_the_run_further_on(lecture):
    _, image = lecture
    shown = frames(image)
    for before, after in zip(shown, shown[1:], strict=False):
        assert ImageChops.difference(before, after).getbbox() is not None, "two frames in a row look the same"
    # mostly white paper with ink: a drawn chart, not an empty or black frame
    pixels = np.asarray(shown[-1])
    assert 0.6 < (pixels > 240).all(axis=2).mean() < 0.98


@pytest.mark.parametrize("count", [1, 2, 11, 51, 66])
def test_however_many_snapshots_the_animation_lasts_at_most_ten_seconds(count):
    durations = frame_durations(count)
    assert len(durations) == count and sum(durations) <= 1000 * MAX_SECONDS
    assert all(d % 10 == 0 and d >= 10 for d in durations)  # a GIF keeps hundredths of a second
    assert durations[-1] == HOLD_MS


def test_train_writes_the_animation_and_refuses_other_names(tmp_path, capsys):
    out = tmp_path / "run.gif"
    args = ["train", "--stage", "optim", "--data", "digits", "--epochs", "30", "--hidden", "16", "--lr", "1e-3"]
    assert main([*args, "--animation", str(out), "--quiet"]) == 0
    with Image.open(out) as image:
        assert image.n_frames == 11 and image.size == SIZE_PX  # the start, then a snapshot every third epoch of 30
    assert main(["train", "--animation", str(tmp_path / "run.png")]) == 2
    assert capsys.readouterr().err == f"error: --animation {tmp_path / 'run.png'}: the file name must end in .gif\n"
