"""The board benchmark end to end at a tiny size: every figure measured, its own section written, the rest kept."""

from __future__ import annotations

import re

import pytest

from bench import board


def test_the_board_benchmark_measures_and_writes_only_its_section(tmp_path, browser):
    report = tmp_path / "BENCHMARKS.md"
    report.write_text("kept above\n<!-- board:start -->\nold figures\n<!-- board:end -->\nkept below\n")
    argv = ["--runs", "6", "--loads", "1", "--new-runs", "1", "--students", "6", "--window", "3", "--down", "1"]
    assert board.main([*argv, "--output", str(report)], browser) == 0
    text = report.read_text()
    assert text.startswith("kept above\n<!-- board:start -->\n## The class board and one store for a class")
    assert text.endswith("<!-- board:end -->\nkept below\n") and "old figures" not in text
    assert "`python -m bench.board --runs 6" in text
    cells = {row.split(" | ")[0][2:]: row.split(" | ")[1] for row in text.splitlines() if row.startswith("| ")}
    draw = re.fullmatch(r"([\d.]+) / ([\d.]+) s", cells["board of 6 runs: time to draw, median / p95"])
    assert draw and 0 < float(draw[1]) <= float(draw[2])
    restarted = next(key for key in cells if "PostgreSQL restarted 2 s in" in key and key.endswith("lost / twice"))
    assert cells[restarted] == "6 / 0 / 0" == cells["6 students finishing within 3 s: on the board / lost / twice"]
    assert cells["6 students finishing within 3 s: histories holding their run"] == "6 / 6"


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["--runs", "0"], "--runs must be at least 1"), (["--window", "1"], "--window must be at least 2 seconds")],
)
def test_bad_options_are_refused(argv, message, capsys):
    with pytest.raises(SystemExit):
        board.main(argv)
    assert message in capsys.readouterr().err
