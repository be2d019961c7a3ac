"""A run's state: one word each, the same in the trainer, the page's session, the CLI's JSON, the store and the page."""

from __future__ import annotations

from enum import StrEnum


class RunState(StrEnum):
    """Where a run stands; each is a str equal to its word, so JSON, the store and f-strings write the plain word."""

    READY = "ready"
    RUNNING = "running"
    PAUSED = "paused"
    DONE = "done"
    DIVERGED = "diverged"
    # A past run put aside part way, reset or cut off by its session's end; its epochs_completed says where.
    STOPPED = "stopped"
    INTERRUPTED = "interrupted"

    @property
    def finished(self) -> bool:
        """True for the states a run reaches by training to its end; it never leaves them."""
        return self in FINISHED


FINISHED = frozenset((RunState.DONE, RunState.DIVERGED))


def read_status(word: str) -> RunState:
    """A stored status as its state, the older "stopped at 12" too; ValueError when it names none."""
    # Older runs cut short were stored as "stopped at 12" or "interrupted at 37"; that epoch is also their
    # epochs_completed, so only the word before " at " is read.
    return RunState(word.partition(" at ")[0])
