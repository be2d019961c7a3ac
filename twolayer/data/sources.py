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
from twolayer.data.mnist5k import read_sample

SOURCES = (
    "'random', 'digits', 'mnist5k', 'mnist:DIR' (a folder holding the four MNIST IDX files) "
    "or a path to a .npz or .csv file"
)

IMAGE_SOURCES = ("digits", "mnist5k")  # built in: labelled images with a test split


def holds_images(source: str) -> bool:
    """Whether a config's `data` names labelled images with a test split: a built-in set or an MNIST folder."""
    return source in IMAGE_SOURCES or source.startswith("mnist:")


def load_data(source: str, batch_size: int, rng: np.random.Generator) -> Dataset:
    """The dataset a config's `data` field names: one of SOURCES, nothing else."""
    if source == "random":
        return random_data(batch_size, rng)
    if source == "digits":
        return digits(rng)
    if source == "mnist5k":
        return mnist5k(rng)
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
    return split_by_class("digits", x, bunch.target.astype(np.int64), (8, 8), rng, test_fraction)


def mnist5k(rng: np.random.Generator, test_fraction: float = TEST_FRACTION) -> Dataset:
    """5,000 real 28x28 MNIST digits scaled to [0, 1]: 4,000 to train and 1,000 to test, split per class by `rng`."""
    pixels, labels = read_sample()
    x = pixels.astype(np.float32) / np.float32(255)  # float32 like the IDX reader's images: half the memory
    return split_by_class("mnist5k", x, labels, (28, 28), rng, test_fraction)


def split_by_class(
    name: str, x: np.ndarray, labels: np.ndarray, shape: tuple[int, int], rng: np.random.Generator, test_fraction: float
) -> Dataset:
    """Labelled images split into train and test, the same share of every class held out, chosen by `rng`."""
    test = np.zeros(len(labels), dtype=bool)
    for digit in range(DIGIT_CLASSES):
        members = rng.permutation(np.flatnonzero(labels == digit))
        test[members[: round(len(members) * test_fraction)]] = True
    train = ~test
    return Dataset(
        name,
        x[train],
        one_hot(labels[train], DIGIT_CLASSES),
        x[test],
        one_hot(labels[test], DIGIT_CLASSES),
        labels[train],
        labels[test],
        image_shape=shape,
    )
