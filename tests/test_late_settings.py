"""A setting that reaches the server just after Train is the one the press meant; a later one is not."""

import time

from page import state, widgets


def interrupted_at_first_epoch(open_app, pressed_ago: float):
    """A run of 30 epochs, Train pressed `pressed_ago` seconds ago, stopped after its first epoch by a new value."""
    at = open_app({"epochs": "30", "hidden": "10"}).button(key="step").click().run()  # one epoch in
    at.session_state[state.TRAIN_PRESSED_AT.name] = time.monotonic() - pressed_ago
    return at


def test_train_notes_when_it_was_pressed(open_app):
    at = open_app({"epochs": "5"})
    before = time.monotonic()
    at.button(key="train").click().run()
    assert before <= at.session_state[state.TRAIN_PRESSED_AT.name] <= time.monotonic()


def test_a_setting_just_after_train_restarts_the_run_with_it(open_app):
    at = interrupted_at_first_epoch(open_app, pressed_ago=0.1)
    at.select_slider(key="hidden").set_value(20).run()  # as a slider's value arrives, a moment after the click
    sess = at.session_state[state.SESSION.name]
    assert sess.trainer.config.hidden_size == 20 and sess.trainer.epoch == 30
    assert [run.config.hidden_size for run in sess.runs] == [20]  # the run the press meant, kept once


def test_a_setting_long_after_train_does_not_restart_the_run(open_app):
    at = interrupted_at_first_epoch(open_app, pressed_ago=widgets.LATE_SECONDS + 1)
    at.select_slider(key="hidden").set_value(20).run()
    sess = at.session_state[state.SESSION.name]
    assert sess.trainer.config.hidden_size == 10 and sess.trainer.epoch == 1
    assert any("changed settings while a run is paused" in w.value for w in at.warning)
