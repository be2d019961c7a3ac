"""Where data comes from: the lecture's random numbers, scikit-learn's digits, MNIST folders and data files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from twolayer.data.dataset import (
    DIGIT_CLASSES,
    LECTURE_INPUTS,
    LECTURE_OUTPUTS,
    TEST_FRACTION,
    DataError,
    Dataset,
    one_hot,
)
from twolayer.data.files import load_csv, load_npz
from twolayer.data.idx import load_mnist_dir

SOURCES = "'random', 'digits', 'mnist:DIR' (a folder holding the four MNIST IDX files) or a path to a .npz or .csv file"


def load_data(source: str, batch_size: int, rng: np.random.Generator) -> Dataset:
    """The dataset a config's `data` field names: one of SOURCES, nothing else."""
    if source == "random":
        return random_data(batch_size, rng)
    if source == "digits":
        return digits(rng)
    if source.startswith("mnist:"):
        directory = source.removeprefix("mnist:")
        if not directory.strip():
            raise DataError("mnist: needs a folder after the colon, as in mnist:data/mnist")
        return load_mnist_dir(directory)
    suffix = Path(source).suffix.lower()
    if suffix == ".npz":
        return load_npz(Path(source))
    if suffix == ".csv":
        return load_csv(Path(source))
    raise DataError(f"unknown data source {source!r}: use {SOURCES}")


def random_data(batch_size: int, rng: np.random.Generator) -> Dataset:
    """The lecture's data: standard normal inputs and targets shaped like MNIST."""
    x = rng.standard_normal((batch_size, LECTURE_INPUTS))
    y = rng.standard_normal((batch_size, LECTURE_OUTPUTS))
    return Dataset("random", x, y)


def digits(rng: np.random.Generator, test_fraction: float = TEST_FRACTION) -> Dataset:
    """scikit-learn's bundled 8x8 digits scaled to [0, 1], split per class into train and test by `rng`."""
    # imported here: scikit-learn is slow to import and only this source needs it
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = bunch.data / 16.0  # pixels are counts from 0 to 16
    labels = bunch.target.astype(np.int64)
    test = np.zeros(len(labels), dtype=bool)
    for digit in range(DIGIT_CLASSES):
        members = rng.permutation(np.flatnonzero(labels == digit))
        test[members[: round(len(members) * test_fraction)]] = True
    train = ~test
    return Dataset(
        "digits",
        x[train],
        one_hot(labels[train], DIGIT_CLASSES),
        x[test],
        one_hot(labels[test], DIGIT_CLASSES),
        labels[train],
        labels[test],
        image_shape=(8, 8),
    )
