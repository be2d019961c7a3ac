"""`python -m twolayer landscape`: train the run, then write the loss around it: along the line from its start to
its end, over the plane of its path's two main directions, and along its path across that plane."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from twolayer.cli.flags import (
    BAD_INPUT,
    EXIT_DIVERGED,
    EXIT_DONE,
    add_init_weights,
    add_setting_flags,
    bad_input,
    check_json_name,
    config_from_args,
    read_start,
)
from twolayer.teach.advice import divergence_hint
from twolayer.teach.landscape import landscape, record_path
from twolayer.train.export import weights_npz
from twolayer.train.probe import make_probe


def add_landscape_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `landscape` command: the train flags, --out and --save-weights."""
    parser = subparsers.add_parser(
        "landscape", help="train the run, then write the loss along its line, over the plane of its path, and its path"
    )
    add_setting_flags(parser)
    add_init_weights(parser)
    parser.add_argument("--out", metavar="FILE.json", required=True, help="write the line, the plane and the path")
    parser.add_argument("--save-weights", metavar="FILE.npz", help="write the final weights (default: none)")
    return parser


def landscape_command(args: argparse.Namespace) -> int:
    """Train, write the landscape and print where the run went; exit 3 when it diverged, 2 on bad input."""
    try:
        check_json_name("--out", args.out)
        config = config_from_args(args)
        trainer, path = record_path(config, *read_start(config, args.init_weights))
    except BAD_INPUT as exc:
        return bad_input(exc)
    found = landscape(path, make_probe(config, trainer.data))
    Path(args.out).write_text(json.dumps(found.to_dict(), indent=1, allow_nan=False))
    if args.save_weights:
        Path(args.save_weights).write_bytes(weights_npz(trainer.weights()))
    print(
        f"landscape: stage={config.stage} {len(path)} snapshots over {trainer.epoch} epochs, probe loss "
        f"{found.start_loss:.6g} -> {found.end_loss:.6g}, plane +-{found.plane_a[-1]:.3g} -> {args.out}"
    )
    if hint := divergence_hint(trainer):
        print(hint, file=sys.stderr)
        return EXIT_DIVERGED
    return EXIT_DONE
