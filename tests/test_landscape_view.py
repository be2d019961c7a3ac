"""The Landscape tab and the sharpness chart, driven headless: their figures and sentences carry the core's numbers."""

import copy
import json

import pytest

from page import state
from tests.test_app import live_chart_parts
from twolayer.teach.landscape import landscape
from twolayer.train import curvature
from twolayer.train.probe import make_probe

DIGITS = {"data": "digits", "stage": "optim", "hidden": "16", "epochs": "20", "sharpness_every": "5"}


def charts(at) -> dict[str, dict]:
    """The charts drawn once on the page, by their title's first words."""
    found = {}
    for element in at.get("plotly_chart"):
        spec = json.loads(element.proto.spec)
        found[spec["layout"]["title"]["text"]] = spec
    return found


def captions(at) -> list[str]:
    return [caption.value for caption in at.caption]


def test_before_a_run_and_while_it_trains_the_tab_says_when_it_draws(open_app):
    at = open_app(DIGITS)
    assert any("then pause it or let it finish" in info.value for info in at.info)
    assert "Loss on the line from start to end" not in charts(at)


def test_a_finished_run_shows_its_line_plane_sharpness_and_hidden_units_with_the_cores_numbers(open_app):
    at = open_app(DIGITS)
    at.button(key="train").click().run()
    assert not at.exception
    trainer = at.session_state[state.SESSION.name].trainer
    assert trainer.epoch == 20
    probe = make_probe(trainer.config, trainer.data)
    path = copy.deepcopy(trainer.path)
    path.record(trainer.epoch, trainer.weights())
    core = landscape(path, probe)
    drawn = charts(at)

    line = drawn["Loss on the line from start to end"]["data"][0]
    assert line["x"][10] == 0 and line["x"][30] == 1
    assert line["y"][10] == pytest.approx(core.start_loss, rel=1e-12)
    assert line["y"][30] == pytest.approx(core.end_loss, rel=1e-12)
    plane = drawn["Loss around the end, and the path taken"]["data"]
    assert plane[1]["x"][-1] == 0 and plane[1]["y"][-1] == 0, "the path ends at the plane's centre"
    assert plane[1]["text"] == [str(e) for e in core.path_epochs] and core.path_epochs[-1] == 20

    epochs, values = trainer.sharpness.column("epoch"), trainer.sharpness.column("sharpness")
    assert epochs == [0, 5, 10, 15]
    sharp = drawn["Sharpness against the edge of stability"]["data"]
    assert sharp[0]["y"] == pytest.approx(values)
    threshold = curvature.edge(trainer.config).threshold(trainer.config.learning_rate)
    assert sharp[1]["y"] == [pytest.approx(threshold)] * 2 and threshold == pytest.approx(38 / 1e-4), "Adam: 38/lr"

    words = captions(at)
    assert any(
        w.startswith("Line chart: From the start (t = 0, loss ") and f"loss {core.end_loss:.4g})" in w for w in words
    )
    assert any(
        w.startswith("Plane chart:") and f"ends at the centre (0, 0), loss {core.end_loss:.4g}" in w for w in words
    )
    assert any(w.startswith(f"Sharpness chart: λmax went from {values[0]:.4g} at epoch 0") for w in words)
    assert any(w.startswith("Hidden units chart:") and "at epoch 20" in w for w in words)


def test_the_hidden_units_slider_walks_the_recorded_epochs(open_app):
    at = open_app(DIGITS)
    at.button(key="train").click().run()
    slider = at.select_slider(key=state.HIDDEN_EPOCH.name)
    assert slider.value == 20 and slider.options[0] == "0"
    slider.set_value(0).run()
    assert "Hidden units by digit, epoch 0" in charts(at)
    assert any(w.startswith("Hidden units chart:") and "at epoch 0: " in w for w in captions(at))


def test_a_paused_run_is_drawn_where_it_stands_and_again_when_it_moves_on(open_app):
    at = open_app(DIGITS)
    at.button(key="step").click().run()
    first = charts(at)["Loss around the end, and the path taken"]["data"][1]["text"]
    assert first == ["0", "1"], "the start and where the paused run stands"
    at.button(key="step").click().run()
    assert charts(at)["Loss around the end, and the path taken"]["data"][1]["text"] == ["0", "2"]


def test_the_rate_finder_marks_its_suggestion_and_the_edge_and_offers_the_rate(open_app):
    at = open_app({"data": "digits", "stage": "optim", "optimizer": "sgd", "hidden": "16", "epochs": "5"})
    at.button(key="find_rate").click().run()
    assert not at.exception
    settings, found, start = at.session_state[state.RATE_FINDING.name]
    assert found.suggested is not None and found.lrs == sorted(found.lrs) and start.stable_rate == 2 / start.value
    names = [trace["name"] for trace in charts(at)["Loss as the learning rate rises"]["data"]]
    assert f"suggested {found.suggested:.3g}" in names and f"2/λ0 {start.stable_rate:.3g}" in names
    assert any(w.startswith("Rate finder chart:") and f"near {found.suggested:.3g}" in w for w in captions(at))
    use = at.button(key="use_found_rate")
    use.click().run()
    assert at.select_slider(key="lr").value == pytest.approx(float(use.label.split()[1]))


def test_the_training_tab_draws_the_sharpness_against_2_over_lr_once_measured(open_app):
    at = open_app({"stage": "numpy", "epochs": "40", "sharpness_every": "10"})
    at.button(key="step").click().run()
    _, feeds = live_chart_parts(at)
    spec = feeds["sharpness"]["figure"]
    assert spec["data"][1]["name"].startswith("2/lr = ") and spec["data"][1]["y"][0] == pytest.approx(2 / 1e-6)
    assert feeds["sharpness"]["label"] == "Sharpness chart", "its name; what it shows is the caption it points to"
    paused = next(c for c in captions(at) if c.startswith("Sharpness chart: "))  # the Training tab's, the first
    at.button(key="train").click().run()
    done = next(c for c in captions(at) if c.startswith("Sharpness chart: "))
    assert paused.startswith("Sharpness chart: λmax is ") and done.startswith("Sharpness chart: λmax went from ")
    assert paused != done and "at epoch 30" in done
