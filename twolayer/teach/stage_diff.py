"""What each stage takes over: its whole program as lines removed and added since the previous stage's."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from twolayer.teach.program import program_blocks
from twolayer.train.config import TrainConfig
from twolayer.train.stages import previous_stage, stage_spec

SAME, REMOVED, ADDED = " ", "-", "+"


@dataclass(frozen=True)
class Part:
    """One part of the program (settings, data, step, ...): its lines marked SAME, REMOVED or ADDED, and a note."""

    name: str
    lines: list[tuple[str, str]]  # (mark, line)
    note: str  # what the new API does here; empty where nothing changed

    @property
    def changed(self) -> bool:
        return any(mark != SAME for mark, _ in self.lines)


def stage_difference(config: TrainConfig, rows: int) -> list[Part]:
    """The program of `config` against the previous stage's with the same settings, part by part."""
    previous = previous_stage(config.stage)
    if previous is None:
        raise ValueError(f"stage {config.stage!r} is the first: there is no previous stage to compare with")
    # The same learning rate on both sides: the difference shown is the API's, not the lecture's choice of rate.
    before = dict(program_blocks(config.replace(stage=previous, learning_rate=config.learning_rate), rows))
    notes = stage_spec(config.stage).notes  # what the new stage's API does for you, per part that changed
    after = dict(program_blocks(config, rows))
    parts = []
    for name in _in_order(list(before), list(after)):
        lines = _marked(before.get(name, ""), after.get(name, ""))
        part = Part(name, lines, "")
        if part.changed:
            part = Part(name, lines, notes.get(name, ""))
        parts.append(part)
    return parts


def side(parts: list[Part], which: str) -> str:
    """One side of the difference as program text: the previous stage's (REMOVED) or this one's (ADDED)."""
    keep = {SAME, which}
    blocks = ["\n".join(line for mark, line in part.lines if mark in keep) for part in parts]
    return "\n\n".join(block for block in blocks if block) + "\n"


def _in_order(before: list[str], after: list[str]) -> list[str]:
    """Part names in program order, a part only one side has placed where that side has it."""
    names = list(after)
    for i, name in enumerate(before):
        if name not in names:
            later = [n for n in before[i + 1 :] if n in names]
            names.insert(names.index(later[0]) if later else len(names), name)
    return names


def _marked(old: str, new: str) -> list[tuple[str, str]]:
    """The lines of `new`, with the lines of `old` it lacks interleaved where they stood."""
    a, b = old.splitlines(), new.splitlines()
    lines: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            lines += [(SAME, line) for line in b[j1:j2]]
            continue
        lines += [(REMOVED, line) for line in a[i1:i2]]
        lines += [(ADDED, line) for line in b[j1:j2]]
    return lines
