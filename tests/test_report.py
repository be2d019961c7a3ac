"""The run as one page: everything in one file, Plotly's script once, the page's charts and the whole program."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from plotly.offline import get_plotlyjs

from twolayer import TrainConfig, Trainer
from twolayer.__main__ import main
from twolayer.charts.snapshots import histogram_slider_figure
from twolayer.teach.code_html import code_html
from twolayer.teach.program import program_source
from twolayer.teach.report import loss_unit, report_html

MAX_BYTES = 8 * 2**20  # a 500-epoch lecture run's page, at most


@pytest.fixture(scope="module")
def lecture() -> Trainer:
    trainer = Trainer(TrainConfig())
    trainer.advance(500)
    return trainer


@pytest.fixture(scope="module")
def digits() -> Trainer:
    trainer = Trainer(TrainConfig(stage="optim", data="digits", learning_rate=1e-3, epochs=20, hidden_size=32))
    trainer.advance(20)
    return trainer


def figures(page: str) -> dict[str, tuple[list, dict]]:
    """Each chart's id and the traces and layout it draws, read back from the page's Plotly calls."""
    decoder, found = json.JSONDecoder(), {}
    for call in re.finditer(r'Plotly\.newPlot\(\s*"([\w-]+)",\s*', page):
        data, at = decoder.raw_decode(page, call.end())
        layout, _ = decoder.raw_decode(page, page.index("{", at))
        found[call.group(1)] = (data, layout)
    return found


def titles(page: str) -> list[str]:
    return [layout["title"]["text"] for _, layout in figures(page).values()]


def test_a_lecture_runs_page_holds_plotlys_script_once_and_stays_under_8_mb(lecture):
    page = report_html(lecture)
    assert len(page.encode()) < MAX_BYTES
    assert page.count(get_plotlyjs()[:300]) == 1  # embedded once, not per chart
    # nothing to fetch: no script, style sheet or picture from elsewhere
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", page)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert report_html(lecture) == page  # the same run always gives the same file


def test_the_page_shows_the_settings_the_summary_and_the_program_coloured_as_in_the_app(lecture):
    page = report_html(lecture)
    assert "<b>Done</b> after 500 of 500 epochs" in page
    assert "<tr><td><code>lr</code></td><td>1e-06</td>" in page
    assert "<tr><td><code>hidden</code></td><td>100</td>" in page
    # the program is the code panel's, highlighted by the same code
    label = "The whole program of the NumPy, hand-written backprop stage"
    assert code_html(program_source(lecture.config, 64), label) in page
    assert '<span class="tl-command">twolayer train</span>' in page  # the lecture run: every setting its default


def test_a_regression_run_draws_loss_histograms_norms_and_ratios(lecture):
    page = report_html(lecture)
    assert list(figures(page)) == [f"chart-{i}" for i in range(5)]
    assert titles(page) == [
        "Loss (sum of squared errors)",
        "W1 after 500 epochs",
        "W2 after 500 epochs",
        "Gradient norm per layer",
        "Update size / weight size",
    ]


def test_a_labelled_run_adds_accuracy_confusion_matrix_and_hidden_units(digits):
    page = report_html(digits)
    accuracy = 100 * digits.evaluations()["test_accuracy"][-1]
    assert titles(page)[:2] == ["Loss per example", "Accuracy"]
    assert any(t.startswith("Confusion matrix: accuracy") for t in titles(page))
    assert "Incoming weights of hidden units" in titles(page)
    assert f"test accuracy <b>{accuracy:.1f}%</b>" in page
    assert loss_unit(digits) == (1 / len(digits.data.x_train), "per example")


def test_the_histogram_slider_steps_through_every_snapshot_on_one_scale():
    edges = np.linspace(-1, 1, 5)
    snapshots = [(0, [1, 2, 3, 4]), (10, [4, 3, 2, 1]), (20, [0, 9, 1, 0])]
    figure = histogram_slider_figure(edges, snapshots, title="W1")
    [slider] = figure.layout.sliders
    assert slider.active == 2 and [step.label for step in slider.steps] == ["0", "10", "20"]
    assert [list(step.args[0]["y"][0]) for step in slider.steps] == [c for _, c in snapshots]
    assert [step.args[1]["title.text"] for step in slider.steps] == [f"W1 after {e} epochs" for e in (0, 10, 20)]
    assert list(figure.data[0].y) == [0, 9, 1, 0] and figure.layout.title.text == "W1 after 20 epochs"
    assert figure.layout.yaxis.range == (0, 1.05 * 9)  # the largest count of any snapshot: bars keep their scale
    with pytest.raises(ValueError, match="at least one snapshot"):
        histogram_slider_figure(edges, [], title="W1")


def test_train_writes_the_report_and_refuses_other_names_before_training(tmp_path, capsys):
    out = tmp_path / "run.html"
    assert main(["train", "--stage", "nn", "--epochs", "5", "--hidden", "8", "--report", str(out), "--quiet"]) == 0
    page = out.read_text()
    assert "twolayer run: torch.nn Module, hidden 8, random data" in page and "W1 after 5 epochs" in page
    assert main(["train", "--epochs", "100000", "--report", str(tmp_path / "run.htm")]) == 2
    assert capsys.readouterr().err == f"error: --report {tmp_path / 'run.htm'}: the file name must end in .html\n"
    missing = tmp_path / "no" / "run.html"
    assert main(["train", "--epochs", "2", "--report", str(missing), "--quiet"]) == 2
    assert capsys.readouterr().err == f"error: --report {missing}: cannot write it (No such file or directory)\n"
