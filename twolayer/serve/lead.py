"""The lecturer's run as the class follows it: who may lead (the lecturer key), and the lead channel in the store.

One page leads at a time: taking the lead writes its token into the `lead` table, and a page whose token is no
longer there has been taken over. The leading page publishes frames (twolayer/serve/frames.py) into `lead_frames`;
on PostgreSQL each publish also sends NOTIFY on LEAD_CHANNEL with the frame itself when it fits, so that every
process hears it on one LISTEN connection (twolayer/serve/hub.py); on SQLite each process polls. Checkpoints of the
lecturer's run go to `lead_checkpoints`, from which a student takes the run over at the epoch shown.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from twolayer.serve.database import Database, Transaction

LEAD_CHANNEL = "twolayer_lead"  # PostgreSQL's NOTIFY channel of the lead's frames
NOTIFY_BYTES = 7900  # a NOTIFY payload must stay under 8,000 bytes: a larger frame is announced by its number only
KEEP_FRAMES_S = 60.0  # frames older than this go: the lecturer checkpoints far more often (CHECKPOINT_EVERY_S)
KEEP_CHECKPOINTS = 4  # of the lecturer's run: a follower a little behind still finds one at or before its epoch
FOLLOWERS_STALE_S = 10.0  # a process's follower count older than this no longer counts (its process is gone)
# Wrong lecturer keys one browser may give in GUESS_WINDOW_S; a browser over it waits, the others never do.
GUESSES = 5
GUESS_WINDOW_S = 600.0
# Wrong keys a process takes a minute from every browser together: a guesser who drops its cookie (a new browser at
# every guess) meets this cap; a lecturer whose browser already holds the key (its lead cookie) never does.
ALL_GUESSES = 60


class LeadError(ValueError):
    """A key, a lead or a take-over refused, with the reason to show."""


def lead_token(key: str, browser: str) -> str:
    """What a browser keeps once it gave the key: proof of the key for this browser alone, not the key itself."""
    return hmac.new(key.encode(), b"twolayer lead " + browser.encode(), hashlib.sha256).hexdigest()


class KeyGate:
    """Checks the lecturer key in constant time and limits wrong guesses per browser (and, loosely, per process)."""

    def __init__(self, clock=time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._wrong: dict[str, list[float]] = {}  # browser -> when it gave a wrong key
        self._all: list[float] = []

    def check(self, given: str, key: str | None, browser: str) -> str:
        """The browser's lead token when `given` is the key; LeadError saying why not."""
        if not key:
            raise LeadError("this server has no lecturer key (TWOLAYER_LECTURER_KEY was not set when it started)")
        now = self.clock()
        with self._lock:
            mine = [t for t in self._wrong.get(browser, ()) if t > now - GUESS_WINDOW_S]
            self._all = [t for t in self._all if t > now - 60]
            if len(mine) >= GUESSES:
                wait = GUESS_WINDOW_S - (now - mine[0])
                raise LeadError(f"{GUESSES} wrong keys from this browser: try again in {wait / 60:.0f} minutes")
            if len(self._all) >= ALL_GUESSES:
                raise LeadError(f"{ALL_GUESSES} wrong keys were tried on this server in the last minute: wait a minute")
            # Compared in constant time, so how long a refusal takes says nothing about how much of a guess was right.
            if not hmac.compare_digest(given.encode(), key.encode()):
                self._wrong[browser] = [*mine, now]
                self._all.append(now)
                raise LeadError("that is not the lecturer key")
            self._wrong.pop(browser, None)
        return lead_token(key, browser)

    def remembered(self, token: str, key: str | None, browser: str) -> bool:
        """Whether `token`, kept by the browser, proves the key for this browser."""
        return bool(key and token) and hmac.compare_digest(token.encode(), lead_token(key, browser).encode())


@dataclass(frozen=True)
class Leader:
    """The page leading now: its token and since when."""

    token: str
    since: float


class LeadChannel:
    """The lead's rows in a store's database: the leader, its frames and checkpoints, and who follows."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def take(self) -> str:
        """Lead from now on, in place of any page leading before; the new lead's token."""
        token, now = secrets.token_hex(16), time.time()
        self.db.run(
            lambda tx: tx.execute(
                "INSERT INTO lead VALUES (1, ?, ?) ON CONFLICT (slot) DO UPDATE SET token = excluded.token, "
                "since = excluded.since",
                (token, now),
            )
        )
        return token

    def leader(self) -> Leader | None:
        """Who leads now; None when no one does."""
        row = self.db.run(lambda tx: tx.execute("SELECT token, since FROM lead WHERE slot = 1").fetchone(), write=False)
        return None if row is None else Leader(*row)

    def stop(self, token: str) -> None:
        """Stop leading, if `token` still leads."""
        self.db.run(lambda tx: tx.execute("DELETE FROM lead WHERE slot = 1 AND token = ?", (token,)))

    def publish(self, token: str, body: str) -> int:
        """Send one frame of the lead `token`; its number. LeadError when another page has taken the lead."""
        now = time.time()

        def work(tx: Transaction) -> int:
            _leading(tx, token)
            (seq,) = tx.execute(
                "INSERT INTO lead_frames (lecture, saved, body) VALUES (?, ?, ?) RETURNING seq", (token, now, body)
            ).fetchone()
            tx.execute("DELETE FROM lead_frames WHERE saved < ? OR lecture <> ?", (now - KEEP_FRAMES_S, token))
            if self.db.dialect == "postgresql":
                note = f"{seq} {body}" if len(body.encode()) < NOTIFY_BYTES else str(seq)
                tx.execute("SELECT pg_notify(?, ?)", (LEAD_CHANNEL, note))
            return seq

        return self.db.run(work)

    def frames_since(self, seq: int) -> list[tuple[int, str]]:
        """The leader's frames after number `seq`, oldest first, as (number, body)."""
        return self.db.run(
            lambda tx: tx.execute(
                "SELECT seq, body FROM lead_frames WHERE seq > ? AND lecture = (SELECT token FROM lead WHERE slot = 1) "
                "ORDER BY seq",
                (seq,),
            ).fetchall(),
            write=False,
        )

    def save_checkpoint(self, token: str, run: str, epoch: int, blob: bytes) -> None:
        """Keep a checkpoint of the lead's run `run` at `epoch`; the KEEP_CHECKPOINTS latest of the run stay."""
        now = time.time()

        def work(tx: Transaction) -> None:
            _leading(tx, token)
            tx.execute(
                "INSERT INTO lead_checkpoints VALUES (?, ?, ?, ?) ON CONFLICT (run, epoch) DO UPDATE SET "
                "saved = excluded.saved, body = excluded.body",
                (run, epoch, now, blob),
            )
            tx.execute(
                "DELETE FROM lead_checkpoints WHERE run <> ? OR epoch < (SELECT MIN(epoch) FROM (SELECT epoch FROM "
                "lead_checkpoints WHERE run = ? ORDER BY epoch DESC LIMIT ?) AS kept)",
                (run, run, KEEP_CHECKPOINTS),
            )

        self.db.run(work)

    def checkpoint_at(self, run: str, epoch: int) -> tuple[int, bytes] | None:
        """The latest checkpoint of the lead's run `run` at or before `epoch`, as (its epoch, bytes); None if none."""
        row = self.db.run(
            lambda tx: tx.execute(
                "SELECT epoch, body FROM lead_checkpoints WHERE run = ? AND epoch <= ? ORDER BY epoch DESC LIMIT 1",
                (run, epoch),
            ).fetchone(),
            write=False,
        )
        return None if row is None else (row[0], bytes(row[1]))

    def report_followers(self, owner: str, count: int) -> None:
        """How many pages of process `owner` follow now."""
        self.db.run(
            lambda tx: tx.execute(
                "INSERT INTO lead_followers VALUES (?, ?, ?) ON CONFLICT (owner) DO UPDATE SET count = excluded.count, "
                "saved = excluded.saved",
                (owner, count, time.time()),
            )
        )

    def followers(self) -> int:
        """How many pages follow, over every process that reported lately."""
        query = "SELECT COALESCE(SUM(count), 0) FROM lead_followers WHERE saved > ?"
        return int(self.db.run(lambda tx: tx.execute(query, (time.time() - FOLLOWERS_STALE_S,)).fetchone()[0], False))


def _leading(tx: Transaction, token: str) -> None:
    """Refuse a write of a lead that another page has taken over (or that stopped)."""
    row = tx.execute("SELECT token FROM lead WHERE slot = 1").fetchone()
    if row is None or row[0] != token:
        raise LeadError("another page leads the class now")
