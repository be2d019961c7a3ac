"""Section 1: the engine (Trainer.advance with all its records) against a bare loop of the same steps."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from bench.loops import LOOPS
from bench.report import Section
from bench.timing import interleaved, median, median_interval, paired_ratios, spread, verdict
from twolayer import TrainConfig, Trainer
from twolayer.data.dataset import LECTURE_INPUTS, LECTURE_OUTPUTS
from twolayer.teach.advice import divergence_hint
from twolayer.train.stages import STAGES, stage_spec
from twolayer.train.state import RunState
from twolayer.train.trainer import RECORD_FREE_SECONDS, RECORD_SHARE

TARGET = 1.05  # engine time / bare time, at most
# name: (batch N, hidden H, epochs, learning rate); None keeps the shared initialisation's 1e-4,
# which diverges at N=1024 because the summed loss grows with N.
SIZES = {"lecture": (64, 100, 500, None), "large": (1024, 1024, 50, 1e-5)}
# On a GPU also the size a GPU is for; a step grows with N and H again, so the rate shrinks (2.5e-6 diverges).
GPU_SIZES = {"gpu": (4096, 4096, 50, 1e-6)}
QUICK_LARGE_EPOCHS = 5
REPEATS = {"lecture": 21, "large": 9, "gpu": 9}  # 9 and more: a 95% interval of the median inside the extremes
QUICK_REPEATS = 3
PEAK_TARGET = 0.5  # on a GPU at N=H=4096: the engine's share of its float32 matmul peak, at least
PEAK_SIZE = 4096


def flops_per_epoch(batch: int, hidden: int) -> float:
    """Matrix-product flops of one full-batch step, 2 N (2 D_in H + 3 H D_out): the products actually computed."""
    # Forward: x @ w1 and h @ w2. Backward: h.T @ g (for w2), g @ w2.T (for h) and x.T @ g_h (for w1);
    # nothing asks for the gradient of the inputs, so no product of that size runs.
    return 2.0 * batch * (2 * LECTURE_INPUTS * hidden + 3 * hidden * LECTURE_OUTPUTS)


def config(stage: str, size: str, quick: bool = False, device: str = "cpu") -> TrainConfig:
    """The run measured for `stage` at `size`, on `device`."""
    batch, hidden, epochs, learning_rate = (SIZES | GPU_SIZES)[size]
    if quick and size != "lecture":
        epochs = QUICK_LARGE_EPOCHS
    return cpu_config(stage, batch, hidden, epochs, learning_rate, device)


def cpu_config(
    stage: str, batch: int, hidden: int, epochs: int, learning_rate: float | None, device: str = "cpu"
) -> TrainConfig:
    """A benchmarked run, on the CPU unless `device` says otherwise: float32, from the one shared starting point
    every stage gets."""
    return TrainConfig(
        stage=stage,
        hidden_size=hidden,
        batch_size=batch,
        epochs=epochs,
        init="shared",
        dtype="float32",
        learning_rate=learning_rate,
        device=device,
    )


@dataclass
class Pair:
    """Timed cases `bare` and `engine` of one run (each returns wall seconds), the CPU seconds of every call, and
    each engine run's records' seconds over its training seconds, by the trainer's own clock."""

    cases: dict[str, Callable[[], float]]
    cpu: dict[str, list[float]]
    record_shares: list[float]
    check: Callable[[], None]  # raises unless both computed the same last loss


def pair(cfg: TrainConfig) -> Pair:
    """The bare loop and the engine for one run, on the same data and starting weights."""
    reference = Trainer(cfg)  # the data and starting weights both cases use
    # A GPU works on while Python goes on: the clock stops once it has finished.
    finish = torch.cuda.synchronize if cfg.device == "cuda" else lambda: None
    losses: dict[str, float] = {}
    # CPU time of all threads: unlike wall time, barely moved by other programs while torch runs one thread.
    cpu: dict[str, list[float]] = {"bare": [], "engine": []}
    record_shares: list[float] = []

    def bare() -> float:
        to_backend = reference.stage.to_backend  # a fresh float32 copy each round
        x, y = to_backend(reference.data.x_train), to_backend(reference.data.y_train)
        weights = {name: to_backend(w) for name, w in reference.initial_weights.items()}
        start, start_cpu = time.perf_counter(), time.process_time()
        losses["bare"] = LOOPS[cfg.stage](x, y, weights, cfg.learning_rate, cfg.epochs)
        finish()
        cpu["bare"].append(time.process_time() - start_cpu)
        return time.perf_counter() - start

    def engine() -> float:
        # The bare loop's very data arrays: where they lie in memory moves small matrix products by a few percent.
        trainer = Trainer(cfg, data=reference.data)
        start, start_cpu = time.perf_counter(), time.process_time()
        trainer.advance(cfg.epochs)
        finish()
        seconds = time.perf_counter() - start
        cpu["engine"].append(time.process_time() - start_cpu)
        record_shares.append(trainer.record_seconds / trainer.train_seconds)
        if trainer.status is not RunState.DONE:
            stopped = f"{cfg.stage}: the engine stopped with status {trainer.status}"
            raise RuntimeError(f"{stopped}: {divergence_hint(trainer)}")
        losses["engine"] = trainer.history.column("loss")[-1]
        return seconds

    def check() -> None:
        # Different last losses would mean the bare loop is not the same computation.
        if not math.isclose(losses["bare"], losses["engine"], rel_tol=1e-4):
            raise RuntimeError(f"{cfg.stage}: bare loss {losses['bare']} != engine loss {losses['engine']}")

    return Pair({"bare": bare, "engine": engine}, cpu, record_shares, check)


def run(quick: bool = False, device: str = "cpu") -> list[Section]:
    """Engine/bare time ratio for every stage at the lecture and the large size; on a GPU its torch stages, also at
    N=H=4096, with the engine's share of the GPU's float32 matmul peak there."""
    gpu = device == "cuda"
    section = Section(
        "1. Engine overhead per stage" + (f" on {torch.cuda.get_device_name(0)}" if gpu else ""),
        "Bare: the stage's own tensor operations in the lecture's flat loop, with the loss read once per epoch "
        "(`.item()` for torch, as the lecture's per-epoch print forces) and nothing recorded or checked. "
        "Engine: `Trainer.advance(epochs)` recording everything a normal run does (per-epoch loss and time, "
        "norms, histogram snapshots). Same data, starting weights and float32; the last losses are checked to agree. "
        f"Target: engine / bare wall time <= {TARGET}. CPU engine/bare: the same ratio in CPU seconds of all "
        "threads, which other programs on the machine barely move when torch runs one thread (`--threads 1`). "
        "Each ratio is the median of the per-round ratios, beside a 95% interval for that median (distribution-free: "
        "the k-th lowest and k-th highest round, k from the binomial distribution) and the lowest and highest round "
        "(the machine's noise); a row meets the target only when the interval's upper end does. Records / training: "
        "the engine's seconds on norms and snapshots over its training seconds, both by the trainer's own clock "
        f"(median of the rounds), which it keeps within {RECORD_SHARE:.0%} once they pass "
        f"{RECORD_FREE_SECONDS * 1e3:.0f} ms.",
        [
            "size",
            "stage",
            "epochs",
            "bare ms",
            "engine ms",
            "overhead us/epoch",
            "engine/bare",
            "95% interval",
            "lowest-highest",
            "CPU engine/bare",
            "records / training",
            "target",
            "result",
        ],
    )
    shares = Section(
        "1b. The GPU's float32 matmul peak at N=H=4096",
        "The engine's GFLOP/s in the N=H=4096 rows above, counting the step's matrix products as section 2 does "
        f"(2 N (2 D_in H + 3 H D_out) flops per epoch), against a {PEAK_SIZE}^3 float32 `torch.mm` on the same GPU, "
        "timed after the rows. "
        f"Target: at least {PEAK_TARGET:.0%}.",
        ["stage", "engine GFLOP/s", "peak GFLOP/s", "share of peak", "target", "result"],
    )
    engine_gflops = {}
    for size in SIZES | (GPU_SIZES if gpu else {}):
        # A NumPy stage runs on the CPU whatever is asked: on a GPU only the torch stages.
        for stage in [s for s in STAGES if stage_spec(s).uses_torch] if gpu else STAGES:
            cfg = config(stage, size, quick, device)
            measured = pair(cfg)
            repeats = QUICK_REPEATS if quick else REPEATS[size]
            times = interleaved(measured.cases, repeats)
            measured.check()
            bare, engine = median(times["bare"]), median(times["engine"])
            ratios = paired_ratios(times["engine"], times["bare"])
            cpu_ratios = paired_ratios(measured.cpu["engine"][-repeats:], measured.cpu["bare"][-repeats:])
            low, high = median_interval(ratios)
            section.rows.append(
                [
                    f"{size} (N={cfg.batch_size}, H={cfg.hidden_size})",
                    stage,
                    str(cfg.epochs),
                    f"{bare * 1e3:.1f}",
                    f"{engine * 1e3:.1f}",
                    f"{(engine - bare) / cfg.epochs * 1e6:.0f}",
                    f"{median(ratios):.3f}",
                    f"{low:.3f}-{high:.3f}",
                    spread(ratios),
                    f"{median(cpu_ratios):.3f}",
                    f"{median(measured.record_shares[-repeats:]):.2%}",
                    f"<= {TARGET}",
                    verdict(high <= TARGET),
                ]
            )
            if size in GPU_SIZES:
                engine_gflops[stage] = flops_per_epoch(cfg.batch_size, cfg.hidden_size) * cfg.epochs / engine / 1e9
    if not gpu:
        return [section]
    peak = cuda_matmul_gflops(PEAK_SIZE)
    for stage, gflops in engine_gflops.items():
        share = gflops / peak
        shares.rows.append([stage, f"{gflops:,.0f}", f"{peak:,.0f}", f"{share:.0%}", f">= {PEAK_TARGET:.0%}"])
        shares.rows[-1].append(verdict(share >= PEAK_TARGET))
    return [section, shares]


def cuda_matmul_gflops(size: int, products: int = 20, repeats: int = 5) -> float:
    """GFLOP/s of a (size, size) @ (size, size) float32 product on the GPU: the median of `repeats` timings."""
    a, b = (torch.randn(size, size, device="cuda") for _ in range(2))
    out = torch.empty(size, size, device="cuda")
    torch.mm(a, b, out=out)  # the first call loads the GPU's kernels
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(products):
            torch.mm(a, b, out=out)
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return 2.0 * size**3 * products / statistics.median(times) / 1e9
