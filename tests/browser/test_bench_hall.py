"""The hall benchmark end to end, briefly: a class of two on two processes, its own section written, the rest kept."""

from __future__ import annotations

import re

from bench import hall


def test_the_hall_benchmark_measures_a_class_and_writes_only_its_section(tmp_path, browser):
    report = tmp_path / "BENCHMARKS.md"
    report.write_text("kept above\n<!-- hall:start -->\nold figures\n<!-- hall:end -->\nkept below\n")
    argv = ["--minutes", "0.3", "--students", "2", "--burners", "1", "--output", str(report)]
    assert hall.main(argv, browser) == 0  # no session and no run lost
    text = report.read_text()
    assert text.startswith("kept above\n<!-- hall:start -->\n## The hall saturated: sessions and runs lost")
    assert text.endswith("<!-- hall:end -->\nkept below\n") and "old figures" not in text
    rows = [line.split(" | ") for line in text.splitlines() if line.startswith("| 120 s")]
    assert len(rows) == 1, text
    (name, closes, lost, back, resumed, runs_lost, finished, ends, health, checkpoints) = rows[0]
    # No ping is due within 18 s of a 120 s interval, so no page's WebSocket closed and every session held.
    assert (closes, lost, back, resumed, runs_lost) == ("0", "0", "0", "0", "0")
    assert int(finished) >= 0 and ends == "none"
    assert re.fullmatch(r"\d+ \(0\)", health), health
    median, largest = map(int, re.fullmatch(r"(\d+) \((\d+)\) \|", checkpoints).groups())
    assert 0 < median <= largest  # each student's run saved checkpoints as it trained
    assert "Running · epoch" in text and "`python -m bench.hall --minutes 0.3" in text
