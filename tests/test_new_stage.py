"""A new stage is one spec registered once: the CLI, the page, the code panel, the program to take home, the
difference view and Compare stages all pick it up with no other edit."""

import dataclasses
import html
import inspect
import json
import re

import numpy as np
import pytest

from page import state
from twolayer import TrainConfig, Trainer
from twolayer.__main__ import main
from twolayer.teach.compare import compare_stages
from twolayer.teach.program import program_source
from twolayer.teach.stage_diff import ADDED, REMOVED, side, stage_difference
from twolayer.train.stages import STAGES, nn_stage, register, registry, stage_source

# A copy of the torch.nn stage under a name and title of its own: it must train exactly as the nn stage does.
TOY = dataclasses.replace(nn_stage.SPEC, name="toy", title="A copy of the torch.nn stage", short="Toy copy")
SMALL = {"hidden_size": 8, "epochs": 4, "batch_size": 16}


@pytest.fixture(autouse=True)
def toy():
    register(TOY)
    yield TOY
    del registry()[TOY.name]


def test_the_registry_lists_it_after_the_lecture_stages_and_refuses_a_second_of_the_same_name():
    assert list(STAGES) == ["numpy", "tensor", "autograd", "nn", "optim", "toy"]
    with pytest.raises(ValueError, match="'toy' is registered already"):
        register(TOY)


def test_the_cli_trains_it_as_the_stage_it_copies(tmp_path):
    runs = {}
    for stage in ("nn", "toy"):
        out = tmp_path / f"{stage}.json"
        assert main(["train", "--stage", stage, "--hidden", "8", "--epochs", "4", "--quiet", "--out", str(out)]) == 0
        runs[stage] = json.loads(out.read_text())
    assert runs["toy"]["config"]["stage"] == "toy" and runs["toy"]["config"]["bias"] is True, "a Module has biases"
    assert runs["toy"]["config"]["learning_rate"] == 1e-4, "the rate it declares for the lecture's start"
    losses = {stage: [row["loss"] for row in run["epochs"]] for stage, run in runs.items()}
    assert len(losses["toy"]) == 4 and losses["toy"] == losses["nn"]


def test_the_cli_names_it_among_the_stages_a_bad_one_could_have_been(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["train", "--stage", "sixth"])
    assert exited.value.code == 2
    assert "'optim', 'toy')" in capsys.readouterr().err


@pytest.mark.usefixtures("program_folder")  # the program saves its plot where it runs
def test_its_code_panel_program_and_difference_come_from_its_spec():
    source = stage_source("toy")
    assert source.index("def build_model(") < source.index("def train_step(model, loss_fn, x, y, learning_rate):")
    config = TrainConfig(stage="toy", **SMALL)
    trainer = Trainer(config)
    trainer.advance(config.epochs)
    namespace = {}
    exec(program_source(config, len(trainer.data.x_train)), namespace)  # the program to take home, run as it stands
    assert namespace["losses"] == trainer.history.column("loss"), "the program gives the run's losses, bit for bit"

    parts = stage_difference(config, 64)  # against optim, the stage before it
    assert side(parts, ADDED) == program_source(config, 64)
    assert side(parts, REMOVED) == program_source(config.replace(stage="optim", learning_rate=1e-4), 64)
    notes = {part.name: part.note for part in parts if part.changed}
    assert notes == {"model": TOY.notes["model"], "step": TOY.notes["step"], "loop": TOY.notes["loop"]}


def test_compare_stages_trains_it_beside_the_others():
    result = compare_stages(TrainConfig(init="shared", learning_rate=1e-3, **SMALL))
    assert list(result.curves) == list(STAGES)
    toy_gap = next(row for row in result.gaps if row["stage"] == "toy")
    assert toy_gap["epochs"] == 4 and toy_gap["largest relative gap to numpy"] < 1e-12
    assert result.curves["toy"] == result.curves["nn"]


def test_the_page_offers_it_shows_its_code_and_trains_it(open_app):
    at = open_app({"stage": "toy", "epochs": "3", "hidden": "8"})
    assert not at.exception
    select = at.selectbox(key="stage")
    assert select.value == "toy" and select.options[-1] == "6. Toy copy"
    assert "Biases" in {box.label for box in at.checkbox}, "a stage with a Module shows the Biases control"
    assert any(m.value == "**The code that runs:** A copy of the torch.nn stage" for m in at.markdown)
    assert at.toggle(key="code_diff").label == "Show what changed since stage 5"
    body = next(e.proto.body for e in at.get("html") if "tl-code" in e.proto.body)
    shown = html.unescape(re.sub(r"<[^>]+>", "", body.split("</style>", 1)[1]))
    assert inspect.getsource(nn_stage.train_step).splitlines()[0] in shown
    assert any(caption.value == TOY.differences for caption in at.caption), "its notes on the lecture, under the code"

    at.button(key="train").click().run()
    assert not at.exception
    trainer = at.session_state[state.SESSION.name].trainer
    alone = Trainer(TrainConfig(stage="toy", hidden_size=8, epochs=3))
    alone.advance(3)
    assert trainer.config.stage == "toy" and trainer.epoch == 3
    np.testing.assert_array_equal(trainer.history.column("loss"), alone.history.column("loss"))
