"""No code branches on a stage's name outside twolayer/train/stages/ (what a stage is comes from its spec), and no
run state is compared as text (states are RunState members)."""

from __future__ import annotations

import ast
from pathlib import Path

from twolayer.train.state import RunState

ROOT = Path(__file__).resolve().parents[1]
NAMES = frozenset(("numpy", "tensor", "autograd", "nn", "optim"))  # the lecture stages' names
STATE_WORDS = frozenset(state.value for state in RunState)


def _names_in(node: ast.AST, names: frozenset[str] = NAMES) -> set[str]:
    """The stage names `node` holds as a literal: a string, or a tuple, list or set of strings."""
    if isinstance(node, ast.Constant) and node.value in names:
        return {node.value}
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return set().union(*(_names_in(element, names) for element in node.elts))
    return set()


def branches_on_names(source: str, names: frozenset[str] = NAMES) -> list[tuple[int, str]]:
    """Each place in `source` that compares with, tests membership in, matches or keys by one of `names` as text."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            literals = [node.left, *node.comparators]
        elif isinstance(node, ast.Dict):
            literals = [key for key in node.keys if key is not None]
        elif isinstance(node, ast.Subscript):
            literals = [node.slice]
        elif isinstance(node, ast.MatchValue):
            literals = [node.value]
        else:
            continue
        for name in sorted(set().union(*(_names_in(literal, names) for literal in literals))):
            found.append((node.lineno, name))
    return found


FILES = [ROOT / "app.py", *sorted((ROOT / "page").rglob("*.py")), *sorted((ROOT / "twolayer").rglob("*.py"))]


def test_no_code_outside_the_stages_branches_on_a_stage_name():
    stages = ROOT / "twolayer" / "train" / "stages"
    places = [
        f"{path.relative_to(ROOT)}:{line} {name!r}"
        for path in FILES
        if stages not in path.parents
        for line, name in branches_on_names(path.read_text())
    ]
    assert not places, "read the stage's spec (twolayer.train.stages.stage_spec) instead:\n" + "\n".join(places)


def test_the_check_sees_every_kind_of_branch_and_nothing_else():
    source = """
if stage == "numpy": pass
if config.stage in ("nn", "optim"): pass
notes = {"tensor": 1, "data": 2}
first = configs["autograd"]
match stage:
    case "optim": pass
library = "numpy"  # a plain value, not a branch
if source in ("random", "digits"): pass
"""
    assert branches_on_names(source) == [
        (2, "numpy"),
        (3, "nn"),
        (3, "optim"),
        (4, "tensor"),
        (5, "autograd"),
        (7, "optim"),
    ]


def test_no_run_state_is_compared_as_text():
    places = [
        f"{path.relative_to(ROOT)}:{line} {word!r}"
        for path in FILES
        for line, word in branches_on_names(path.read_text(), STATE_WORDS)
    ]
    assert not places, "compare RunState members instead:\n" + "\n".join(places)
