"""A run's whole state as bytes and back: a Trainer checkpointed anywhere resumes to the bit, in any process.

A checkpoint holds the config, the data's identity (its source, the config's `data`, and a SHA-256 of its arrays),
the stage's `state()` (weights and last gradients in the stage's own dtype, an optimizer's state) and every
attribute of the Trainer but those it builds from its config and data (REBUILT): generators, the epoch cut short,
status and every record. A recorder or setting added to the Trainer is so saved with no word here, unless it is an
object of a new class, which is named in KINDS. The data itself is not saved: `restore` builds it again from the
config (or is given it, for an upload) and refuses data that is not what the run trained on.
"""

from __future__ import annotations

import hashlib
import weakref
from dataclasses import fields

import numpy as np

from twolayer.data.dataset import DataError, Dataset
from twolayer.data.uploads import UPLOAD, is_upload
from twolayer.train.config import LINK_DATA, TrainConfig
from twolayer.train.devices import DeviceError, resolve_device
from twolayer.train.history import Firing, Histograms, Table
from twolayer.train.packing import Packer, Unpacked, Unreadable
from twolayer.train.state import RunState
from twolayer.train.trainer import Trainer, _PartialEpoch, make_dataset
from twolayer.train.weight_path import WeightPath

# What the Trainer builds from its config and data alone: built again on restore, never saved (the stage's state
# is saved through its `state()`).
REBUILT = frozenset(("config", "data", "stage", "device", "_x", "_y", "_x_test", "_firing_x", "_probe"))
# The classes whose objects a checkpoint holds attribute by attribute, and the enums it holds by value.
KINDS = {kind.__name__: kind for kind in (RunState, Table, Histograms, Firing, WeightPath, _PartialEpoch)}
_DIGESTS: weakref.WeakKeyDictionary[Dataset, str] = weakref.WeakKeyDictionary()


class CheckpointError(ValueError):
    """Bytes that are no checkpoint this twolayer reads: foreign, cut short, damaged or from another version."""


class CannotResume(CheckpointError):
    """A sound checkpoint whose run cannot go on here: its data is gone or changed, or its device is missing."""


def data_digest(data: Dataset) -> str:
    """A SHA-256 of every array of `data`, computed once per dataset (a dataset never changes)."""
    digest = _DIGESTS.get(data)
    if digest is None:
        hashed = hashlib.sha256()
        for field in fields(data):
            value = getattr(data, field.name)
            if isinstance(value, np.ndarray):
                hashed.update(f"{field.name} {value.dtype.str} {value.shape}".encode())
                hashed.update(np.ascontiguousarray(value))
        digest = _DIGESTS[data] = hashed.hexdigest()
    return digest


def dump(trainer: Trainer) -> bytes:
    """The trainer's whole state as bytes; taken between two slices, while nothing advances the run."""
    packer = Packer(KINDS)
    held = {}
    for name, value in vars(trainer).items():
        if name not in REBUILT:
            try:
                held[name] = packer.add(value)
            except TypeError as error:
                raise TypeError(f"the trainer's {name}: {error} (a recorder of a new class goes in KINDS)") from None
    manifest = {
        "config": trainer.config.to_dict(),
        "data_sha256": data_digest(trainer.data),
        "stage": packer.add(trainer.stage.state()),
        "trainer": held,
    }
    return packer.pack(manifest)


def restore(blob: bytes, data: Dataset | None = None, *, files: bool = True) -> Trainer:
    """The trainer `blob` saved, advancing exactly as it would have; `data` is the upload a run on one trained on.
    `files=False` reads no file the blob's config names, only data a link may name: for blobs of a shared store.

    CheckpointError when the blob does not read; CannotResume, saying why, when its run cannot go on here."""
    try:
        unpacked = Unpacked(blob, KINDS)
        manifest = unpacked.manifest
        config, digest, held = TrainConfig(**manifest["config"]), manifest["data_sha256"], manifest["trainer"]
    except Unreadable as error:
        raise CheckpointError(f"the checkpoint does not read: {error}") from None
    except (KeyError, TypeError, ValueError) as error:  # ConfigError is a ValueError
        raise CheckpointError(f"the checkpoint's settings do not read: {error}") from None
    data = _same_data(config, digest, data, files)
    try:
        device = resolve_device(config.device, config.stage)
    except DeviceError as error:
        raise CannotResume(f"the run cannot go on here: {error}") from None
    try:
        saved = {name: unpacked.value(node, device) for name, node in held.items()}
        trainer = Trainer(config, data, saved["initial_weights"])
        _check_holds(trainer, saved)
        vars(trainer).update(saved)
        trainer.stage.load_state(unpacked.value(manifest["stage"], device))
    except CheckpointError:
        raise
    except Unreadable as error:
        raise CheckpointError(f"the checkpoint does not read: {error}") from None
    except (KeyError, TypeError, ValueError, RuntimeError) as error:  # torch says RuntimeError of a wrong shape
        raise CheckpointError(f"the checkpoint does not fit its run: {error!r}") from None
    return trainer


def _same_data(config: TrainConfig, digest: str, data: Dataset | None, files: bool) -> Dataset:
    """The data the run trained on: `data`, or built again from the config; CannotResume when it is not that."""
    if data is None:
        if is_upload(config.data):
            names = config.data.removeprefix(UPLOAD)
            raise CannotResume(
                f"the run trained on an upload ({names}) that left with the page that took it: "
                "upload the same file again to resume it"
            )
        if not files and config.data not in LINK_DATA:
            # Whoever can write the store must not make the server read its files (nor learn which exist).
            raise CannotResume(f"the run trained on {config.data}: a checkpoint from the store reads no files")
        try:
            data = make_dataset(config)
        except DataError as error:
            raise CannotResume(f"the run's data cannot be read again: {error}") from None
    if data_digest(data) != digest:
        raise CannotResume(
            f"the run's data ({config.data}) is not what it trained on: the source changed since the checkpoint"
        )
    return data


def _check_holds(trainer: Trainer, saved: dict) -> None:
    """Refuse a checkpoint whose trainer held other attributes than this twolayer's: another version wrote it."""
    held = set(vars(trainer)) - REBUILT
    if held != set(saved):
        raise CheckpointError(
            "the checkpoint was written by another version of twolayer: it holds "
            f"{sorted(set(saved) - held) or 'nothing more'} and lacks {sorted(held - set(saved)) or 'nothing'}"
        )
