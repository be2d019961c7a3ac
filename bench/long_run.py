"""Resident memory over one long lecture-size run, in a fresh process: `python -m bench.long_run EPOCHS THREADS`."""

from __future__ import annotations

import json
import os
import sys
import time

import torch
from threadpoolctl import threadpool_limits

from harness.server import memory_mb
from twolayer import TrainConfig, Trainer

STAGE = "optim"  # the stage holding the most state: autograd graphs, optimizer moments, biases
SLICE = 1000  # epochs per advance call, as a caller drawing between slices would do


def resident_mb() -> float:
    """This process's resident memory (VmRSS) in MB."""
    return memory_mb(os.getpid())["VmRSS"]


def measure(epochs: int) -> dict[str, float]:
    """Memory before and after `epochs` lecture-size epochs, the most seen in between, and the records' size."""
    trainer = Trainer(TrainConfig(stage=STAGE, epochs=epochs, init="shared", dtype="float32", device="cpu"))
    trainer.advance(1)  # the first step allocates the autograd and optimizer buffers every later step reuses
    before = most = resident_mb()
    start = time.perf_counter()
    while not trainer.finished:
        trainer.advance(SLICE)
        most = max(most, resident_mb())
    return {
        "epochs": trainer.epoch,
        "seconds": time.perf_counter() - start,
        "before_mb": before,
        "after_mb": resident_mb(),
        "most_mb": most,
        "record_bytes": sum(
            table.nbytes() for table in (trainer.history, trainer.stats, trainer.histograms, trainer.firing)
        ),
    }


if __name__ == "__main__":
    torch.set_num_threads(int(sys.argv[2]))
    threadpool_limits(int(sys.argv[2]))
    print(json.dumps(measure(int(sys.argv[1]))))
