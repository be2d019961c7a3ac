"""The Streamlit page, driven headless with AppTest: controls, runs, URL settings and bad input."""

import base64
import html
import json
import re
from pathlib import Path

import numpy as np
import streamlit

from page import state
from page.browser import CHART_CODE
from page.plot import PRESENTER_FONT
from twolayer.charts.base import FONT_SIZE
from twolayer.teach.describe import number
from twolayer.train.state import RunState

LABELS = ["Stage", "Hidden size", "Learning rate", "Epochs", "Device", "Seed", "Batch size", "Initialisation", "Data"]


def session(at):
    return at.session_state[state.SESSION.name]


def live_chart_parts(at) -> tuple[list[str], dict[str, dict]]:
    """The live charts' hosts (their names) and whole feeds (name to the data the script run's first feed of each
    chart sends, its figure whole), as the page sends them."""
    hosts, feeds = [], {}
    for element in at.get("bidi_component"):
        if element.proto.component_name in ("twolayer.live_chart", "twolayer.live_feed"):
            data = json.loads(element.proto.json)
            if data.get("host"):
                hosts.append(data["name"])
            elif "figure" in data:
                feeds[data["name"]] = data
    return hosts, feeds


def loss_trace(at) -> dict:
    """The loss chart's training trace, read from the Plotly figure its feed sends."""
    hosts, feeds = live_chart_parts(at)
    assert "loss" in hosts and "loss" in feeds, f"no loss chart on the page: hosts {hosts}, feeds {sorted(feeds)}"
    spec = feeds["loss"]["figure"]
    assert spec["layout"]["title"]["text"].startswith("Loss")
    return {axis: decoded(spec["data"][0][axis]) for axis in ("x", "y")}


def decoded(values) -> list:
    """A trace's values as a list: Plotly sends NumPy arrays as base64 typed arrays."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
    return values


def widget_labels(at) -> set[str]:
    widgets = [*at.selectbox, *at.select_slider, *at.number_input, *at.radio, *at.checkbox, *at.toggle]
    return {w.label for w in widgets}


def shown_code(at) -> str:
    """The text of the code panel, as a reader sees it (tags and entities undone)."""
    body = next(e.proto.body for e in at.get("html") if "tl-code" in e.proto.body)
    return html.unescape(re.sub(r"<[^>]+>", "", body.split("</style>", 1)[1]))


def status_text(at) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("**"))


def test_default_page_renders_every_control(open_app):
    at = open_app()
    assert not at.exception
    assert set(LABELS) <= widget_labels(at)
    assert [b.label for b in at.button][:4] == ["Train", "Pause", "Step", "Reset"]
    assert at.selectbox(key="device").options == ["cpu"] or "cpu" in at.selectbox(key="device").options
    assert at.select_slider(key="lr").value == 1e-6
    assert "def train_step(w1, w2, x, y, learning_rate):" in shown_code(at)
    assert status_text(at).startswith("**Ready**")


def test_train_runs_the_lecture_default_to_the_end(open_app):
    at = open_app()
    at.button(key="train").click().run()
    assert not at.exception
    trainer = session(at).trainer
    assert trainer.status is RunState.DONE and trainer.epoch == 500
    assert status_text(at).startswith("**Done** · epoch **500** of 500")
    trace = loss_trace(at)
    assert len(trace["y"]) == 500
    assert trace["y"][-1] == trainer.history.column("loss")[-1]
    assert trace["y"][0] > 1e6 and trace["y"][-1] < 1e-2
    assert len(session(at).runs) == 1, "the finished run is kept in the run history"


def test_step_pause_and_reset(open_app):
    at = open_app()
    at.button(key="step").click().run()
    at.button(key="step").click().run()
    assert session(at).trainer.epoch == 2 and session(at).state is RunState.PAUSED
    assert status_text(at).startswith("**Paused** · epoch **2** of 500")
    at.button(key="reset").click().run()
    assert session(at).trainer is None and session(at).state is RunState.READY
    assert len(session(at).runs) == 1, "the reset run went to the run history"


def host_ids(at) -> dict[str, str]:
    """Each live chart's host element id, by chart name."""
    hosts = [e.proto for e in at.get("bidi_component") if e.proto.component_name == "twolayer.live_chart"]
    return {data["name"]: proto.id for proto in hosts if (data := json.loads(proto.json)).get("host")}


def test_the_live_charts_find_the_frontends_chart_code():
    """Live charts draw with the module the frontend loads Plotly from: the pinned Streamlit must ship exactly one."""
    assert CHART_CODE is not None, "no single PlotlyChart module in Streamlit's static files: live charts cannot draw"
    assert (Path(streamlit.__file__).parent / "static" / CHART_CODE).is_file()


def test_the_training_charts_are_placed_once_and_fed_each_frame(open_app):
    """A host per chart of the Training tab, with the same id in every script run (so the browser keeps the chart),
    and a feed per chart with its latest figure; after Reset, the empty loss box and no chart."""
    at = open_app()
    assert live_chart_parts(at) == ([], {}), "a chart before there is a loss"
    at.button(key="step").click().run()
    hosts, feeds = live_chart_parts(at)
    charts = ["loss", "w1 now", "w1 over time", "w2 now", "w2 over time", "gradient norms", "update ratios"]
    assert sorted(hosts) == sorted(charts) and sorted(feeds) == sorted(charts)
    assert feeds["loss"]["label"] == "Loss chart", "its name; what it shows is the caption it points to"
    run = session(at).trainer
    said = f"Paused, epoch 1 of {run.config.epochs:,}: loss {number(run.last_loss())}"
    assert feeds["loss"]["progress"] == said, "a screen reader's short line on the run's progress"
    assert feeds["w1 now"]["figure"]["layout"]["title"]["text"] == "W1 now"
    assert len(loss_trace(at)["y"]) == 1
    first = host_ids(at)
    at.button(key="step").click().run()
    assert host_ids(at) == first, "a chart's host changed id between script runs: the browser would rebuild it"
    assert len(loss_trace(at)["y"]) == 2
    at.button(key="reset").click().run()
    assert live_chart_parts(at) == ([], {})
    assert any("The loss curve appears here" in element.proto.body for element in at.get("html"))


def test_a_paused_run_resumes_to_the_same_history_as_an_uninterrupted_one(open_app):
    at = open_app({"epochs": "40", "stage": "nn"})
    for _ in range(3):
        at.button(key="step").click().run()
    at.button(key="train").click().run()
    resumed = session(at).trainer.history.column("loss")
    fresh = open_app({"epochs": "40", "stage": "nn"})
    fresh.button(key="train").click().run()
    assert resumed == session(fresh).trainer.history.column("loss")


def test_stage_switch_brings_the_lecture_learning_rate_unless_chosen(open_app):
    at = open_app()
    at.selectbox(key="stage").set_value("nn").run()
    assert at.select_slider(key="lr").value == 1e-4
    at.selectbox(key="stage").set_value("tensor").run()
    assert at.select_slider(key="lr").value == 1e-6
    at.select_slider(key="lr").set_value(2e-6).run()
    at.selectbox(key="stage").set_value("optim").run()
    assert at.select_slider(key="lr").value == 2e-6, "a learning rate the person chose is kept"
    assert at.selectbox(key="optimizer").value == "adam"


def test_settings_go_into_the_url_and_come_back_from_it(open_app):
    at = open_app()
    at.selectbox(key="stage").set_value("autograd").run()
    at.select_slider(key="hidden").set_value(32).run()
    at.number_input(key="seed").set_value(7).run()
    query = dict(at.query_params)
    assert query == {"stage": "autograd", "hidden": "32", "seed": "7"}
    again = open_app(query)
    assert again.selectbox(key="stage").value == "autograd"
    assert again.select_slider(key="hidden").value == 32 and again.number_input(key="seed").value == 7
    assert not again.warning


def test_malformed_link_falls_back_to_defaults_with_warnings(open_app):
    at = open_app({"hidden": "abc", "lr": "nan", "stage": "keras", "device": "tpu", "zoom": "9"})
    assert not at.exception
    assert at.select_slider(key="hidden").value == 100
    assert at.selectbox(key="stage").value == "numpy"
    warnings = " ".join(w.value for w in at.warning)
    assert "hidden='abc' is not allowed (a whole number from 1 to 4,096)" in warnings
    assert "stage='keras' is not allowed" in warnings
    assert "Unknown link setting 'zoom'" in warnings
    at.button(key="train").click().run()
    assert session(at).trainer.status is RunState.DONE, "the page still trains after a bad link"


def test_device_in_link_is_used_only_if_the_server_has_it(open_app):
    at = open_app({"device": "cuda", "stage": "tensor"})
    has_cuda = "cuda" in at.selectbox(key="device").options
    assert at.selectbox(key="device").value == ("cuda" if has_cuda else "cpu")
    assert any("device 'cuda', which this server lacks" in w.value for w in at.warning) != has_cuda


def test_divergence_shows_the_explanation_and_keeps_the_page_working(open_app):
    at = open_app({"stage": "tensor", "lr": "0.001"})
    at.button(key="train").click().run()
    assert session(at).trainer.status is RunState.DIVERGED
    errors = " ".join(e.value for e in at.error)
    assert "The loss exploded" in errors and "learning rate of 0.001 is too high" in errors
    assert len(loss_trace(at)["y"]) == session(at).trainer.epoch
    at.select_slider(key="lr").set_value(1e-6).run()
    at.button(key="train").click().run()
    assert session(at).trainer.status is RunState.DONE
    assert [run.status for run in session(at).runs] == [RunState.DIVERGED, RunState.DONE]


def test_changing_a_setting_while_paused_asks_before_mixing(open_app):
    at = open_app()
    at.button(key="step").click().run()
    at.select_slider(key="hidden").set_value(50).run()
    assert any("changed settings while a run is paused" in w.value for w in at.warning)
    assert at.button(key="train").disabled
    at.button(key="confirm_restore").click().run()
    assert at.select_slider(key="hidden").value == 100 and not at.button(key="train").disabled
    at.select_slider(key="hidden").set_value(50).run()
    at.button(key="confirm_reset").click().run()
    at.button(key="train").click().run()
    assert session(at).trainer.config.hidden_size == 50 and session(at).trainer.status is RunState.DONE


def test_work_cap_is_refused_with_a_message(open_app):
    at = open_app({"hidden": "4096", "batch": "4096", "epochs": "1000"})
    assert any("hidden size x rows per epoch x epochs must be at most" in e.value for e in at.error)
    assert at.button(key="train").disabled


def test_compare_stages_overlays_identical_curves_and_checks_gradients(open_app):
    at = open_app({"epochs": "100", "init": "shared"})
    at.button(key="compare").click().run()
    result = at.session_state[state.COMPARISON.name]
    assert set(result.curves) == {"numpy", "tensor", "autograd", "nn", "optim"}
    for row in result.gaps:
        assert row["largest relative gap to numpy"] < 1e-9, row
    assert all(row["max_rel_error"] < 1e-5 for row in result.gradcheck)


def test_presenter_mode_hides_chosen_controls(open_app):
    at = open_app({"present": "1", "hide": "seed,batch"})
    labels = widget_labels(at)
    assert "Seed" not in labels and "Batch size" not in labels and "Stage" in labels


def test_presenter_mode_enlarges_the_text_of_every_chart_live_or_not(open_app):
    at = open_app({"data": "digits", "stage": "autograd", "epochs": "5", "present": "1"})
    at.button(key="step").click().run()
    at.button(key="draw_test_image").click().run()  # the Draw tab's charts need a digit on the pad
    assert not at.exception
    drawn = [json.loads(chart.proto.spec)["layout"] for chart in at.get("plotly_chart")]
    live = [feed["figure"]["layout"] for feed in live_chart_parts(at)[1].values()]
    titles = {layout["title"]["text"].split(":")[0] for layout in drawn + live}
    # Training (live and not), Inside a step and Draw tabs.
    assert {"Loss (sum of squared errors)", "Confusion matrix", "h > 0", "Scores"} <= titles, titles
    for layout in drawn + live:
        assert layout["font"]["size"] == PRESENTER_FONT, layout["title"]["text"]
        assert layout["title"]["font"]["size"] > FONT_SIZE, layout["title"]["text"]


def test_choosing_a_stage_shows_its_code_at_once_and_says_how_it_differs(open_app):
    at = open_app({"epochs": "5"})
    at.button(key="train").click().run()
    at.selectbox(key="stage").set_value("nn").run()
    assert "def build_model(input_size, hidden_size, output_size, bias=True):" in shown_code(at)
    captions = [c.value for c in at.caption]
    assert any(c == "The run shown used stage numpy: press Train to run this one." for c in captions)
    assert any('`reduction="sum"` as in the lecture' in c for c in captions)


def test_poor_defaults_for_digits_are_named_and_one_click_fixes_them(open_app):
    at = open_app({"data": "digits", "epochs": "100"})
    assert any(box.value.startswith("**These settings train this data poorly.**") for box in at.info)
    at.button(key="take_advice").click().run()
    assert (at.radio(key="init").value, at.select_slider(key="lr").value) == ("shared", 1e-3)
    assert not any(box.value.startswith("**These settings") for box in at.info), "the advice is taken"
    at.button(key="train").click().run()
    assert session(at).trainer.evaluations()["test_accuracy"][-1] > 0.95


def test_digits_say_what_the_loss_is_and_how_often_the_test_curve_is_measured(open_app):
    at = open_app({"data": "digits", "stage": "optim", "epochs": "10"})
    at.button(key="train").click().run()
    assert "loss **" in status_text(at) and "(per example)" in status_text(at)
    captions = [c.value for c in at.caption]
    assert any("(per example)" in c and "measured every 5 epochs" in c for c in captions), captions
