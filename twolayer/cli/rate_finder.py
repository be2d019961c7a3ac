"""`python -m twolayer lr-find`: the learning-rate range test from the run's start, and the rate it suggests."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from twolayer.cli.flags import (
    BAD_INPUT,
    EXIT_DONE,
    add_init_weights,
    add_setting_flags,
    bad_input,
    check_json_name,
    config_from_args,
    read_start,
)
from twolayer.teach.rate_finder import END_RATE, MAX_STEPS, MIN_STEPS, START_RATE, RateFinding, find_rate


def add_lr_find_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `lr-find` command: the train flags, the rate range, the steps and --out."""
    parser = subparsers.add_parser(
        "lr-find",
        help="from the run's start, raise the learning rate step by step until the loss blows up; suggest a rate",
    )
    add_setting_flags(parser)
    add_init_weights(parser)
    parser.add_argument("--lr-start", type=float, default=START_RATE, help="the first rate (default: %(default)g)")
    parser.add_argument("--lr-end", type=float, default=END_RATE, help="the last rate (default: %(default)g)")
    parser.add_argument(
        "--steps",
        type=int,
        default=MAX_STEPS,
        help=f"training steps, one rate each, {MIN_STEPS}..{MAX_STEPS} (default: %(default)s)",
    )
    parser.add_argument(
        "--out",
        metavar="FILE.json",
        help="write the rates, their losses, the suggestion and the blow-up (default: none)",
    )
    return parser


def lr_find_command(args: argparse.Namespace) -> int:
    """Run the range test, print its summary and write it; exit 2 on bad input."""
    try:
        check_json_name("--out", args.out)
        config = config_from_args(args)
        data, weights = read_start(config, args.init_weights)
        finding = find_rate(config, data, weights, start=args.lr_start, end=args.lr_end, steps=args.steps)
    except BAD_INPUT as exc:
        return bad_input(exc)
    if args.out:
        Path(args.out).write_text(json.dumps(finding.to_dict(), indent=1, allow_nan=False))
    print(summary_line(config.stage, finding))
    return EXIT_DONE


def summary_line(stage: str, finding: RateFinding) -> str:
    """The test in one line: the rates tried, the suggestion and where the loss blew up."""
    tried = f"{len(finding.lrs)} rates" + (
        f" from {finding.lrs[0]:.3g} to {finding.lrs[-1]:.3g}" if finding.lrs else ""
    )
    suggested = "no rate suggested: the loss never fell"
    if finding.suggested is not None:
        suggested = f"suggested learning rate {finding.suggested:.3g}"
    blew_up = "it never blew up" if finding.diverged_at is None else f"blew up at {finding.diverged_at:.3g}"
    return f"lr-find: stage={stage} {tried}, {suggested}; the loss {blew_up}"
