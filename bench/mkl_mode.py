"""What Intel MKL's strict reproducibility mode (`MKL_CBWR=AUTO,STRICT`) costs, and what it changes.

`python -m bench.mkl_mode [--repeats 7] [--large-epochs 10] [--only tensor,nn] [--sizes lecture]` starts one worker
process per mode (the variable unset, `AUTO`, `AUTO,STRICT`: MKL reads it once, so a mode needs a process of its
own) and has them time the same cases in turn, round after round: float32 matrix products at the lecture's and the
large run's shapes, and each stage's bare loop and engine run of `bench.engine`, all at one torch thread and in CPU
seconds (which other programs on a shared machine move less than wall time). A ratio is the median of the per-round
ratios, so a busy spell of the machine slows both sides of it. A large run shorter than the engine section's 50
epochs records more often, so its engine/bare is higher than there; the mode's cost is the STRICT/unset column.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

MODES = {"unset": None, "AUTO": "AUTO", "AUTO,STRICT": "AUTO,STRICT"}
# (rows, inner, columns) of one float32 product, and how many of it one timed case runs
PRODUCTS = {
    "mm 64x784 @ 784x100": ((64, 784, 100), 2000),
    "lecture step's 5 products": (None, 2000),
    "mm 1024x784 @ 784x1024": ((1024, 784, 1024), 40),
}
LECTURE_PRODUCTS = [(64, 784, 100), (64, 100, 10), (100, 64, 10), (64, 10, 100), (784, 64, 100)]


def _apply_mode(value: str | None) -> None:
    """Set or clear MKL_CBWR before MKL's first call (MKL reads it once, when torch first multiplies)."""
    if value is None:
        os.environ.pop("MKL_CBWR", None)
    else:
        os.environ["MKL_CBWR"] = value


def _products_case(shapes, count):
    import torch

    generator = torch.Generator().manual_seed(0)
    pairs = [(torch.randn(m, k, generator=generator), torch.randn(k, n, generator=generator)) for m, k, n in shapes]

    def case() -> float:
        start = time.process_time()
        for _ in range(count):
            for a, b in pairs:
                a.mm(b)
        return time.process_time() - start

    return case


def _cpu_seconds(case, cpu: list[float]):
    """`case`, returning the CPU seconds it recorded instead of its wall seconds."""

    def timed() -> float:
        case()
        return cpu[-1]

    return timed


def _thread_independent() -> bool:
    """Whether a K-split product gives the same bits at 1 and 2 threads: the fingerprint of strict mode."""
    import torch

    generator = torch.Generator().manual_seed(1)
    a, b = torch.randn(64, 784, generator=generator), torch.randn(784, 100, generator=generator)
    torch.set_num_threads(2)
    two = a.mm(b)
    torch.set_num_threads(1)
    return bool(torch.equal(a.mm(b), two))


def worker(mode: str, stages: list[str], sizes: list[str], large_epochs: int) -> None:
    """Serve timed cases on stdin/stdout: a line with a case name in, a line of JSON with its seconds out."""
    _apply_mode(MODES[mode])
    import torch
    from threadpoolctl import threadpool_limits

    from bench import engine

    threadpool_limits(1)
    torch.set_num_threads(1)
    cases = {}
    for name, (shape, count) in PRODUCTS.items():
        cases[name] = _products_case(LECTURE_PRODUCTS if shape is None else [shape], count)
    for size in sizes:
        for stage in stages:
            cfg = engine.config(stage, size)
            if size == "large":
                cfg = cfg.replace(epochs=large_epochs)
            measured = engine.pair(cfg)
            for kind, case in measured.cases.items():
                cases[f"{size} {stage} {kind}"] = _cpu_seconds(case, measured.cpu[kind])
    cases["thread_independent"] = _thread_independent  # asked last: it starts a second thread
    print(json.dumps(list(cases)), flush=True)
    for line in sys.stdin:
        print(json.dumps(cases[line.strip()]()), flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.mkl_mode", description=__doc__)
    parser.add_argument("--repeats", type=int, default=7, help="counted rounds, after one warm-up (%(default)s)")
    parser.add_argument("--large-epochs", type=int, default=10, help="epochs of each large run (%(default)s)")
    parser.add_argument("--only", default="numpy,tensor,autograd,nn,optim", help="stages (%(default)s)")
    parser.add_argument("--sizes", default="lecture,large", help="run sizes of bench.engine (%(default)s)")
    args = parser.parse_args(argv)
    stages = [s for s in args.only.split(",") if s]
    workers = {
        mode: subprocess.Popen(
            [sys.executable, "-m", "bench.mkl_mode", "--worker", mode, "--only", ",".join(stages)]
            + ["--sizes", args.sizes, "--large-epochs", str(args.large_epochs)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for mode in MODES
    }
    names = [json.loads(w.stdout.readline()) for w in workers.values()][0][:-1]
    times = {mode: {name: [] for name in names} for mode in MODES}
    order = list(MODES)
    start_load = os.getloadavg()
    for round_ in range(1 + args.repeats):
        for name in names:
            for mode in order if round_ % 2 == 0 else order[::-1]:  # alternate who goes first
                workers[mode].stdin.write(name + "\n")
                workers[mode].stdin.flush()
                seconds = json.loads(workers[mode].stdout.readline())
                if round_:
                    times[mode][name].append(seconds)
        print(f"round {round_} done, load {os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)
    strict = {}
    for mode, w in workers.items():
        w.stdin.write("thread_independent\n")
        w.stdin.flush()
        strict[mode] = json.loads(w.stdout.readline())
        w.stdin.close()
        w.wait()

    def ratio(a: list[float], b: list[float]) -> float:
        return statistics.median(x / y for x, y in zip(a, b, strict=True))

    print(f"load average at start {start_load[0]:.1f}, at end {os.getloadavg()[0]:.1f}; {args.repeats} rounds")
    print("gemm the same at 1 and 2 threads: " + ", ".join(f"{m} {same}" for m, same in strict.items()))
    print("\n| case (CPU) | unset ms | AUTO ms | AUTO,STRICT ms | STRICT/unset | AUTO/unset |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in names:
        t = {mode: times[mode][name] for mode in MODES}
        print(
            f"| {name} | {statistics.median(t['unset']) * 1e3:.1f} | {statistics.median(t['AUTO']) * 1e3:.1f} | "
            f"{statistics.median(t['AUTO,STRICT']) * 1e3:.1f} | {ratio(t['AUTO,STRICT'], t['unset']):.3f} | "
            f"{ratio(t['AUTO'], t['unset']):.3f} |"
        )
    print("\n| run | engine/bare unset | engine/bare AUTO | engine/bare AUTO,STRICT |")
    print("| --- | --- | --- | --- |")
    for name in names:
        if name.endswith(" engine"):
            run = name.removesuffix(" engine")
            cells = [f"{ratio(times[m][name], times[m][run + ' bare']):.3f}" for m in MODES]
            print(f"| {run} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        options = argparse.ArgumentParser()
        options.add_argument("--only")
        options.add_argument("--sizes")
        options.add_argument("--large-epochs", type=int)
        known = options.parse_args(sys.argv[3:])
        worker(sys.argv[2], known.only.split(","), known.sizes.split(","), known.large_epochs)
    else:
        main()
