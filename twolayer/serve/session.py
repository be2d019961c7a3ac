"""One viewer's training session (current run, play state, past runs) and the server-wide pool of training slots."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from twolayer.data.dataset import Dataset
from twolayer.serve.board import BoardError, entry_from_trainer
from twolayer.serve.store import MAX_KEPT_RUNS, RunStore
from twolayer.train.config import TrainConfig
from twolayer.train.history import PastRun
from twolayer.train.state import RunState
from twolayer.train.trainer import Trainer

log = logging.getLogger("twolayer")
KEPT_POINTS = 2000  # loss points kept per past run: enough for a chart, bounded in memory


class TrainingSession:
    """The run one browser session is looking at, whether it is playing, and its recent runs.

    Given a `store`, the browser's past runs come from it and go to it, the run in progress is reported to it by
    `report_live`, with its checkpoint by `save_checkpoint`, so a reload or another server process finds them and
    resumes the run, and each finished run goes on the store's class board.
    """

    def __init__(self, store: RunStore | None = None, browser: str = "", session_id: str = "") -> None:
        # A page can have two script runs at once (a click starts a new one while the old one
        # finishes its slice): every change to the run, and every read of it for drawing, holds this.
        self.lock = threading.RLock()
        self.trainer: Trainer | None = None
        self.playing = False
        self.runs: list[PastRun] = store.runs(browser) if store is not None else []
        self._counter = max((run.number for run in self.runs), default=0)
        self._archived: Trainer | None = None  # the run already in `runs`, so it is kept once
        self.board_note: str | None = None  # why the last finished run is not on the class board
        self.store, self.browser, self.session_id = store, browser, session_id

    @property
    def state(self) -> RunState:
        """The run's own state, except that playing means running."""
        if self.trainer is None or not self.trainer.started and not self.trainer.finished and not self.playing:
            return RunState.READY
        if self.trainer.finished:
            return self.trainer.status
        return RunState.RUNNING if self.playing else RunState.PAUSED

    def needs_confirmation(self, config: TrainConfig) -> bool:
        """True when a started, unfinished run would be continued under settings it was not started with."""
        return (
            self.trainer is not None
            and not self.trainer.finished
            and self.trainer.started
            and self.trainer.config != config
        )

    def train(self, config: TrainConfig, data: Dataset | None = None) -> None:
        """Start playing: continue the current run if it has these settings, else start a new one."""
        with self.lock:
            if self.trainer is None or self.trainer.finished or self.trainer.config != config:
                self._start(config, data)
            self.playing = True

    def retrain(self, config: TrainConfig, data: Dataset | None = None) -> None:
        """Replace the run just started (and drop it from the history) by one with `config`, and play it."""
        with self.lock:
            if self._archived is self.trainer and self.runs:
                self.runs.pop()
            self.trainer = Trainer(config, data=data)
            self._archived = None
            self.playing = True
            self._drop_checkpoint(self.session_id)

    def step(self, config: TrainConfig, data: Dataset | None = None) -> None:
        """Advance exactly one epoch and stay paused."""
        with self.lock:
            if self.trainer is None or self.trainer.finished or self.trainer.config != config:
                self._start(config, data)
            self.playing = False
            self.trainer.advance(1)

    def pause(self) -> None:
        """Stop playing; returns once no slice is running, so what is drawn next is final."""
        with self.lock:
            self.playing = False
            self._end_live()

    def reset(self) -> None:
        """Put the current run aside (kept in the run history if it ran) and start from nothing."""
        with self.lock:
            self._archive()
            self.trainer = None
            self.playing = False
            self._end_live()

    def clear_runs(self) -> None:
        with self.lock:
            self.runs.clear()
            if self.store is not None:
                with _storing("clear"):
                    self.store.clear(self.browser)

    def keep_runs(self, runs: list[PastRun]) -> None:
        """Add runs recovered from elsewhere (a session that ended mid-run) to the history, numbered as this one's."""
        with self.lock:
            for run in runs:
                self._counter += 1
                self._keep(dataclasses.replace(run, number=self._counter, label=_label(self._counter, run.config)))

    def report_live(self) -> None:
        """Tell the store how far the playing run got, so that it is not lost if this session ends mid-run."""
        if self.store is not None and self.playing and self.trainer is not None and self.trainer.epoch:
            run = _past_run(self.trainer, 0, RunState.INTERRUPTED)
            with _storing("save live"):
                self.store.save_live(self.browser, self.session_id, run)

    def save_checkpoint(self) -> None:
        """Keep the playing run's checkpoint in the store, from which any process resumes it if this session ends."""
        with self.lock:  # a slice of another script run of this page must not advance the run while it is dumped
            trainer = self.trainer
            if self.store is not None and self.playing and trainer is not None and trainer.started:
                with _storing("save a checkpoint"):
                    self.store.save_checkpoint(self.browser, self.session_id, trainer)

    def resume(self, trainer: Trainer, left_by: str) -> None:
        """Play on the run that the session `left_by` lost, from its checkpoint `trainer`, as this session's run."""
        with self.lock:
            self.trainer, self._archived, self.playing = trainer, None, True
            # Kept under this session's key at once: a process lost again before the next save loses no more.
            self.report_live()
            self.save_checkpoint()
            self._drop_checkpoint(left_by)

    def take_over(self, trainer: Trainer) -> None:
        """Make `trainer`, a run taken over from elsewhere (the lecturer's), this session's run, paused."""
        with self.lock:
            self._archive()
            self.trainer, self._archived, self.playing = trainer, None, False
            self._drop_checkpoint(self.session_id)

    def after_slice(self) -> None:
        """Stop playing and keep the run once it has finished."""
        if self.trainer is not None and self.trainer.finished and self.playing:
            self.playing = False
            self._archive()
            self._end_live()

    def _start(self, config: TrainConfig, data: Dataset | None) -> None:
        self._archive()
        self.trainer = Trainer(config, data=data)
        self._drop_checkpoint(self.session_id)

    def _archive(self) -> None:
        trainer = self.trainer
        if trainer is None or trainer.epoch == 0 or trainer is self._archived:
            return
        self._archived = trainer
        self._counter += 1
        status = trainer.status if trainer.finished else RunState.STOPPED
        self._keep(_past_run(trainer, self._counter, status))
        if trainer.finished:
            self._post(trainer)

    def _post(self, trainer: Trainer) -> None:
        """Put a finished run on the class board; a refusal is kept to tell the viewer, a failing store logged."""
        if self.store is None:
            return
        with _storing("put a run on the class board"):
            try:
                self.store.board.post(self.browser, entry_from_trainer(trainer))
                self.board_note = None
            except BoardError as refusal:
                self.board_note = f"This run is not on the class board: {refusal}."

    def _keep(self, run: PastRun) -> None:
        self.runs.append(run)
        del self.runs[:-MAX_KEPT_RUNS]
        if self.store is not None:
            with _storing("add"):
                self.store.add(self.browser, run)

    def _end_live(self) -> None:
        if self.store is not None:
            with _storing("end live"):
                self.store.end_live(self.browser, self.session_id)
        # No one resumes a run that is not live (paused, finished, reset): its checkpoint would only take room.
        self._drop_checkpoint(self.session_id)

    def _drop_checkpoint(self, session_id: str) -> None:
        if self.store is not None:
            with _storing("drop a checkpoint"):
                self.store.drop_checkpoint(self.browser, session_id)


@contextmanager
def _storing(action: str) -> Iterator[None]:
    """Around a call to the store: a failing store (locked, broken) costs the kept runs, never the run."""
    try:
        yield
    except Exception:
        log.warning("the run store could not %s", action, exc_info=True)


def _label(number: int, c: TrainConfig) -> str:
    data = "upload" if c.data.startswith("upload") else c.data
    settings = f"H={c.hidden_size}, lr={c.learning_rate:g}, batch {c.batch_size}, seed {c.seed}"
    return f"#{number} {c.stage}, {settings}, {data}"


def _past_run(trainer: Trainer, number: int, status: RunState) -> PastRun:
    """The run as a past run: its settings, status and loss curve thinned to at most about KEPT_POINTS points."""
    epochs = trainer.history.column("epoch")
    losses = trainer.history.column("loss")
    stride = max(1, len(epochs) // KEPT_POINTS + (len(epochs) % KEPT_POINTS > 0))
    kept = list(range(0, len(epochs), stride))
    if kept and kept[-1] != len(epochs) - 1:
        kept.append(len(epochs) - 1)  # the curve ends where the run ended
    curve = [int(epochs[i]) for i in kept], [losses[i] for i in kept]
    return PastRun(_label(number, trainer.config), trainer.config, status, *curve, trainer.epoch, number)


class SlotPool:
    """At most `size` trainings advance at once on this server; the rest wait their turn."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._semaphore = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self.waiting = 0

    @contextmanager
    def slot(self, timeout: float):
        """Hold a slot for one slice of training; yields False (holding nothing) if none frees up in time."""
        with self._lock:
            self.waiting += 1
        acquired = self._semaphore.acquire(timeout=timeout)
        with self._lock:
            self.waiting -= 1
        try:
            yield acquired
        finally:
            if acquired:
                self._semaphore.release()


def run_slice(session: TrainingSession, pool: SlotPool, seconds: float) -> bool:
    """Advance the session's run for about `seconds` inside a slot; False if no slot was free."""
    with pool.slot(timeout=seconds) as acquired:
        if not acquired:
            return False
        with session.lock:
            # Checked under the lock: a Pause or Reset that came in meanwhile wins.
            if session.playing and session.trainer is not None:
                session.trainer.advance(session.trainer.config.epochs, time_budget=seconds)
                session.after_slice()
    return True
