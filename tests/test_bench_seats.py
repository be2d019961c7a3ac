"""The students-per-core benchmark's verdicts: what a student saw, and when a class is served well enough."""

from __future__ import annotations

import pytest

from bench import seats
from harness.student import Seen


def seen(pressed: float, done: float | None, running_at: list[float]) -> Seen:
    """A student who pressed Train at `pressed` and saw Running at those moments, Done at `done`."""
    statuses = [(t, "Running", f"**Running** · epoch {i}") for i, t in enumerate(running_at)]
    if done is not None:
        statuses.append((done, "Done", "**Done** · epoch **500** of 500"))
    return Seen(statuses=statuses, pressed=pressed, done=done)


def test_updates_a_second_count_the_running_lines_between_train_and_done():
    student = seen(10.0, 12.0, [9.0, 10.0, 10.5, 11.0, 11.5, 12.5])
    assert student.updates_per_second() == 4 / 2.0  # 9.0 came before the press, 12.5 after Done
    assert seen(10.0, None, [10.5]).updates_per_second() is None


def a_class(slowdowns: list[float], rate: float, finished: bool = True) -> seats.ClassRun:
    """A class whose students took these multiples of a 1 s run alone, seeing `rate` updates a second."""
    students = []
    for slow in slowdowns:
        running = [i / rate for i in range(int(slow * rate))]
        students.append(seen(0.0, slow if finished else None, running))
    return seats.ClassRun(len(students), students, 1.0, 0.1, 0.5, 1.0, 20.0, [0.01, None])


def test_a_class_is_served_when_its_slowest_and_least_updated_students_are():
    assert a_class([1.0] * 19 + [1.9], rate=6).met
    assert not a_class([1.0] * 18 + [2.5, 2.5], rate=6).met  # the 95th percentile took 2.5x the run alone
    assert not a_class([1.0] * 20, rate=4).met  # 4 updates a second
    assert not a_class([1.0] * 20, rate=6, finished=False).met


def test_a_row_gives_the_class_figures_per_student():
    row = seats.row(a_class([1.0, 1.5, 3.0, 1.0], rate=6))
    assert row[:3] == ["4", "4 / 4", "1.25 / 3.00"]
    assert row[4:] == ["0.03 / 0.12", "0.2 / 5.0", "10 (1)", "**no**"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["--start", "0"], "--start must be from 1"), (["--window", "0"], "--window must be positive")],
)
def test_bad_options_are_refused(argv, message, capsys):
    with pytest.raises(SystemExit):
        seats.main(argv)
    assert message in capsys.readouterr().err
