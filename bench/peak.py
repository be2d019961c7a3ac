"""Section 2: each stage's achieved GFLOP/s at the large size against matmul peaks measured in the same run."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

from bench import engine
from bench.engine import flops_per_epoch
from bench.report import Section
from bench.timing import interleaved, median, verdict
from twolayer.data.dataset import LECTURE_INPUTS
from twolayer.train.config import STAGES

TARGET = 0.60  # torch stages: at least this share of torch's float32 matmul peak
PEAK_SIZE, QUICK_PEAK_SIZE = 2048, 1024
PEAK_REPEATS, STAGE_REPEATS, QUICK_REPEATS = 7, 3, 2
CASE_FLOPS = 5e10  # flops per timed case (a fraction of a second), whatever the product's shape
PEAKS = ("torch float32", "torch float64", "numpy float64", "numpy float32")  # library and dtype


def matmul_case(library: str, dtype: str, m: int, k: int, n: int) -> tuple[Callable[[], float], float]:
    """A case timing about CASE_FLOPS of (m, k) @ (k, n) products into one preallocated output, and their flops."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((k, n)).astype(dtype)
    out = np.empty((m, n), dtype=dtype)
    products = max(1, round(CASE_FLOPS / (2.0 * m * k * n)))
    # A fresh output each time would add the page faults of a new allocation to the product.
    product = np.matmul
    if library == "torch":
        a, b, out = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(out)
        product = torch.mm

    def case() -> float:
        start = time.perf_counter()
        for _ in range(products):
            product(a, b, out=out)
        return time.perf_counter() - start

    return case, 2.0 * m * k * n * products


def run(quick: bool = False) -> list[Section]:
    """Matmul peaks, then bare and engine GFLOP/s of every stage at the large size, each against its peak."""
    section = Section(
        "2. Distance from the hardware",
        "Peaks: one large square matmul per library and dtype, and torch float32 at the first layer's shape. "
        "Stages: the large run of section 1, counting only the matrix products "
        "(2 N (2 D_in H + 3 H D_out) flops per epoch: x @ w1 and h @ w2 forward, then the products for w2, h and w1; "
        "no gradient of the inputs is computed). The peak a stage is compared with is re-measured in turn with "
        "its bare and engine runs, and a share is the median of the per-round shares, so that a busy spell of "
        f"the machine slows both sides. Target: torch stages' engine at least {TARGET:.0%} of torch's float32 "
        "peak; the NumPy stage (float32 arrays) is shown against NumPy's float64 and float32 peaks.",
        ["what", "GFLOP/s", "share of peak", "target", "result"],
    )
    size = QUICK_PEAK_SIZE if quick else PEAK_SIZE
    peaks = {name: matmul_case(*name.split(), size, size, size) for name in PEAKS}
    batch, hidden = engine.SIZES["large"][:2]
    shaped = matmul_case("torch", "float32", batch, LECTURE_INPUTS, hidden)
    named = {f"{name} matmul {size}^3": case for name, case in peaks.items()}
    named[f"torch float32 matmul {batch}x{LECTURE_INPUTS} @ {LECTURE_INPUTS}x{hidden}"] = shaped
    times = interleaved({name: case for name, (case, _) in named.items()}, QUICK_REPEATS if quick else PEAK_REPEATS)
    for name, (_, flops) in named.items():
        section.rows.append([f"peak: {name}", f"{flops / median(times[name]) / 1e9:.1f}", "", "", ""])
    for stage in STAGES:
        cfg = engine.config(stage, "large", quick)
        run = engine.pair(cfg)
        compared = ["numpy float64", "numpy float32"] if stage == "numpy" else ["torch float32"]
        times = interleaved(
            run.cases | {key: peaks[key][0] for key in compared}, QUICK_REPEATS if quick else STAGE_REPEATS
        )
        run.check()
        work = flops_per_epoch(cfg.batch_size, cfg.hidden_size) * cfg.epochs
        for case in ("bare", "engine"):
            shares = {
                key: statistics.median(
                    (work / t) / (peaks[key][1] / p) for t, p in zip(times[case], times[key], strict=True)
                )
                for key in compared
            }
            share = ", ".join(f"{value:.0%} of {key}" for key, value in shares.items())
            met = shares.get("torch float32", 0.0) >= TARGET
            target, result = (f">= {TARGET:.0%}", verdict(met)) if case == "engine" and stage != "numpy" else ("", "")
            gflops = work / median(times[case]) / 1e9
            section.rows.append(
                [f"{stage} {case} (N={cfg.batch_size}, H={cfg.hidden_size})", f"{gflops:.1f}", share, target, result]
            )
    return [section]
