"""What each line of a stage's `train_step` is for: its phase of the step, declared as data beside the function.

A stage names each line that does work by its code as written, comment left out. `locate` finds those lines in the
function's real source, so what the page shows never rests on guessing from how a line is spelled.
"""

from __future__ import annotations

import inspect
import tokenize
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum


class Phase(StrEnum):
    """The four parts of a training step."""

    FORWARD = "forward"
    LOSS = "loss"
    BACKWARD = "backward"
    UPDATE = "update"


PHASES = tuple(Phase)  # in the order a step runs them


@dataclass(frozen=True)
class StepLine:
    """One line of `train_step` that does work: its code, its phase, and what the page shows beside it."""

    code: str  # the line as written, without its comment
    phase: Phase
    relu: bool = False  # applies the ReLU or lets its gradient through: shown with where h > 0
    backprop: bool = False  # runs backpropagation: shown with the autograd graph it walks
    note: str = ""  # what the line does, for a line that makes no value of its own


def code_lines(function: Callable) -> dict[int, str]:
    """Each line of `function`'s source by its line number in the file: its code as written, comment left out."""
    lines, first = inspect.getsourcelines(function)
    comments = {
        token.start[0]: token.start[1]
        for token in tokenize.generate_tokens(iter(lines).__next__)
        if token.type == tokenize.COMMENT
    }
    return {first + i: line[: comments.get(i + 1)].strip() for i, line in enumerate(lines)}


def locate(declared: Sequence[StepLine], function: Callable) -> dict[int, StepLine]:
    """The declared lines by their line number in `function`'s file; one the source lacks or holds twice is an error."""
    numbers: dict[str, list[int]] = {}
    for lineno, code in code_lines(function).items():
        numbers.setdefault(code, []).append(lineno)
    located = {}
    for line in declared:
        found = numbers.get(line.code, [])
        if len(found) != 1:
            raise ValueError(f"{function.__qualname__} holds {len(found)} lines `{line.code}`, declared as one")
        located[found[0]] = line
    return located
