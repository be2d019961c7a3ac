"""Section 7: every stage on MNIST-sized data (60,000 28x28 training images, 10,000 test), generated as IDX files.

`python -m bench.mnist [--quick]` runs it alone and prints its tables; `python -m bench` records them in BENCHMARKS.md
with the other sections.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from threadpoolctl import threadpool_limits

from bench.mnist_data import BATCH, HIDDEN, SIDE, THREADS, config, write_mnist
from bench.mnist_memory import memory, memory_section
from bench.mnist_pause import PAUSE_BUDGET, pause, pause_section, resume, resume_section
from bench.mnist_speed import eval_section, speed, speed_section
from bench.report import Section, load
from twolayer import Trainer
from twolayer.train.config import STAGES

REPEATS, QUICK_REPEATS = 3, 1  # counted rounds, after one uncounted warm-up round
PAUSE_SLICES, QUICK_PAUSE_SLICES = 20, 5
RESUME_STAGE = "optim"  # the stage holding the most state: autograd, optimizer moments, biases
MEMORY_EPOCHS, QUICK_MEMORY_EPOCHS = 2, 1


def measure(
    directory: str | Path,
    quick: bool = False,
    stages: Sequence[str] = STAGES,
    pause_budget: float = PAUSE_BUDGET,
    device: str = "cpu",
) -> list[Section]:
    """The tables for the IDX files in `directory`: run with THREADS torch and BLAS threads already set. On a GPU
    the speed and evaluation tables of its torch stages only: memory, pauses and resuming are the CPU process's."""
    if device != "cpu":
        stages = [stage for stage in stages if stage != "numpy"]
    repeats = QUICK_REPEATS if quick else REPEATS
    slices = QUICK_PAUSE_SLICES if quick else PAUSE_SLICES
    data = None  # loaded from the IDX files by the first trainer (config data="mnist:DIR"), then shared
    speeds, pauses, memories = {}, {}, {}
    for stage in stages:
        start = time.perf_counter()
        cfg = config(directory, stage, device)
        trainer = Trainer(cfg, data=data)
        data = trainer.data
        speeds[stage] = speed(trainer, repeats)
        del trainer
        if device != "cpu":
            continue
        pauses[stage] = pause(Trainer(cfg, data=data), slices, pause_budget)
        memories[stage] = memory(directory, stage, QUICK_MEMORY_EPOCHS if quick else MEMORY_EPOCHS)
        print(f"(mnist {stage}: {time.perf_counter() - start:.0f} s, load {load()})", file=sys.stderr, flush=True)
    rows, test_rows = len(data.x_train), len(data.x_test)
    size = f"{rows:,} x {SIDE}x{SIDE} training images, {test_rows:,} test, mini-batch {BATCH}, hidden {HIDDEN}"
    if device != "cpu":
        return [speed_section(speeds, f"{size}, on {device}", repeats), eval_section(speeds, rows, test_rows)]
    resume_stage = RESUME_STAGE if RESUME_STAGE in stages else stages[0]
    cfg = config(directory, resume_stage)
    resumed = resume(Trainer(cfg, data=data), Trainer(cfg, data=data), pause_budget)
    return [
        speed_section(speeds, size, repeats),
        eval_section(speeds, rows, test_rows),
        memory_section(memories, size),
        pause_section(pauses, pause_budget, size),
        resume_section(resume_stage, resumed, pause_budget),
    ]


def run(quick: bool = False, device: str = "cpu") -> list[Section]:
    """The section on generated MNIST-sized IDX files (written once to a temporary folder, shared by all stages),
    with THREADS torch and BLAS threads for its duration (restored after), the torch stages on `device`."""
    threads = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    try:
        with threadpool_limits(THREADS), tempfile.TemporaryDirectory(prefix="bench-mnist-") as directory:
            return measure(write_mnist(directory), quick, device=device)
    finally:
        torch.set_num_threads(threads)


def main(argv: list[str] | None = None) -> None:
    """Run the section alone and print its tables (`python -m bench` records them in BENCHMARKS.md)."""
    parser = argparse.ArgumentParser(prog="python -m bench.mnist", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer rounds and slices")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    torch.set_num_threads(THREADS)
    threadpool_limits(THREADS)
    for section in run(args.quick):
        print(section.markdown(), flush=True)


if __name__ == "__main__":
    main()
