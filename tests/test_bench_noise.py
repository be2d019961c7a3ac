"""Benchmarks state their noise: spreads decide targets, the machine's load is reported, processes are placed on
cores, and a GPU run is refused where there is no GPU."""

import os
import subprocess
import sys

import pytest
import torch

from bench import __main__ as cli
from bench import busy as busy_module
from bench import page
from bench.busy import Meanwhile, descendants
from bench.timing import median_interval, paired_ratios, spread


def test_a_spread_is_the_lowest_and_highest_of_the_round_ratios():
    ratios = paired_ratios([1.10, 2.0, 3.3], [1.0, 2.0, 3.0])
    assert ratios == pytest.approx([1.1, 1.0, 1.1])
    assert spread(ratios) == "1.000-1.100"


@pytest.mark.parametrize(
    ("rounds", "interval"),
    [(5, (1, 5)), (8, (1, 8)), (9, (2, 8)), (21, (6, 16))],  # 9 and 21: P(outside) 0.039 and 0.027; 10 and 22 more
)
def test_the_median_s_interval_is_the_widest_pair_of_order_statistics_that_keeps_95_percent(rounds, interval):
    # Shuffled: the interval reads order statistics, whatever order the rounds ran in.
    values = [float(v) for v in range(rounds, 0, -1)]
    assert median_interval(values) == interval


def test_one_wild_round_moves_the_lowest_and_highest_but_not_the_median_s_interval():
    ratios = [1.02, 1.03, 1.01, 1.04, 1.02, 1.03, 1.02, 1.01, 1.60]
    assert median_interval(ratios) == (1.01, 1.04)
    assert spread(ratios) == "1.010-1.600"


def run(wall: float, server: float, rate: float) -> dict[str, float]:
    return {"wall": wall, "server": server, "rate": rate, "browser": 1.0}


def test_the_page_target_is_met_only_when_the_interval_s_end_meets_it():
    engines = [10.0, 10.0, 10.0]
    under = page.arrangement_rows(
        page.APART, engines, [run(10.2, 10.1, 5.1), run(10.3, 10.1, 5.0)] + [run(10.4, 10.2, 5.2)]
    )
    assert [row[-1] for row in under if row[-1]] == ["PASS", "PASS"]
    # The median ratio (1.03) meets 1.05 and the median rate (5.1) meets 5, but one pair does not.
    over = page.arrangement_rows(
        page.APART, engines, [run(10.2, 10.1, 5.1), run(10.3, 10.1, 4.9), run(10.6, 10.2, 5.2)]
    )
    assert [row[-1] for row in over if row[-1]] == ["MISS", "MISS"]
    assert over[0][1] == "1.030 (1.020-1.060; 1.020-1.060)"
    shared = page.arrangement_rows(page.SHARED, engines, [run(11.4, 10.5, 4.9)] * 3)
    assert all(row[2] == "report" and row[3] == "" for row in shared), "the shared arrangement is reported only"


def test_the_engine_is_timed_on_the_server_s_core_and_this_process_gets_every_core_back():
    cores = sorted(os.sched_getaffinity(0))
    arrange = page.Arrangement(server_pid=os.getpid(), cores=cores)
    assert arrange.engine(page.APART, lambda: os.sched_getaffinity(0)) == {cores[0]}
    assert os.sched_getaffinity(0) == set(cores)
    assert arrange.engine(page.SHARED, lambda: os.sched_getaffinity(0)) == set(cores)


def test_descendants_follow_the_parent_chain():
    table = {2: (1, "a", 0.0), 3: (2, "b", 0.0), 4: (3, "chromium", 0.0), 5: (1, "other", 0.0), 6: (5, "c", 0.0)}
    assert descendants(2, table) == {3, 4}
    assert descendants(4, table) == set()


def test_a_child_s_cpu_time_is_this_benchmark_s_own_work():
    busy = [sys.executable, "-c", "import time\nend = time.process_time() + 0.5\nwhile time.process_time() < end: pass"]
    before = busy_module._own_seconds()
    subprocess.run(busy, check=True, timeout=120)
    assert busy_module._own_seconds() - before >= 0.5


def test_the_other_load_is_the_machine_s_busy_time_less_this_benchmark_s(monkeypatch):
    readings = {"busy": iter([100.0, 103.0]), "own": iter([10.0, 11.5]), "clock": iter([0.0, 2.0])}
    monkeypatch.setattr(busy_module, "_busy_seconds", lambda: next(readings["busy"]))
    monkeypatch.setattr(busy_module, "_own_seconds", lambda: next(readings["own"]))
    monkeypatch.setattr(busy_module, "perf_counter", lambda: next(readings["clock"]))
    with Meanwhile() as meanwhile:
        pass
    assert meanwhile.others == pytest.approx(0.75)  # (3 s busy - 1.5 s ours) over 2 s
    assert f"kept 0.75 of its {os.cpu_count()} cores busy" in meanwhile.text()


def test_a_gpu_run_is_refused_clearly_where_torch_sees_no_gpu(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit):
        cli.parse(["--device", "cuda"])
    assert "--device cuda: torch" in capsys.readouterr().err


def test_a_gpu_run_takes_the_sections_that_train_there(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert cli.parse(["--device", "cuda"]).only == ["engine", "mnist", "page"]
    with pytest.raises(SystemExit):
        cli.parse(["--device", "cuda", "--only", "engine,tti"])
    assert "run tti without it" in capsys.readouterr().err
