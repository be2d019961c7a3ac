"""Poor defaults for real data are named, and the settings offered instead work, measured."""

from twolayer import TrainConfig, Trainer
from twolayer.teach.advice import advise
from twolayer.train.trainer import make_dataset


def test_digits_on_the_numpy_stage_get_a_setting_that_works():
    config = TrainConfig(stage="numpy", data="digits", epochs=100)
    data = make_dataset(config)
    lecture = Trainer(config, data=data)
    lecture.advance(100)
    advice = advise(config, data)
    assert advice.changes == {"init": "shared", "lr": 1e-3}
    assert advice.accuracy > 0.85, "the trial itself reaches a good accuracy"
    better = Trainer(TrainConfig.from_values({**config.values(), **advice.changes}), data=data)
    better.advance(100)
    before, after = (t.evaluations()["test_accuracy"][-1] for t in (lecture, better))
    assert before < 0.5 < 0.95 < after, f"lecture start {before:.1%}, offered settings {after:.1%}"


def test_no_advice_where_the_defaults_are_fine():
    assert advise(TrainConfig(), make_dataset(TrainConfig())) is None  # random data: no labels
    digits = make_dataset(TrainConfig(data="digits"))
    assert advise(TrainConfig(stage="optim", data="digits"), digits) is None
    assert advise(TrainConfig(stage="numpy", data="digits", init="shared"), digits) is None
