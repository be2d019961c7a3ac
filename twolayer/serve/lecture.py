"""The leading page's side of the lead: its frames as its run goes, and checkpoints often enough to take it over."""

from __future__ import annotations

import secrets
import time

from twolayer.serve.frames import Frame, Sender
from twolayer.serve.lead import LeadChannel
from twolayer.train.checkpoint import dump
from twolayer.train.config import TrainConfig
from twolayer.train.state import RunState
from twolayer.train.trainer import Trainer

# A running lead run's checkpoint at most this often (a save takes ~25 ms, BENCHMARKS.md section 9); a paused, done
# or new run's at once, so that a student takes over a paused run exactly where it stands.
CHECKPOINT_EVERY_S = 2.0


class Lecture:
    """One page's lead: `publish` sends a frame of its run; LeadError once another page has taken the lead."""

    def __init__(self, channel: LeadChannel, token: str, clock=time.monotonic) -> None:
        self.channel, self.token, self.clock = channel, token, clock
        self._run: tuple[Trainer, Sender] | None = None
        self._checkpoint: tuple[int, float] | None = None  # the latest saved: its epoch, and when
        # The run about to start (settings on the page, no run yet): its id goes to the run once it starts, so
        # that followers already show it and only see it move.
        self._ready: tuple[TrainConfig, Sender] | None = None

    def publish_ready(self, config: TrainConfig, status: str, tab: str = "Training") -> int:
        """Send the run the page is ready to start: its settings and status line, before it has a trainer."""
        if self._ready is None or self._ready[0] != config:
            self._ready = (config, Sender(secrets.token_hex(8)))
        frame = Frame(self._ready[1].run, config.to_dict(), RunState.READY.value, status, 0, tab=tab)
        return self.channel.publish(self.token, frame.dumps())

    def publish(self, trainer: Trainer, state: RunState, status: str, tab: str = "Training", line: int = 0) -> int:
        """Send the run's frame now (a checkpoint with it when due); the frame's number."""
        if self._run is None or self._run[0] is not trainer:
            ready = self._ready is not None and self._ready[0] == trainer.config
            sender = self._ready[1] if ready else Sender(secrets.token_hex(8))
            self._run, self._checkpoint, self._ready = (trainer, sender), None, None
        sender = self._run[1]
        now, saved = self.clock(), self._checkpoint
        moved = saved is None or saved[0] != trainer.epoch
        if moved and (saved is None or state is not RunState.RUNNING or now - saved[1] >= CHECKPOINT_EVERY_S):
            self.channel.save_checkpoint(self.token, sender.run, trainer.epoch, dump(trainer))
            self._checkpoint = (trainer.epoch, now)
        checkpoint = None if self._checkpoint is None else self._checkpoint[0]
        frame = sender.frame(trainer, state.value, status, tab=tab, line=line, checkpoint=checkpoint)
        return self.channel.publish(self.token, frame.dumps())

    def stop(self) -> None:
        """Stop leading (if this page still leads)."""
        self.channel.stop(self.token)
