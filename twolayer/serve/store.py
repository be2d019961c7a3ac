"""Each browser's past runs and its run in progress, kept on the server so a reload or another process finds them.

The store is an SQLite file in a directory every app process of one machine can read, or a PostgreSQL database
every machine of a class can reach (`TWOLAYER_STORE` names either: see twolayer/serve/database.py). Rows are keyed
by a hash of the browser's id, a random token only that browser holds (a cookie, never part of a link), so no
other browser can name them. Entries expire after a day by default and the stored runs are capped in size. The
class board (twolayer/serve/board.py) lives in the same store, and so does the latest checkpoint of each run in
progress (twolayer/train/checkpoint.py), from which any process resumes it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from twolayer.data.dataset import Dataset
from twolayer.serve import schema
from twolayer.serve.board import Board
from twolayer.serve.database import Transaction, open_database
from twolayer.serve.lead import LeadChannel
from twolayer.train.checkpoint import CannotResume, CheckpointError, dump, restore
from twolayer.train.config import TrainConfig
from twolayer.train.history import PastRun
from twolayer.train.state import read_status
from twolayer.train.trainer import Trainer

log = logging.getLogger("twolayer")
DAY_S = 24 * 3600
MAX_KEPT_RUNS = 8  # past runs per browser, in the store and in its session
MAX_BYTES = 50_000_000  # of stored run bodies: about 1,000 runs of 2,000 loss points each
# The process that writes a live row, so another process on the same host can tell that it died. Machines whose
# host names are not unique (containers) name themselves with TWOLAYER_HOST.
HOST = os.environ.get("TWOLAYER_HOST") or socket.gethostname()
OWNER = f"{HOST}:{os.getpid()}"
EXPIRE_CHECKPOINTS = "DELETE FROM checkpoints WHERE saved <= ?"


def browser_key(browser_id: str) -> str:
    """The store's key for a browser: a hash, so the file never holds the token itself."""
    return hashlib.sha256(browser_id.encode()).hexdigest()


def run_body(run: PastRun) -> str:
    """A past run as JSON."""
    return json.dumps({**dataclasses.asdict(run), "config": run.config.to_dict()})


def run_from_body(body: str) -> PastRun | None:
    """The past run a JSON body holds; None when it no longer reads (an old or damaged entry)."""
    try:
        fields = json.loads(body)
        fields["config"] = TrainConfig(**fields["config"])
        fields["status"] = read_status(fields["status"])
        return PastRun(**fields)
    except (ValueError, TypeError, KeyError) as error:  # ConfigError is a ValueError
        log.warning("skipped a stored run that does not read: %s", error)
        return None


@dataclass(frozen=True)
class Claimed:
    """A run in progress taken from a session that is gone: the session's id (its checkpoint's key) and the run."""

    session: str
    run: PastRun


@dataclass(frozen=True)
class CheckpointProblem:
    """Why a run's stored checkpoint is not resumed, in words to show."""

    reason: str


def _duration(seconds: float) -> str:
    """A time span in words: "26 hours", "5 minutes", "0.3 seconds"."""
    for unit, size in (("hours", 3600), ("minutes", 60)):
        if seconds >= size:
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds:.3g} seconds"


class RunStore:
    """Past runs, runs in progress and their checkpoints of every browser, and the class board, in one store shared
    by the app."""

    def __init__(self, location: str | Path, ttl_s: float = DAY_S, max_bytes: int = MAX_BYTES) -> None:
        self.db = open_database(location)
        try:
            schema.upgrade(self.db)
        except Exception:
            self.db.close()
            raise
        self.ttl_s, self.max_bytes = ttl_s, max_bytes
        self.board = Board(self.db, ttl_s)
        self.lead = LeadChannel(self.db)

    def close(self) -> None:
        """Let go of the store's connections."""
        self.db.close()

    def runs(self, browser: str) -> list[PastRun]:
        """The browser's past runs that have not expired, oldest first."""
        rows = self.db.run(
            lambda tx: tx.execute(
                "SELECT body FROM runs WHERE browser = ? AND saved > ? ORDER BY number",
                (browser, time.time() - self.ttl_s),
            ).fetchall(),
            write=False,
        )
        return [run for (body,) in rows if (run := run_from_body(body)) is not None]

    def add(self, browser: str, run: PastRun) -> None:
        """Keep a past run; the browser's last MAX_KEPT_RUNS stay, expired entries and the oldest over the cap go."""
        now, body = time.time(), run_body(run)

        def work(tx: Transaction) -> None:
            tx.execute(
                "INSERT INTO runs (browser, number, saved, body, size) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (browser, number) DO UPDATE SET saved = excluded.saved, body = excluded.body, "
                "size = excluded.size",
                (browser, run.number, now, body, len(body)),
            )
            tx.execute(
                "DELETE FROM runs WHERE browser = ? AND number NOT IN "
                "(SELECT number FROM runs WHERE browser = ? ORDER BY number DESC LIMIT ?)",
                (browser, browser, MAX_KEPT_RUNS),
            )
            self._trim(tx, now)

        self.db.run(work)

    def clear(self, browser: str) -> None:
        """Forget the browser's past runs."""
        self.db.run(lambda tx: tx.execute("DELETE FROM runs WHERE browser = ?", (browser,)))

    def save_live(self, browser: str, session: str, run: PastRun) -> None:
        """Record the run a session is training now, as far as it got."""
        row = (browser, session, OWNER, time.time(), run_body(run))
        self.db.run(
            lambda tx: tx.execute(
                "INSERT INTO live VALUES (?, ?, ?, ?, ?) ON CONFLICT (browser, session) "
                "DO UPDATE SET owner = excluded.owner, saved = excluded.saved, body = excluded.body",
                row,
            )
        )

    def end_live(self, browser: str, session: str) -> None:
        """The session's run stopped on its own terms (paused, finished, reset): nothing to recover."""
        self.db.run(lambda tx: tx.execute("DELETE FROM live WHERE browser = ? AND session = ?", (browser, session)))

    def claim_interrupted(self, browser: str, alive, stale_s: float, own_session: str = "") -> list[Claimed]:
        """Take the browser's runs in progress whose session is gone (`alive(owner, session)` is false, or the run has
        not reported for `stale_s` seconds), never `own_session`'s: each is removed and returned once, to one caller,
        the last reported last."""
        now = time.time()

        def work(tx: Transaction) -> list[Claimed]:
            rows = tx.execute(
                "SELECT session, owner, saved, body FROM live WHERE browser = ? ORDER BY saved", (browser,)
            ).fetchall()
            claimed = []
            for session, owner, saved, body in rows:
                # A run waiting long for a training slot reports nothing meanwhile: its own session never claims it.
                if session == own_session or (now - saved <= stale_s and alive(owner, session)):
                    continue
                # Deleted only as read: of two processes claiming the same row, one gets it.
                gone = tx.execute(
                    "DELETE FROM live WHERE browser = ? AND session = ? AND saved = ?", (browser, session, saved)
                )
                if gone.rowcount == 1 and (run := run_from_body(body)) is not None:
                    claimed.append(Claimed(session, run))
            return claimed

        return self.db.run(work)

    def save_checkpoint(self, browser: str, run: str, trainer: Trainer) -> int:
        """Keep `trainer`'s checkpoint as the latest of `run` (its session's id), in place of the one before; its
        size in bytes. Taken between two slices, while nothing advances the run."""
        now, body = time.time(), dump(trainer)

        def work(tx: Transaction) -> None:
            tx.execute(
                "INSERT INTO checkpoints (browser, run, saved, size, body) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (browser, run) DO UPDATE SET saved = excluded.saved, size = excluded.size, "
                "body = excluded.body",
                (browser, run, now, len(body), body),
            )
            tx.execute(EXPIRE_CHECKPOINTS, (now - self.ttl_s,))

        self.db.run(work)
        return len(body)

    def latest_checkpoint(
        self, browser: str, run: str, data: Dataset | None = None
    ) -> Trainer | CheckpointProblem | None:
        """The run's latest checkpoint as a trainer that goes on from it (`data`: the upload it trained on, if so);
        the problem, in words, when it cannot resume; None when there is none, or none that reads (logged)."""
        row = self.db.run(
            lambda tx: tx.execute(
                "SELECT saved, body FROM checkpoints WHERE browser = ? AND run = ?", (browser, run)
            ).fetchone(),
            write=False,
        )
        if row is None:
            return None
        saved, body = row
        age = time.time() - saved
        if age >= self.ttl_s:
            return CheckpointProblem(
                f"the run's checkpoint is {_duration(age)} old, and runs are kept for {_duration(self.ttl_s)}: "
                "it is not resumed"
            )
        try:
            return restore(bytes(body), data, files=False)
        except CannotResume as error:
            return CheckpointProblem(str(error))
        except CheckpointError as error:
            log.warning("skipped a stored checkpoint: %s", error)
            return None

    def drop_checkpoint(self, browser: str, run: str) -> None:
        """Forget the run's checkpoint: a run that finished or was put aside needs none."""
        self.db.run(lambda tx: tx.execute("DELETE FROM checkpoints WHERE browser = ? AND run = ?", (browser, run)))

    def _trim(self, tx: Transaction, now: float) -> None:
        """Drop expired entries, then the oldest runs until the bodies fit in max_bytes."""
        tx.execute("DELETE FROM runs WHERE saved <= ?", (now - self.ttl_s,))
        tx.execute("DELETE FROM live WHERE saved <= ?", (now - self.ttl_s,))
        tx.execute(EXPIRE_CHECKPOINTS, (now - self.ttl_s,))
        (total,) = tx.execute("SELECT COALESCE(SUM(size), 0) FROM runs").fetchone()
        if total <= self.max_bytes:
            return
        excess, doomed = total - self.max_bytes, []
        for browser, number, size in tx.execute("SELECT browser, number, size FROM runs ORDER BY saved"):
            doomed.append((browser, number))
            excess -= size
            if excess <= 0:
                break
        tx.executemany("DELETE FROM runs WHERE browser = ? AND number = ?", doomed)


def process_alive(owner: str) -> bool | None:
    """Whether the process an OWNER string names is running; None when it is on another host (cannot tell)."""
    host, _, pid = owner.rpartition(":")
    if host != HOST:
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True
    return True
