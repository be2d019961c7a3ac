"""What each stage takes over: the difference is made from the real programs, and every change says what it does."""

import pytest

from twolayer.teach.program import program_source
from twolayer.teach.stage_diff import ADDED, REMOVED, SAME, side, stage_difference
from twolayer.train.config import STAGES, TrainConfig
from twolayer.train.stages import previous_stage, stage_spec

VARIANTS = [({}, 64), ({"data": "digits", "batch_size": 32}, 1437), ({"init": "shared", "dtype": "float64"}, 64)]


@pytest.mark.parametrize("stage", STAGES[1:])
@pytest.mark.parametrize(("settings", "rows"), VARIANTS)
def test_the_difference_holds_both_programs_whole(stage, settings, rows):
    config = TrainConfig(stage=stage, **settings)
    parts = stage_difference(config, rows)
    previous = config.replace(stage=previous_stage(stage), learning_rate=config.learning_rate)
    assert side(parts, ADDED) == program_source(config, rows), f"{stage}: the added side is not its program"
    assert side(parts, REMOVED) == program_source(previous, rows), (
        f"{stage}: the removed side is not {previous.stage}'s"
    )
    changed = [part for part in parts if part.changed]
    assert changed and all(part.note for part in changed), [p.name for p in changed if not p.note]
    assert all(not part.note for part in parts if not part.changed)


def test_each_neighbouring_pair_shows_what_its_api_takes_over():
    def lines(stage, mark):
        parts = stage_difference(TrainConfig(stage=stage), 64)
        return [line.strip() for part in parts for m, line in part.lines if m == mark]

    assert "import torch" in lines("tensor", ADDED)
    assert "h_relu = h.clamp(min=0)  # (N, H)  ReLU" in lines("tensor", ADDED)
    assert "h_relu = np.maximum(h, 0)  # (N, H)  ReLU" in lines("tensor", REMOVED)
    assert "grad_w1 = x.t().mm(grad_h)  # (D_in, H)" in lines("autograd", REMOVED)
    assert "loss.backward()  # fills w1.grad and w2.grad" in lines("autograd", ADDED)
    assert "y_pred = model(x)  # (N, D_out)" in lines("nn", ADDED)
    assert "optimizer.step()  # the optimizer applies its own update rule" in lines("optim", ADDED)
    assert "param -= learning_rate * param.grad" in lines("optim", REMOVED)
    # the lines both programs share are not marked
    assert "losses = []  # one per epoch: the loss chart" in lines("optim", SAME)


def test_every_note_belongs_to_a_part_that_changes():
    used = {
        (stage, part.name)
        for stage in STAGES[1:]
        for settings, rows in VARIANTS
        for part in stage_difference(TrainConfig(stage=stage, **settings), rows)
        if part.changed
    }
    notes = {(stage, part) for stage in STAGES for part in stage_spec(stage).notes}
    assert notes <= used, f"notes for parts that never change: {sorted(notes - used)}"


def test_the_first_stage_has_no_previous_one():
    with pytest.raises(ValueError, match="'numpy' is the first"):
        stage_difference(TrainConfig(stage="numpy"), 64)
