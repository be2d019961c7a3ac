"""Each stage's declaration of what its train_step's lines are for agrees with the function's real source."""

import ast
import inspect
import textwrap

import numpy as np
import pytest

from twolayer import Dataset, TrainConfig, Trainer
from twolayer.teach.step_record import record_step
from twolayer.train.config import STAGES
from twolayer.train.stages import numpy_stage, stage_spec
from twolayer.train.stages.phases import PHASES, Phase, StepLine, code_lines, locate

AUTOGRAD_STAGES = ("autograd", "nn", "optim")  # the stages whose gradients come from loss.backward()


def _work_lines(function) -> dict[int, str]:
    """The lines of `function` that do work, by line number: every statement but the docstring, `if` and `return`."""
    source, first = inspect.getsourcelines(function)
    definition = ast.parse(textwrap.dedent("".join(source))).body[0]
    docstring = definition.body[0] if ast.get_docstring(definition) else None
    starts = [
        node.lineno
        for node in ast.walk(definition)
        if isinstance(node, ast.stmt) and node not in (definition, docstring)
        if not isinstance(node, ast.If | ast.Return)
    ]
    codes = code_lines(function)
    return {first + start - 1: codes[first + start - 1] for start in starts}


@pytest.mark.parametrize("stage", STAGES)
def test_the_declared_lines_are_exactly_the_lines_that_do_work(stage):
    spec = stage_spec(stage)
    located = locate(spec.stage.step_lines, spec.train_step)  # every declared line is in the source, once
    work = _work_lines(spec.train_step)
    assert {lineno: line.code for lineno, line in located.items()} == work, f"{stage}: declaration and source differ"


@pytest.mark.parametrize("stage", STAGES)
def test_the_declared_phases_follow_the_order_of_a_step(stage):
    spec = stage_spec(stage)
    located = locate(spec.stage.step_lines, spec.train_step)
    phases = [located[lineno].phase for lineno in sorted(located)]
    assert sorted(phases, key=PHASES.index) == phases, f"{stage}: phases out of order in the source: {phases}"
    assert set(phases) == set(Phase), f"{stage}: phases {phases}"


@pytest.mark.parametrize("stage", STAGES)
def test_relu_and_backpropagation_are_declared_where_they_happen(stage):
    lines = stage_spec(stage).stage.step_lines
    assert any(line.relu for line in lines if line.phase is Phase.FORWARD), f"{stage}: no forward line applies the ReLU"
    backprop = [line for line in lines if line.backprop]
    if stage in AUTOGRAD_STAGES:
        assert [line.phase for line in backprop] == [Phase.BACKWARD], f"{stage}: one backward() line, in backward"
    else:
        assert not backprop, f"{stage}: gradients by hand, but a line is declared to backpropagate"


@pytest.mark.parametrize("stage", STAGES)
def test_every_recorded_line_that_makes_no_value_says_what_it_does(stage):
    rng = np.random.default_rng(0)
    data = Dataset("test", rng.standard_normal((8, 6)), rng.standard_normal((8, 3)))
    config = TrainConfig(stage=stage, dtype="float64", init="shared", hidden_size=4, batch_size=8, epochs=2)
    trainer = Trainer(config, data=data)
    trainer.advance(1)
    recording = record_step(trainer.stage, trainer._x, trainer._y)
    declared = set(stage_spec(stage).stage.step_lines)
    assert {line.declared for line in recording.lines} == declared, f"{stage}: a declared line did not run"
    silent = [line.source for line in recording.lines if not line.names and not line.declared.note]
    assert not silent, f"{stage}: lines that make no value and have no note: {silent}"


def test_a_declared_line_the_source_lacks_is_refused():
    wrong = (*numpy_stage.STEP_LINES, StepLine("h = x @ w1.T", Phase.FORWARD))
    with pytest.raises(ValueError, match=r"holds 0 lines `h = x @ w1.T`"):
        locate(wrong, numpy_stage.train_step)


def test_a_line_is_found_whatever_its_comment_says():
    def step(w, x):
        """A docstring that mentions h = x @ w."""
        h = x @ w  # a comment with `# h = x @ w` in it
        return h

    codes = code_lines(step)
    first = step.__code__.co_firstlineno
    assert codes[first + 2] == "h = x @ w"
    assert locate((StepLine("h = x @ w", Phase.FORWARD),), step) == {first + 2: StepLine("h = x @ w", Phase.FORWARD)}
    with pytest.raises(ValueError, match="holds 0 lines"):
        locate((StepLine("h = x @ w  # a comment", Phase.FORWARD),), step)
