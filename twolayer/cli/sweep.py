"""`python -m twolayer sweep --vary KEY=V1,V2,...`: one run per value, side by side in one table."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path

from twolayer.cli.flags import BAD_INPUT, EXIT_DIVERGED, EXIT_DONE, add_setting_flags, bad_input
from twolayer.teach.advice import divergence_hint
from twolayer.teach.sweep import Outcome, Sweep
from twolayer.teach.sweep_spec import MAX_VALUES, MIN_VALUES, VARIABLE, format_value, parse_vary, sweep_configs
from twolayer.train.config import SETTINGS
from twolayer.train.state import RunState

SWEEP_FORMATS = (".json", ".csv")
COLUMNS = ("value", "status", "epochs", "final loss", "test loss per example", "test accuracy", "seconds")


def add_sweep_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `sweep` command: the train flags, --vary and --out."""
    sweep = subparsers.add_parser(
        "sweep", help="train one run per value of one setting, from the same seed and data, and compare them"
    )
    sweep.add_argument(
        "--vary",
        metavar="KEY=V1,V2,...",
        required=True,
        help=f"the setting and {MIN_VALUES} to {MAX_VALUES} values, e.g. lr=1e-4,1e-3,1e-2; KEY is one of "
        + ", ".join(VARIABLE),
    )
    add_setting_flags(sweep)
    sweep.add_argument(
        "--out",
        metavar="FILE",
        help="write every run as .json (each as `train --out` writes it) or the table as .csv (default: none)",
    )
    return sweep


def sweep_command(args: argparse.Namespace) -> int:
    """Run the sweep, print its table and best value; exit 3 when any value diverged, 2 on bad input."""
    try:
        if args.out and Path(args.out).suffix not in SWEEP_FORMATS:
            raise ValueError(f"--out {args.out}: the file name must end in .json or .csv")
        key, texts = parse_vary(args.vary)
        base = {spec.name: getattr(args, spec.name) for spec in SETTINGS}
        sweep = Sweep(key, sweep_configs(key, texts, base))
    except BAD_INPUT as exc:
        return bad_input(exc)
    sweep.run()
    outcomes = sweep.outcomes()
    print(format_table(outcomes))
    if best := sweep.best():
        print(best)
    for outcome in outcomes:
        if outcome.note:
            print(f"{key} = {format_value(outcome.value)}: {outcome.note}", file=sys.stderr)
    if args.out:
        Path(args.out).write_text(sweep_file(sweep, Path(args.out).suffix), newline="")
    return EXIT_DIVERGED if any(o.status is RunState.DIVERGED for o in outcomes) else EXIT_DONE


def table_rows(outcomes: list[Outcome]) -> list[list[str]]:
    """The table's cells as text, one row per value."""
    return [
        [
            format_value(o.value),
            o.note or o.status,
            str(o.epochs),
            "-" if o.loss is None else f"{o.loss:.6g}",
            "-" if o.test_loss is None else f"{o.test_loss:.4g}",
            "-" if o.accuracy is None else f"{100 * o.accuracy:.1f}%",
            f"{o.seconds:.2f}",
        ]
        for o in outcomes
    ]


def format_table(outcomes: list[Outcome]) -> str:
    """The sweep's table in aligned columns."""
    rows = [list(COLUMNS), *table_rows(outcomes)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows)


def sweep_file(sweep: Sweep, suffix: str) -> str:
    """The sweep as JSON (every run in full) or CSV (the table)."""
    if suffix == ".json":
        runs = [trainer.summary(divergence_hint(trainer)) for trainer in sweep.trainers]
        return json.dumps({"vary": sweep.key, "values": sweep.values, "runs": runs}, indent=1, allow_nan=False)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(table_rows(sweep.outcomes()))
    return out.getvalue()
