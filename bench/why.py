"""Section 10: what the views of why a setting works cost: the sharpness while a run trains, the landscape's plane,
and the rate finder.

`python -m bench.why [--quick]` runs it alone and prints its tables; `python -m bench --only why` records it in
BENCHMARKS.md with the other sections.
"""

from __future__ import annotations

import time

from bench.report import Section, print_sections, with_threads
from bench.timing import median, spread, verdict
from twolayer import TrainConfig, Trainer
from twolayer.teach.landscape import landscape
from twolayer.teach.rate_finder import find_rate
from twolayer.train.probe import make_probe

THREADS = 1  # the server's own setting: each run trains on one thread
SHARPNESS_TARGET = 0.10  # the sharpness's share of the training time, at most
PLANE_TARGET_S = 5.0  # a 21 x 21 plane at hidden 100 on mnist5k, at most
REPEATS, QUICK_REPEATS = 3, 2
# Runs whose sharpness is recorded, by default (K=0: the trainer spaces it to a tenth of the training time) or every
# K epochs, as measured (and shorter for --quick).
SHARPNESS_RUNS = {
    "lecture (numpy, H=100, 64 random rows, 500 epochs), default": (
        TrainConfig(sharpness=True),
        TrainConfig(epochs=100, sharpness=True),
    ),
    "lecture, K=50": (
        TrainConfig(sharpness_every=50, sharpness=True),
        TrainConfig(epochs=100, sharpness_every=50, sharpness=True),
    ),
    "lecture, optim Adam (lr 1e-3), default": (
        TrainConfig(stage="optim", learning_rate=1e-3, sharpness=True),
        TrainConfig(stage="optim", learning_rate=1e-3, epochs=100, sharpness=True),
    ),
    "mnist5k (optim Adam, H=100, batch 64, 40 epochs), default": (
        TrainConfig(stage="optim", data="mnist5k", epochs=40, sharpness=True),
        TrainConfig(stage="optim", data="mnist5k", epochs=4, sharpness=True),
    ),
    "mnist5k, K=10": (
        TrainConfig(stage="optim", data="mnist5k", epochs=40, sharpness_every=10, sharpness=True),
        TrainConfig(stage="optim", data="mnist5k", epochs=4, sharpness_every=2, sharpness=True),
    ),
}
LANDSCAPE_RUN = TrainConfig(stage="optim", data="mnist5k", epochs=10)  # hidden 100, the default
RATE_RUNS = {
    "lecture (numpy, random data)": TrainConfig(),
    "mnist5k, optim Adam": TrainConfig(stage="optim", data="mnist5k"),
    "mnist5k, optim SGD": TrainConfig(stage="optim", data="mnist5k", optimizer="sgd"),
}


def sharpness_row(name: str, config: TrainConfig, repeats: int) -> list[str]:
    """The run trained to its end with its sharpness recorded and without, interleaved `repeats` times: the seconds
    its measurements took against its own training seconds (the trainer's clock, side by side in one run), how many
    it took, and for the record the extra wall time against the training seconds of the run without."""
    shares, extras, counts = [], [], []
    for _ in range(repeats):
        seconds = {}
        for measured in (True, False):
            trainer = Trainer(config.replace(sharpness=measured))
            start = time.perf_counter()
            trainer.advance(config.epochs)
            seconds[measured] = (time.perf_counter() - start, trainer.train_seconds)
            if measured:
                counts.append(len(trainer.sharpness))
                shares.append(trainer.sharpness_seconds / trainer.train_seconds)
        extras.append((seconds[True][0] - seconds[False][0]) / seconds[False][1])
    share, extra = median(shares), median(extras)
    met = verdict(share <= SHARPNESS_TARGET) if not config.sharpness_every else "for the record"
    return [
        name,
        f"{min(counts)}-{max(counts)}",
        f"{share:.1%} ({spread([s * 100 for s in shares], 1)} %)",
        f"{extra:.1%} ({spread([s * 100 for s in extras], 1)} %)",
        met,
    ]


def landscape_row(config: TrainConfig, repeats: int) -> list[str]:
    """The whole landscape (line, directions, 21 x 21 plane) of the run, trained once."""
    trainer = Trainer(config)
    trainer.advance(config.epochs)
    probe = make_probe(config, trainer.data)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        landscape(trainer.path, probe)
        times.append(time.perf_counter() - start)
    what = f"line, directions and 21 x 21 plane ({len(trainer.path)} snapshots, {probe.rows} probe rows)"
    return [
        what,
        f"{median(times):.3f} ({spread(times)})",
        f"≤ {PLANE_TARGET_S:g} s",
        verdict(median(times) <= PLANE_TARGET_S),
    ]


def rate_row(name: str, config: TrainConfig, repeats: int) -> list[str]:
    """The rate finder from the run's start: its seconds, its steps and its suggestion."""
    times, found = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        found = find_rate(config)
        times.append(time.perf_counter() - start)
    suggested = f"{found.suggested:.3g}" if found.suggested is not None else "none"
    return [name, str(len(found.lrs)), suggested, f"{median(times):.2f} ({spread(times, 2)})"]


def measure(quick: bool = False) -> list[Section]:
    """The three tables, with THREADS torch and BLAS threads already set."""
    repeats = QUICK_REPEATS if quick else REPEATS
    sharpness = Section(
        "10a. The sharpness while a run trains",
        f"Each run trained to its end {repeats} times at {THREADS} thread, its sharpness measured from epoch 0 "
        "(Lanczos on Hessian-vector products of the probe's loss to a relative tolerance of 1e-6, the plain "
        "Hessian's each started from the last one's eigenvector, Adam's afresh), each time beside the same run "
        "without it: by default as often as a tenth of "
        "the training time allows, or every K epochs. Share: the seconds the measurements took over the training "
        "seconds of the same run, by the trainer's clock; extra wall time: the run's seconds less those of the run "
        "without, over the latter's training seconds (two runs, so noisier); each median (lowest-highest). Target: a "
        f"share of at most {SHARPNESS_TARGET:.0%} by default.",
        ["run", "measurements", "share of training", "extra wall time", "result"],
    )
    for name, (full, short) in SHARPNESS_RUNS.items():
        sharpness.rows.append(sharpness_row(name, short if quick else full, repeats))
    plane = Section(
        "10b. The landscape of a run",
        f"optim (Adam) on mnist5k, hidden 100, {LANDSCAPE_RUN.epochs} epochs, trained once; then its landscape "
        f"{repeats} times: the line (41 points), the two leading directions of its weight path and the 21 x 21 "
        "plane. Seconds, median (lowest-highest).",
        ["what", "seconds", "target", "result"],
    )
    plane.rows.append(landscape_row(LANDSCAPE_RUN.replace(epochs=2) if quick else LANDSCAPE_RUN, repeats))
    rates = Section(
        "10c. The rate finder",
        f"From each run's start, one training step at each rate of a geometric series from 1e-9 up to 300 steps, "
        f"until the loss blows up; {repeats} times. Seconds, median (lowest-highest). For the record.",
        ["run", "steps", "suggested", "seconds"],
    )
    for name, config in RATE_RUNS.items():
        rates.rows.append(rate_row(name, config, repeats))
    return [sharpness, plane, rates]


def run(quick: bool = False) -> list[Section]:
    """The section(s) with THREADS torch and BLAS threads for their duration."""
    return with_threads(THREADS, measure, quick)


def main(argv: list[str] | None = None) -> None:
    """Run the section(s) alone and print their tables."""
    print_sections("why", __doc__, "fewer rounds and shorter runs", run, argv)


if __name__ == "__main__":
    main()
