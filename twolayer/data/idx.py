"""MNIST's IDX files: a big-endian header (magic number, then one size per dimension) followed by unsigned bytes."""

from __future__ import annotations

import gzip
import io
import math
import zlib
from pathlib import Path

import numpy as np

from twolayer.data.dataset import DIGIT_CLASSES, MAX_UNPACKED_BYTES, MAX_UPLOAD_BYTES, DataError, Dataset, one_hot

IMAGES_MAGIC = 0x00000803  # unsigned bytes in 3 dimensions: count, rows, columns
LABELS_MAGIC = 0x00000801  # unsigned bytes in 1 dimension: count
GZIP_MAGIC = b"\x1f\x8b"
TRAIN_IMAGES, TRAIN_LABELS = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"
TEST_IMAGES, TEST_LABELS = "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"
MNIST_FILES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)


def read_idx(path: str | Path) -> np.ndarray:
    """The array an IDX file holds, raw or gzip-compressed (when its name ends in .gz)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    return parse_idx(path.read_bytes(), str(path))


def parse_idx(content: bytes, name: str) -> np.ndarray:
    """The uint8 array in an IDX file's bytes: (count, rows, columns) images or (count,) labels."""
    if name.lower().endswith(".gz"):
        content = _gunzip(content, name)
    if len(content) < 4:
        raise DataError(f"{name}: {len(content)} bytes, too short for an IDX header")
    magic = int.from_bytes(content[:4], "big")
    if magic not in (IMAGES_MAGIC, LABELS_MAGIC):
        hint = "; it looks gzip-compressed, so give it a name ending in .gz" if content.startswith(GZIP_MAGIC) else ""
        raise DataError(
            f"{name}: wrong magic number 0x{magic:08X}: IDX images start with 0x{IMAGES_MAGIC:08X} "
            f"and labels with 0x{LABELS_MAGIC:08X}{hint}"
        )
    header_size = 4 + 4 * content[3]  # the magic number's last byte counts the dimensions
    if len(content) < header_size:
        raise DataError(f"{name}: truncated inside its header ({len(content)} of {header_size} bytes)")
    dims = tuple(int.from_bytes(content[i : i + 4], "big") for i in range(4, header_size, 4))
    sizes = " x ".join(f"{d:,}" for d in dims)
    if 0 in dims:
        raise DataError(f"{name}: holds no data (its header gives the dimensions {sizes})")
    expected, found = math.prod(dims), len(content) - header_size
    if found < expected:
        raise DataError(
            f"{name}: truncated: the header promises {sizes} = {expected:,} bytes of data, the file has {found:,}"
        )
    if found > expected:
        raise DataError(
            f"{name}: {found - expected:,} unexpected bytes after the {expected:,} bytes of data the header describes"
        )
    return np.frombuffer(content, dtype=np.uint8, offset=header_size).reshape(dims)


def load_idx_pair(images_name: str, images: bytes, labels_name: str, labels: bytes) -> tuple[np.ndarray, np.ndarray]:
    """An images file and its labels file as float32 images in [0, 1] (N, rows, columns) and int64 labels (N,)."""
    pixels, classes = parse_idx(images, images_name), parse_idx(labels, labels_name)
    if pixels.ndim != 3:
        raise DataError(f"{images_name}: holds labels (magic 0x{LABELS_MAGIC:08X}), not images")
    if classes.ndim != 1:
        raise DataError(f"{labels_name}: holds images (magic 0x{IMAGES_MAGIC:08X}), not labels")
    if len(pixels) != len(classes):
        raise DataError(f"{images_name} holds {len(pixels):,} images but {labels_name} holds {len(classes):,} labels")
    wrong = np.flatnonzero(classes >= DIGIT_CLASSES)
    if wrong.size:
        raise DataError(f"{labels_name}: label {classes[wrong[0]]} at position {wrong[0]:,} is not a digit from 0 to 9")
    # float32 halves the memory (60,000 MNIST images: 188 MB, not 376 MB); the trainer casts to the run's dtype
    x = pixels.astype(np.float32)
    x /= 255
    return x, classes.astype(np.int64)


def load_mnist_dir(directory: str | Path) -> Dataset:
    """The four MNIST files in a folder, each raw or .gz; other files there are ignored."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(
            f"{directory}: no such folder; mnist:DIR needs a folder holding {', '.join(MNIST_FILES)}, each raw or .gz"
        )
    found = _identify(str(directory), [path.name for path in directory.iterdir() if path.is_file()], strict=False)
    files = {standard: (str(directory / name), (directory / name).read_bytes()) for standard, name in found.items()}
    return _mnist_dataset(directory.resolve().name, files)


def load_mnist_files(files: dict[str, bytes]) -> Dataset:
    """Four uploaded MNIST files (name -> content), each raw or .gz, identified by name; any other file is refused."""
    total = sum(len(content) for content in files.values())
    if total > MAX_UPLOAD_BYTES:
        raise DataError(
            f"the uploaded files take {total / 2**20:.1f} MB, over the upload limit of {MAX_UPLOAD_BYTES // 2**20} MB"
        )
    found = _identify("the upload", list(files), strict=True)
    return _mnist_dataset("MNIST upload", {standard: (name, files[name]) for standard, name in found.items()})


def _mnist_dataset(name: str, files: dict[str, tuple[str, bytes]]) -> Dataset:
    """Training and test pairs from (file name, content) per standard name, checked against each other."""
    images, labels = load_idx_pair(*files[TRAIN_IMAGES], *files[TRAIN_LABELS])
    test_images, test_labels = load_idx_pair(*files[TEST_IMAGES], *files[TEST_LABELS])
    if test_images.shape[1:] != images.shape[1:]:
        raise DataError(
            f"{files[TEST_IMAGES][0]}: images of {'x'.join(map(str, test_images.shape[1:]))} pixels, but "
            f"{files[TRAIN_IMAGES][0]} has {'x'.join(map(str, images.shape[1:]))}"
        )
    return Dataset(
        name,
        images.reshape(len(images), -1),
        one_hot(labels, DIGIT_CLASSES, np.float32),
        test_images.reshape(len(test_images), -1),
        one_hot(test_labels, DIGIT_CLASSES, np.float32),
        labels,
        test_labels,
        image_shape=images.shape[1:],
    )


def _identify(where: str, names: list[str], strict: bool) -> dict[str, str]:
    """Standard name -> given name for the four files; with `strict`, any other name is an error."""
    found: dict[str, str] = {}
    for name in names:
        standard = standard_name(name)
        if standard is None:
            if strict:
                raise DataError(f"{name}: not one of the MNIST files {', '.join(MNIST_FILES)} (raw or .gz)")
            continue
        if standard in found:
            raise DataError(f"{where}: two files for {standard}: {found[standard]} and {name}; keep one")
        found[standard] = name
    missing = [standard for standard in MNIST_FILES if standard not in found]
    if missing:
        raise DataError(f"{where}: missing {', '.join(missing)} (each may be raw or .gz)")
    return found


def standard_name(name: str) -> str | None:
    """The standard MNIST name a file name stands for, also written as e.g. train-images.idx3-ubyte, or None."""
    standard = Path(name).name.lower().removesuffix(".gz").replace(".", "-")
    return standard if standard in MNIST_FILES else None


def _gunzip(content: bytes, name: str) -> bytes:
    """The unpacked bytes of a .gz file, refused when it is not gzip, damaged, or unpacks beyond the limit."""
    if not content.startswith(GZIP_MAGIC):
        raise DataError(f"{name}: named .gz but not gzip-compressed; if it is a raw IDX file, drop the .gz")
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(content)) as unpacking:
            data = unpacking.read(MAX_UNPACKED_BYTES + 1)  # reading one byte past the limit detects going over
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{name}: damaged gzip data ({exc})") from None
    if len(data) > MAX_UNPACKED_BYTES:
        raise DataError(f"{name}: unpacks to more than {MAX_UNPACKED_BYTES // 2**20} MB, the limit")
    return data
