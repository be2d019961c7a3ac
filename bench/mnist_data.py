"""Section 7's data, MNIST-sized IDX files of generated digits, and the run it measures on them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from twolayer import TrainConfig
from twolayer.data.dataset import DIGIT_CLASSES
from twolayer.data.idx import IMAGES_MAGIC, LABELS_MAGIC, TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS

TRAIN_ROWS, TEST_ROWS, SIDE = 60_000, 10_000, 28
BATCH, HIDDEN = 64, 100  # the default mini-batch and hidden size
# The configured run length: it sets the records' cadence. At 60,000 rows, norms and a histogram snapshot
# follow every epoch and an evaluation every 2 epochs, as in any MNIST run of 50 epochs or fewer.
RUN_EPOCHS = 50
THREADS = 1  # torch threads and BLAS threads while the section runs


def mnist_like(rows: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """`rows` 28x28 uint8 images and their digit labels. Each digit is a fixed blocky template of ink (about MNIST's
    share of ink pixels, in the middle 20x20), shifted by up to 2 pixels, with random intensities and a sprinkle of
    noise: learnable, and as sparse as MNIST."""
    shift, block = 2, 4
    coarse = np.random.default_rng(1).random((DIGIT_CLASSES, 5, 5)) > 0.7  # the same templates in every split
    middle = np.kron(coarse, np.ones((block, block), dtype=bool))  # (10, 20, 20)
    margin = (SIDE - middle.shape[1]) // 2 + shift
    templates = np.pad(middle, ((0, 0), (margin, margin), (margin, margin)))  # (10, 32, 32): room to shift
    labels = rng.integers(0, DIGIT_CLASSES, rows, dtype=np.uint8)
    dy, dx = rng.integers(0, 2 * shift + 1, (2, rows))
    r = np.arange(SIDE)
    ink = templates[labels[:, None, None], (dy[:, None] + r)[:, :, None], (dx[:, None] + r)[:, None, :]]
    ink |= rng.integers(0, 256, ink.shape, dtype=np.uint8) < 5  # about 2% noise pixels
    intensity = rng.integers(128, 256, ink.shape, dtype=np.uint8)
    return np.where(ink, intensity, np.uint8(0)), labels


def write_idx(path: Path, array: np.ndarray, magic: int) -> None:
    """An IDX file: the magic number, one big-endian size per dimension, then the unsigned bytes."""
    header = magic.to_bytes(4, "big") + b"".join(size.to_bytes(4, "big") for size in array.shape)
    with open(path, "wb") as file:
        file.write(header)
        file.write(np.ascontiguousarray(array, dtype=np.uint8).data)


def write_mnist(directory: str | Path, train_rows: int = TRAIN_ROWS, test_rows: int = TEST_ROWS, seed: int = 0) -> Path:
    """The four MNIST IDX files, raw, of generated images in `directory`; returns the directory."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    splits = ((TRAIN_IMAGES, TRAIN_LABELS, train_rows), (TEST_IMAGES, TEST_LABELS, test_rows))
    for images_name, labels_name, rows in splits:
        images, labels = mnist_like(rows, rng)
        write_idx(directory / images_name, images, IMAGES_MAGIC)
        write_idx(directory / labels_name, labels, LABELS_MAGIC)
    return directory


def config(directory: str | Path, stage: str, device: str = "cpu") -> TrainConfig:
    """The run measured: the stage's lecture learning rate and initialisation, float32 on `device`."""
    return TrainConfig(
        stage=stage,
        hidden_size=HIDDEN,
        batch_size=BATCH,
        epochs=RUN_EPOCHS,
        dtype="float32",
        device=device,
        data=f"mnist:{directory}",
    )
