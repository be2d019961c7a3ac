"""The Draw tab, driven headless with AppTest: what it says without images or a network, and a test image's reading."""

from __future__ import annotations

import base64
import json
import re

import numpy as np

from page import state
from twolayer.charts.draw import scores_figure, units_figure
from twolayer.train.state import RunState

DIGITS = {"data": "digits", "stage": "optim", "epochs": "5"}
TEST_LINE = re.compile(r"test image (\d+) of (\d+) · label \*\*(\d)\*\* · the evaluation predicts \*\*(\d)\*\*")


def texts(at) -> list[str]:
    return [element.value for element in (*at.markdown, *at.info)]


def pad_test_image(at) -> re.Match:
    matches = [m for m in map(TEST_LINE.search, texts(at)) if m]
    assert len(matches) == 1, f"expected one line about the test image on the pad, found {len(matches)}"
    return matches[0]


def scores_chart(at) -> list[float]:
    """The bar heights of the Draw tab's scores chart, read from the Plotly spec the page sends."""
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        if spec["layout"]["title"]["text"].startswith("Scores"):
            y = spec["data"][0]["y"]
            if isinstance(y, dict):  # NumPy arrays travel as base64 typed arrays
                return np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"]).tolist()
            return y
    raise AssertionError("no scores chart on the page")


def test_random_data_says_drawing_needs_images(open_app):
    at = open_app()
    assert not at.exception
    assert any("Drawing needs image data" in text and "Handwritten digits" in text for text in texts(at))
    assert not any(b.label.startswith("Try a") for b in at.button)


def test_digits_without_a_run_ask_for_train_or_step_first(open_app):
    at = open_app(DIGITS)
    assert not at.exception
    assert any("Press **Train** or **Step** first" in text for text in texts(at))
    assert not any(b.label.startswith("Try a") for b in at.button)


def test_a_test_image_shows_its_label_and_the_evaluations_prediction(open_app):
    at = open_app(DIGITS)
    at.button(key="step").click().run()
    assert not at.exception
    assert at.button(key="draw_test_image").label == "Try a test image"
    assert any("draw a digit on the pad" in text for text in texts(at)), "an empty pad asks for a drawing"

    for expected in (1, 2):  # the button cycles through the test split
        at.button(key="draw_test_image").click().run()
        assert not at.exception
        trainer = at.session_state[state.SESSION.name].trainer
        number, count, label, predicted = (int(g) for g in pad_test_image(at).groups())
        assert number == expected and count == len(trainer.data.x_test)
        assert label == trainer.data.labels_test[number - 1]
        assert predicted == int(trainer.predict(trainer.data.x_test[number - 1 : number]).argmax())
        # The pad shows the image, so the network scores it: the sentence names the highest bar.
        bars = scores_chart(at)
        assert len(bars) == 10
        assert any(f"reads {int(np.argmax(bars))}**" in text for text in texts(at))


def test_scores_follow_the_training(open_app):
    at = open_app(DIGITS)
    at.button(key="step").click().run()
    at.button(key="draw_test_image").click().run()
    before = scores_chart(at)
    at.button(key="train").click().run()  # trains to the end, refreshing the scores after each frame
    assert not at.exception
    trainer = at.session_state[state.SESSION.name].trainer
    assert trainer.status is RunState.DONE
    after = scores_chart(at)
    assert not np.allclose(before, after), "the scores did not move with four more epochs of training"
    _, _, _, predicted = (int(g) for g in pad_test_image(at).groups())
    assert predicted == int(trainer.predict(trainer.data.x_test[0:1]).argmax())


def test_scores_figure_highlights_the_predicted_digit():
    figure = scores_figure(np.array([0.1, 0.2, 0.9, -0.1, 0, 0, 0, 0, 0, 0.3]), predicted=2)
    bar = figure.data[0]
    colours = list(bar.marker.color)
    assert colours[2] != colours[0] and len(set(colours)) == 2
    assert figure.layout.title.text == "Scores: reads 2"
    assert [t for t in bar.text if t] == ["0.90"]


def test_units_figure_draws_each_unit_in_a_row_with_its_number():
    w1 = np.arange(64 * 5, dtype=float).reshape(64, 5) - 100
    figure = units_figure(w1, [(3, 0.5), (1, 0.25)], (8, 8), predicted=4)
    z = np.asarray(figure.data[0].z, dtype=float)
    assert z.shape == (8, 8 + 2 + 8)  # two 8x8 tiles with a gap of two columns
    assert np.nanmax(np.abs(z)) == 1.0  # each tile scaled to its own largest weight
    np.testing.assert_allclose(z[:, :8], (w1[:, 3] / np.abs(w1[:, 3]).max()).reshape(8, 8), rtol=1e-6)
    assert list(figure.layout.xaxis.ticktext) == ["unit 3<br>+0.50", "unit 1<br>+0.25"]
