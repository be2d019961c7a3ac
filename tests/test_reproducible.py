"""Runs are bit-identical from one fresh process to the next, and when resumed in other threads.

Each case runs in fresh Python processes whose environment has no MKL_CBWR, so Intel MKL (torch's matrix library on
x86) works in its default mode, not its slower strict one; one of the two processes first allocates odd-sized arrays,
so that NumPy's buffers, and the tensors sharing them, start at other addresses than in the other. Runs are resumed
in threads that set the server's one torch thread, as the page's script does, and in threads that set none, as a
button's callback does (it runs before the script sets the count): the trainer gives each its process's count.
"""

import json
import os
import subprocess
import sys

CHILD = r"""
import hashlib, json, os, sys, threading

import numpy as np

shift = [np.empty(n) for n in range(1, int(sys.argv[1]))]  # moves where later NumPy buffers start

import torch

from twolayer import TrainConfig, Trainer

torch.set_num_threads(1)
CONFIGS = {
    "lecture float32": TrainConfig(stage="tensor", hidden_size=100, batch_size=64, epochs=60),
    "lecture float64": TrainConfig(stage="tensor", hidden_size=100, batch_size=64, epochs=60, dtype="float64"),
    "digits mini-batches": TrainConfig(stage="tensor", data="digits", hidden_size=100, batch_size=64, epochs=2),
    "nn mini-batches": TrainConfig(stage="nn", data="digits", hidden_size=100, batch_size=64, epochs=1),
}
# Norms every 5 epochs: the trainer's own spacing follows its clock, which no two runs share.
CONFIGS = {name: config.replace(stats_every=5) for name, config in CONFIGS.items()}


def digest(trainer):
    h = hashlib.sha256(repr((trainer.history.column("loss"), trainer.stats.rows(), trainer.evals.rows())).encode())
    for name, w in trainer.weights().items():
        h.update(name.encode() + w.tobytes())
    return h.hexdigest()


def in_threads(trainer, pin):
    # each slice in a thread of its own, which sets the server's one torch thread or (a callback) none
    def slice_():
        if pin:
            torch.set_num_threads(1)
        trainer.advance(3, time_budget=0.0)

    while not trainer.finished:
        thread = threading.Thread(target=slice_)
        thread.start()
        thread.join()


out = {"MKL_CBWR": os.environ.get("MKL_CBWR")}
for name, config in CONFIGS.items():
    whole = Trainer(config)
    whole.advance(config.epochs)
    runs = {"whole": digest(whole), "x % 64": whole._x.data_ptr() % 64}
    for kind, pin in (("resumed", True), ("resumed unpinned", False)):
        resumed = Trainer(config)
        in_threads(resumed, pin)
        runs[kind] = digest(resumed)
    out[name] = runs
print(json.dumps(out))
"""


def _fresh_process(shift: int) -> dict:
    env = {key: value for key, value in os.environ.items() if key != "MKL_CBWR"}
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(shift)], env=env, capture_output=True, text=True, timeout=300, check=True
    )
    return json.loads(result.stdout)


def test_fresh_processes_and_runs_resumed_across_threads_give_bit_identical_histories():
    first, second = _fresh_process(1), _fresh_process(7)
    assert first["MKL_CBWR"] is None and second["MKL_CBWR"] is None  # importing twolayer sets no MKL mode
    for name, run in first.items():
        if name == "MKL_CBWR":
            continue
        assert run["whole"] == second[name]["whole"], f"{name}: two fresh processes trained different histories"
        for kind in ("resumed", "resumed unpinned"):
            for process in (run, second[name]):
                assert process[kind] == process["whole"], f"{name}: {kind} across threads differs from the whole run"
