"""`python -m twolayer program [train flags] --out FILE.py|FILE.ipynb`: the run's whole program, to run at home."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from twolayer.cli.flags import BAD_INPUT, EXIT_BAD_INPUT, EXIT_DONE, add_setting_flags, bad_input, config_from_args
from twolayer.teach.program_file import PROGRAM_FORMATS, program_file, program_format
from twolayer.train.config import check_work
from twolayer.train.trainer import make_dataset


def add_program_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `program` command: the train flags and --out."""
    program = subparsers.add_parser(
        "program",
        help="write the run's whole program (the page's code panel) as a script or notebook that runs on its own",
    )
    add_setting_flags(program)
    program.add_argument(
        "--out",
        metavar="FILE",
        required=True,
        help=f"the file to write, ending in {' or '.join(PROGRAM_FORMATS)}: a script, or a Jupyter notebook",
    )
    return program


def program_command(args: argparse.Namespace) -> int:
    """Write the program of the run the flags set; exit 2 on bad input or an unwritable file."""
    try:
        suffix = program_format(args.out)
        config = config_from_args(args)
        # Real data is read here: its rows decide between one step an epoch and shuffled mini-batches.
        rows = config.batch_size if config.data == "random" else len(make_dataset(config).x_train)
        check_work(config.hidden_size, max(rows, config.batch_size), config.epochs)  # as a Trainer refuses it
        text = program_file(config, rows, args.out)
    except BAD_INPUT as exc:
        return bad_input(exc)
    try:
        Path(args.out).write_text(text)
    except OSError as error:
        print(f"error: --out {args.out}: cannot write it ({error.strerror})", file=sys.stderr)
        return EXIT_BAD_INPUT
    how = f"run it with: python {args.out}" if suffix == ".py" else "open it in Jupyter and run its cells in order"
    print(f"wrote {args.out}: the {config.stage} stage's whole program, {config.epochs:,} epochs; {how}")
    return EXIT_DONE
