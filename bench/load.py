"""Load: K browser sessions press Train at once; finish times, errors, health latency, memory and CPU.

Run it as `python -m bench.load [--sessions 30] [--replicas N]`. It serves app.py on a free loopback port (or N
app processes behind HAProxy, as scripts/serve-class does), opens one headless Chromium with one context per
session, and writes its figures between the load markers of BENCHMARKS.md (a marker pair per replica count).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import math
import os
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from harness.browser import chromium
from harness.cluster import Cluster, default_slots
from harness.server import (
    HEALTH_EVERY_S,
    HEALTH_TARGET_S,
    HEALTH_TIMEOUT_S,
    ROOT,
    Sampler,
    free_port,
    health_probe,
    memory_mb,
    percentile,
    process_probe,
    start_server,
    stop_server,
    wait_healthy,
)
from harness.sessions import SessionResult, Settings, compare_histories, run_sessions, session_settings

LOG = ROOT / "test-artifacts" / "bench-load-server.log"  # kept after the run: a traceback there explains a failure
CLASS_DIR = ROOT / "test-artifacts" / "bench-load-class"  # the processes' and HAProxy's logs with --replicas
PROC_EVERY_S = 0.25
MAX_LISTED = 12  # page errors written into BENCHMARKS.md


@dataclass
class LoadReport:
    """The figures of one load run."""

    sessions: int
    results: list[SessionResult]
    histories: list[tuple[Settings, bool, str]]
    health: list[float | None]
    process: list[tuple[float, float, float]]
    peak_rss_mb: float
    server_errors: list[str]
    wall_s: float
    slots: str
    replicas: int = 0  # app processes behind the proxy; 0: one server, no proxy

    @property
    def served(self) -> Counter:
        """Sessions per app process, as the proxy's sticky cookie named it."""
        return Counter(r.served_by for r in self.results if r.served_by)

    @property
    def finished(self) -> int:
        return sum(r.finished for r in self.results)

    @property
    def errors(self) -> list[str]:
        return [f"session {i} ({r.settings.query()}): {e}" for i, r in enumerate(self.results) for e in r.errors]

    @property
    def times(self) -> list[float]:
        return [r.seconds for r in self.results if r.seconds is not None]

    @property
    def health_ok(self) -> list[float]:
        return [s for s in self.health if s is not None]

    @property
    def health_p95(self) -> float:
        # A failed probe counts as the slowest possible answer.
        return percentile([HEALTH_TIMEOUT_S if s is None else s for s in self.health], 95)

    def cpu_percent(self) -> tuple[float, float]:
        """Mean CPU over the load and the busiest one-second window, in % of one core."""
        p = self.process
        if len(p) < 2:
            return math.nan, math.nan
        mean = 100 * (p[-1][1] - p[0][1]) / (p[-1][0] - p[0][0])
        peak, j = 0.0, 0
        for i in range(len(p)):
            while j < i and p[i][0] - p[j][0] > 1.0:
                j += 1
            if j < i and p[i][0] - p[j][0] >= 0.5:
                peak = max(peak, 100 * (p[i][1] - p[j][1]) / (p[i][0] - p[j][0]))
        return mean, peak

    def spread(self) -> str:
        return ", ".join(f"{name} {self.served[name]}" for name in sorted(self.served)) or "none"

    def passed(self) -> bool:
        return (
            self.finished == self.sessions
            and (not self.replicas or len(self.served) == self.replicas)
            and not self.errors
            and not self.server_errors
            and self.health_p95 < HEALTH_TARGET_S
            and all(equal for _, equal, _ in self.histories)
        )

    def rows(self) -> list[list[str]]:
        """The table: measure, value, target."""
        times, mean_cpu, peak_cpu = self.times, *self.cpu_percent()
        rss = [s[2] for s in self.process]
        equal = sum(e for _, e, _ in self.histories)
        failed = sum(s is None for s in self.health)
        waited = sum(r.waited for r in self.results)
        return [
            [
                "sessions finished (status Done)",
                f"{self.finished} / {self.sessions}",
                f"{self.sessions} / {self.sessions}",
            ],
            ["errors on any page (exceptions, error boxes, page and console errors)", str(len(self.errors)), "0"],
            ["tracebacks in the server log", str(len(self.server_errors)), "0"],
            ["time to finish, Train to Done: median", f"{statistics.median(times):.1f} s" if times else "n/a", ""],
            ["time to finish: 95th percentile", f"{percentile(times, 95):.1f} s" if times else "n/a", ""],
            ["time to finish: slowest", f"{max(times):.1f} s" if times else "n/a", ""],
            ["sessions that showed 'Waiting for a free training slot'", str(waited), ""],
            [
                f"/_stcore/health latency, 95th percentile ({len(self.health)} probes every {HEALTH_EVERY_S:g} s)",
                f"{1000 * self.health_p95:.0f} ms",
                f"< {1000 * HEALTH_TARGET_S:.0f} ms",
            ],
            [
                "/_stcore/health latency: median / slowest / failed",
                f"{1000 * percentile(self.health_ok, 50):.0f} ms / {1000 * max(self.health_ok, default=math.nan):.0f}"
                f" ms / {failed}",
                "",
            ],
            ["server memory: peak (VmHWM, the largest process)", f"{self.peak_rss_mb:.0f} MB", ""],
            ["server memory: before and after the load (VmRSS)", f"{rss[0]:.0f} MB -> {rss[-1]:.0f} MB", ""],
            ["server CPU: mean / busiest second (% of one core)", f"{mean_cpu:.0f}% / {peak_cpu:.0f}%", ""],
            ["histories equal to the headless core (checked sessions)", f"{equal} / {len(self.histories)}", "all"],
            *(
                [["sessions per app process (from the proxy's cookie)", self.spread(), "every process serves"]]
                if self.replicas
                else []
            ),
            ["wall time of the load (first page opened to last Done)", f"{self.wall_s:.1f} s", ""],
        ]

    def markdown(self, command: str) -> str:
        """The BENCHMARKS.md section, without its markers (written between them by replace_marked)."""
        from bench.report import Section, cpu_model, usable_cores

        now = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
        served = (
            f"{self.replicas} app processes behind HAProxy (deploy/haproxy.cfg, as `scripts/serve-class "
            f"{self.replicas}` runs them; memory and CPU are their sums)"
            if self.replicas
            else "one app process"
        )
        note = (
            f"Measured {now} with `{command}` on {usable_cores()} usable cores ({cpu_model()}); {served}; "
            f"training slots per process: {self.slots}. One headless Chromium on the same machine opens "
            f"{self.sessions} contexts at once, each on its own link (every stage, hidden 32 to 100, its own seed, "
            f"{self.results[0].settings.epochs if self.results else 0} epochs of the lecture's 64 x 784 data), "
            "and presses Train in each; the browser competes with the server for the same cores. "
            "Health is probed from a separate thread throughout; CPU and memory are read from /proc. "
            "Checked sessions compare the page's loss trace with the same settings trained alone in the core "
            "(one torch and one BLAS thread, as the server runs)."
        )
        where = f" on {self.replicas} processes behind HAProxy" if self.replicas else ""
        title = f"Load: {self.sessions} sessions press Train at once{where}"
        section = Section(title, note, ["measure", "value", "target"])
        section.rows = self.rows()
        lines = [section.markdown()]
        if self.errors or self.server_errors:
            # The server's tracebacks first: one cause usually explains many pages' errors.
            server = [f"- {count} x `{error}`" for error, count in Counter(self.server_errors).most_common()]
            pages = [f"- `{error[:200]}`" for error in self.errors[:MAX_LISTED]]
            more = len(self.errors) - MAX_LISTED
            lines += ["Errors seen:", "", *server, *pages, *([f"- ... and {more} more"] if more > 0 else []), ""]
        return "\n".join(lines)


def marked_as(replicas: int) -> str:
    """The name of a load section's markers in BENCHMARKS.md: one for one server, one per replica count."""
    return f"load-{replicas}-replicas" if replicas else "load"


def server_tracebacks(log: Path) -> list[str]:
    """The last line of each traceback the server logged."""
    lines = log.read_text(errors="replace").splitlines()
    out = []
    for i, line in enumerate(lines):
        if line.startswith("Traceback"):
            tail = next((later for later in lines[i + 1 :] if later and not later[0].isspace()), line)
            out.append(f"server: {tail}")
    return out


# --- command line --------------------------------------------------------------------------------


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30, help="browser sessions at once (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=500, help="epochs of each session's run (default: %(default)s)")
    parser.add_argument(
        "--check", type=int, default=5, help="sessions whose history is compared with the core's (default: %(default)s)"
    )
    parser.add_argument(
        "--slots", type=int, default=None, help="TWOLAYER_SLOTS for the server (default: the app's own default)"
    )
    parser.add_argument(
        "--timeout", type=float, default=600, help="seconds the sessions may take in all (default: %(default)s)"
    )
    parser.add_argument(
        "--output", type=Path, default=ROOT / "BENCHMARKS.md", help="file to update (default: BENCHMARKS.md)"
    )
    parser.add_argument(
        "--app",
        type=Path,
        default=Path(os.environ.get("TWOLAYER_APP") or ROOT / "app.py"),
        help="the page to serve (default: $TWOLAYER_APP or app.py)",
    )
    parser.add_argument(
        "--replicas", type=int, default=0, help="app processes behind HAProxy (default: 0, one server and no proxy)"
    )
    parser.add_argument("--no-write", action="store_true", help="print the table only (default: off)")
    args = parser.parse_args(argv)
    if args.sessions < 1 or args.epochs < 1 or args.check < 0 or args.timeout <= 0 or args.replicas < 0:
        parser.error("--sessions and --epochs must be at least 1, --check and --replicas at least 0, --timeout above 0")
    return args


def run_load(
    sessions: int,
    epochs: int,
    check: int,
    timeout_s: float,
    slots: int | None,
    app: Path = ROOT / "app.py",
    replicas: int = 0,
) -> LoadReport:
    """Start the server (or the processes and the proxy), run the sessions with the probes on, stop, gather figures."""
    env = dict(os.environ)
    if slots is not None:
        env["TWOLAYER_SLOTS"] = str(slots)
    settings = session_settings(sessions, epochs)
    LOG.parent.mkdir(parents=True, exist_ok=True)
    exits: list[str] = []
    with (
        tempfile.TemporaryDirectory(prefix="twolayer-load-") as store,
        serving(app, env, replicas, store, exits) as (url, pids),
    ):
        with chromium() as browser:
            health = Sampler(health_probe(url), HEALTH_EVERY_S)
            process = Sampler(process_probe(*pids), PROC_EVERY_S)
            health.start()
            process.start()
            start = time.monotonic()
            results = run_sessions(browser, url, settings, check=min(check, sessions), timeout_s=timeout_s)
            wall = time.monotonic() - start
            health_samples, process_samples = health.stop(), process.stop()
        peak = max(memory_mb(pid)["VmHWM"] for pid in pids)
    logs = sorted(CLASS_DIR.glob("app*.log")) if replicas else [LOG]
    errors = [error for log in logs for error in server_tracebacks(log)] or exits
    return LoadReport(
        sessions=sessions,
        results=results,
        histories=compare_histories(results),
        health=health_samples,
        process=process_samples,
        peak_rss_mb=peak,
        server_errors=errors,
        wall_s=wall,
        slots=env.get("TWOLAYER_SLOTS")
        or (
            f"{default_slots(replicas)} (cores / processes)"
            if replicas
            else f"the app's default (cores: {os.cpu_count()})"
        ),
        replicas=replicas,
    )


@contextlib.contextmanager
def serving(app: Path, env: dict[str, str], replicas: int, store: str, exits: list[str]):
    """Yield (URL, app process ids): one server on a free port, or `replicas` processes behind HAProxy; a server that
    exits with an error is added to `exits`."""
    env = dict(env, TWOLAYER_STORE=store)
    if replicas:
        with Cluster(replicas, free_port(), CLASS_DIR, Path(store), app=app, env=env) as cluster:
            yield cluster.url, [process.pid for process in cluster.apps]
        return
    port = free_port()
    server = start_server(port, LOG, env, app)
    try:
        wait_healthy(server, f"http://127.0.0.1:{port}")
        yield f"http://127.0.0.1:{port}", [server.pid]
    finally:
        stop_server(server)
        if server.returncode not in (0, -signal.SIGTERM):
            exits.append(f"server: exited with {server.returncode}")


def main(argv: list[str] | None = None) -> int:
    """Run the load, print its table, update BENCHMARKS.md; exit 0 when every target is met, else 1."""
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    import torch
    from threadpoolctl import threadpool_limits

    from bench.report import replace_marked

    # The core's references must compute exactly what the server does: one torch and one BLAS thread.
    torch.set_num_threads(1)
    threadpool_limits(1)
    report = run_load(
        args.sessions, args.epochs, args.check, args.timeout, args.slots, args.app.resolve(), args.replicas
    )
    section = report.markdown(" ".join(["python -m bench.load", *argv]))
    print(section)
    for settings, equal, note in report.histories:
        print(f"history {settings.query()}: {'equal' if equal else 'DIFFERENT'} ({note})")
    if not args.no_write:
        replace_marked(args.output, marked_as(args.replicas), section)
        print(f"updated the load section of {args.output}")
    print("all targets met" if report.passed() else "TARGETS MISSED")
    return 0 if report.passed() else 1


if __name__ == "__main__":
    sys.exit(main())
