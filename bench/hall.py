"""`python -m bench.hall`: a class server kept saturated for ten minutes, and what it lost meanwhile.

`scripts/serve-class 2` on a throwaway PostgreSQL (durable, as a lecture's); STUDENTS pages in headless Chromium
each train the issue's run (3,000 digits epochs) and press Train again as one ends, so every training slot is
always taken and students wait their turn; BURNERS processes spin on every core beside them. Counted: each page's
WebSocket closes (in the page, with their codes), the sessions lost (a page that came back to a new session: the app
processes' own `connect` counts beyond one per page, from /_stcore/metrics), the runs resumed and the runs lost (the
page's "Resumed at epoch" and "stopped at epoch" notes), runs finished, HAProxy's stream connections by how they
ended, the health check's 95th percentile through the proxy, and the checkpoints' sizes in the store. Written
between the `hall` markers of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.report import load, provenance, publish
from harness.browser import STATUS_LINE_JS, chromium, wait_for_app
from harness.cluster import Cluster
from harness.postgres import PostgresServer
from harness.server import HEALTH_EVERY_S, ROOT, Sampler, free_port, health_probe, percentile
from harness.sessions import Settings, served_by
from twolayer.serve.database import open_database

RUN = dict(epochs=3000, data="digits", batch=512)  # the runs a busy class lost sessions on, as reported
STAGES = ("tensor", "autograd", "nn", "optim")
LOGS = ROOT / "test-artifacts" / "bench-hall"  # the processes' and HAProxy's logs, kept after the run
STREAMLIT_PING_S = 30  # Streamlit's own WebSocket ping interval and timeout
PING_VARIABLE = "STREAMLIT_SERVER_WEBSOCKET_PING_INTERVAL"  # overrides the config file's setting
POLL_S = 5.0  # between two readings of the pages, the store and the processes' counters
# Kept in every page from its first script on: its stream WebSockets opened and how each closed; a loop that presses
# Train as the status line says Done, and the notes the page showed. Pressed in the page (the button's own click)
# so that a busy harness never delays a student.
AGENT_JS = r"""
window.__hall = {opened: 0, closes: [], runs: 0, presses: 0, resumed: [], lost: [], status: null};
const Original = window.WebSocket;
window.WebSocket = class extends Original {
  constructor(...args) {
    super(...args);
    if (!String(args[0]).includes('/_stcore/stream')) return;
    window.__hall.opened += 1;
    this.addEventListener('close', (e) => window.__hall.closes.push([Date.now(), e.code, e.reason]));
  }
};
window.__hallStart = () => {
  const hall = window.__hall;
  let pressedAt = 0, running = false;
  const press = () => {
    const train = [...document.querySelectorAll('button')].find((b) => b.textContent.trim() === 'Train');
    if (train && !train.disabled) { train.click(); hall.presses += 1; pressedAt = Date.now(); running = false; }
  };
  setInterval(() => {
    for (const el of document.querySelectorAll('[data-testid="stAlert"]')) {
      const text = el.textContent;
      if (text.includes('Resumed at epoch') && !hall.resumed.includes(text)) hall.resumed.push(text);
      if (text.includes('stopped at epoch') && !hall.lost.includes(text)) hall.lost.push(text);
    }
    hall.status = (STATUS_LINE)();
    const word = (hall.status || '').split(' ')[0];
    if (word === 'Running') running = true;
    if ((word === 'Done' || word === 'Diverged') && running) { hall.runs += 1; press(); }
    else if (!running && Date.now() - pressedAt > 60000) press();  // the first press, or one the server lost
  }, 250);
};
""".replace("(STATUS_LINE)", f"({STATUS_LINE_JS})")
# The termination state's first two characters (how the connection ended: "--" normally, "SD" the server aborted
# in the data phase, "CD" the client), then the connection counts that follow it in the httplog format.
HAPROXY_LINE = re.compile(r"\s(?P<state>[A-Za-z-]{2})[A-Za-z-]{2}\s\d+/\d+/\d+/\d+/\+?\d+\s")
HAPROXY_TOTAL_MS = re.compile(r"\s-?\d+/-?\d+/-?\d+/-?\d+/\+?(\d+)\s\d{3}\s")


@dataclass
class Hall:
    """What one saturated run of the class saw."""

    minutes: float
    students: int
    burners: int
    pages: list[dict] = field(default_factory=list)  # each page's __hall at the end
    served: list[str | None] = field(default_factory=list)
    connects: int = 0  # sessions the app processes started, over all of them
    reconnects: int = 0  # WebSockets that came back to their session
    health: list[float | None] = field(default_factory=list)
    checkpoint_bytes: list[int] = field(default_factory=list)
    proxy_streams: Counter = field(default_factory=Counter)  # stream connections ended in the window, by state
    proxy_stream_s: list[float] = field(default_factory=list)  # how long each lasted

    @property
    def closes(self) -> int:
        return sum(len(p["closes"]) for p in self.pages)

    @property
    def sessions_lost(self) -> int:
        return max(0, self.connects - self.students)

    @property
    def runs_lost(self) -> int:
        return sum(len(p["lost"]) for p in self.pages)

    @property
    def resumed(self) -> int:
        return sum(len(p["resumed"]) for p in self.pages)


def burn(count: int) -> list[subprocess.Popen]:
    """`count` processes that keep a core busy each until killed."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]


def counters(url: str) -> Counter:
    """An app process's session events (connect, reconnect, disconnect) since it started."""
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
        f"{url}/_stcore/metrics?families=session_events", timeout=30
    ) as response:
        return session_events(response.read().decode())


def session_events(metrics: str) -> Counter:
    """The session event counts in Streamlit's metrics text (OpenMetrics)."""
    return Counter(
        {m[1]: int(float(m[2])) for m in re.finditer(r'session_events_total\{type="(\w+)"\} ([\d.]+)', metrics)}
    )


def proxy_streams(log: str) -> tuple[Counter, list[float]]:
    """HAProxy's log of the page WebSockets that ended: how many by termination state, and their durations (s)."""
    states, seconds = Counter(), []
    for line in log.splitlines():
        if "/_stcore/stream" not in line or not (state := HAPROXY_LINE.search(line)):
            continue
        states[state["state"]] += 1
        if total := HAPROXY_TOTAL_MS.search(line):
            seconds.append(int(total[1]) / 1000)
    return states, seconds


def students(count: int) -> list[Settings]:
    """Every stage in turn, small hidden layers, a seed each: the runs a class would start."""
    return [Settings(STAGES[i % len(STAGES)], hidden=(16, 32)[i % 2], seed=20 + i, **RUN) for i in range(count)]


def run_hall(args: argparse.Namespace, browser, env: dict[str, str] | None = None) -> Hall:
    """Serve the class (its processes' environment `env`), load it for `args.minutes`, and read what it lost."""
    hall = Hall(args.minutes, args.students, args.burners)
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(PostgresServer(durable=True))
        store = server.create_database("hall")
        shutil.rmtree(LOGS, ignore_errors=True)
        workdir = LOGS
        cluster = stack.enter_context(Cluster(2, free_port(), workdir, store, env=env))
        contexts = []
        for settings in students(args.students):
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            stack.callback(context.close)
            context.add_init_script(AGENT_JS)
            page = context.new_page()
            page.goto(f"{cluster.url}/?{settings.query()}")
            wait_for_app(page, 120_000)  # its WebSocket open before the next: the proxy balances by them
            contexts.append((context, page))
        hall.served = [served_by(context) for context, _ in contexts]
        spinning = burn(args.burners)
        stack.callback(lambda: [p.kill() for p in spinning])
        health = Sampler(health_probe(cluster.url), HEALTH_EVERY_S)
        health.start()
        for _, page in contexts:
            page.evaluate("() => window.__hallStart()")
        database = open_database(store)
        stack.callback(database.close)
        end = time.monotonic() + args.minutes * 60
        while time.monotonic() < end:
            time.sleep(POLL_S)
            sizes = database.run(lambda tx: tx.execute("SELECT size FROM checkpoints").fetchall(), write=False)
            hall.checkpoint_bytes += [size for (size,) in sizes]
        proxy_log = (workdir / "haproxy.log").read_text(errors="replace")  # before a page closes
        hall.health = health.stop()
        hall.pages = [page.evaluate("() => window.__hall") for _, page in contexts]
        for i in range(cluster.replicas):
            events = counters(cluster.app_url(i))
            hall.connects += events["connect"]
            hall.reconnects += events["reconnect"]
        hall.proxy_streams, hall.proxy_stream_s = proxy_streams(proxy_log)
    return hall


def ping_setting() -> int:
    """The WebSocket ping interval (and timeout) the project's .streamlit/config.toml sets, in seconds."""
    with (ROOT / ".streamlit" / "config.toml").open("rb") as file:
        return int(tomllib.load(file)["server"]["websocketPingInterval"])


def row(name: str, hall: Hall) -> list[str]:
    """One arrangement's figures as a table row."""
    health = [h for h in hall.health if h is not None]
    sizes = sorted(hall.checkpoint_bytes)
    codes = Counter(code for p in hall.pages for _, code, _ in p["closes"])
    states = ", ".join(f"{state} {n}" for state, n in hall.proxy_streams.most_common()) or "none"
    return [
        name,
        f"{hall.closes}" + (f" ({', '.join(f'code {c}: {n}' for c, n in codes.items())})" if codes else ""),
        str(hall.sessions_lost),
        str(hall.reconnects),
        str(hall.resumed),
        str(hall.runs_lost),
        str(sum(p["runs"] for p in hall.pages)),
        states,
        f"{percentile(health, 95) * 1e3:.0f} ({len(hall.health) - len(health)})" if health else "none answered",
        f"{sizes[len(sizes) // 2] / 1e3:.0f} ({sizes[-1] / 1e3:.0f})" if sizes else "none saved",
    ]


def section(command: str, halls: list[tuple[str, Hall]], load_at_start: str) -> str:
    """The section's markdown: what each arrangement of the class lost, and the machine."""
    first = halls[0][1]
    header = [
        "WebSocket ping (interval = timeout)", "WebSocket closes the pages saw", "sessions lost",
        "WebSockets back to their session", "runs resumed", "runs lost", "runs finished",
        "page WebSockets ended at the proxy, by state", "health p95, ms (unanswered)",
        "checkpoint KB, median (largest)",
    ]  # fmt: skip
    lines = [
        "## The hall saturated: sessions and runs lost",
        "",
        f"`scripts/serve-class 2` on PostgreSQL (durable), {first.students} students in headless Chromium on the "
        f"same machine, each training {RUN['epochs']:,} digits epochs (batch {RUN['batch']}, stages in turn) and "
        f"pressing Train again as a run ends, so every training slot is always taken; {first.burners} busy loops "
        f"beside them; {first.minutes:g} minutes an arrangement, one after the other. Sessions lost: the app "
        "processes' own count of sessions started (/_stcore/metrics) beyond one a page, i.e. pages that came back "
        'to a new session. Runs resumed or lost: the pages\' "Resumed at epoch" and "stopped at epoch" notes. The '
        'proxy\'s states: "--" closed normally by one side (here the server, on a ping without its pong), "CD" by '
        "the client. Checkpoints: the sizes of the runs' latest ones in the store, read every 5 s; what saving one "
        "every 5 s costs the training is section 9's.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(row(name, hall)) + " |" for name, hall in halls),
        "",
        "Each page's status line at the end of the last arrangement: "
        + "; ".join(f"{i + 1}: {p['status']}" for i, p in enumerate(halls[-1][1].pages))
        + ".",
        "",
    ]
    return "\n".join(lines) + "\n" + provenance(command, load_at_start)


def parse(argv: list[str]) -> argparse.Namespace:
    """The options, each default stated in its help."""
    parser = argparse.ArgumentParser(prog="python -m bench.hall", description=__doc__)
    parser.add_argument(
        "--minutes", type=float, default=10, help="how long the class is kept busy (default: %(default)s)"
    )
    parser.add_argument("--students", type=int, default=6, help="pages training at once (default: %(default)s)")
    parser.add_argument(
        "--burners",
        type=int,
        default=os.cpu_count() or 1,
        help="busy loops beside them (default: one per core, %(default)s)",
    )
    parser.add_argument(
        "--compare-default",
        action="store_true",
        help="first run the class with Streamlit's own ping (30 s), then with the project's setting",
    )
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md", help="the file to update")
    parser.add_argument("--no-write", action="store_true", help="only print the section")
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.students < 1 or args.burners < 0:
        parser.error("--minutes must be positive, --students at least 1 and --burners at least 0")
    return args


def main(argv: list[str] | None = None, browser=None) -> int:
    """Measure, print the section, write it into BENCHMARKS.md; 0 when no session and no run was lost, else 1."""
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    load_at_start = load()
    with contextlib.ExitStack() as stack:
        if browser is None:
            browser = stack.enter_context(chromium())
        halls = []
        if args.compare_default:
            env = dict(os.environ, **{PING_VARIABLE: str(STREAMLIT_PING_S)})
            halls.append((f"{STREAMLIT_PING_S} s (Streamlit's own)", run_hall(args, browser, env)))
        own = {name: value for name, value in os.environ.items() if name != PING_VARIABLE}
        halls.append((f"{ping_setting()} s (.streamlit/config.toml)", run_hall(args, browser, own)))
    command = " ".join(["python -m bench.hall", *map(shlex.quote, argv)])
    publish(section(command, halls, load_at_start), "hall", args.output, write=not args.no_write)
    hall = halls[-1][1]  # the project's setting is what must lose nothing
    met = hall.sessions_lost == 0 and hall.runs_lost == 0
    print("no session and no run lost" if met else "SESSIONS OR RUNS LOST")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
