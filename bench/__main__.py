"""Command line: `python -m bench [--quick] [--only engine,peak,growth] [--device cuda] [--output BENCHMARKS.md]`.

A `--quick` run writes its report to test-artifacts/BENCHMARKS-quick.md unless `--output` is given, so a smoke
test never replaces the full figures in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import torch
from threadpoolctl import threadpool_limits

from bench import checkpoint, engine, first_click, growth, lead, mnist, peak, step_record, traffic, tti, why
from bench import page as page_cost
from bench.busy import Meanwhile
from bench.report import load, page, replace_marked, usable_cores, write

SECTIONS = {
    "engine": engine.run,
    "peak": peak.run,
    "page": page_cost.run,
    "traffic": traffic.run,
    "growth": growth.run,
    "tti": tti.run_tti,
    "first-click": first_click.run_first_click,
    "mnist": mnist.run,
    "step-record": step_record.run,
    "checkpoint": checkpoint.run,
    "why": why.run,
    "lead": lead.run,
}
ON_DEVICE = ("engine", "mnist", "page")  # the sections that train where --device says; the rest are the CPU's
ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "BENCHMARKS.md"
QUICK_REPORT = ROOT / "test-artifacts" / "BENCHMARKS-quick.md"  # a smoke test's figures are not the record


def parse(argv: list[str]) -> argparse.Namespace:
    """The options, each default stated in its help."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few repetitions and short runs, for a smoke test")
    parser.add_argument(
        "--only",
        default=None,
        help=f"comma-separated sections to run, in report order (default: {','.join(SECTIONS)}; with --device "
        f"cuda, {','.join(ON_DEVICE)})",
    )
    parser.add_argument(
        "--device",
        choices=("cpu", "cuda"),
        default="cpu",
        help=f"where the torch stages of {', '.join(ON_DEVICE)} train (default: %(default)s); cuda needs a GPU",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="where to write the report (default: BENCHMARKS.md at the repository root; with --quick, "
        "test-artifacts/BENCHMARKS-quick.md)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=usable_cores(),
        help="torch and NumPy BLAS threads, set once at start (default: the usable cores, %(default)s)",
    )
    args = parser.parse_args(argv)
    if args.output is None:
        args.output = QUICK_REPORT if args.quick else REPORT
    only = args.only or ",".join(ON_DEVICE if args.device == "cuda" else SECTIONS)
    args.only = [name.strip() for name in only.split(",") if name.strip()]
    unknown = [name for name in args.only if name not in SECTIONS]
    if unknown or not args.only:
        parser.error(f"--only takes some of {', '.join(SECTIONS)}; got {args.only or 'nothing'}")
    if args.device == "cuda":
        if not torch.cuda.is_available():
            built = f"built with CUDA {torch.version.cuda}" if torch.version.cuda else "built without CUDA"
            parser.error(f"--device cuda: torch {torch.__version__} ({built}) finds no CUDA GPU on this machine")
        if off := [name for name in args.only if name not in ON_DEVICE]:
            parser.error(f"--device cuda applies to {', '.join(ON_DEVICE)}; run {', '.join(off)} without it")
    return args


def main(argv: list[str] | None = None) -> None:
    """Run the chosen sections, print each table as it completes, then write the report."""
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    # Process-wide, so set once before anything runs, and recorded in the report.
    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    load_at_start = load()
    sections = []
    for name in (name for name in SECTIONS if name in args.only):
        start = time.perf_counter()
        with Meanwhile() as meanwhile:
            done = SECTIONS[name](args.quick, device=args.device) if name in ON_DEVICE else SECTIONS[name](args.quick)
        for section in done:
            section.note += " " + meanwhile.text()
            print(section.markdown(), flush=True)
            sections.append(section)
        print(f"({name}: {time.perf_counter() - start:.0f} s, load {load()})\n", file=sys.stderr, flush=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    report = page(shlex.join(["python", "-m", "bench", *argv]), sections, load_at_start)
    if args.device == "cuda":  # a section of its own, beside the CPU's figures
        replace_marked(args.output, "bench-cuda", report)
    else:
        write(args.output, report, partial=set(args.only) != set(SECTIONS))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
