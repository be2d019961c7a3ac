"""What a set of uploaded files is: one .npz or .csv, or the four MNIST IDX files, each raw or gzipped."""

from __future__ import annotations

from collections.abc import Mapping

from twolayer.data.dataset import DataError, Dataset
from twolayer.data.files import load_upload
from twolayer.data.idx import MNIST_FILES, load_mnist_files, standard_name

ACCEPTED = ".npz with arrays x and y; .csv with a 'label' column; or the four MNIST IDX files together (raw or .gz)"


def read_uploads(files: Mapping[str, bytes]) -> Dataset:
    """A dataset from uploaded files (name -> content); DataError names the file and what is wrong."""
    if not files:
        raise DataError(f"no file uploaded: upload a {ACCEPTED}")
    if any(standard_name(name) for name in files):
        return load_mnist_files(dict(files))  # names the missing or foreign files
    if len(files) > 1:
        raise DataError(
            f"{', '.join(files)}: {len(files)} files, but only the {len(MNIST_FILES)} MNIST files come together; "
            "upload one .npz or .csv file"
        )
    [(name, content)] = files.items()
    return load_upload(name, content)


UPLOAD = "upload:"  # how a config's `data` begins for an upload, which only the page that took it holds


def upload_source(names: list[str]) -> str:
    """The config's `data` for an upload: names its files, so a different upload is a different run."""
    return UPLOAD + ",".join(sorted(names))


def is_upload(source: str) -> bool:
    """Whether a config's `data` names an upload, data that cannot be read again from the config alone."""
    return source.startswith(UPLOAD)
