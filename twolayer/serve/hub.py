"""One per app process: hears the lecturer's frames once and hands them to every follower of the process from memory.

On PostgreSQL the hub holds one LISTEN connection: a frame arrives in its NOTIFY (a large one by its number, read
once); on SQLite it polls the store every POLL_S. Either way the store is asked once per process, never once per
follower: followers wait on the hub's condition and draw from its `Mirror`. The hub also tells the store how many
of this process's pages follow, for the lecturer's count.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from twolayer.serve.frames import Frame, Mirror
from twolayer.serve.lead import LEAD_CHANNEL, LeadChannel

log = logging.getLogger("twolayer")
POLL_S = 0.2  # SQLite: how often a process looks for new frames; a frame waits at most this long
LISTEN_S = 1.0  # PostgreSQL: how long one wait for a notification lasts, between the hub's other chores
REPORT_S = 2.0  # a changed follower count goes to the store at most this often
HEARTBEAT_S = 4.0  # an unchanged one this often: the lecturer counts reports younger than FOLLOWERS_STALE_S
RECONNECT_S = 1.0  # after a lost LISTEN connection


class Hub:
    """The lead as this process knows it: the latest frame and the run rebuilt from the frames (`mirror`).

    `version` counts what changed; a follower waits for a version it has not drawn (`wait`) and reads `mirror`
    holding `lock`."""

    def __init__(self, channel: LeadChannel, owner: str, listen_url: str | None = None, poll_s: float = POLL_S):
        self.channel, self.owner, self.listen_url, self.poll_s = channel, owner, listen_url, poll_s
        self.lock = threading.RLock()
        self._changed = threading.Condition(self.lock)
        self.version = 0
        self.mirror = Mirror()
        self.seq = 0  # the last frame taken in
        self.queries = 0  # store reads this hub made: a test and the benchmark count them
        self._recent: deque[Frame] = deque()  # this run's frames, for a rebase on a newer checkpoint
        self._followers = 0
        self._reported: tuple[int, float] = (-1, 0.0)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Hub:
        self._thread = threading.Thread(target=self._loop, name="twolayer-lead-hub", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @contextmanager
    def following(self) -> Iterator[None]:
        """Count one follower of this process for as long as the block runs."""
        with self.lock:
            self._followers += 1
        try:
            yield
        finally:
            with self.lock:
                self._followers -= 1

    @property
    def followers(self) -> int:
        """Pages of this process following now."""
        return self._followers

    def wait(self, seen: int, timeout: float) -> int:
        """The version once it is not `seen`, or after `timeout` seconds, whichever comes first."""
        with self._changed:
            self._changed.wait_for(lambda: self.version != seen, timeout)
            return self.version

    def take(self, seq: int, body: str | None) -> None:
        """A frame heard of: its number and, when the notification carried it, its body."""
        if seq <= self.seq:
            return
        if body is None or seq != self.seq + 1 and self.seq:
            self._read_since()  # numbers skipped (a frame not heard, or a publish tried again): read what is missing
            return
        self._take_frames([(seq, body)])

    def resync(self) -> None:
        """Rebuild the lead's run from the store: its retained frames on its latest checkpoint."""
        self.queries += 1
        rows = self.channel.frames_since(0)
        with self.lock:
            self.mirror, self._recent, self.seq = Mirror(), deque(), 0
        self._take_frames(rows, rebuilding=True)
        if not rows:
            self._changed_now()

    def _read_since(self) -> None:
        self.queries += 1
        self._take_frames(self.channel.frames_since(self.seq))

    def _take_frames(self, rows: list[tuple[int, str]], rebuilding: bool = False) -> None:
        gap = False
        for seq, body in rows:
            try:
                frame = Frame.loads(body)
            except ValueError as error:
                log.warning("skipped a lead frame that does not read: %s", error)
                continue
            with self.lock:
                if self.mirror.run != frame.run:
                    self._recent.clear()
                self._recent.append(frame)
                while len(self._recent) > 1 and self._recent[0].epoch < (frame.checkpoint or 0):
                    self._recent.popleft()  # the checkpoint holds these
                gap = not self.mirror.apply(frame) or gap
                self.seq = max(self.seq, seq)
        if not rows:
            return
        last = self.mirror.frame
        if last is not None and last.checkpoint is not None and last.checkpoint != self.mirror.checkpoint:
            self._rebase(last)
        elif gap and not rebuilding:
            self.resync()
            return
        self._changed_now()

    def _rebase(self, frame: Frame) -> None:
        """Weights from the run's checkpoint named in `frame`, read once for the whole process."""
        self.queries += 1
        found = self.channel.checkpoint_at(frame.run, frame.checkpoint)
        if found is None:
            return
        with self.lock:
            self.mirror.rebase(found[1], found[0], list(self._recent))

    def _changed_now(self) -> None:
        with self._changed:
            self.version += 1
            self._changed.notify_all()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                if self.listen_url:
                    self._listen()
                else:
                    self.resync()
                    self._poll()
            except Exception as error:  # a store that is away: try again, the followers keep the last frame
                log.warning("the lead hub lost the store (%s); trying again", error)
                self._stop.wait(RECONNECT_S)

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_s):
            self._read_since()
            self._report()

    def _listen(self) -> None:
        import psycopg

        with psycopg.connect(self.listen_url, autocommit=True) as connection:
            connection.execute(f"LISTEN {LEAD_CHANNEL}")
            self.resync()  # after LISTEN: no frame falls between the two
            while not self._stop.is_set():
                for note in connection.notifies(timeout=LISTEN_S):
                    number, _, body = note.payload.partition(" ")
                    self.take(int(number), body or None)
                self._report()

    def _report(self) -> None:
        """Tell the store this process's follower count when it changed, and every HEARTBEAT_S anyway."""
        count, now = self._followers, time.monotonic()
        last, at = self._reported
        if count != last and now - at >= REPORT_S or now - at >= HEARTBEAT_S:
            self.channel.report_followers(self.owner, count)
            self._reported = (count, now)
