"""The Sweep tab, driven headless: a sweep from the controls or a link trains every value to its end."""

from page import state
from twolayer import TrainConfig, Trainer


def sweep_table(at) -> list[dict]:
    frames = [frame.value for frame in at.dataframe if "value" in frame.value.columns]
    assert len(frames) == 1, f"{len(frames)} sweep tables on the page"
    return frames[0].to_dict("records")


def test_a_sweep_of_three_learning_rates_trains_each_to_the_end(open_app):
    at = open_app({"stage": "optim", "epochs": "30", "data": "digits", "hidden": "20"})
    at.selectbox(key="sweep_key").set_value("lr").run()
    at.text_input(key="sweep_values").set_value("1e-4, 1e-3, 1e-2").run()
    next(b for b in at.button if b.label == "Train sweep").click().run()
    rows = sweep_table(at)
    assert [row["value"] for row in rows] == ["0.0001", "0.001", "0.01"]
    assert all(row["status"] == "done" and row["epochs"] == "30" for row in rows)
    # the table's accuracies are the single runs' with those values, computed headless
    for row, lr in zip(rows, (1e-4, 1e-3, 1e-2), strict=True):
        trainer = Trainer(TrainConfig(stage="optim", epochs=30, data="digits", hidden_size=20, learning_rate=lr))
        trainer.advance(30)
        assert row["test accuracy"] == f"{100 * trainer.evaluations()['test_accuracy'][-1]:.1f}%"
    assert any(s.value.startswith("lr = ") and "is best: the highest test accuracy" in s.value for s in at.success)
    assert at.query_params["sweep"] == "lr:0.0001,0.001,0.01"  # the address bar hands out this sweep


def test_a_link_hands_out_a_sweep_and_a_bad_one_is_named(open_app):
    at = open_app({"sweep": "hidden:8,16"})
    assert at.selectbox(key="sweep_key").value == "hidden"
    assert at.text_input(key="sweep_values").value == "8, 16"
    bad = open_app({"sweep": "lr:1,1"})
    assert any("sweep='lr:1,1' is not allowed (lr=1 is the same value as lr=1" in w.value for w in bad.warning)


def test_a_bad_sweep_value_is_refused_and_nothing_trains(open_app):
    at = open_app()
    at.selectbox(key="sweep_key").set_value("hidden").run()
    at.text_input(key="sweep_values").set_value("10, 9000").run()
    next(b for b in at.button if b.label == "Train sweep").click().run()
    assert any("hidden=9000: hidden 9000 is not allowed: a whole number from 1 to 4,096" in e.value for e in at.error)
    assert state.SWEEP_RUN.name not in at.session_state
