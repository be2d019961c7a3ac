"""A run's state: one word each, the same in the trainer, the page's session, the CLI's JSON and the page."""

from __future__ import annotations

from enum import StrEnum


class RunState(StrEnum):
    """Where a run stands; each is a str equal to its word, so JSON, SQLite and f-strings write the plain word."""

    READY = "ready"
    RUNNING = "running"
    PAUSED = "paused"
    DONE = "done"
    DIVERGED = "diverged"

    @property
    def finished(self) -> bool:
        """True for the states a run never leaves."""
        return self in FINISHED


FINISHED = frozenset((RunState.DONE, RunState.DIVERGED))


def read_status(word: str) -> RunState | str:
    """A stored status as its state, or the word itself when it names none (a past run's "stopped at 12")."""
    try:
        return RunState(word)
    except ValueError:
        return word
