"""Where the run store keeps its rows: an SQLite file in a directory, or a PostgreSQL database named by a URL.

Both take the same SQL (`?` placeholders, `ON CONFLICT` upserts) through `Database.run`, which runs a function
in one transaction and, while a PostgreSQL server is briefly away (a restart, a dropped connection), runs it
again until RETRY_S has passed. Every write the store makes can run twice and leave one row, so a write whose
answer was lost is not written twice.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TypeVar

log = logging.getLogger("twolayer")
T = TypeVar("T")
FILE_NAME = "runs.sqlite3"
URL_SCHEMES = ("postgresql://", "postgres://")
RETRY_S = 30.0  # a server restart takes a second or two; a longer outage costs the write, logged
CONNECT_S = 5.0
POOL_SIZE = 8  # PostgreSQL connections per app process: each is held for a few milliseconds per transaction


class StoreError(ValueError):
    """A store location that cannot be used, with the reason."""


def is_url(location: str | Path) -> bool:
    """Whether a store location names a PostgreSQL database (else it is a directory for SQLite)."""
    return str(location).startswith(URL_SCHEMES)


def describe(location: str | Path) -> str:
    """The location as it may be shown or logged: a URL's password replaced by ***."""
    return re.sub(r"^(postgres(?:ql)?://[^:/@]*:)[^@]*@", r"\1***@", str(location))


class Transaction:
    """Statements inside one transaction; `?` placeholders on both backends."""

    def __init__(self, connection, placeholder: str) -> None:
        self.connection, self.placeholder = connection, placeholder

    def execute(self, sql: str, params: tuple = ()):
        """Run one statement; its cursor (fetchone, fetchall, rowcount)."""
        return self.connection.execute(self._sql(sql), params)

    def executemany(self, sql: str, rows: list[tuple]) -> None:
        self.connection.cursor().executemany(self._sql(sql), rows)

    def _sql(self, sql: str) -> str:
        return sql if self.placeholder == "?" else sql.replace("?", self.placeholder)


class Database(ABC):
    """One store's connections; `run` is the only way in."""

    dialect = ""
    transient: tuple[type[Exception], ...] = ()  # errors worth trying again: the server is away, not the query wrong

    def run(self, work: Callable[[Transaction], T], write: bool = True) -> T:
        """`work(transaction)` committed as one; run again from the start after a transient error, up to RETRY_S."""
        deadline, delay = time.monotonic() + RETRY_S, 0.05
        while True:
            try:
                with self._transaction(write) as transaction:
                    return work(transaction)
            except self.transient as error:
                if time.monotonic() + delay > deadline:
                    raise
                log.warning("the run store did not answer (%s); trying again in %.2f s", str(error).strip(), delay)
                time.sleep(delay)
                delay = min(2 * delay, 1.0)

    @abstractmethod
    def _transaction(self, write: bool):
        """A context manager: one transaction, committed when the block ends without an error."""

    @abstractmethod
    def close(self) -> None:
        """Let go of every connection."""


class SqliteDatabase(Database):
    """An SQLite file in a directory that every app process of one machine can read."""

    dialect = "sqlite"

    def __init__(self, directory: str | Path) -> None:
        self.path = Path(directory) / FILE_NAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=10)) as db:
            # Write-ahead logging lets the processes read while one writes.
            db.execute("PRAGMA journal_mode=WAL")

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[Transaction]:
        # A connection per call: the app calls from many threads, and calls are rare. A writer takes the write
        # lock at BEGIN (waiting up to 10 s for another), so two writers never deadlock upgrading a read lock;
        # closing without COMMIT rolls back.
        with closing(sqlite3.connect(self.path, timeout=10, isolation_level=None)) as db:
            db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            yield Transaction(db, "?")
            db.execute("COMMIT")

    def close(self) -> None:
        """Nothing to let go of: every transaction closes its own connection."""


class PostgresDatabase(Database):
    """A PostgreSQL database shared by the app processes of every machine, through a few connections per process."""

    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        import psycopg

        self.url, self.psycopg = url, psycopg
        self.transient = (psycopg.OperationalError,)  # the server is away: refused, cut off, shutting down
        self._idle: list = []  # connections kept for the next transaction, the most recent last
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(POOL_SIZE)  # connections in use at once in this process
        try:  # one connection now, so that a wrong URL or a server that is down is said at start
            self._idle.append(self._connect())
        except psycopg.Error as error:
            raise StoreError(f"cannot connect to {describe(url)}: {str(error).strip()}") from None

    def _connect(self):
        return self.psycopg.connect(self.url, connect_timeout=CONNECT_S)

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[Transaction]:
        with self._slots:
            with self._lock:
                connection = self._idle.pop() if self._idle else None
            connection = connection or self._connect()
            keep = False
            try:
                with connection.transaction():
                    yield Transaction(connection, "%s")
                keep = True
            except self.transient:
                # A server that cut this connection off (a restart) cut the idle ones too: the next try connects anew.
                self._close_idle()
                raise
            except Exception:
                keep = not connection.broken  # the work's own error (a refusal): the connection is fine
                raise
            finally:
                with self._lock:
                    if keep and len(self._idle) < POOL_SIZE:
                        self._idle.append(connection)
                        connection = None
                if connection is not None:
                    connection.close()

    def _close_idle(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def close(self) -> None:
        self._close_idle()


def open_database(location: str | Path) -> Database:
    """The database a store location names: a `postgresql://` URL, else a directory for SQLite."""
    if is_url(location):
        return PostgresDatabase(str(location))
    if "://" in str(location):
        raise StoreError(f"{describe(location)} is neither a directory nor a postgresql:// URL")
    return SqliteDatabase(location)
