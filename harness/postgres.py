"""A throwaway PostgreSQL server for the tests and benchmarks: its data, socket and log in a temporary folder.

`initdb` and `pg_ctl` from Debian's `postgresql` package (or any on the PATH) start a server on a free loopback
port. PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user the package creates,
with its folder handed to that user; as anyone else it runs as the caller. Nothing outside the folder is touched.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from harness.server import free_port

INSTALL_HINT = "PostgreSQL is needed: sudo apt-get install postgresql (scripts/test installs it itself as root)"
SUPERUSER = "twolayer"  # the server's superuser, made by initdb; loopback connections need no password


def postgres_bin() -> Path:
    """The folder of initdb and pg_ctl: from the PATH, else Debian's newest /usr/lib/postgresql/N/bin."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if not versions:
        raise RuntimeError(f"no initdb found; {INSTALL_HINT}")
    return Path(versions[-1]).parent


class PostgresServer:
    """One PostgreSQL server on 127.0.0.1:port, its files in a new temporary folder removed by `stop`.

    `durable=False` turns off fsync and its kin: the tests' databases need not survive a power cut, and writing
    without them is several times faster. A restart (`restart`) keeps every row either way.
    """

    def __init__(self, durable: bool = True) -> None:
        self.durable = durable
        self.bin = postgres_bin()
        self.port = 0
        self.root: Path | None = None
        self.user = None  # the OS account the server runs as, when that is not the caller (root)
        if os.geteuid() == 0:
            try:
                self.user = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError(
                    f"PostgreSQL does not run as root and there is no 'postgres' user; {INSTALL_HINT}"
                ) from None

    @property
    def url(self) -> str:
        """The URL of the server's default database."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/postgres"

    def database_url(self, name: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{name}"

    def start(self, timeout_s: float = 60) -> PostgresServer:
        """Make a new cluster and start its server; returns once it accepts connections."""
        self.root = Path(tempfile.mkdtemp(prefix="twolayer-pg-"))
        (self.root / "sockets").mkdir()
        if self.user is not None:
            for path in (self.root, self.root / "sockets"):
                os.chown(path, self.user.pw_uid, self.user.pw_gid)
        self._run("initdb", "-D", "data", "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync")
        self.port = free_port()
        self._pg_ctl("start", timeout_s)
        return self

    def restart(self, down_s: float = 0.0, timeout_s: float = 60) -> None:
        """Stop the server (cutting its connections, as a restart mid-lecture would), wait `down_s`, start it again."""
        self._pg_ctl("stop", timeout_s)
        time.sleep(down_s)
        self._pg_ctl("start", timeout_s)

    def stop(self) -> None:
        """Stop the server at once and remove its folder."""
        if self.root is None:
            return
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self._run("pg_ctl", "-D", "data", "-m", "immediate", "-w", "stop", timeout_s=30)
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    def create_database(self, name: str) -> str:
        """A new empty database on this server; its URL."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.database_url(name)

    def log(self) -> str:
        """The server's log so far, for an error message."""
        try:
            return (self.root / "server.log").read_text(errors="replace")[-4000:]
        except (OSError, TypeError):
            return "(no log)"

    def _pg_ctl(self, action: str, timeout_s: float) -> None:
        settings = f"-h 127.0.0.1 -p {self.port} -k {self.root / 'sockets'}"
        if not self.durable:
            settings += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        try:
            self._run(
                "pg_ctl", "-D", "data", "-l", "server.log", "-o", settings, "-m", "fast", "-w",
                "-t", str(int(timeout_s)), action, timeout_s=timeout_s + 10,
            )  # fmt: skip
        except subprocess.CalledProcessError as error:
            raise RuntimeError(f"PostgreSQL did not {action}: {error.stderr.strip()}\n{self.log()}") from None

    def _run(self, program: str, *args: str, timeout_s: float = 120) -> None:
        """Run one of the server's programs in its folder, as the server's user."""
        command = [str(self.bin / program), *args]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C", "LC_ALL": "C"}
        user = {} if self.user is None else {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}
        subprocess.run(
            command, cwd=self.root, env=env, check=True, capture_output=True, text=True, timeout=timeout_s, **user
        )

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
