"""The take-home benchmark runs end to end at a small size and writes only its own section."""

from bench import take_home


def test_the_take_home_benchmark_reports_both_runs_and_keeps_the_rest_of_the_file(tmp_path):
    report = tmp_path / "BENCHMARKS.md"
    report.write_text("kept above\n<!-- take-home:start -->\nold figures\n<!-- take-home:end -->\nkept below\n")
    assert take_home.main(["--rows", "300", "--epochs", "1", "--output", str(report)]) == 0
    text = report.read_text()
    assert text.startswith("kept above\n<!-- take-home:start -->\n## Taking a run home")
    assert text.endswith("<!-- take-home:end -->\nkept below\n") and "old figures" not in text
    rows = [line.split("|")[1:-1] for line in text.splitlines() if line.startswith("| lecture") or "images |" in line]
    lecture, mnist = [[cell.strip() for cell in row] for row in rows]
    assert lecture[1:3] == ["64", "500"] and lecture[5] == "11" and lecture[-1] == "PASS"
    assert 4 < float(lecture[3].removesuffix(" MB")) < 8 and float(lecture[7].removesuffix(" s")) <= 10
    assert mnist[0] == "MNIST size: optim stage, 300 images" and mnist[1:3] == ["300", "1"]
    assert "python -m bench.take_home --rows 300 --epochs 1" in text
