"""N app processes behind HAProxy on one port, for a class larger than one process serves.

`bash scripts/serve-class N [--port P] [--store DIR|URL]` runs this module; the load benchmark and the tests use
`Cluster` too. Each process serves app.py as scripts/run-app does (`python -m page.launch`) on a loopback port;
HAProxy (deploy/haproxy.cfg) keeps each browser on one process, checks their health, and passes WebSockets through.
Every process gets the same cookie secret and the same run store, so a browser sent to another process keeps its
run history.

Several machines are simulated on one with `groups`: the processes are split into groups, each naming itself as a
host of its own in the run store (TWOLAYER_HOST), as processes on different machines sharing one PostgreSQL would.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness.server import ROOT, free_port, start_server, stop_server, wait_healthy
from twolayer.serve.database import describe

CONFIG = ROOT / "deploy" / "haproxy.cfg"
INSTALL_HINT = "HAProxy is needed: sudo apt-get install haproxy"


def haproxy_binary() -> str:
    """The haproxy executable (Debian installs it in /usr/sbin, often not on a user's PATH)."""
    found = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise RuntimeError(f"no haproxy found; {INSTALL_HINT}")
    return found


def backend_config(ports: list[int]) -> str:
    """The backend section for app processes on these loopback ports, named app1, app2, ..."""
    lines = ["backend twolayer from backend_settings"]
    lines += [f"    server app{i} 127.0.0.1:{port} check cookie app{i}" for i, port in enumerate(ports, 1)]
    return "\n".join(lines) + "\n"


def default_slots(replicas: int) -> int:
    """Trainings each process runs at once: the machine's cores shared out, so N processes never oversubscribe."""
    return max(1, (os.cpu_count() or 1) // replicas)


class Cluster:
    """`replicas` app processes and HAProxy in front of them on `address:port`; logs and config in `workdir`;
    `cores`: the only CPU cores the app processes may run on (None: any)."""

    def __init__(
        self,
        replicas: int,
        port: int,
        workdir: Path,
        store: str | Path,
        address: str = "127.0.0.1",
        app: Path = ROOT / "app.py",
        env: dict[str, str] | None = None,
        groups: int = 1,
        cores: set[int] | None = None,
    ) -> None:
        self.replicas, self.port, self.workdir, self.store = replicas, port, Path(workdir), store
        self.address, self.app, self.groups, self.cores = address, app, groups, cores
        self.env = dict(os.environ if env is None else env)
        self.ports: list[int] = []
        self.apps: list[subprocess.Popen] = []
        self.proxy: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.address in ("0.0.0.0", "") else self.address
        return f"http://{host}:{self.port}"

    def app_url(self, index: int) -> str:
        """The direct address of app process `index` (0-based), bypassing the proxy."""
        return f"http://127.0.0.1:{self.ports[index]}"

    def group(self, index: int) -> int:
        """The group (0-based, a simulated machine) of app process `index`: the processes split in order."""
        return index * self.groups // self.replicas

    def start(self, timeout_s: float = 90) -> Cluster:
        """Start the processes, wait until each answers its health check, then start the proxy and wait for it."""
        haproxy = haproxy_binary()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.env["TWOLAYER_STORE"] = str(self.store)
        self.env.setdefault("TWOLAYER_SLOTS", str(default_slots(self.replicas)))
        # One secret for all: the XSRF cookie a page got from one process must be valid on another after failover.
        self.env.setdefault("STREAMLIT_SERVER_COOKIE_SECRET", secrets.token_hex(32))
        self.ports = [free_port() for _ in range(self.replicas)]
        self.apps = [self._start_app(i, append=False) for i in range(self.replicas)]
        self.wait_all_healthy(timeout_s)
        backend = self.workdir / "backend.cfg"
        backend.write_text(backend_config(self.ports))
        command = [haproxy, "-db", "-f", str(CONFIG), "-f", str(backend)]
        with (self.workdir / "haproxy.log").open("wb") as out:
            self.proxy = subprocess.Popen(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=dict(os.environ, TWOLAYER_BIND=f"{self.address}:{self.port}"),
            )
        wait_healthy(self.proxy, self.url, timeout_s, name=f"haproxy (log: {self.workdir / 'haproxy.log'})")
        return self

    def _start_app(self, index: int, append: bool = True) -> subprocess.Popen:
        # A restarted process's log follows the one that died.
        log = self.workdir / f"app{index + 1}.log"
        env = self.env
        if self.groups > 1:
            env = dict(env, TWOLAYER_HOST=f"{socket.gethostname()}-machine{self.group(index) + 1}")
        return start_server(self.ports[index], log, env, self.app, append=append, cores=self.cores)

    def restart_stopped(self) -> list[int]:
        """Start again every app process that has stopped, on its old port; the proxy takes it back once healthy."""
        stopped = [i for i, process in enumerate(self.apps) if process.poll() is not None]
        for i in stopped:
            self.apps[i] = self._start_app(i)
        return stopped

    def wait_all_healthy(self, timeout_s: float = 90) -> None:
        """Wait until every app process answers its health check directly."""
        for i, server in enumerate(self.apps):
            wait_healthy(server, self.app_url(i), timeout_s)

    def stop_group(self, group: int) -> list[int]:
        """Kill every app process of one group at once, as a machine going down would; their indexes."""
        doomed = [i for i in range(self.replicas) if self.group(i) == group]
        for i in doomed:
            self.kill(i)
        return doomed

    def kill(self, index: int) -> None:
        """Kill app process `index` (0-based) at once, as a crash would."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.apps[index].pid, signal.SIGKILL)
        self.apps[index].wait(timeout=10)

    def stop(self) -> None:
        """Stop the proxy first (no new connections), then every app process."""
        if self.proxy is not None:
            stop_server(self.proxy)
        stop_server(*self.apps)

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def store_problem(location: str | Path) -> str | None:
    """Why the run store at `location` cannot be used (opened once here: its tables made), or None when it can."""
    from twolayer.serve.store import RunStore  # the core pulls in torch, which --help and bad arguments do without

    try:
        RunStore(location).close()
    except Exception as error:  # StoreError, OSError, a database error: each says what is wrong
        return f"the run store at {describe(location)} cannot be used: {error}"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/serve-class", description="Serve twolayer on N processes behind HAProxy, on one port."
    )
    parser.add_argument("replicas", type=int, help="app processes to start (one per core suits a class)")
    parser.add_argument("--port", type=int, default=8501, help="the public port (default: %(default)s)")
    parser.add_argument(
        "--address", default="0.0.0.0", help="address to listen on (default: %(default)s, every interface)"
    )
    parser.add_argument(
        "--store",
        default=None,
        help="the shared run history and class board: a directory (SQLite, one machine) or a postgresql:// URL "
        "(every machine of the class); default: a new temporary directory, removed at the end",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.replicas <= 64:
        parser.error(f"N must be 1 to 64 processes, got {args.replicas}")
    if not 1 <= args.port <= 65535:
        parser.error(f"--port must be 1 to 65535, got {args.port}")
    try:
        haproxy_binary()
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="twolayer-class-") as workdir:
        store = args.store or Path(workdir) / "store"
        if (problem := store_problem(store)) is not None:
            print(f"error: {problem}", file=sys.stderr)
            return 1
        cluster = Cluster(args.replicas, args.port, Path(workdir), store, args.address)
        # Stop cleanly on Ctrl+C and on a plain `kill`, also when started from a shell that ignores SIGINT
        # for background jobs (Python then leaves Ctrl+C ignored).
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            print(f"Starting {args.replicas} app processes (logs in {workdir}) ...", flush=True)
            cluster.start()
            print(f"Serving twolayer on {cluster.url} through HAProxy; run history in {describe(store)}.", flush=True)
            print(f"The class board: {cluster.url}/?board=1", flush=True)
            print("Press Ctrl+C to stop every process.", flush=True)
            while cluster.proxy.poll() is None:
                time.sleep(1)
                for i in cluster.restart_stopped():
                    # Its browsers were sent to the other processes; it takes new ones once healthy again.
                    print(f"app process {i + 1} stopped (log: {workdir}/app{i + 1}.log); restarted it", flush=True)
            print(f"error: HAProxy stopped (log: {workdir}/haproxy.log); stopping the app processes", file=sys.stderr)
            return 1
        except RuntimeError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            return 0
        finally:
            cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
