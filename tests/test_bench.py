"""The benchmark command runs end to end at a tiny size and reports a ratio for every stage; its report file."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from bench import __main__ as cli
from bench import engine, peak
from bench.report import START, write
from twolayer import TrainConfig, Trainer
from twolayer.train.stages import STAGES, stage_spec


def test_engine_section_has_a_positive_ratio_per_stage(monkeypatch, tmp_path, capsys):
    # A tiny run keeps the test fast; the timings themselves are not asserted, only that each was measured.
    monkeypatch.setattr(engine, "SIZES", {"tiny": (8, 4, 20, None)})
    output = tmp_path / "BENCHMARKS.md"
    cli.main(["--quick", "--only", "engine", "--output", str(output), "--threads", str(torch.get_num_threads())])
    printed = capsys.readouterr().out
    rows = [line.split("|")[1:-1] for line in printed.splitlines() if line.startswith("| tiny")]
    ratios = {cells[1].strip(): float(cells[6]) for cells in rows}
    assert set(ratios) == set(STAGES), f"one row per stage expected, got {sorted(ratios)}"
    assert all(ratio > 0 for ratio in ratios.values()), f"every engine/bare ratio should be positive: {ratios}"
    verdicts = [cells[-1].strip() for cells in rows]
    assert set(verdicts) <= {"PASS", "MISS"}, f"every row should state whether it met the target: {verdicts}"
    report = output.read_text()
    assert "python -m bench --quick --only engine" in report, "the report should state the command"
    assert re.search(r"- CPU: \S", report) and "torch" in report, "the report should describe the machine"


def test_report_rewrites_only_its_own_block(tmp_path):
    path = tmp_path / "BENCHMARKS.md"
    path.write_text("notes kept by hand\n")
    write(path, "first run\n")
    write(path, "second run\n")
    text = path.read_text()
    assert "second run" in text and "first run" not in text, "a new run should replace the previous block"
    assert text.count(START) == 1 and "notes kept by hand" in text, "text outside the markers should be kept"


def test_a_report_of_some_sections_replaces_only_those_and_keeps_the_rest_in_place(tmp_path):
    path = tmp_path / "BENCHMARKS.md"
    write(
        path,
        "# Benchmarks\n\nold header\n## 1. Engine\n\nold engine\n\n## 3. Page\n\nold page\n\n## 5. TTI\n\nold tti\n",
    )
    write(path, "# Benchmarks\n\nnew header\n## 3. Page\n\nnew page\n\n## 9. New\n\nnew section\n", partial=True)
    text = path.read_text()
    assert "new header" in text and "old header" not in text
    assert "old page" not in text
    order = [text.index(part) for part in ("old engine", "new page", "old tti", "new section")]
    assert order == sorted(order), f"sections should keep their places, a new one last: {text}"
    assert text.count("## 3. Page") == 1 and text.count(START) == 1


@pytest.mark.parametrize(
    "stage", [stage for stage in STAGES if stage_spec(stage).uses_torch]
)  # NumPy: the same products
def test_flop_count_is_what_torch_counts_for_one_step(stage):
    # FlopCounterMode counts the matrix products torch actually runs, forward and backward.
    config = TrainConfig(stage=stage, batch_size=32, hidden_size=16, epochs=1)
    trainer = Trainer(config)
    x, y = trainer.next_batch()  # the whole batch: one step is one epoch, without the epoch's records
    with FlopCounterMode(display=False) as counter:
        trainer.stage.step(x, y)
    assert counter.get_total_flops() == peak.flops_per_epoch(32, 16)


def test_benchmarks_and_harness_import_without_playwright():
    # The CPU sections and their tests must run where no browser stack is installed: Playwright is imported
    # only by the sections that drive Chromium, when they run.
    root = Path(__file__).resolve().parents[1]
    paths = [*(root / "bench").glob("*.py"), *(root / "harness").glob("*.py")]
    modules = [f"{path.parent.name}.{path.stem}" for path in paths]
    script = "import importlib, json, sys\n"
    script += f"for name in {modules!r}: importlib.import_module(name)\n"
    script += "print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, check=True)
    loaded = json.loads(done.stdout)
    assert "bench.__main__" in loaded and "bench.engine" in loaded, "the benchmark command and its sections"
    assert not [name for name in loaded if name.split(".")[0] == "playwright"], "Playwright imported without a browser"
