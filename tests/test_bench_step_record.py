"""The Inside a step benchmark section runs end to end; its tables' shape and the runs' equality, not its timings."""

import math

import pytest

from bench import step_record
from twolayer import TrainConfig, Trainer
from twolayer.teach.step_record import record_next_step

STAGES = ("numpy", "optim")  # a hand-written step and one with an optimizer's state


@pytest.fixture(scope="module")
def sections():
    return step_record.measure(quick=True, stages=STAGES)


def numbers(cell: str) -> list[float]:
    """The numbers a cell shows, e.g. '12 (15)' -> [12.0, 15.0]."""
    return [float(part.strip("()")) for part in cell.split()]


def test_every_stage_has_a_row_of_finite_times_and_a_verdict(sections):
    tab, speed = sections
    for section in sections:
        assert [row[0] for row in section.rows] == list(STAGES), f"{section.title}: one row per stage expected"
        for row in section.rows:
            assert len(row) == len(section.header), f"{section.title}: row {row} does not fit {section.header}"
            assert row[-1] in {"PASS", "MISS"}, f"{section.title}: the result column should say PASS or MISS: {row}"
    for row in tab.rows:
        for column in ("record ms", "draw line 1 ms", "draw ms", "record + line 1 ms", "record + costliest ms"):
            values = numbers(row[tab.header.index(column)])
            assert all(math.isfinite(v) and v >= 0 for v in values), f"{row[0]}: {column} = {values}"
    for row in speed.rows:
        for column in ("never ms/epoch", "recorded ms/epoch", "recorded/never", "CPU recorded/never"):
            value = numbers(row[speed.header.index(column)])[0]
            assert math.isfinite(value) and value > 0, f"{row[0]}: {column} = {value}"


def test_the_costliest_line_is_named_by_its_number_and_code(sections):
    tab = sections[0]
    for row in tab.rows:
        trainer = Trainer(TrainConfig(stage=row[0]))
        trainer.advance(1)
        lines = record_next_step(trainer).lines
        assert int(row[1]) == len(lines), f"{row[0]}: {row[1]} lines, the step has {len(lines)}"
        number, source = row[tab.header.index("costliest line")].split(": ", 1)
        assert source == f"`{lines[int(number) - 1].source}`", f"{row[0]}: line {number} is not {source}"


def test_recording_before_every_round_leaves_the_run_bit_identical(sections):
    for row in sections[1].rows:
        assert row[sections[1].header.index("runs")] == "identical", f"{row[0]}: recording changed the run: {row}"
