"""Headless command line: `python -m twolayer train ...` runs the same Trainer as the web app."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from twolayer.config import DEVICES, DTYPES, INITS, OPTIMIZERS, STAGES, ConfigError, TrainConfig
from twolayer.data import DataError
from twolayer.devices import DeviceError, device_note
from twolayer.trainer import DIVERGED, Trainer, make_dataset
from twolayer.weights import WeightsError, load_weights, save_weights

EXIT_DONE, EXIT_BAD_INPUT, EXIT_DIVERGED = 0, 2, 3


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr and exit code 2."""

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, f"error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; every help line states its default."""
    parser = _Parser(prog="python -m twolayer", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    train = commands.add_parser("train", help="train the two-layer network and report its history")
    add = train.add_argument
    add("--stage", choices=STAGES, default="numpy", help="lecture stage (default: %(default)s)")
    add("--hidden", type=int, default=100, help="hidden layer size, 1..4096 (default: %(default)s)")
    add(
        "--lr",
        type=float,
        default=None,
        help="learning rate (default: 1e-6 for lecture-initialised numpy/tensor/autograd, else 1e-4)",
    )
    add("--epochs", type=int, default=500, help="epochs, 1..100000 (default: %(default)s)")
    add("--batch", type=int, default=64, help="batch size N; random data has N rows (default: %(default)s)")
    add("--seed", type=int, default=0, help="seed for data, weights and shuffling (default: %(default)s)")
    add("--device", choices=DEVICES, default="auto", help="device; auto picks cuda, mps, cpu (default: %(default)s)")
    add("--dtype", choices=DTYPES, default="float32", help="floating-point type (default: %(default)s)")
    add("--optimizer", choices=OPTIMIZERS, default="adam", help="optimizer of the optim stage (default: %(default)s)")
    add(
        "--init",
        choices=INITS,
        default="lecture",
        help="lecture: each stage as in the lecture; shared: the same start for every stage (default: %(default)s)",
    )
    add(
        "--bias",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="biases in both layers (default: on for nn/optim, off for the manual stages)",
    )
    add("--data", default="random", help="random, digits, mnist:DIR, FILE.npz or FILE.csv (default: %(default)s)")
    add("--eval-every", type=int, default=1, help="epochs between test evaluations (default: %(default)s)")
    add(
        "--stats-every",
        type=int,
        default=0,
        help="epochs between norm records; 0 means about 50 per run (default: %(default)s)",
    )
    add(
        "--init-weights",
        metavar="FILE.npz",
        help="start from w1 (D_in, H), w2 (H, D_out) [, b1, b2] (default: drawn from the seed)",
    )
    add("--out", metavar="FILE", help="write the history as .json or .csv (default: none)")
    add("--save-weights", metavar="FILE.npz", help="write the final weights (default: none)")
    add("--quiet", action="store_true", help="print no summary line (default: off)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 done, 3 diverged, 2 bad input)."""
    args = build_parser().parse_args(argv)
    try:
        trainer = _make_trainer(args)
        if args.out and Path(args.out).suffix not in (".json", ".csv"):
            raise ValueError(f"--out {args.out}: the file name must end in .json or .csv")
    except (ConfigError, DataError, DeviceError, WeightsError, ValueError) as exc:
        print(f"error: {_flag_names(str(exc))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    note = device_note(args.device, args.stage)
    if note:
        print(note, file=sys.stderr)
    _train(trainer, show_progress=sys.stderr.isatty() and not args.quiet)
    if args.out:
        _write_history(trainer, Path(args.out))
    if args.save_weights:
        save_weights(args.save_weights, trainer.weights())
    if not args.quiet:
        losses = trainer.history.column("loss")
        last = f"{losses[-1]:.6g}" if losses else "none"
        print(
            f"{trainer.status}: stage={args.stage} device={trainer.device} epochs={trainer.epoch} "
            f"loss {losses[0] if losses else float('nan'):.6g} -> {last} in {trainer.train_seconds:.3f} s"
        )
    if trainer.status == DIVERGED:
        print(trainer.hint, file=sys.stderr)
        return EXIT_DIVERGED
    return EXIT_DONE


def _make_trainer(args: argparse.Namespace) -> Trainer:
    config = TrainConfig(
        stage=args.stage,
        hidden_size=args.hidden,
        learning_rate=args.lr,
        epochs=args.epochs,
        batch_size=args.batch,
        seed=args.seed,
        device=args.device,
        dtype=args.dtype,
        optimizer=args.optimizer,
        bias=args.bias,
        init=args.init,
        data=args.data,
        eval_every=args.eval_every,
        stats_every=args.stats_every,
    )
    data = make_dataset(config)
    weights = None
    if args.init_weights:
        weights = load_weights(args.init_weights, data.input_size, config.hidden_size, data.output_size, config.bias)
    return Trainer(config, data=data, weights=weights)


# Config field names as the CLI spells them, so an error names the flag the user typed.
_FLAGS = {
    "hidden_size=": "--hidden ",
    "learning_rate=": "--lr ",
    "batch_size=": "--batch ",
    "epochs=": "--epochs ",
    "seed=": "--seed ",
    "eval_every=": "--eval-every ",
    "stats_every=": "--stats-every ",
}


def _flag_names(message: str) -> str:
    for field, flag in _FLAGS.items():
        if message.startswith(field):
            return flag + message[len(field) :]
    return message


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


def _write_history(trainer: Trainer, path: Path) -> None:
    summary = trainer.summary()
    if path.suffix == ".json":
        path.write_text(json.dumps(summary, indent=1, allow_nan=False))
        return
    records = summary["epochs"]
    columns = list(dict.fromkeys(key for row in records for key in row))
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(records)


if __name__ == "__main__":
    sys.exit(main())
