"""The sweep benchmark runs end to end at a tiny size and writes only its own section."""

from bench import sweep


def test_the_sweep_benchmark_reports_a_ratio_and_keeps_the_rest_of_the_file(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sweep.BASE, "hidden_size", 8)
    report = tmp_path / "BENCHMARKS.md"
    report.write_text("kept above\n<!-- sweep:start -->\nold figures\n<!-- sweep:end -->\nkept below\n")
    assert sweep.main(["--epochs", "1", "--repeats", "1", "--output", str(report)]) == 0
    text = report.read_text()
    assert text.startswith("kept above\n<!-- sweep:start -->\n## Sweep: four learning rates side by side")
    assert text.endswith("<!-- sweep:end -->\nkept below\n") and "old figures" not in text
    row = next(line for line in text.splitlines() if line.startswith("| ") and line[2].isdigit())
    cells = [cell.strip() for cell in row.split("|")[1:-1]]
    assert float(cells[0]) > 0 and float(cells[1]) > 0 and float(cells[2]) > 0
    assert cells[-1] in ("PASS", "MISS") and "python -m bench.sweep --epochs 1" in text
