"""What every training command shares: one flag per setting, the config they make, and one-line errors."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from twolayer.data.dataset import DataError, Dataset
from twolayer.train.config import BY_NAME, SETTINGS, ConfigError, TrainConfig
from twolayer.train.devices import DeviceError
from twolayer.train.trainer import make_dataset
from twolayer.train.weights import WeightsError, load_weights

EXIT_DONE, EXIT_BAD_INPUT, EXIT_DIVERGED = 0, 2, 3
BAD_INPUT = (ConfigError, DataError, DeviceError, WeightsError, ValueError)


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr and exit code 2."""

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, f"error: {message} (see --help)\n")


def add_setting_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per setting of `twolayer.train.config.SETTINGS`, its help stating the default."""
    for spec in SETTINGS:
        flag = "--" + spec.key.replace("_", "-")
        limits = f", {spec.low:,}..{spec.high:,}" if spec.kind is int else ""
        default = spec.default_help.replace("%", "%%") or "%(default)s"  # words, not an argparse format
        options = {"dest": spec.name, "default": spec.default, "help": f"{spec.help}{limits} (default: {default})"}
        if spec.kind is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, **options)
        elif spec.choices:
            parser.add_argument(flag, choices=spec.choices, **options)
        else:
            parser.add_argument(flag, type=spec.kind, **options)


def add_init_weights(parser: argparse.ArgumentParser) -> None:
    """The --init-weights flag: start from the weights of a .npz file."""
    parser.add_argument(
        "--init-weights",
        metavar="FILE.npz",
        help="start from w1 (D_in, H), w2 (H, D_out) [, b1, b2] (default: drawn from the seed)",
    )


def read_start(config: TrainConfig, init_weights: str | None) -> tuple[Dataset, dict[str, np.ndarray] | None]:
    """The run's data, and its starting weights read from `init_weights` (None: the run draws them from its seed)."""
    data = make_dataset(config)
    if not init_weights:
        return data, None
    return data, load_weights(init_weights, data.input_size, config.hidden_size, data.output_size, config.bias)


def check_json_name(flag: str, path: str | None) -> None:
    """Refuse a file name given to `flag` that does not end in .json (None: the flag was not given)."""
    if path is not None and Path(path).suffix != ".json":
        raise ValueError(f"{flag} {path}: the file name must end in .json")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The run's config from the setting flags (--sharpness-every K > 0 turns the sharpness on)."""
    values = {spec.name: getattr(args, spec.name) for spec in SETTINGS}
    if values["sharpness_every"]:
        values["sharpness"] = True
    return TrainConfig(**values)


def bad_input(exc: Exception) -> int:
    """Print one line naming what was wrong, with the flag the user typed; the exit code for bad input."""
    if isinstance(exc, ConfigError) and exc.field in BY_NAME:
        flag = "--" + BY_NAME[exc.field].key.replace("_", "-")
        message = f"{flag} {exc.value!r} is not allowed: {exc.allowed}"
    else:
        message = str(exc)
    print(f"error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT
