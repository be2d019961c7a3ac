"""What browser tests share: where the repository and its artifacts are; Chromium and Streamlit's idle state."""

from __future__ import annotations

import os
import re

import torch
from threadpoolctl import threadpool_limits

# Debian's Chromium and its flags, and how to tell Streamlit is done: shared with the benchmarks.
from harness.browser import APP_IDLE, CHROMIUM, CHROMIUM_ARGS, RUNNING_WIDGET, wait_for_app  # noqa: F401
from harness.server import ROOT as REPO
from twolayer import TrainConfig, Trainer

ARTIFACTS = REPO / "test-artifacts"
STATUS = re.compile(r"^(Ready|Running|Paused|Done|Diverged)\b")  # how the status line starts


def status(page):
    """The status line: state in bold, then epoch k of E, loss, time per epoch and device."""
    return page.get_by_test_id("stMarkdown").filter(has_text=STATUS)


def headless_run(**settings) -> Trainer:
    """The page's run trained to its end by the core alone, with the thread count the server uses."""
    # Float sums depend on how work is split over threads; the server trains on TWOLAYER_THREADS (default 1).
    threads = int(os.environ.get("TWOLAYER_THREADS", 1))
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with threadpool_limits(threads):
            trainer = Trainer(TrainConfig(device="cpu", **settings))
            trainer.advance(trainer.config.epochs)
    finally:
        torch.set_num_threads(before)
    assert trainer.status == "done", f"the headless run ended {trainer.status}"
    return trainer
