"""A setting that reaches the server just after Train is the one the press meant; a later one is not."""

import time

import pytest
from streamlit.testing.v1 import AppTest

from page import state, widgets


@pytest.fixture
def interrupted_at_first_epoch(open_app):
    """Opens a run of 30 epochs, Train pressed `pressed_ago` seconds ago, stopped after its first epoch."""

    def open_(pressed_ago: float) -> AppTest:
        at = open_app({"epochs": "30", "hidden": "10"})
        at.button(key="step").click().run()  # the run the press started, one epoch in
        at.session_state[state.TRAIN_PRESSED_AT.name] = time.monotonic() - pressed_ago
        return at

    return open_


def test_train_notes_when_it_was_pressed(open_app):
    at = open_app({"epochs": "5"})
    before = time.monotonic()
    at.button(key="train").click().run()
    assert before <= at.session_state[state.TRAIN_PRESSED_AT.name] <= time.monotonic()


def test_a_setting_just_after_train_restarts_the_run_with_it(interrupted_at_first_epoch):
    at = interrupted_at_first_epoch(pressed_ago=0.1)
    at.select_slider(key="hidden").set_value(20).run()  # as a slider's value arrives, a moment after the click
    sess = at.session_state[state.SESSION.name]
    assert sess.trainer.config.hidden_size == 20 and sess.trainer.epoch == 30
    assert [run.config.hidden_size for run in sess.runs] == [20]  # the run the press meant, kept once


def test_a_setting_long_after_train_does_not_restart_the_run(interrupted_at_first_epoch):
    at = interrupted_at_first_epoch(pressed_ago=widgets.LATE_SECONDS + 1)
    at.select_slider(key="hidden").set_value(20).run()
    sess = at.session_state[state.SESSION.name]
    assert sess.trainer.config.hidden_size == 10 and sess.trainer.epoch == 1
    assert any("changed settings while a run is paused" in w.value for w in at.warning)
