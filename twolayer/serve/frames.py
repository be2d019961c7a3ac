"""The lecturer's run as frames a follower rebuilds it from, and a student's take-over of it at an epoch.

A frame is small JSON: the run's id and settings, its state and status line, the epoch, the tab shown and the step
line, and the rows its records gained since the frame before (history sent incrementally). A `Mirror` rebuilds the
run from frames, on the run's starting weights or its latest checkpoint, without training: its records are the
lecturer's, its weights those of the latest checkpoint. `fork` takes the run over at an epoch from a checkpoint,
going on from it to that epoch exactly as the lecturer's run went.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

from twolayer.train.checkpoint import CheckpointError, restore
from twolayer.train.config import LINK_DATA, TrainConfig
from twolayer.train.history import Table
from twolayer.train.stages import make_stage
from twolayer.train.state import RunState
from twolayer.train.trainer import Trainer

TABLES = ("history", "stats", "evals", "sharpness")  # a run's records that frames carry as they grow


@dataclass
class Frame:
    """One moment of the lecturer's run as followers see it."""

    run: str  # the run's id: a new run (Reset, new settings) starts anew on every follower
    config: dict
    state: str  # RunState's word, as the lecturer's page says it (running while it plays)
    status: str  # the lecturer's status line, word for word
    epoch: int
    tab: str = "Training"
    line: int = 0  # the line shown on Inside a step
    checkpoint: int | None = None  # the epoch of the latest checkpoint kept, if any
    diverged_at: list | None = None
    train_seconds: float = 0.0
    tables: dict = field(default_factory=dict)  # name -> [first row's index, {column: values}]

    def dumps(self) -> str:
        return json.dumps(self.__dict__, separators=(",", ":"))

    @classmethod
    def loads(cls, body: str) -> Frame:
        """A frame from its JSON; ValueError when it does not read."""
        try:
            return cls(**json.loads(body))
        except TypeError as error:
            raise ValueError(f"not a lead frame: {error}") from None


class Sender:
    """Makes the frames of one run, each with the records' rows the previous frames did not carry."""

    def __init__(self, run: str) -> None:
        self.run = run
        self.sent = dict.fromkeys(TABLES, 0)

    def frame(self, trainer: Trainer, state: str, status: str, **view) -> Frame:
        """The frame of `trainer` now (`view`: tab, line, checkpoint); what it carries counts as sent."""
        tables = {}
        for name in TABLES:
            table: Table = getattr(trainer, name)
            start = self.sent[name]
            if len(table) > start:
                tables[name] = [start, {column: _plain(values[start:]) for column, values in table.columns.items()}]
                self.sent[name] = len(table)
        diverged = list(trainer.diverged_at) if trainer.diverged_at else None
        config = trainer.config.to_dict()
        return Frame(self.run, config, state, status, trainer.epoch, diverged_at=diverged,
                     train_seconds=trainer.train_seconds, tables=tables, **view)  # fmt: skip


def _plain(values) -> list:
    """Floats JSON writes: a NaN (a record not measured that epoch) or an infinity as None."""
    return [v if math.isfinite(v) else None for v in values]


class Mirror:
    """The lecturer's run rebuilt from its frames on a follower's process; `trainer` is None until it can be."""

    def __init__(self) -> None:
        self.run: str | None = None
        self.frame: Frame | None = None
        self.trainer: Trainer | None = None
        self.checkpoint: int | None = None  # the epoch of the checkpoint the weights come from
        self.problem: str | None = None  # why the run cannot be shown beyond its status line

    def apply(self, frame: Frame) -> bool:
        """Take in the next frame; False when frames were missed (a resync is due): its records start beyond ours."""
        if frame.run != self.run:
            self.run, self.checkpoint, self.trainer, self.problem = frame.run, None, None, None
            self._start(frame.config)
        self.frame = frame
        trainer = self.trainer
        if trainer is None:
            return True
        for name, (start, columns) in frame.tables.items():
            table: Table = getattr(trainer, name)
            if start > len(table):
                return False
            skip = len(table) - start
            rows = [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)]
            for row in rows[skip:]:
                table.append({column: math.nan if value is None else value for column, value in row.items()})
        trainer.epoch, trainer.train_seconds = frame.epoch, frame.train_seconds
        trainer.status = RunState(frame.state)
        trainer.diverged_at = tuple(frame.diverged_at) if frame.diverged_at else None
        return True

    def rebase(self, blob: bytes, epoch: int, frames: list[Frame]) -> None:
        """Take weights and records from the run's checkpoint at `epoch`, then the `frames` kept since."""
        try:
            trainer = restore(blob, files=False)
        except CheckpointError as error:
            self.problem = f"the lecturer's run cannot be shown here: {error}"
            return
        self.trainer, self.checkpoint = trainer, epoch
        for frame in frames:
            self.apply(frame)

    def _start(self, config: dict) -> None:
        """The run as it starts, from its settings: its records then fill in from the frames."""
        try:
            settings = TrainConfig(**config)
        except (TypeError, ValueError) as error:
            self.problem = f"the lecturer's settings do not read here: {error}"
            return
        if settings.data not in LINK_DATA:
            self.problem = f"the lecturer's run trains on {settings.data}, which a follower's page cannot show"
            return
        self.trainer = Trainer(settings)


def fork(blob: bytes, at_epoch: int) -> Trainer:
    """The lecturer's run taken over at `at_epoch`: restored from its checkpoint `blob` (taken at that epoch or
    before) and advanced to it, as the lecturer's run advanced; CheckpointError when the blob does not read."""
    trainer = restore(blob, files=False)
    if at_epoch > trainer.epoch:
        trainer.advance(at_epoch - trainer.epoch)
    return trainer


def retune(trainer: Trainer, config: TrainConfig) -> bool:
    """Go on with a taken-over run under `config` where it changes only how the weights are updated (the learning
    rate keeps the optimizer's state; another optimizer starts its own): True if so, False if the run cannot."""
    old = trainer.config
    if config == old:
        return True
    rule = ("learning_rate", "optimizer")
    if any(getattr(config, name) != getattr(old, name) for name in old.to_dict() if name not in rule):
        return False
    if config.optimizer == old.optimizer:
        trainer.stage.set_learning_rate(config.learning_rate)
    else:
        trainer.stage = make_stage(config.stage, trainer.weights(), config, trainer.device)
    trainer.config = config
    return True
