"""Training data: the lecture's random numbers and user-supplied arrays, never downloaded."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

LECTURE_INPUTS = 784  # 28 x 28 pixels, flattened
LECTURE_OUTPUTS = 10  # one score per digit


class DataError(ValueError):
    """A data source is missing or malformed; the message names the file and the problem."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """Inputs and targets as float64 arrays; labels only for classification data."""

    name: str
    x_train: np.ndarray  # (N, D_in)
    y_train: np.ndarray  # (N, D_out)
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    labels_train: np.ndarray | None = None  # (N,) class index, when y is one-hot
    labels_test: np.ndarray | None = None
    image_shape: tuple[int, int] | None = None  # to draw inputs and weights as pictures

    @property
    def input_size(self) -> int:
        return self.x_train.shape[1]

    @property
    def output_size(self) -> int:
        return self.y_train.shape[1]

    @property
    def is_classification(self) -> bool:
        return self.labels_train is not None

    @property
    def has_test(self) -> bool:
        return self.x_test is not None


def random_data(batch_size: int, rng: np.random.Generator) -> Dataset:
    """The lecture's data: standard normal inputs and targets shaped like MNIST."""
    x = rng.standard_normal((batch_size, LECTURE_INPUTS))
    y = rng.standard_normal((batch_size, LECTURE_OUTPUTS))
    return Dataset("random", x, y)


def load_data(source: str, batch_size: int, rng: np.random.Generator) -> Dataset:
    """The dataset a config's `data` field names."""
    if source == "random":
        return random_data(batch_size, rng)
    path = Path(source)
    if path.suffix == ".npz":
        return load_npz(path)
    raise DataError(f"unknown data source {source!r}: use 'random' or a path to a .npz file")


def load_npz(path: Path) -> Dataset:
    """Arrays `x` (N, D_in) and `y` (N, D_out), optionally `x_test` and `y_test`."""
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except Exception as exc:  # a zip error, a pickled array, a truncated file: all unreadable
        raise DataError(f"{path}: not a readable .npz file ({exc})") from None
    for key in ("x", "y"):
        if key not in arrays:
            raise DataError(f"{path}: missing array {key!r} (found: {', '.join(arrays) or 'none'})")
    x, y = _check_pair(path, "x", arrays["x"], "y", arrays["y"])
    if ("x_test" in arrays) != ("y_test" in arrays):
        raise DataError(f"{path}: x_test and y_test must come together")
    x_test = y_test = None
    if "x_test" in arrays:
        x_test, y_test = _check_pair(path, "x_test", arrays["x_test"], "y_test", arrays["y_test"])
        if x_test.shape[1] != x.shape[1] or y_test.shape[1] != y.shape[1]:
            raise DataError(f"{path}: test arrays have {x_test.shape[1]} inputs and {y_test.shape[1]} "
                            f"outputs but training arrays have {x.shape[1]} and {y.shape[1]}")
    return Dataset(path.name, x, y, x_test, y_test)


def _check_pair(path: Path, xname: str, x: np.ndarray, yname: str, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays 2-D, numeric, finite and with the same number of rows, as float64."""
    for name, arr in ((xname, x), (yname, y)):
        if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
            raise DataError(f"{path}: {name} must be a non-empty 2-D array (rows, columns), got shape {arr.shape}")
        if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise DataError(f"{path}: {name} must be numeric, got dtype {arr.dtype}")
    if x.shape[0] != y.shape[0]:
        raise DataError(f"{path}: {xname} has {x.shape[0]} rows but {yname} has {y.shape[0]}")
    x, y = x.astype(np.float64), y.astype(np.float64)
    for name, arr in ((xname, x), (yname, y)):
        if not np.isfinite(arr).all():
            raise DataError(f"{path}: {name} holds NaN or infinite values")
    return x, y
