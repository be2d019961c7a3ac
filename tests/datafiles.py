"""Small data files for tests: IDX and .npz bytes, MNIST-shaped files, and broken files of every kind the page takes."""

from __future__ import annotations

import gzip
import io

import numpy as np

TRAIN_IMAGES, TRAIN_LABELS = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"
TEST_IMAGES, TEST_LABELS = "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"


def idx_bytes(array: np.ndarray, magic: int | None = None) -> bytes:
    """An IDX file's bytes: magic number, one big-endian size per dimension, then the unsigned bytes."""
    magic = 0x800 | array.ndim if magic is None else magic
    header = magic.to_bytes(4, "big") + b"".join(size.to_bytes(4, "big") for size in array.shape)
    return header + array.astype(np.uint8).tobytes()


def npz_bytes(**arrays) -> bytes:
    """An .npz file's bytes holding `arrays` by name."""
    out = io.BytesIO()
    np.savez(out, **arrays)
    return out.getvalue()


def mnist_files(n_train=30, n_test=10, shape=(4, 5), seed=0) -> tuple[dict[str, bytes], dict[str, np.ndarray]]:
    """Four small, valid IDX files of random pixels by standard name, and the arrays they hold."""
    rng = np.random.default_rng(seed)
    arrays = {
        TRAIN_IMAGES: rng.integers(0, 256, (n_train, *shape), dtype=np.uint8),
        TRAIN_LABELS: rng.integers(0, 10, n_train, dtype=np.uint8),
        TEST_IMAGES: rng.integers(0, 256, (n_test, *shape), dtype=np.uint8),
        TEST_LABELS: rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    return {name: idx_bytes(array) for name, array in arrays.items()}, arrays


def digit_images(n_train=300, n_test=100) -> dict[str, np.ndarray]:
    """Real handwritten digits as 28 x 28 uint8 images (scikit-learn's 8 x 8 ones, scaled up 3x and framed)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.kron(bunch.images, np.ones((3, 3))) * (255 / 16)  # (n, 24, 24)
    images = np.pad(images, ((0, 0), (2, 2), (2, 2))).astype(np.uint8)
    labels = bunch.target.astype(np.uint8)
    return {
        TRAIN_IMAGES: images[:n_train],
        TRAIN_LABELS: labels[:n_train],
        TEST_IMAGES: images[n_train : n_train + n_test],
        TEST_LABELS: labels[n_train : n_train + n_test],
    }


def digit_uploads() -> dict[str, dict[str, bytes]]:
    """Good uploads by case: the four IDX files gzipped and raw, an .npz and a .csv, all of real digits."""
    arrays = digit_images()
    raw = {name: idx_bytes(array) for name, array in arrays.items()}
    x = arrays[TRAIN_IMAGES].astype(np.float64) / 255
    labels = arrays[TRAIN_LABELS]
    npz = npz_bytes(x=x, y=labels, x_test=arrays[TEST_IMAGES] / 255, y_test=arrays[TEST_LABELS])
    small = x[:, ::4, ::4].reshape(len(x), -1)  # 7 x 7 pixels keep the CSV short
    csv = "label," + ",".join(f"p{i}" for i in range(small.shape[1])) + "\n"
    rows = zip(labels, small, strict=True)
    csv += "".join(f"{label}," + ",".join(f"{v:.3f}" for v in row) + "\n" for label, row in rows)
    return {
        "idx-gz": {f"{name}.gz": gzip.compress(content, mtime=0) for name, content in raw.items()},
        "idx-raw": raw,
        "npz": {"digits.npz": npz},
        "csv": {"digits.csv": csv.encode()},
    }


def broken_uploads() -> dict[str, tuple[dict[str, bytes], str]]:
    """Broken uploads by case, each with the start of the message that must name the file and the problem."""
    good = digit_uploads()
    raw = good["idx-raw"]
    images = raw[TRAIN_IMAGES]
    return {
        "wrong magic": (
            {**raw, TRAIN_IMAGES: b"\x00\x00\x08\x04" + images[4:]},
            f"{TRAIN_IMAGES}: wrong magic number 0x00000804",
        ),
        "truncated": ({**raw, TRAIN_IMAGES: images[: len(images) // 2]}, f"{TRAIN_IMAGES}: truncated"),
        "text named npz": ({"notes.npz": b"just some notes\n"}, "notes.npz: not a .npz file"),
        "csv without label": ({"nolabel.csv": b"a,b\n1,2\n"}, "nolabel.csv: the header needs exactly one column"),
        "three of the four": (
            {name: content for name, content in raw.items() if name != TEST_LABELS},
            f"the upload: missing {TEST_LABELS}",
        ),
    }
