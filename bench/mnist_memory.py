"""Section 7c: the memory a full-size run holds and its resident memory's growth, each stage in a fresh process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import torch
from threadpoolctl import threadpool_limits

from bench.long_run import resident_mb
from bench.mnist_data import THREADS, config
from bench.report import Section
from harness.server import memory_mb
from twolayer import TrainConfig, Trainer

ROOT = Path(__file__).resolve().parents[1]
MB = 1e6


def _buffer(array) -> tuple[int, int]:
    """Where an array's data starts and its size in bytes (a torch tensor made from a NumPy array shares it)."""
    if isinstance(array, torch.Tensor):
        return array.data_ptr(), array.element_size() * array.nelement()
    return array.__array_interface__["data"][0], array.nbytes


def _distinct_bytes(arrays: Sequence) -> int:
    """Bytes of the arrays, each buffer counted once."""
    return sum(dict(_buffer(array) for array in arrays if array is not None).values())


def held_bytes(trainer: Trainer) -> dict[str, int]:
    """Bytes the run holds: data arrays (the dataset's and the trainer's backend copies, shared ones once), weights
    with their gradients and optimizer state, and records (history, norms, evaluations, histograms, firing)."""
    data, stage = trainer.data, trainer.stage
    arrays = [trainer._x, trainer._y, trainer._x_test, data.x_train, data.y_train, data.x_test, data.y_test]
    arrays += [data.labels_train, data.labels_test]
    weights = list(stage.params().values()) + list(stage.grads().values())
    optimizer = getattr(stage, "optimizer", None)
    if optimizer is not None:
        weights += [t for state in optimizer.state.values() for t in state.values() if isinstance(t, torch.Tensor)]
    tables = (trainer.history, trainer.stats, trainer.evals, trainer.histograms, trainer.firing)
    return {
        "data_bytes": _distinct_bytes(arrays),
        "weights_bytes": _distinct_bytes(weights),
        "records_bytes": sum(table.nbytes() for table in tables),
    }


def probe_memory(directory: str | Path, stage: str, epochs: int) -> dict[str, float]:
    """Resident memory before building the trainer (which loads the IDX files), after, and after `epochs` epochs;
    a tiny run of the stage first loads the code it runs (torch loads parts lazily), as the app's warm-up does."""
    Trainer(TrainConfig(stage=stage, hidden_size=4, batch_size=4, epochs=2, device="cpu")).advance(2)
    before = resident_mb()
    trainer = Trainer(config(directory, stage))
    built = resident_mb()
    trainer.advance(epochs)
    return {
        "before_mb": before,
        "built_mb": built,
        "after_mb": resident_mb(),
        "peak_mb": memory_mb(os.getpid())["VmHWM"],
        "epochs": trainer.epoch,
        **held_bytes(trainer),
    }


def memory(directory: str | Path, stage: str, epochs: int) -> dict[str, float]:
    """`probe_memory` in a fresh process, so that memory freed by earlier runs cannot hide growth."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.mnist_memory", stage, str(directory), str(epochs)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"{stage}: the memory probe failed:\n{done.stderr}")
    return json.loads(done.stdout)


def memory_section(memories: dict[str, dict[str, float]], size: str) -> Section:
    epochs = {int(m["epochs"]) for m in memories.values()}
    section = Section(
        "7c. Memory the run holds",
        f"A fresh process per stage ({size}), warmed up by a tiny run of the stage: held = bytes of the data "
        "arrays (dataset and the trainer's backend arrays, a shared buffer counted once), weights with gradients "
        "and optimizer state, and records (loss history, norms, evaluations, histogram snapshots, firing rates). "
        "RSS growth: resident memory (VmRSS) from before building the trainer (which reads the IDX files) to after "
        f"building it and after {'/'.join(map(str, sorted(epochs)))} epochs; peak: the most resident memory "
        "(VmHWM) over the start.",
        [
            "stage",
            "data MB",
            "weights MB",
            "records MB",
            "held MB",
            "RSS growth: build MB",
            "RSS growth: train MB",
            "RSS growth MB",
            "growth / held",
            "peak over start MB",
        ],
    )
    for stage, m in memories.items():
        held = (m["data_bytes"] + m["weights_bytes"] + m["records_bytes"]) / MB
        growth = (m["after_mb"] - m["before_mb"]) * 2**20 / MB  # VmRSS is in KiB: MiB -> MB
        section.rows.append(
            [
                stage,
                f"{m['data_bytes'] / MB:.1f}",
                f"{m['weights_bytes'] / MB:.2f}",
                f"{m['records_bytes'] / MB:.3f}",
                f"{held:.1f}",
                f"{(m['built_mb'] - m['before_mb']) * 2**20 / MB:.1f}",
                f"{(m['after_mb'] - m['built_mb']) * 2**20 / MB:.1f}",
                f"{growth:.1f}",
                f"{growth / held:.2f}",
                f"{(m['peak_mb'] - m['before_mb']) * 2**20 / MB:.1f}",
            ]
        )
    return section


def main(argv: list[str] | None = None) -> None:
    """The fresh process of `memory`: `python -m bench.mnist_memory STAGE DIR EPOCHS` prints `probe_memory` as JSON."""
    stage, directory, epochs = sys.argv[1:] if argv is None else argv
    torch.set_num_threads(THREADS)
    threadpool_limits(THREADS)
    print(json.dumps(probe_memory(directory, stage, int(epochs))))


if __name__ == "__main__":
    main()
