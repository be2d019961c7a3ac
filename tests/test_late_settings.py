"""A setting that reaches the server just after Train is the one the press meant; a later one is not."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

from page import state, widgets

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def trained(query: dict) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update(query)
    return at.run().button(key="train").click().run()


def test_a_setting_just_after_train_restarts_the_run_with_it():
    at = trained({"epochs": "30", "hidden": "10"})
    first = at.session_state[state.SESSION.name]
    assert first.trainer.config.hidden_size == 10 and at.session_state[state.TRAIN_PRESSED_AT.name] is not None
    at.select_slider(key="hidden").set_value(20).run()  # as a slider's value arrives, a moment after the click
    sess = at.session_state[state.SESSION.name]
    assert sess.trainer.config.hidden_size == 20 and sess.trainer.epoch == 30
    assert len(sess.runs) == 1 and sess.runs[0].config.hidden_size == 20  # the run the press meant, kept once


def test_a_setting_long_after_train_leaves_the_finished_run():
    at = trained({"epochs": "30", "hidden": "10"})
    at.session_state[state.TRAIN_PRESSED_AT.name] -= widgets.LATE_SECONDS + 1
    at.select_slider(key="hidden").set_value(20).run()
    sess = at.session_state[state.SESSION.name]
    assert sess.trainer.config.hidden_size == 10 and [run.config.hidden_size for run in sess.runs] == [10]
