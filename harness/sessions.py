"""Browser sessions on one server: each opens its own link, presses Train, and is checked against the core."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from harness.browser import ERRORS_JS, LOSS_JS, STATUS_JS, WATCH_JS, wait_for_app
from twolayer.train.stages import STAGES

if TYPE_CHECKING:
    from twolayer.train.config import TrainConfig
    from twolayer.train.trainer import Trainer

SERVER_COOKIE = "TWOLAYER_SERVER"  # set by the proxy (deploy/haproxy.cfg): which app process a browser is kept on
HIDDEN = (32, 50, 64, 100)  # lecture-sized runs that all converge at each stage's lecture learning rate


@dataclass(frozen=True)
class Settings:
    """One session's link settings: lecture-sized random data, default learning rate of the stage."""

    stage: str
    hidden: int
    seed: int
    epochs: int = 500
    data: str = "random"
    batch: int = 64  # the lecture's rows of random data, or the mini-batch of real data

    def query(self) -> str:
        values = {"stage": self.stage, "hidden": self.hidden, "seed": self.seed, "epochs": self.epochs}
        # Named only where they differ from the page's defaults, so the lecture's links stay as they were.
        values |= {"data": self.data} if self.data != "random" else {}
        values |= {"batch": self.batch} if self.batch != 64 else {}
        return urlencode(values)

    def config(self) -> TrainConfig:
        """The TrainConfig the page builds from this link (the app's cpu device and lecture defaults)."""
        # Imported where needed: the core pulls in torch, which `--help` and the probes do without.
        from twolayer.train.config import TrainConfig

        return TrainConfig(
            stage=self.stage, hidden_size=self.hidden, seed=self.seed, epochs=self.epochs, data=self.data,
            batch_size=self.batch, device="cpu",
        )  # fmt: skip


def session_settings(count: int, epochs: int = 500) -> list[Settings]:
    """`count` different settings: every stage, four hidden sizes and a seed of its own each."""
    return [Settings(STAGES[i % len(STAGES)], HIDDEN[i // len(STAGES) % len(HIDDEN)], i, epochs) for i in range(count)]


def reference_run(settings: Settings) -> Trainer:
    """The run the headless core trains alone, in this thread, for these settings, trained to its end."""
    from twolayer.train.trainer import Trainer

    trainer = Trainer(settings.config())
    trainer.advance(settings.epochs)
    return trainer


def reference_losses(settings: Settings) -> list[float]:
    """The loss history the headless core computes alone for these settings."""
    return reference_run(settings).history.column("loss")


def loss_chart_traces(trainer, points: int | None = None) -> list[dict]:
    """The page's loss chart for the core's run `trainer` of random data: each trace's name, x and y, as it is after
    `points` epochs of the run (while it trains), or at its end."""
    from twolayer.charts.curves import loss_figure
    from twolayer.teach.report import loss_chart

    if points is None:
        figure = loss_chart(trainer)
    else:
        x, y = trainer.loss_curve()
        title = "Loss (sum of squared errors)"  # the random data's: losses summed over the rows
        figure = loss_figure(x[:points], y[:points], title=title, total=trainer.config.epochs)
    return [{"name": t.name, "x": list(map(float, t.x)), "y": list(map(float, t.y))} for t in figure.data]


def held(chart: list[dict] | None) -> int:
    """How many epochs a loss chart (as `LOSS_TRACES_JS` reads it) holds: up to the last its training trace shows, and
    none while the page rebuilds it (read as None)."""
    return int(chart[0]["x"][-1]) + 1 if chart else 0


def same_traces(chart: list[dict] | None, expected: list[dict]) -> bool:
    """Whether a chart read from the page holds exactly the expected traces (names, x and y to the last bit)."""
    if chart is None or len(chart) != len(expected):
        return False
    return all(
        c["name"] == e["name"] and c["x"] == e["x"] and c["y"] == e["y"] for c, e in zip(chart, expected, strict=True)
    )


@dataclass
class SessionResult:
    """What one browser session saw."""

    settings: Settings
    status: str | None = None  # the status line's last text
    seconds: float | None = None  # from pressing Train to "Done", None if it never finished
    waited: bool = False  # showed "Waiting for a free training slot" at least once
    errors: list[str] = field(default_factory=list)
    checked: bool = False  # whether the page's loss trace is compared with the core's
    losses: list[float] | None = None  # that trace; None when the page had none
    served_by: str | None = None  # the app process behind a proxy that served the session (None: no proxy)

    @property
    def finished(self) -> bool:
        return self.seconds is not None and (self.status or "").startswith("Done")


def run_sessions(
    browser, base_url: str, settings: list[Settings], check: int = 0, timeout_s: float = 300
) -> list[SessionResult]:
    """Open one context per settings at once, press Train in each, wait for all to finish; read `check` traces."""
    results = [SessionResult(s) for s in settings]
    contexts, pages = [], []
    try:
        for result in results:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            # Bind this session's error list now: a closure over the loop variable would see the last one.
            page.on("pageerror", lambda error, errors=result.errors: errors.append(f"page error: {error}"))
            page.on(
                "console",
                lambda message, errors=result.errors: (
                    message.type == "error" and errors.append(f"console: {message.text}")
                ),
            )
            contexts.append(context)
            pages.append(page)
        # Start every load before waiting for any, so the sessions' first runs overlap as a class's would.
        for page, result in zip(pages, results, strict=True):
            page.goto(f"{base_url}/?{result.settings.query()}", wait_until="commit", timeout=timeout_s * 1000)
        deadline = time.monotonic() + timeout_s
        for page in pages:
            wait_for_app(page, max(1.0, deadline - time.monotonic()) * 1000)
            # On a cold server the idle marker can show before the first run has drawn anything: wait for Train.
            train = page.get_by_role("button", name="Train", exact=True)
            from playwright.sync_api import expect  # imported where used: importing harness needs no browser

            expect(train).to_be_enabled(timeout=max(1.0, deadline - time.monotonic()) * 1000)
        pending = set(range(len(pages)))
        for i, page in enumerate(pages):
            problem = page.evaluate(WATCH_JS)
            if problem:
                results[i].errors.append(problem)
                pending.discard(i)
        while pending and time.monotonic() < deadline:
            time.sleep(0.25)
            for i in sorted(pending):
                state = pages[i].evaluate(STATUS_JS) or {}
                results[i].status, results[i].waited = state.get("status"), bool(state.get("waited"))
                if state.get("done") is not None:
                    results[i].seconds = (state["done"] - state["pressed"]) / 1000
                    pending.discard(i)
                elif state.get("stalled"):
                    results[i].errors.append(
                        f"stalled: the script stopped while the status said {results[i].status!r} "
                        f"(a run started after Train: {state.get('started')}; polls disconnected: "
                        f"{state.get('disconnected')})"
                    )
                    pending.discard(i)
        for i, (page, result) in enumerate(zip(pages, results, strict=True)):
            result.checked = i < check
            result.served_by = served_by(page.context)
            if i in pending:
                result.errors.append(f"not finished after {timeout_s:.0f} s; last status: {result.status}")
                continue
            with contextlib.suppress(Exception):  # a page that will not settle is reported by its status
                wait_for_app(page, 30_000)
            result.errors += page.evaluate(ERRORS_JS)
            if i < check:
                result.losses = page.evaluate(LOSS_JS)
    finally:
        for context in contexts:
            with contextlib.suppress(Exception):
                context.close()
    return results


def served_by(context) -> str | None:
    """The app process the proxy keeps this browser context on, from its sticky cookie; None without a proxy."""
    return next((c["value"] for c in context.cookies() if c["name"] == SERVER_COOKIE), None)


def compare_histories(results: list[SessionResult]) -> list[tuple[Settings, bool, str]]:
    """For each session whose trace was read: (settings, equal to the core's history, a note)."""
    out = []
    for result in results:
        if not result.checked:
            continue
        if result.losses is None:
            out.append((result.settings, False, "no loss chart on the page"))
            continue
        expected = reference_losses(result.settings)
        if result.losses == expected:
            out.append((result.settings, True, f"{len(expected)} losses, bit-identical"))
            continue
        n = min(len(expected), len(result.losses))
        gap = max((abs(a - b) / abs(b) for a, b in zip(result.losses[:n], expected[:n], strict=True) if b), default=0)
        note = f"page {len(result.losses)} vs core {len(expected)} losses, largest relative gap {gap:.3g}"
        out.append((result.settings, False, note))
    return out
