"""Dataset, the one shape every data source produces, and DataError, what a broken source raises."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

LECTURE_INPUTS = 784  # 28 x 28 pixels, flattened
LECTURE_OUTPUTS = 10  # one score per digit
DIGIT_CLASSES = 10
TEST_FRACTION = 0.2  # share of each digit class held out as the test split
MAX_UPLOAD_BYTES = 200 * 2**20  # an uploaded file as sent, checked before anything is parsed
MAX_UNPACKED_BYTES = 2**30  # a compressed file once unpacked: a small file must not fill the memory
MAX_CLASSES = 1000  # whole-number labels below this are classes and become one-hot targets


class DataError(ValueError):
    """A data source is missing or malformed; the message names the file and the problem."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """Inputs and targets as float64 arrays (float32 for IDX images, half the memory); labels for classes only."""

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

    def head(self, rows: int, *, train_only: bool = False) -> Dataset:
        """The data cut to its first `rows` training rows; `train_only` keeps just their inputs and targets."""
        if train_only:
            return Dataset(self.name, self.x_train[:rows], self.y_train[:rows])
        labels = None if self.labels_train is None else self.labels_train[:rows]
        return replace(self, x_train=self.x_train[:rows], y_train=self.y_train[:rows], labels_train=labels)


def one_hot(labels: np.ndarray, classes: int, dtype: type = np.float64) -> np.ndarray:
    """(N,) class indices -> (N, classes) rows of zeros with a single 1."""
    targets = np.zeros((len(labels), classes), dtype=dtype)
    targets[np.arange(len(labels)), labels] = 1
    return targets
