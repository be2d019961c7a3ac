"""A run's downloads and output files: one writer each, shared by the CLI and the page, byte for byte."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from twolayer.train.config import TrainConfig
from twolayer.train.history import PastRun
from twolayer.train.trainer import Trainer

HISTORY_FORMATS = (".json", ".csv")
# A fixed time stamp in the archive: the same weights always give the same bytes.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def history_json(trainer: Trainer, hint: str | None = None) -> str:
    """The run's summary, `hint` included, and per-epoch records as JSON text (strict: no NaN or infinity)."""
    return json.dumps(trainer.summary(hint), indent=1, allow_nan=False)


def history_csv(trainer: Trainer) -> str:
    """The run's per-epoch records as CSV text, one row per epoch."""
    records = trainer.records()
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(dict.fromkeys(k for row in records for k in row)), lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue()


def weights_npz(weights: dict[str, np.ndarray]) -> bytes:
    """Weights in the lecture's layout as an uncompressed .npz (what numpy.load reads), with fixed time stamps."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for name, array in weights.items():
            with archive.open(zipfile.ZipInfo(f"{name}.npy", _ZIP_TIME), "w") as member:
                np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)
    return out.getvalue()


def history_file(trainer: Trainer, suffix: str, hint: str | None = None) -> str:
    """The history in the format a file suffix names (.json or .csv)."""
    if suffix not in HISTORY_FORMATS:
        raise ValueError(f"a history file's name must end in {' or '.join(HISTORY_FORMATS)}, not {suffix or 'nothing'}")
    return history_json(trainer, hint) if suffix == ".json" else history_csv(trainer)


def write_history(trainer: Trainer, path: str | Path, hint: str | None = None) -> None:
    """Write the history to `path`, as JSON (with `hint`) or CSV by its suffix."""
    path = Path(path)
    path.write_text(history_file(trainer, path.suffix, hint), newline="")


def downloads(trainer: Trainer, hint: str | None = None) -> list[tuple[str, str, str, Callable[[], str | bytes]]]:
    """The page's downloads: (label, file name, MIME type, a function building the content when asked)."""
    stem = file_stem(trainer)
    return [
        ("History (CSV)", f"{stem}.csv", "text/csv", lambda: history_csv(trainer)),
        ("History (JSON)", f"{stem}.json", "application/json", lambda: history_json(trainer, hint)),
        ("Weights (.npz)", f"{stem}.npz", "application/octet-stream", lambda: weights_npz(trainer.weights())),
    ]


def past_run_csv(run: PastRun) -> str:
    """A past run's kept loss curve as CSV, its settings in a leading comment line."""
    settings = " ".join(f"{key}={value}" for key, value in run.config.values().items())
    rows = "".join(f"{epoch},{loss!r}\n" for epoch, loss in zip(run.epochs, run.losses, strict=True))
    return f"# {run.label}: {run.outcome}; {settings}\nepoch,loss\n{rows}"


def file_stem(run: Trainer | PastRun | TrainConfig) -> str:
    """A download name that tells runs apart: stage, hidden size, learning rate, seed and data."""
    c = run if isinstance(run, TrainConfig) else run.config
    data = "upload" if c.data.startswith("upload") else Path(c.data.removeprefix("mnist:")).stem or c.data
    return f"twolayer-{c.stage}-h{c.hidden_size}-lr{c.learning_rate:g}-seed{c.seed}-{data}"
