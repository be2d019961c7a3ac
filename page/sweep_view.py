"""The Sweep tab: one setting at several values, trained side by side from the same seed and data."""

from __future__ import annotations

import time
from functools import partial

import streamlit as st

from page.plot import Words, plot
from page.state import SWEEP_ERROR, SWEEP_KEY, SWEEP_RUN, SWEEP_VALUES
from page.state_types import SweepRun
from twolayer.charts.curves import sweep_figure
from twolayer.cli.sweep import COLUMNS, table_rows
from twolayer.data.dataset import Dataset
from twolayer.serve.session import SlotPool
from twolayer.teach.describe import curves_table, curves_words
from twolayer.teach.sweep import Sweep
from twolayer.teach.sweep_spec import (
    MAX_VALUES,
    MIN_VALUES,
    VARIABLE,
    SweepError,
    format_value,
    link_text,
    sweep_configs,
)
from twolayer.train.config import BY_KEY, TrainConfig

SLICE_SECONDS = 0.1  # work between two chances to react to Stop, as for a single run
FRAME_SECONDS = 0.4  # the sweep's chart holds up to twelve curves: redrawn whole, a little less often
# Values a learner can try at once for each setting: a spread where the differences show.
SUGGESTED = {
    "lr": "1e-4, 1e-3, 1e-2",
    "hidden": "10, 100, 400",
    "batch": "16, 64, 256",
    "epochs": "20, 100, 500",
    "stage": "numpy, tensor, autograd, nn, optim",
    "optimizer": "sgd, momentum, rmsprop, adam",
    "init": "lecture, shared",
    "dtype": "float32, float64",
}


def label(key: str) -> str:
    """A sweep key as the page names it: the setting's control label."""
    control = BY_KEY[key].control
    return control.label if control else key


def sweep_tab(config: TrainConfig | None, data: Dataset | None, lr_chosen: bool) -> dict:
    """The controls, then the chart, progress and table of the session's sweep; returns the places the loop fills."""
    st.markdown(
        "Try one setting at several values at once. Every value starts from the same seed, data and settings "
        "(the sidebar's), so the curves differ only by that value."
    )
    pick, values, go_col = st.columns([2, 3, 2], vertical_alignment="bottom")
    key = pick.selectbox("Setting to vary", VARIABLE, format_func=label, key=SWEEP_KEY.name, on_change=_suggest)
    if SWEEP_VALUES.get() is None:
        SWEEP_VALUES.set(SUGGESTED[key])
    values.text_input(
        f"Values, {MIN_VALUES} to {MAX_VALUES}, separated by commas",
        key=SWEEP_VALUES.name,
        help=f"For example {SUGGESTED[key]}.",
    )
    run = SWEEP_RUN.get()
    button = go_col.empty()  # one place for Train sweep or Stop sweep, so the one replaces the other
    if run is not None and run.playing:
        button.button("Stop sweep", on_click=_stop, width="stretch")
    else:
        button.button(
            "Train sweep",
            type="primary",
            disabled=config is None,
            on_click=_start,
            args=(config, data, lr_chosen),
            width="stretch",
        )
    if error := SWEEP_ERROR.pop():
        st.error(error)
    places = {"status": st.empty(), "chart": st.empty(), "best": st.empty(), "table": st.empty()}
    if run is not None:
        draw(places, run, frame=0)
    return places


def _suggest() -> None:
    """A newly chosen setting brings values worth trying for it."""
    SWEEP_VALUES.set(SUGGESTED[SWEEP_KEY.get()])


def _start(config: TrainConfig, data: Dataset | None, lr_chosen: bool) -> None:
    """Build the sweep from the controls; a bad value is reported and nothing starts."""
    key = SWEEP_KEY.get()
    texts = [text.strip() for text in SWEEP_VALUES.get().split(",") if text.strip()]
    base = config.to_dict()
    if key in ("stage", "init") and not lr_chosen:
        base["learning_rate"] = None  # each value brings its lecture learning rate, as the sidebar would
    if key == "stage":
        base["bias"] = None  # the hand-written stages have none, nn and optim have nn.Linear's
    try:
        sweep = Sweep(key, sweep_configs(key, texts, base), data)
    except (SweepError, ValueError) as error:
        SWEEP_ERROR.set(f"The sweep cannot start: {error}")
        return
    SWEEP_RUN.set(SweepRun(sweep, link_text(key, sweep.values)))


def _stop() -> None:
    run = SWEEP_RUN.get()
    if run is not None:
        with run.lock:
            run.playing = False


def sweep_loop(pool: SlotPool, places: dict) -> bool:
    """Train the session's sweep in slices inside one training slot, redrawing a few times a second; True if it ran."""
    run = SWEEP_RUN.get()
    trained, frame, last_draw = False, 0, time.perf_counter()
    while run is not None and run.playing and not run.sweep.finished:
        trained = True
        # One slot, like a single run: a student's sweep never holds more of the server than anyone else's run.
        with pool.slot(timeout=SLICE_SECONDS) as acquired:
            if acquired:
                with run.lock:
                    if run.playing:
                        run.sweep.advance(SLICE_SECONDS)
        if not acquired:
            places["status"].info(
                f"Waiting for a free training slot: {pool.size} runs are training on this server right now. "
                "The sweep trains as one run, its values in turns, and continues as soon as a slot frees up."
            )
            continue
        if time.perf_counter() - last_draw >= FRAME_SECONDS or run.sweep.finished:
            frame += 1
            last_draw = time.perf_counter()
            draw(places, run, frame)
    if run is not None and run.sweep.finished and run.playing:
        run.playing = False
    return trained


def draw(places: dict, run: SweepRun, frame: int) -> None:
    """The sweep's progress line, its chart, the best value once all finished, and the table."""
    with run.lock:
        sweep = run.sweep
        state = "Done" if sweep.finished else "Training" if run.playing else "Stopped"
        places["status"].markdown(
            f"**{state}** · sweep of {label(sweep.key).lower()} over {len(sweep.values)} values · "
            f"{sweep.epochs_done:,} of {sweep.epochs_total:,} epochs in all"
        )
        figure, words = _chart(sweep)
        plot(places["chart"], figure, f"sweep-{frame}", words)
        if sweep.finished and (best := sweep.best()):
            places["best"].success(best)
        rows = table_rows(sweep.outcomes())
        places["table"].dataframe(
            [dict(zip(COLUMNS, row, strict=True)) for row in rows], hide_index=True, width="stretch"
        )


def _chart(sweep: Sweep):
    """The chart of every value's loss, per example with test curves when the data has a test split."""
    runs, curves = [], {}
    labelled = sweep.trainers[0].data.has_test
    for value, trainer in zip(sweep.values, sweep.trainers, strict=True):
        epochs, losses = trainer.loss_curve()
        evals = trainer.evaluations()
        test = None
        if labelled and len(evals.get("epoch", ())):
            test = (evals["epoch"], evals["test_loss_per_example"])
        scale = 1 / len(trainer.data.x_train) if labelled else 1.0
        runs.append((f"{sweep.key}={format_value(value)}", (epochs, losses * scale), test))
        curves[runs[-1][0]] = runs[-1][1]
    unit = "loss per example" if labelled else "loss (sum of squared errors)"
    figure = sweep_figure(runs, unit=unit)
    what = f"each value's training loss ({unit}) in its own colour" + (
        ", its test loss dotted in the same colour." if labelled else "."
    )
    return figure, Words(
        "Sweep chart", f"{what} {curves_words(curves, 'training loss')}", partial(curves_table, curves)
    )
