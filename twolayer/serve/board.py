"""The class board: every finished run of a class, from every process and machine, anonymous, round by round.

Entries live in the run store (twolayer/serve/store.py), keyed by the browser's hashed id like its runs, and the
board reads them back without it: nothing a reader gets names a browser. A browser may name its own entries
(plain text, at most MAX_NAME characters) and put at most PER_MINUTE on the board a minute; only the lecturer key
set when the server started begins a new round, which empties the board and leaves every history as it was.
"""

from __future__ import annotations

import csv
import dataclasses
import hmac
import io
import math
import secrets
import threading
import time
import unicodedata
from dataclasses import dataclass

from twolayer.serve.database import Database, Transaction
from twolayer.train.config import ConfigError, TrainConfig
from twolayer.train.state import RunState
from twolayer.train.trainer import Trainer

PER_MINUTE = 5  # board entries per browser per minute: a class's pace, not a script's
MAX_NAME = 20
MAX_ENTRIES = 20_000  # in the store, every round together: the oldest go first
# Wrong lecturer keys one process takes a minute, from everyone together: a browser's id is only a cookie, which a
# guesser need not send, so the cap is on guessing itself.
KEY_TRIES = 10
DATA = ("random", "digits", "mnist5k", "mnist", "upload", "file")  # what the board says of a run's data
# What the scatter can show: a setting across, a result up, each with whether its axis is logarithmic.
SETTINGS = {"learning rate": ("lr", True), "hidden size": ("hidden", False), "batch": ("batch", False),
            "epochs": ("epochs", False)}  # fmt: skip
RESULTS = {"final loss": ("final_loss", True), "test accuracy": ("accuracy", False)}
COLUMNS = ("stage", "hidden", "lr", "batch", "epochs", "epochs_done", "data", "final_loss", "accuracy", "status",
           "name")  # fmt: skip
CURRENT_ROUND = "(SELECT COALESCE(MAX(round), 1) FROM board_rounds)"  # a class starts in round 1


class BoardError(ValueError):
    """An entry, a name or a new round refused, with the reason to show."""


@dataclass(frozen=True)
class Entry:
    """One finished run as the board shows it: its settings and results, never whose it is."""

    stage: str
    hidden: int
    lr: float
    batch: int
    epochs: int
    epochs_done: int
    data: str
    final_loss: float | None  # the last finite loss; None for a run that diverged in its first epoch
    accuracy: float | None  # on the test split, for labelled data
    status: RunState  # done or diverged
    name: str = ""
    id: int = 0  # given by the store


def board_data(source: str) -> str:
    """What the board says of a config's data: a built-in set by name, never a file's path."""
    if source in ("random", "digits", "mnist5k"):
        return source
    if source.startswith("mnist:"):
        return "mnist"
    return "upload" if source.startswith("upload") else "file"


def entry_from_trainer(trainer: Trainer) -> Entry:
    """A finished run as a board entry, its test accuracy measured now for labelled data."""
    c = trainer.config
    accuracy = None
    if trainer.status is RunState.DONE and trainer.data.has_test:
        accuracy = trainer.evaluate().get("test_accuracy")
    return Entry(
        c.stage, c.hidden_size, c.learning_rate, c.batch_size, c.epochs, trainer.epoch, board_data(c.data),
        trainer.last_loss(), accuracy, trainer.status,
    )  # fmt: skip


def check(entry: Entry) -> None:
    """Refuse an entry no run could have produced, saying which value is wrong."""
    try:
        TrainConfig(stage=entry.stage, hidden_size=entry.hidden, learning_rate=entry.lr, batch_size=entry.batch,
                    epochs=entry.epochs)  # fmt: skip
    except (ConfigError, TypeError) as error:
        raise BoardError(f"not a run's settings: {error}") from None
    problems = []
    if not entry.status.finished:
        done, diverged = RunState.DONE.value, RunState.DIVERGED.value
        problems.append(f"status {entry.status.value!r} is neither {done!r} nor {diverged!r}")
    if entry.data not in DATA:
        problems.append(f"data {entry.data!r} is not one of {', '.join(DATA)}")
    last = entry.epochs if entry.status is RunState.DONE else entry.epochs_done
    if not 1 <= entry.epochs_done <= entry.epochs or entry.epochs_done != last:
        problems.append(f"{entry.epochs_done} epochs done of {entry.epochs} for a run that is {entry.status}")
    loss_ok = entry.final_loss is None and entry.status is RunState.DIVERGED
    if not loss_ok and not (isinstance(entry.final_loss, float | int) and 0 <= entry.final_loss < math.inf):
        problems.append(f"final loss {entry.final_loss!r} is not a finite number of at least 0")
    if entry.accuracy is not None and not 0 <= entry.accuracy <= 1:
        problems.append(f"accuracy {entry.accuracy!r} is not between 0 and 1")
    if problems:
        raise BoardError("impossible values: " + "; ".join(problems))
    check_name(entry.name)


def check_name(name: str) -> str:
    """A name as it is kept (spaces around it removed); refused when too long or holding control characters."""
    name = name.strip()
    if len(name) > MAX_NAME:
        raise BoardError(f"a name is at most {MAX_NAME} characters; this one has {len(name)}")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in name):
        raise BoardError("a name cannot hold control characters or line breaks")
    return name


class Board:
    """The board's entries in a store's database; every read leaves out whose they are."""

    def __init__(self, db: Database, ttl_s: float) -> None:
        self.db, self.ttl_s = db, ttl_s
        self._lock = threading.Lock()
        self._wrong_keys: list[float] = []  # when the last wrong keys were tried

    def post(self, browser: str, entry: Entry) -> int:
        """Put a browser's finished run on the board of this round; its id. Refused (BoardError) when impossible or
        when the browser posted PER_MINUTE in the last minute."""
        entry = dataclasses.replace(entry, name=check_name(entry.name))
        check(entry)
        # Drawn once, outside the transaction: a write tried again after its answer was lost finds itself.
        token, now = secrets.token_hex(16), time.time()

        def work(tx: Transaction) -> int:
            if (found := tx.execute("SELECT id FROM board WHERE token = ?", (token,)).fetchone()) is not None:
                return found[0]
            recent = "SELECT COUNT(*) FROM board WHERE browser = ? AND saved > ?"
            if tx.execute(recent, (browser, now - 60)).fetchone()[0] >= PER_MINUTE:
                raise BoardError(f"at most {PER_MINUTE} runs a minute go on the class board from one browser")
            values = [getattr(entry, column) for column in COLUMNS]
            (new_id,) = tx.execute(
                f"INSERT INTO board (token, round, browser, saved, {', '.join(COLUMNS)}) "
                f"VALUES (?, {CURRENT_ROUND}, ?, ?, {', '.join('?' * len(COLUMNS))}) RETURNING id",
                (token, browser, now, *values),
            ).fetchone()
            tx.execute("DELETE FROM board WHERE saved <= ?", (now - self.ttl_s,))
            tx.execute(
                "DELETE FROM board WHERE id <= (SELECT id FROM board ORDER BY id DESC LIMIT 1 OFFSET ?)",
                (MAX_ENTRIES,),
            )
            return new_id

        return self.db.run(work)

    def entries(self) -> list[Entry]:
        """This round's entries, newest first."""
        return self._read(f"round = {CURRENT_ROUND}", ())

    def own(self, browser: str) -> list[Entry]:
        """The browser's own entries of this round, newest first: the ones it may name."""
        return self._read(f"round = {CURRENT_ROUND} AND browser = ?", (browser,))

    def name(self, browser: str, entry_id: int, name: str) -> str:
        """Name one of the browser's own entries; the name as kept. Another browser's entry is refused."""
        name = check_name(name)
        update = "UPDATE board SET name = ? WHERE id = ? AND browser = ?"
        if self.db.run(lambda tx: tx.execute(update, (name, entry_id, browser)).rowcount) != 1:
            raise BoardError("only a run of your own on the board can be named")
        return name

    def new_round(self, given: str, key: str | None) -> int:
        """Start a new round (an empty board) when `given` is the lecturer key `key`; the round's number."""
        if not key:
            raise BoardError(
                "no lecturer key was set when this server started (TWOLAYER_LECTURER_KEY), so no one can start "
                "a new round"
            )
        now = time.time()
        with self._lock:
            self._wrong_keys = [t for t in self._wrong_keys if t > now - 60]
            if len(self._wrong_keys) >= KEY_TRIES:
                raise BoardError(f"{KEY_TRIES} wrong keys were tried on this server in the last minute: wait a minute")
            # Compared in constant time, so how long a refusal takes says nothing about how much of a guess was right.
            if not hmac.compare_digest(given.encode(), key.encode()):
                self._wrong_keys.append(now)
                raise BoardError("that is not the lecturer key")

        def work(tx: Transaction) -> int:
            number = tx.execute(f"SELECT {CURRENT_ROUND}").fetchone()[0] + 1
            # Two lecturers starting a round at once start one.
            tx.execute("INSERT INTO board_rounds VALUES (?, ?) ON CONFLICT (round) DO NOTHING", (number, now))
            return number

        return self.db.run(work)

    def round(self) -> int:
        """The number of the round the board shows: 1 until a lecturer starts the second."""
        return self.db.run(lambda tx: tx.execute(f"SELECT {CURRENT_ROUND}").fetchone()[0], write=False)

    def _read(self, where: str, params: tuple) -> list[Entry]:
        query = f"SELECT {', '.join(COLUMNS)}, id FROM board WHERE {where} ORDER BY id DESC"
        rows = self.db.run(lambda tx: tx.execute(query, params).fetchall(), write=False)
        entries = (Entry(*row) for row in rows)
        # The store keeps a state as its word.
        return [dataclasses.replace(entry, status=RunState(entry.status)) for entry in entries]


def csv_text(entries: list[Entry]) -> str:
    """The entries as CSV, one row each; a name that a spreadsheet would run as a formula is quoted as text."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for entry in entries:
        row = [getattr(entry, column) for column in COLUMNS]
        if entry.name.startswith(("=", "+", "-", "@", "\t", "\r")):
            row[-1] = "'" + entry.name
        writer.writerow(["" if value is None else value for value in row])
    return out.getvalue()
