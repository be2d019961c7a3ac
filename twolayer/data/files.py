"""The user's own data files: .npz and .csv, from a path or an upload, checked for shape, numbers and size."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import BinaryIO

import numpy as np

from twolayer.data.dataset import MAX_CLASSES, MAX_UNPACKED_BYTES, MAX_UPLOAD_BYTES, DataError, Dataset, one_hot


def load_upload(name: str, content: bytes) -> Dataset:
    """A dataset from one uploaded .npz or .csv file; the size is checked before anything is parsed."""
    if len(content) > MAX_UPLOAD_BYTES:
        raise DataError(
            f"{name}: {len(content) / 2**20:.1f} MB is over the upload limit of {MAX_UPLOAD_BYTES // 2**20} MB"
        )
    suffix = Path(name).suffix.lower()
    if suffix == ".npz":
        return _read_npz(name, io.BytesIO(content))
    if suffix == ".csv":
        return _read_csv(name, content)
    kind = f"{suffix} files" if suffix else "files without an extension"
    raise DataError(f"{name}: cannot read {kind}: upload a .npz or .csv file, or all four MNIST IDX files together")


def load_npz(path: Path) -> Dataset:
    """Arrays `x` and `y`, optionally `x_test` and `y_test`, from a .npz file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    return _read_npz(str(path), path)


def load_csv(path: Path) -> Dataset:
    """A .csv file with a header row and a `label` column; every other column is an input."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    return _read_csv(str(path), path.read_bytes())


def _read_npz(where: str, file: Path | BinaryIO) -> Dataset:
    """x: (N, D_in) or (N, H, W) images; y: (N, D_out) targets or (N,) class labels."""
    head = file.read_bytes()[:4] if isinstance(file, Path) else file.read(4)
    if not isinstance(file, Path):
        file.seek(0)
    # A .npz is a zip archive (a lone .npy array gets its own message below); anything else is refused
    # before numpy sees it, so no message ever suggests unpickling a stranger's file.
    if head != b"PK\x03\x04" and not head.startswith(b"\x93NUM"):
        raise DataError(f"{where}: not a .npz file (a .npz is a zip archive of arrays, saved by numpy.savez)")
    try:
        npz = np.load(file, allow_pickle=False)  # never unpickle: loading must not run code from the file
    except Exception as exc:  # a zip error, a truncated file: all unreadable
        raise DataError(f"{where}: not a readable .npz file ({exc})") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise DataError(f"{where}: a single .npy array, not a .npz archive of named arrays x and y")
    with npz:
        unpacked = sum(info.file_size for info in npz.zip.infolist())
        if unpacked > MAX_UNPACKED_BYTES:
            raise DataError(
                f"{where}: its arrays unpack to {unpacked / 2**20:.0f} MB, over the limit of "
                f"{MAX_UNPACKED_BYTES // 2**20} MB"
            )
        arrays = {}
        for key in npz.files:
            try:
                arrays[key] = npz[key]
            except Exception as exc:  # an object array, which would need unpickling, or a damaged member
                raise DataError(
                    f"{where}: array {key!r} cannot be read: only plain numeric arrays are "
                    f"accepted, never pickled objects ({exc})"
                ) from None
    for key in ("x", "y"):
        if key not in arrays:
            raise DataError(f"{where}: missing array {key!r} (found: {', '.join(arrays) or 'none'})")
    if ("x_test" in arrays) != ("y_test" in arrays):
        raise DataError(f"{where}: x_test and y_test must come together")
    x, image_shape = _inputs(where, "x", arrays["x"])
    y = _numeric(where, "y", arrays["y"], (1, 2), "a 1-D array of labels or a 2-D (rows, outputs) array")
    _same_rows(where, "x", x, "y", y)
    if "x_test" not in arrays:
        [(y, labels)] = _targets([y])
        return Dataset(Path(where).name, x, y, labels_train=labels, image_shape=image_shape)
    x_test, test_shape = _inputs(where, "x_test", arrays["x_test"])
    y_test = _numeric(where, "y_test", arrays["y_test"], (1, 2), "a 1-D array of labels or a 2-D (rows, outputs) array")
    _same_rows(where, "x_test", x_test, "y_test", y_test)
    (y, labels), (y_test, labels_test) = _targets([y, y_test])
    if x_test.shape[1] != x.shape[1] or test_shape != image_shape or y_test.shape[1] != y.shape[1]:
        raise DataError(
            f"{where}: test arrays have {x_test.shape[1]} inputs and {y_test.shape[1]} outputs "
            f"but training arrays have {x.shape[1]} and {y.shape[1]}"
        )
    return Dataset(Path(where).name, x, y, x_test, y_test, labels, labels_test, image_shape)


def _read_csv(where: str, content: bytes) -> Dataset:
    """A header row naming the columns, then one row of numbers per example."""
    try:
        text = content.decode("utf-8-sig")  # tolerate the byte-order mark spreadsheets write
    except UnicodeDecodeError as exc:
        raise DataError(f"{where}: not UTF-8 text (byte {exc.start} cannot be decoded)") from None
    lines = text.splitlines()
    if not text.strip():
        raise DataError(f"{where}: the file is empty")
    header = [column.strip() for column in next(csv.reader(lines[:1]))]
    if header.count("label") != 1:
        found = ", ".join(header[:10]) + (", ..." if len(header) > 10 else "")
        raise DataError(f"{where}: the header needs exactly one column named 'label' (found: {found})")
    if len(header) < 2:
        raise DataError(f"{where}: no input columns besides 'label'")
    if not any(line.strip() for line in lines[1:]):
        raise DataError(f"{where}: a header but no rows of data")
    try:  # numpy's parser is fast; a slow scan runs only to explain a failure
        table = np.loadtxt(io.StringIO(text), delimiter=",", skiprows=1, ndmin=2, comments=None, quotechar='"')
    except ValueError as exc:
        raise DataError(_csv_problem(where, lines, header) or f"{where}: {exc}") from None
    if table.shape[1] != len(header) or not np.isfinite(table).all():
        raise DataError(_csv_problem(where, lines, header) or f"{where}: unreadable rows")
    column = header.index("label")
    [(y, labels)] = _targets([table[:, column]])
    return Dataset(Path(where).name, np.delete(table, column, axis=1), y, labels_train=labels)


def _csv_problem(where: str, lines: list[str], header: list[str]) -> str | None:
    """The first row that is not a full row of finite numbers, in words with its line number."""
    reader = csv.reader(lines[1:])
    for row in reader:
        line = reader.line_num + 1  # the header is line 1
        if not row:
            continue
        if len(row) != len(header):
            return f"{where}, line {line}: {len(row)} cells, but the header names {len(header)} columns"
        for name, cell in zip(header, row, strict=True):
            if not cell.strip():
                return f"{where}, line {line}: column {name!r} is empty"
            try:
                value = float(cell)
            except ValueError:
                return f"{where}, line {line}: column {name!r} holds {cell!r}, which is not a number"
            if not np.isfinite(value):
                return f"{where}, line {line}: column {name!r} holds {cell!r}; NaN and infinite values cannot be used"
    return None


def _inputs(where: str, name: str, x: np.ndarray) -> tuple[np.ndarray, tuple[int, int] | None]:
    """Inputs as (N, D_in) rows, with the image shape when they came as (N, H, W) pictures."""
    x = _numeric(where, name, x, (2, 3), "a 2-D (rows, inputs) or 3-D (rows, height, width) array")
    if x.ndim == 3:
        return x.reshape(len(x), -1), x.shape[1:]
    return x, None


def _numeric(where: str, name: str, array: np.ndarray, ndims: tuple[int, ...], expected: str) -> np.ndarray:
    """The array as float64 after checking its dimensions, that it holds numbers, and that they are finite."""
    if array.ndim not in ndims or array.size == 0:
        raise DataError(f"{where}: {name} must be {expected}, non-empty; got shape {array.shape}")
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating) or array.dtype == bool):
        raise DataError(f"{where}: {name} must hold numbers, got dtype {array.dtype}")
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise DataError(f"{where}: {name} holds NaN or infinite values")
    return array


def _same_rows(where: str, xname: str, x: np.ndarray, yname: str, y: np.ndarray) -> None:
    if len(x) != len(y):
        raise DataError(f"{where}: {xname} has {len(x)} rows but {yname} has {len(y)}")


def _targets(ys: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """Each split's (N, D_out) targets and class labels, or None where the targets are not classes.

    1-D whole numbers from 0 to MAX_CLASSES - 1 in every split are classes, one-hot encoded over the same
    classes; other 1-D values are a single regression output. 2-D rows that are exactly one-hot give labels.
    """
    if all(y.ndim == 1 and _are_classes(y) for y in ys):
        classes = max(int(y.max()) for y in ys) + 1
        return [(one_hot(y.astype(np.int64), classes), y.astype(np.int64)) for y in ys]
    out = []
    for y in ys:
        y = y.reshape(len(y), -1)
        out.append((y, y.argmax(axis=1) if _is_one_hot(y) else None))
    return out


def _are_classes(y: np.ndarray) -> bool:
    return bool((y == np.round(y)).all() and y.min() >= 0 and y.max() < MAX_CLASSES)


def _is_one_hot(y: np.ndarray) -> bool:
    return bool(y.shape[1] > 1 and ((y == 0) | (y == 1)).all() and (y.sum(axis=1) == 1).all())
