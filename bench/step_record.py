"""Section 8: the "Inside a step" tab, recording the run's next step and drawing a line of it, and training beside it.

`python -m bench.step_record [--quick]` runs it alone and prints its tables; `python -m bench` records them in
BENCHMARKS.md with the other sections.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from streamlit.testing.v1 import AppTest

from bench.report import Section, print_sections, with_threads
from bench.timing import interleaved, median, paired_ratio, verdict
from page import step_view
from page.state import STEP_LINE
from twolayer import TrainConfig, Trainer
from twolayer.train.config import STAGES

THREADS = 1  # torch and BLAS threads: the server's own setting (TWOLAYER_THREADS), so the tab is timed as it runs
TARGET = 0.2  # seconds to record a step and draw its costliest line, at most
REPEATS, QUICK_REPEATS = 15, 3  # counted rounds, after one uncounted warm-up round
# Training beside recording: rounds of this many epochs in a run long enough for every round.
SPEED_EPOCHS, QUICK_SPEED_EPOCHS = 200, 20
SPEED_TARGET = 0.05  # recorded / never-recorded CPU seconds per epoch, at most this far from 1


@dataclass
class TabCost:
    """Seconds to record one step and to draw the tab at each of its lines, over the counted rounds."""

    record: list[float]
    draws: list[list[float]]  # per line, in the order the lines ran
    sources: list[str]  # each line's code

    @property
    def costliest(self) -> int:
        """The line whose median draw takes longest."""
        return int(np.argmax([median(times) for times in self.draws]))


def tab_script(stage: str, threads: int) -> None:
    """A page of the tab alone: each run records the next step of a lecture-size run of `stage` (after its first
    epoch) and draws the tab at the line session state holds, as the page does, and keeps the two times."""
    import time

    import streamlit as st
    import torch

    from page import step_view
    from twolayer import TrainConfig, Trainer

    torch.set_num_threads(threads)  # the script's own thread, pinned as the server pins each script run's
    if "bench_trainer" not in st.session_state:
        st.session_state.bench_trainer = Trainer(TrainConfig(stage=stage))
        st.session_state.bench_trainer.advance(1)  # the tab records once a run has stepped
    trainer = st.session_state.bench_trainer
    start = time.perf_counter()
    recorded = step_view._record(trainer, (id(trainer), trainer.epoch, trainer.status))
    recorded_at = time.perf_counter()
    step_view._draw(recorded)
    st.session_state.bench_times = recorded_at - start, time.perf_counter() - recorded_at
    st.session_state.bench_sources = [line.source for line in recorded.recording.lines]


def _outside_a_script_run(record: logging.LogRecord) -> bool:
    """False for Streamlit's warning that a call came from outside a script run."""
    return "missing ScriptRunContext" not in record.getMessage()


def tab_cost(stage: str, repeats: int) -> TabCost:
    """The tab's two costs for `stage` in a script run as the server runs it (AppTest): `_record` (once per run and
    epoch in the page) and `_draw` at every line (every rerun), in rounds of one script run per line, after one
    uncounted round (lazy imports, the first figure of each kind)."""
    # AppTest sets up its session from this thread, outside any script run, and Streamlit warns at each such call.
    context_log = logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context")
    if _outside_a_script_run not in context_log.filters:
        context_log.addFilter(_outside_a_script_run)
    app = AppTest.from_function(tab_script, args=(stage, THREADS), default_timeout=120)
    lines = len(_run(app, 0)[2])
    record: list[float] = []
    draws: list[list[float]] = [[] for _ in range(lines)]
    for round_ in range(1 + repeats):
        for index in range(lines):
            seconds, drawn, sources = _run(app, index)
            if round_:
                record.append(seconds)
                draws[index].append(drawn)
    return TabCost(record, draws, sources)


def _run(app: AppTest, index: int) -> tuple[float, float, list[str]]:
    """One script run of the tab at line `index`: seconds to record, seconds to draw, and the lines' code."""
    app.session_state[STEP_LINE.name] = index  # the scrubber's line, as a click on Next sets it
    app.run()
    if app.exception:
        raise RuntimeError(f"the tab failed: {app.exception}")
    return *app.session_state["bench_times"], app.session_state["bench_sources"]


@dataclass
class Speed:
    """Training seconds per epoch of a run the tab never recorded and of one it recorded, and what the two ran."""

    never: float
    recorded: float
    ratio: float  # recorded / never, wall time
    cpu_ratio: float  # the same in CPU seconds of the process
    identical: bool  # loss histories and weights


def training_speed(stage: str, epochs: int, repeats: int) -> Speed:
    """Seconds per epoch of `Trainer.advance(epochs)` in two runs of one config, one of which the tab records before
    every round (outside the clock) and one never; interleaved rounds, after one uncounted round."""
    cfg = TrainConfig(stage=stage, epochs=(2 + repeats) * epochs)  # a round to spare: no round ends the run
    runs = {"never": Trainer(cfg), "recorded": Trainer(cfg)}
    for trainer in runs.values():
        trainer.advance(1)  # the tab records once a run has stepped
    # CPU time: unlike wall time, barely moved by other programs while torch runs one thread.
    cpu: dict[str, list[float]] = {name: [] for name in runs}

    def case(name: str):
        trainer = runs[name]

        def advance() -> float:
            if name == "recorded":
                step_view._record(trainer, (id(trainer), trainer.epoch, trainer.status))
            start, start_cpu = time.perf_counter(), time.process_time()
            trainer.advance(epochs)
            cpu[name].append(time.process_time() - start_cpu)
            return (time.perf_counter() - start) / epochs

        return advance

    times = interleaved({name: case(name) for name in runs}, repeats)
    never, recorded = runs["never"], runs["recorded"]
    a, b = never.weights(), recorded.weights()
    return Speed(
        never=median(times["never"]),
        recorded=median(times["recorded"]),
        ratio=paired_ratio(times["recorded"], times["never"]),
        cpu_ratio=paired_ratio(cpu["recorded"][-repeats:], cpu["never"][-repeats:]),  # the warm-up round left out
        identical=never.history.column("loss") == recorded.history.column("loss")
        and all(np.array_equal(a[name], b[name]) for name in a),
    )


def tab_section(costs: dict[str, TabCost], repeats: int) -> Section:
    section = Section(
        "8a. Inside a step: record and draw",
        "Each stage at lecture size (N=64, D_in=1000, H=100, D_out=10, float32) after its first epoch, at the "
        f"server's {THREADS} torch and BLAS thread, in one warm process, timed inside script runs of the tab alone "
        "(Streamlit's AppTest, which runs a script as the server does), each recording the step and drawing the tab "
        "at one line as the page does after a Step. Record: the tab's `_record` (a copy of the run steps once under "
        "the line tracer; the hidden units' history is read). Draw: the tab's `_draw`: the code view, the line's "
        "values with their figures (serialised as `st.plotly_chart` does), the table of inputs and the hidden "
        "units' heatmap; not the websocket or the browser. Median (and most) of "
        f"{repeats} rounds of one script run per line, after an uncounted round. Line 1 is where a first recording "
        "opens; the costliest line is the one whose median draw is the longest. Target: record + costliest draw "
        f"< {TARGET:g} s.",
        [
            "stage",
            "lines",
            "record ms",
            "draw line 1 ms",
            "costliest line",
            "draw ms",
            "record + line 1 ms",
            "record + costliest ms",
            "target ms",
            "result",
        ],
    )
    for stage, cost in costs.items():
        worst = cost.costliest
        record, first, costliest = median(cost.record), median(cost.draws[0]), median(cost.draws[worst])
        section.rows.append(
            [
                stage,
                str(len(cost.draws)),
                f"{record * 1e3:.0f} ({max(cost.record) * 1e3:.0f})",
                f"{first * 1e3:.0f} ({max(cost.draws[0]) * 1e3:.0f})",
                f"{worst + 1}: `{cost.sources[worst]}`",
                f"{costliest * 1e3:.0f} ({max(cost.draws[worst]) * 1e3:.0f})",
                f"{(record + first) * 1e3:.0f}",
                f"{(record + costliest) * 1e3:.0f}",
                f"< {TARGET * 1e3:.0f}",
                verdict(record + costliest < TARGET),
            ]
        )
    return section


def speed_section(speeds: dict[str, Speed], epochs: int, repeats: int) -> Section:
    section = Section(
        "8b. Training beside a recorded step",
        f"Two lecture-size runs of one config per stage (float32, {THREADS} thread): `Trainer.advance({epochs})` per "
        "round, one run recorded by the tab's `_record` before every round (outside the clock), the other never; "
        f"median of {repeats} interleaved rounds after an uncounted one, and the median of the per-round ratios, in "
        "wall time and in CPU seconds of the process (which other programs barely move at one thread). The two "
        "runs' loss histories and weights are compared for exact equality. "
        f"Target: CPU recorded/never within {SPEED_TARGET:g} of 1, and bit-identical.",
        [
            "stage",
            "never ms/epoch",
            "recorded ms/epoch",
            "recorded/never",
            "CPU recorded/never",
            "runs",
            "target",
            "result",
        ],
    )
    for stage, s in speeds.items():
        section.rows.append(
            [
                stage,
                f"{s.never * 1e3:.3f}",
                f"{s.recorded * 1e3:.3f}",
                f"{s.ratio:.3f}",
                f"{s.cpu_ratio:.3f}",
                "identical" if s.identical else "DIFFERENT",
                f"1 ± {SPEED_TARGET:g}, identical",
                verdict(abs(s.cpu_ratio - 1) <= SPEED_TARGET and s.identical),
            ]
        )
    return section


def measure(quick: bool = False, stages: Sequence[str] = STAGES) -> list[Section]:
    """The two tables: run with THREADS torch and BLAS threads already set."""
    repeats = QUICK_REPEATS if quick else REPEATS
    epochs = QUICK_SPEED_EPOCHS if quick else SPEED_EPOCHS
    costs = {stage: tab_cost(stage, repeats) for stage in stages}
    speeds = {stage: training_speed(stage, epochs, repeats) for stage in stages}
    return [tab_section(costs, repeats), speed_section(speeds, epochs, repeats)]


def run(quick: bool = False) -> list[Section]:
    """The section(s) with THREADS torch and BLAS threads for their duration."""
    return with_threads(THREADS, measure, quick)


def main(argv: list[str] | None = None) -> None:
    """Run the section(s) alone and print their tables."""
    print_sections("step_record", __doc__, "fewer rounds, shorter training rounds", run, argv)


if __name__ == "__main__":
    main()
