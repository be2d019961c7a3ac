"""The app's server and its process: start and stop it, probe its health, read its memory and CPU."""

from __future__ import annotations

import contextlib
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
LAUNCHER = "page.launch"  # imports the app's heavy modules, then serves app.py (python -m page.launch)
# /_stcore/health under load: the 95th percentile to stay under, how often to probe, how long a probe waits.
HEALTH_TARGET_S = 1.0
HEALTH_EVERY_S = 0.1
HEALTH_TIMEOUT_S = 5.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(
    port: int,
    log: Path,
    env: dict[str, str] | None = None,
    app: Path = APP,
    append: bool = False,
    cores: set[int] | None = None,
    launcher: bool = True,
) -> subprocess.Popen:
    """Serve `app` on 127.0.0.1:port in its own process group, output to `log`: twolayer's app.py through its
    launcher (`python -m page.launch`, as scripts/run-app serves it) unless `launcher` is False, any other script
    by plain `streamlit run`; `cores`: the only CPU cores it may run on (every thread it starts inherits them)."""
    # Run from the repository root whatever the app's path: that is where .streamlit/config.toml is read.
    serve = (
        [sys.executable, "-m", LAUNCHER]
        if launcher and Path(app).resolve() == APP
        else [sys.executable, "-m", "streamlit", "run", str(app)]
    )
    command = serve + [
        "--server.headless=true", f"--server.port={port}", "--server.address=127.0.0.1",
        "--browser.gatherUsageStats=false", "--server.fileWatcherType=none",
    ]  # fmt: skip
    with log.open("ab" if append else "wb") as out:
        pin = None if cores is None else (lambda: os.sched_setaffinity(0, cores))
        return subprocess.Popen(
            command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env, preexec_fn=pin
        )


def _opener() -> urllib.request.OpenerDirector:
    # Loopback only: never let a proxy from the environment answer for the server.
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


# The app's launcher answers once its modules are imported and every stage has run: about 10 s on a loaded machine.
STARTUP_TIMEOUT_S = 120


def wait_healthy(
    server: subprocess.Popen, url: str, timeout_s: float = STARTUP_TIMEOUT_S, name: str = "streamlit"
) -> None:
    opener = _opener()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"{name} exited with {server.returncode} before serving {url}")
        with contextlib.suppress(OSError), opener.open(f"{url}/_stcore/health", timeout=2) as response:
            if response.read().decode().strip() == "ok":
                return
        time.sleep(0.2)
    raise RuntimeError(f"{name} did not answer {url}/_stcore/health within {timeout_s:.0f} s")


def stop_server(*servers: subprocess.Popen) -> None:
    """Stop each server's process group: SIGTERM to all at once, then SIGKILL to those still running after 10 s."""
    # Signalled together, so that several slow shutdowns (Streamlit on a busy machine) overlap instead of adding up.
    for sig in (signal.SIGTERM, signal.SIGKILL):
        running = [server for server in servers if server.poll() is None]
        for server in running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, sig)
        deadline = time.monotonic() + 10
        for server in running:
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.wait(timeout=max(0.0, deadline - time.monotonic()))
        if all(server.poll() is not None for server in servers):
            return


def server_pid(url: str) -> int:
    """The pid of the server process serving `url` (the launcher or `streamlit run`), found by the port on its
    command line."""
    flag = f"--server.port={urlparse(url).port}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # the process ended while we looked
            continue
        if flag in args and (LAUNCHER.encode() in args or b"streamlit" in args and b"run" in args):
            return int(entry.name)
    raise LookupError(f"no server process with {flag.decode()} in /proc")


def memory_mb(pid: int) -> dict[str, float]:
    """Resident memory now (VmRSS) and at its peak (VmHWM), in MB, from /proc/<pid>/status."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) / 1024  # reported in kB
    return out


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of every thread of the process so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # the name in parentheses may itself hold spaces
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime and stime, fields 14 and 15


class Sampler(threading.Thread):
    """Calls `sample` every `every` seconds on its own thread until stopped; the calls' results in `samples`."""

    def __init__(self, sample, every: float) -> None:
        super().__init__(daemon=True)
        self.sample, self.every = sample, every
        self.samples: list = []
        self._stop_event = threading.Event()

    def run(self) -> None:
        next_at = time.monotonic()
        while not self._stop_event.is_set():
            self.samples.append(self.sample())
            next_at += self.every
            # A late sample (a slow answer) skips the missed ticks instead of firing them in a burst.
            next_at = max(next_at, time.monotonic())
            self._stop_event.wait(next_at - time.monotonic())

    def stop(self) -> list:
        self._stop_event.set()
        self.join(timeout=HEALTH_TIMEOUT_S + 1)
        return self.samples


def health_probe(url: str):
    """A sample function: seconds /_stcore/health took to answer "ok", or None when it failed or timed out."""
    opener = _opener()

    def sample() -> float | None:
        start = time.perf_counter()
        try:
            with opener.open(f"{url}/_stcore/health", timeout=HEALTH_TIMEOUT_S) as response:
                ok = response.read().decode().strip() == "ok"
        except OSError:
            return None
        return time.perf_counter() - start if ok else None

    return sample


def process_probe(*pids: int):
    """A sample function: (monotonic time, CPU seconds, RSS MB) of the processes together."""

    def sample() -> tuple[float, float, float]:
        return time.monotonic(), sum(map(cpu_seconds, pids)), sum(memory_mb(pid)["VmRSS"] for pid in pids)

    return sample


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank q-th percentile (the smallest value with at least q% of the values at or below it)."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]
