"""Each browser's past runs and its run in progress, kept on the server so a reload or another process finds them.

One SQLite file in a directory every app process of a machine can read (`TWOLAYER_STORE`). Rows are keyed by a
hash of the browser's id, a random token only that browser holds (a cookie, never part of a link), so no other
browser can name them. Entries expire after a day by default and the file's contents are capped in size.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import socket
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from twolayer.train.config import TrainConfig
from twolayer.train.history import PastRun
from twolayer.train.state import read_status

log = logging.getLogger("twolayer")
FILE_NAME = "runs.sqlite3"
DAY_S = 24 * 3600
MAX_KEPT_RUNS = 8  # past runs per browser, in the store and in its session
MAX_BYTES = 50_000_000  # of stored run bodies: about 1,000 runs of 2,000 loss points each
SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (browser TEXT NOT NULL, number INTEGER NOT NULL, saved REAL NOT NULL,
  body TEXT NOT NULL, PRIMARY KEY (browser, number));
CREATE TABLE IF NOT EXISTS live (browser TEXT NOT NULL, session TEXT NOT NULL, owner TEXT NOT NULL,
  saved REAL NOT NULL, body TEXT NOT NULL, PRIMARY KEY (browser, session));
"""
# The process that writes a live row, so another process on the same host can tell that it died.
OWNER = f"{socket.gethostname()}:{os.getpid()}"


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


class RunStore:
    """Past runs and runs in progress of every browser, in one SQLite file shared by the app's processes."""

    def __init__(self, directory: str | Path, ttl_s: float = DAY_S, max_bytes: int = MAX_BYTES) -> None:
        self.path = Path(directory) / FILE_NAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.ttl_s, self.max_bytes = ttl_s, max_bytes
        with self._connect() as db:
            # Write-ahead logging lets the processes read while one writes.
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # A connection per call: the app calls from many threads, and calls are rare (a run's end, a reload, a
        # run's progress every few seconds). Autocommit, with explicit transactions where several statements
        # must see the same rows; closing without COMMIT rolls back.
        with closing(sqlite3.connect(self.path, timeout=10, isolation_level=None)) as db:
            yield db

    def runs(self, browser: str) -> list[PastRun]:
        """The browser's past runs that have not expired, oldest first."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT body FROM runs WHERE browser = ? AND saved > ? ORDER BY number",
                (browser, time.time() - self.ttl_s),
            ).fetchall()
        return [run for (body,) in rows if (run := run_from_body(body)) is not None]

    def add(self, browser: str, run: PastRun) -> None:
        """Keep a past run; the browser's last MAX_KEPT_RUNS stay, expired entries and the oldest over the cap go."""
        now = time.time()
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?)", (browser, run.number, now, run_body(run)))
            db.execute(
                "DELETE FROM runs WHERE browser = ? AND number NOT IN "
                "(SELECT number FROM runs WHERE browser = ? ORDER BY number DESC LIMIT ?)",
                (browser, browser, MAX_KEPT_RUNS),
            )
            self._trim(db, now)
            db.execute("COMMIT")

    def clear(self, browser: str) -> None:
        """Forget the browser's past runs."""
        with self._connect() as db:
            db.execute("DELETE FROM runs WHERE browser = ?", (browser,))

    def save_live(self, browser: str, session: str, run: PastRun) -> None:
        """Record the run a session is training now, as far as it got."""
        with self._connect() as db:
            row = (browser, session, OWNER, time.time(), run_body(run))
            db.execute("INSERT OR REPLACE INTO live VALUES (?, ?, ?, ?, ?)", row)

    def end_live(self, browser: str, session: str) -> None:
        """The session's run stopped on its own terms (paused, finished, reset): nothing to recover."""
        with self._connect() as db:
            db.execute("DELETE FROM live WHERE browser = ? AND session = ?", (browser, session))

    def claim_interrupted(self, browser: str, alive, stale_s: float, own_session: str = "") -> list[PastRun]:
        """Take the browser's runs in progress whose session is gone (`alive(owner, session)` is false, or the run has
        not reported for `stale_s` seconds), never `own_session`'s: each is removed and returned once, to one caller."""
        now = time.time()
        with self._connect() as db:
            rows = db.execute("SELECT session, owner, saved, body FROM live WHERE browser = ?", (browser,)).fetchall()
            claimed = []
            for session, owner, saved, body in rows:
                # A run waiting long for a training slot reports nothing meanwhile: its own session never claims it.
                if session == own_session or (now - saved <= stale_s and alive(owner, session)):
                    continue
                # Deleted only as read: of two processes claiming the same row, one gets it.
                gone = db.execute(
                    "DELETE FROM live WHERE browser = ? AND session = ? AND saved = ?", (browser, session, saved)
                )
                if gone.rowcount == 1 and (run := run_from_body(body)) is not None:
                    claimed.append(run)
        return claimed

    def _trim(self, db: sqlite3.Connection, now: float) -> None:
        """Drop expired entries, then the oldest runs until the bodies fit in max_bytes."""
        db.execute("DELETE FROM runs WHERE saved <= ?", (now - self.ttl_s,))
        db.execute("DELETE FROM live WHERE saved <= ?", (now - self.ttl_s,))
        (total,) = db.execute("SELECT COALESCE(SUM(LENGTH(body)), 0) FROM runs").fetchone()
        if total <= self.max_bytes:
            return
        excess, doomed = total - self.max_bytes, []
        for browser, number, size in db.execute("SELECT browser, number, LENGTH(body) FROM runs ORDER BY saved"):
            doomed.append((browser, number))
            excess -= size
            if excess <= 0:
                break
        db.executemany("DELETE FROM runs WHERE browser = ? AND number = ?", doomed)


def process_alive(owner: str) -> bool | None:
    """Whether the process an OWNER string names is running; None when it is on another host (cannot tell)."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True
    return True
