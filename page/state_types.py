"""The page's own types among the values page/state.py keeps: a tab's recorded step, a sweep in training and the
Landscape tab's views of a run.

They sit below the tabs that make them, so that state.py declares its keys without importing any tab.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field

import numpy as np

from twolayer.teach.hidden_map import HiddenMap
from twolayer.teach.landscape import Landscape
from twolayer.teach.step_record import StepRecording
from twolayer.teach.sweep import Sweep
from twolayer.train.curvature import Sharpness
from twolayer.train.state import RunState


@dataclass
class Recorded:
    """One recorded step and what the Inside a step tab shows beside it, for one run at one epoch."""

    run: weakref.ref  # the Trainer it was made from; a weak reference, so a reset run can be freed
    key: tuple[int, int, RunState]  # id, epoch and status of that run
    recording: StepRecording
    source: list[str]  # the lines of the stage's train_step, from its `def`
    first_lineno: int
    next_epoch: int
    minibatch: bool
    status: RunState
    relu_inputs: dict[str, str]  # a ReLU layer's output name -> the name of its input (nn stages)
    firing: tuple[list[int], np.ndarray]
    dead: int
    hidden: int


@dataclass
class SweepRun:
    """A sweep kept in the session: its runs, whether it is training, and a lock for overlapping script runs."""

    sweep: Sweep
    spec: str  # KEY:V1,V2 as a link writes it
    playing: bool = True
    lock: threading.RLock = field(default_factory=threading.RLock)


@dataclass(frozen=True)
class LandscapeViews:
    """The Landscape tab's views of one run at one epoch, made once and drawn at every script run after."""

    key: tuple[int, int]  # id and epoch of the run
    landscape: Landscape
    start: Sharpness  # at the run's starting weights: where its rate stood against the edge from the first step
    hidden: HiddenMap | None  # None: data without labels
