"""What a learner takes home: `python -m twolayer program [train flags] --out FILE.py|FILE.ipynb`, the run's whole
program, and train's `--report FILE.html` (the run as one page) and `--animation FILE.gif` (the run for slides)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from twolayer.cli.flags import BAD_INPUT, EXIT_BAD_INPUT, EXIT_DONE, add_setting_flags, bad_input, config_from_args
from twolayer.teach.program_file import PROGRAM_FORMATS, program_file, program_format
from twolayer.train.config import check_work
from twolayer.train.trainer import Trainer, make_dataset

# train's flag, the file's suffix, and what writes the file's bytes from a finished run
RUN_FILES = {"report": ".html", "animation": ".gif"}


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
    if not _write("--out", args.out, text.encode()):
        return EXIT_BAD_INPUT
    how = f"run it with: python {args.out}" if suffix == ".py" else "open it in Jupyter and run its cells in order"
    print(f"wrote {args.out}: the {config.stage} stage's whole program, {config.epochs:,} epochs; {how}")
    return EXIT_DONE


def add_run_file_flags(train: argparse.ArgumentParser) -> None:
    """train's --report and --animation."""
    train.add_argument(
        "--report",
        metavar="FILE.html",
        help="write the run as one page that opens from disk with no server or network: settings, charts, "
        "program (default: none)",
    )
    train.add_argument(
        "--animation",
        metavar="FILE.gif",
        help="write an animated GIF of the loss curve and weight histograms over the run, for slides (default: none)",
    )


def check_run_files(args: argparse.Namespace) -> None:
    """ValueError when --report or --animation names a file of another kind: said before any training."""
    for flag, suffix in RUN_FILES.items():
        name = getattr(args, flag)
        if name and Path(name).suffix.lower() != suffix:
            raise ValueError(f"--{flag} {name}: the file name must end in {suffix}")


def write_run_files(trainer: Trainer, args: argparse.Namespace) -> bool:
    """Write the --report and --animation files the run asked for; False (said in one line) if one cannot be."""
    from twolayer.teach.animation import animation_gif
    from twolayer.teach.report import report_html

    written = True
    if args.report:
        written &= _write("--report", args.report, report_html(trainer, args.init_weights).encode())
    if args.animation:
        written &= _write("--animation", args.animation, animation_gif(trainer))
    return written


def _write(flag: str, name: str, content: bytes) -> bool:
    try:
        Path(name).write_bytes(content)
    except OSError as error:
        print(f"error: {flag} {name}: cannot write it ({error.strerror})", file=sys.stderr)
        return False
    return True
