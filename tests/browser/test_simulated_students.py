"""Simulated students (Streamlit's WebSocket protocol, no browser) on a real server, and the benchmark built on them."""

from __future__ import annotations

import asyncio
import re

from bench import seats
from harness import student as simulated
from harness.student import Student
from twolayer import TrainConfig, Trainer


async def two_students(url: str) -> list[Student]:
    students = [Student(url, "stage=numpy&hidden=32&seed=5&epochs=3000"), Student(url, "stage=tensor&seed=6")]
    for student in students:
        await student.connect()
    try:
        await asyncio.gather(*(s.opened(120) for s in students))
        await asyncio.gather(*(s.train(300) for s in students))
    finally:
        for student in students:
            await student.close()
    return students


def test_simulated_students_open_the_page_press_train_and_see_their_runs_done(app_server):
    students = simulated.run(two_students(app_server))
    runs = [Trainer(TrainConfig(hidden_size=32, seed=5, epochs=3000)), Trainer(TrainConfig(stage="tensor", seed=6))]
    for student, run in zip(students, runs, strict=True):
        run.advance(run.config.epochs)
        seen = student.seen
        assert seen.statuses[0][1] == "Ready" and seen.opened < seen.pressed < seen.done
        last = seen.statuses[-1][2]
        epochs = run.config.epochs
        assert last.startswith(f"**Done** · epoch **{epochs}** of {epochs} · loss **{run.loss_curve()[1][-1]:.4g}**")
        assert seen.bytes > 10_000 and seen.frames > 10
    # The longer run was seen training frame by frame, its epochs rising.
    epochs = [int(m[1]) for *_, line in students[0].seen.statuses if (m := re.search(r"epoch \*\*(\d+)\*\*", line))]
    assert len(epochs) >= 3 and epochs == sorted(epochs) and epochs[0] < 3000


def test_the_seats_benchmark_measures_a_class_on_one_core(tmp_path):
    report = tmp_path / "BENCHMARKS.md"
    argv = ["--start", "2", "--largest", "2", "--window", "2", "--output", str(report)]
    seats.main(argv)
    text = report.read_text()
    assert "## Students per core" in text and "`python -m bench.seats --start 2" in text
    cells = next(line.split(" | ") for line in text.splitlines() if line.startswith("| 2 |"))
    assert cells[1] == "2 / 2"  # both students saw Done
    opening_cpu, run_cpu = map(float, cells[4].split(" / "))
    assert opening_cpu > 0 and run_cpu > 0
    assert re.fullmatch(r"[\d.]+ / [\d.]+", cells[5])
    assert re.search(r"\*\*Students per core: [02]\*\*", text)
