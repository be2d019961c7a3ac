"""Headless command line: `python -m twolayer COMMAND ...`, the web app's own core; --help lists the commands."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from twolayer.cli.flags import (
    BAD_INPUT,
    EXIT_BAD_INPUT,
    EXIT_DIVERGED,
    EXIT_DONE,
    Parser,
    add_init_weights,
    add_setting_flags,
    bad_input,
    check_json_name,
    config_from_args,
    read_start,
)
from twolayer.cli.landscape import add_landscape_parser, landscape_command
from twolayer.cli.predict import add_predict_parser, predict_command
from twolayer.cli.rate_finder import add_lr_find_parser, lr_find_command
from twolayer.cli.sweep import add_sweep_parser, sweep_command
from twolayer.cli.take_home import (
    add_program_parser,
    add_run_file_flags,
    check_run_files,
    program_command,
    write_run_files,
)
from twolayer.teach.advice import divergence_hint
from twolayer.teach.step_record import record_next_step
from twolayer.teach.verdict import explanation
from twolayer.train.config import ConfigError, TrainConfig
from twolayer.train.curvature import Quantity, Sharpness, measure
from twolayer.train.devices import device_note
from twolayer.train.export import HISTORY_FORMATS, weights_npz, write_history
from twolayer.train.probe import make_probe
from twolayer.train.state import RunState
from twolayer.train.trainer import Trainer


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; every help line states its default."""
    parser = Parser(prog="python -m twolayer", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    train = commands.add_parser("train", help="train the two-layer network and report its history")
    add_setting_flags(train)
    add_init_weights(train)
    train.add_argument("--out", metavar="FILE", help="write the history as .json or .csv (default: none)")
    train.add_argument("--save-weights", metavar="FILE.npz", help="write the final weights (default: none)")
    train.add_argument("--quiet", action="store_true", help="print no summary line and no progress (default: off)")
    add_run_file_flags(train)
    step = commands.add_parser(
        "step", help="train --epochs epochs (0 allowed), then record every value of the next step, line by line"
    )
    add_setting_flags(step)
    add_init_weights(step)
    step.add_argument(
        "--out", metavar="FILE.npz", required=True, help="one array per recorded value, keyed by its name in the code"
    )
    step.add_argument("--json", metavar="FILE.json", help="the lines as they ran, with shapes and statistics")
    sharpness = commands.add_parser(
        "sharpness", help="the sharpness (the loss's largest curvature) at the run's starting weights, against 2/lr"
    )
    add_setting_flags(sharpness)
    add_init_weights(sharpness)
    sharpness.add_argument(
        "--out", metavar="FILE.json", required=True, help="lambda_max, rows, iterations, tolerance, threshold, ..."
    )
    compare = commands.add_parser(
        "compare", help="train every stage from the same start in float64 and print how closely they agree"
    )
    add_setting_flags(compare)
    add_predict_parser(commands)
    add_sweep_parser(commands)
    add_program_parser(commands)
    add_lr_find_parser(commands)
    add_landscape_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 done, 3 diverged, 2 bad input)."""
    args = build_parser().parse_args(argv)
    if args.command == "predict":
        return predict_command(args)
    if args.command == "step":
        return _step(args)
    if args.command == "sharpness":
        return _sharpness(args)
    if args.command == "sweep":
        return sweep_command(args)
    if args.command == "program":
        return program_command(args)
    if args.command == "lr-find":
        return lr_find_command(args)
    if args.command == "landscape":
        return landscape_command(args)
    try:
        config = config_from_args(args)
        if args.command == "compare":
            return _compare(config)
        trainer = _make_trainer(config, args.init_weights)
        if args.out and Path(args.out).suffix not in HISTORY_FORMATS:
            raise ValueError(f"--out {args.out}: the file name must end in .json or .csv")
        check_run_files(args)
    except BAD_INPUT as exc:
        return bad_input(exc)
    note = device_note(config.device, config.stage)
    if note:
        print(note, file=sys.stderr)
    _train(trainer, show_progress=sys.stderr.isatty() and not args.quiet)
    hint = divergence_hint(trainer)
    if args.out:
        write_history(trainer, args.out, hint)
    if args.save_weights:
        Path(args.save_weights).write_bytes(weights_npz(trainer.weights()))
    if not write_run_files(trainer, args):
        return EXIT_BAD_INPUT
    if not args.quiet:
        print(summary_line(trainer))
    if hint is not None:
        print(hint, file=sys.stderr)
        return EXIT_DIVERGED
    if went_wrong := explanation(trainer):  # finished, but the loss rose or stalled: say so, and what to try
        print(went_wrong, file=sys.stderr)
    return EXIT_DONE


def summary_line(trainer: Trainer) -> str:
    """The run in one line: state, stage, device, epochs, loss from first to last, time, and accuracy if labelled."""
    _, losses = trainer.loss_curve()
    first, last = (f"{losses[0]:.6g}", f"{losses[-1]:.6g}") if len(losses) else ("nan", "none")
    line = (
        f"{trainer.status}: stage={trainer.config.stage} device={trainer.device} epochs={trainer.epoch} "
        f"loss {first} -> {last} in {trainer.train_seconds:.3f} s"
    )
    evals = trainer.evaluations()
    for split in ("train", "test"):
        if len(evals.get(f"{split}_accuracy", ())):
            line += f", {split} accuracy {100 * evals[f'{split}_accuracy'][-1]:.1f}%"
    return line


def _make_trainer(config: TrainConfig, init_weights: str | None) -> Trainer:
    return Trainer(config, *read_start(config, init_weights))


def _step(args: argparse.Namespace) -> int:
    """Train `--epochs` epochs, then record the next step; exit 3 if its loss is not finite."""
    try:
        if args.epochs < 0:
            raise ConfigError("epochs", args.epochs, "a whole number from 0 (record the first step) upwards")
        check_json_name("--json", args.json)
        # One epoch more than trained: the recorded step is part of the run, with the run's record cadence.
        config = config_from_args(argparse.Namespace(**{**vars(args), "epochs": args.epochs + 1}))
        trainer = _make_trainer(config, args.init_weights)
    except BAD_INPUT as exc:
        return bad_input(exc)
    trainer.advance(args.epochs)
    if trainer.status is RunState.DIVERGED:
        print(divergence_hint(trainer), file=sys.stderr)
        return EXIT_DIVERGED
    recording = record_next_step(trainer)
    recording.save_npz(args.out)
    if args.json:
        Path(args.json).write_text(recording.to_json())
    print(
        f"recorded step {trainer.epoch + 1} of stage {config.stage}: {len(recording.lines)} lines, "
        f"{len(recording.values)} values, loss {recording.loss:.6g} -> {args.out}"
    )
    if not recording.finite:
        print("The loss of this step is not finite: the values up to the loss line are written.", file=sys.stderr)
        return EXIT_DIVERGED
    return EXIT_DONE


def _sharpness(args: argparse.Namespace) -> int:
    """Measure the sharpness at the run's starting weights; print it and write it as JSON (exit 3 if not finite)."""
    try:
        check_json_name("--out", args.out)
        config = config_from_args(args)
        trainer = _make_trainer(config, args.init_weights)
    except BAD_INPUT as exc:
        return bad_input(exc)
    found = measure(trainer, make_probe(config, trainer.data))
    if not math.isfinite(found.value):
        print("The loss is not finite at these weights: they have no sharpness to measure.", file=sys.stderr)
        return EXIT_DIVERGED
    Path(args.out).write_text(json.dumps({**found.to_dict(), "config": config.to_dict()}, indent=1))
    print(sharpness_line(found))
    return EXIT_DONE


def sharpness_line(found: Sharpness) -> str:
    """The sharpness in one line: the value, how it was measured, and the edge it puts the run's rate against."""
    adam = found.edge.quantity is Quantity.ADAM_PRECONDITIONED
    quantity = "of P^-1 H, Adam's preconditioned Hessian" if adam else "of the Hessian"
    line = (
        f"lambda_max {found.value:.6g} ({quantity}, on {found.rows:,} rows; {found.iterations} iterations, "
        f"tolerance {found.tolerance:g}): {found.edge.steps} are unstable above a learning rate of "
        f"{found.edge.factor:g}/lambda_max = {found.stable_rate:.3g}; this run's is {found.learning_rate:g}"
    )
    return f"{line} ({found.edge.note})" if found.edge.note else line


def _compare(config: TrainConfig) -> int:
    from twolayer.teach.compare import compare_stages, format_table

    print(format_table(compare_stages(config)))
    return EXIT_DONE


def _train(trainer: Trainer, show_progress: bool) -> None:
    """Advance to the end, drawing a progress bar on stderr when it is a terminal."""
    total = trainer.config.epochs
    while not trainer.finished:
        trainer.advance(total, time_budget=0.2)
        if show_progress:
            done = trainer.epoch * 30 // total
            print(f"\r[{'#' * done}{'.' * (30 - done)}] epoch {trainer.epoch}/{total}", end="", file=sys.stderr)
    if show_progress:
        print(file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
