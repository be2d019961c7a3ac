"""`python -m bench.sweep`: a sweep's time against its runs trained one after another, written to BENCHMARKS.md.

The page trains a sweep inside one training slot, its values taking turns of 0.1 s; one after another in one
slot, the same runs take the sum of their times. The target: the sweep at most 1.15x that sum.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from bench.report import load, provenance, publish
from bench.timing import interleaved, median, paired_ratio, verdict
from twolayer.teach.sweep import Sweep
from twolayer.teach.sweep_spec import sweep_configs
from twolayer.train.trainer import Trainer, make_dataset

TARGET = 1.15
SLOTS = 1  # a sweep holds one training slot, as a single run does
SLICE_SECONDS = 0.1  # the page's turn length (page/sweep_view.py)
VALUES = ["1e-4", "1e-3", "1e-2", "1e-1"]
BASE = {"stage": "optim", "data": "mnist5k", "epochs": 20, "hidden_size": 100, "device": "cpu"}
ROOT = Path(__file__).resolve().parents[1]


def cases(epochs: int):
    """The sweep in turns and its runs one after another, each returning its wall seconds and last losses."""
    configs = sweep_configs("lr", VALUES, BASE | {"epochs": epochs})
    data = make_dataset(configs[0])
    last: dict[str, list[float]] = {}

    def in_turns() -> float:
        start = time.perf_counter()
        sweep = Sweep("lr", configs, data)
        while not sweep.finished:
            sweep.advance(SLICE_SECONDS)
        seconds = time.perf_counter() - start
        last["sweep"] = [trainer.last_loss() for trainer in sweep.trainers]
        return seconds

    def one_after_another() -> float:
        start = time.perf_counter()
        trainers = [Trainer(config, data=data) for config in configs]
        for trainer in trainers:
            trainer.advance(trainer.config.epochs)
        seconds = time.perf_counter() - start
        last["sequential"] = [trainer.last_loss() for trainer in trainers]
        return seconds

    return {"sequential": one_after_another, "sweep": in_turns}, last


def measure(epochs: int, repeats: int) -> str:
    """The section: medians, the ratio with its spread over the rounds, and the verdict."""
    timed, last = cases(epochs)
    times = interleaved(timed, repeats)
    if last["sweep"] != last["sequential"]:
        raise AssertionError(f"the sweep's runs differ from the single runs: {last['sweep']} != {last['sequential']}")
    ratios = sorted(s / (q / SLOTS) for s, q in zip(times["sweep"], times["sequential"], strict=True))
    ratio = paired_ratio(times["sweep"], [q / SLOTS for q in times["sequential"]])
    seq, swp = median(times["sequential"]), median(times["sweep"])
    lines = [
        "## Sweep: four learning rates side by side",
        "",
        f"A sweep of lr = {', '.join(VALUES)} on `mnist5k` (4,000 training rows in mini-batches of 64), stage optim, "
        f"hidden 100, {epochs} epochs, trained as the page does: in one training slot, the values taking turns of "
        f"{SLICE_SECONDS} s. Against: the same four runs one after another, divided by the {SLOTS} slot the "
        f"sweep may use. Interleaved over {repeats} rounds after a warm-up; the four last losses are checked to be "
        f"equal bit for bit. Target: sweep / (sequential / slots) <= {TARGET}, met when the highest round is.",
        "",
        "| sequential s (median) | sweep s (median) | sweep / sequential (median) | spread (min-max) | target "
        "| result |",
        "| --- | --- | --- | --- | --- | --- |",
        f"| {seq:.2f} | {swp:.2f} | {ratio:.3f} | {ratios[0]:.3f}-{ratios[-1]:.3f} | <= {TARGET} "
        f"| {verdict(ratios[-1] <= TARGET)} |",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure, print the section, and write it between its markers in BENCHMARKS.md (unless --no-write)."""
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m bench.sweep", description=__doc__)
    parser.add_argument("--epochs", type=int, default=BASE["epochs"], help="epochs per value (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved rounds (default: %(default)s)")
    parser.add_argument("--no-write", action="store_true", help="only print (default: write BENCHMARKS.md)")
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md", help="(default: %(default)s)")
    args = parser.parse_args(argv)
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)  # the server's own setting (TWOLAYER_THREADS)
    threadpool_limits(1)
    load_at_start = load()
    section = measure(args.epochs, args.repeats)
    section += provenance(shlex.join(["python", "-m", "bench.sweep", *argv]), load_at_start)
    publish(section, "sweep", args.output, write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
