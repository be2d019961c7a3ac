"""The "Inside a step" tab: every line of the step the run takes next, with the real values it produced.

Read top to bottom: the tab (which state shows what), the recording (made once per run and epoch), the scrubber and
the highlighted code, then the hidden units over the run. page/step_values.py draws the highlighted line's values.
"""

from __future__ import annotations

import inspect
import logging
import weakref
from functools import partial

import streamlit as st
import torch

from page.plot import Words, plot
from page.state import STEP_LINE, STEP_RECORDED, STEP_SLIDER
from page.state_types import Recorded
from page.step_values import inputs_table, line_values
from twolayer.charts import step as step_charts
from twolayer.serve.session import TrainingSession
from twolayer.teach.code_html import code_html
from twolayer.teach.describe_net import firing_table, firing_words
from twolayer.teach.step_record import RecordedLine, record_next_step
from twolayer.train.stages.phases import PHASES
from twolayer.train.state import RunState
from twolayer.train.trainer import Trainer

log = logging.getLogger("twolayer")
# Okabe-Ito colours, one per phase, in the order a step runs them.
PHASE_COLOURS = dict(zip(PHASES, ("#0072B2", "#E69F00", "#D55E00", "#009E73"), strict=True))
LEGEND_CSS = """<style>
.tl-legend { font-size: 0.85rem; margin: 0.2rem 0 0.4rem; white-space: nowrap; }
.tl-chip { display: inline-block; width: 0.9rem; height: 0.9rem; vertical-align: -0.12rem; margin: 0 0.25rem 0 0.6rem; }
</style>"""


def step_tab(sess: TrainingSession) -> None:
    """Draw the tab for the session's run: nothing heavy while it trains, the recorded step when it stands still."""
    if sess.trainer is None:
        # Hints of an empty tab are plain text, as in the other tabs: never mistaken for a problem.
        st.markdown("Press **Train** or **Step** first: this tab then shows every line of the next training step.")
        return
    if sess.state is RunState.RUNNING:
        st.markdown("Training is running. Press **Pause** (or wait until it is done) to look inside the next step.")
        return
    try:
        recorded = _recorded(sess)
        if recorded is not None:
            _draw(recorded)
    except Exception:
        # The tabs after this one and the training view are drawn after it: a bug here must not take them down.
        log.exception("the Inside a step tab failed")
        st.error("Something went wrong while showing the step; the error was logged. The other tabs still work.")


# --- the recording: made once per run and epoch, on a copy of the run ---


def _recorded(sess: TrainingSession) -> Recorded | None:
    """The next step of the session's run, recorded the first time it is asked for at this epoch, then cached."""
    with sess.lock:  # a slice of another script run must not step the run while it is copied
        trainer = sess.trainer
        if trainer is None:
            return None
        key = (id(trainer), trainer.epoch, trainer.status)
        cached = STEP_RECORDED.get()
        if cached is not None and cached.key == key and cached.run() is trainer:
            return cached
        recorded = _record(trainer, key)
    STEP_RECORDED.set(recorded)  # only the latest: an old step is never shown again
    return recorded


def _record(trainer: Trainer, key: tuple[int, int, RunState]) -> Recorded:
    """Record the run's next step and read its hidden units' history (the run is left unchanged)."""
    recording = record_next_step(trainer)
    source, first_lineno = inspect.getsourcelines(trainer.stage.train_step)
    epochs, rates = trainer.firing_history()
    return Recorded(
        run=weakref.ref(trainer),
        key=key,
        recording=recording,
        source=[line.rstrip("\n") for line in source],
        first_lineno=first_lineno,
        next_epoch=trainer.epoch + 1,
        minibatch=len(trainer.data.x_train) > trainer.config.batch_size,
        status=trainer.status,
        relu_inputs=_relu_inputs(getattr(trainer.stage, "model", None)),
        firing=(epochs, rates),
        dead=trainer.dead_units(),
        hidden=rates.shape[0],
    )


def _relu_inputs(model: torch.nn.Module | None) -> dict[str, str]:
    """For each ReLU layer of a Sequential model, the recorded name of its output and of its input."""
    if model is None:
        return {}
    names = [name for name, _ in model.named_children()]
    return {
        f"model.{name}": f"model.{names[i - 1]}"
        for i, (name, layer) in enumerate(model.named_children())
        if isinstance(layer, torch.nn.ReLU) and i > 0
    }


# --- the tab's layout ---


def _draw(recorded: Recorded) -> None:
    """The intro, the code with its scrubber beside the highlighted line's values, then the hidden units."""
    recording = recorded.recording
    st.markdown(_intro(recorded))
    if not recording.finite:
        # Plain text: the Training tab already shows the divergence as an error, with its explanation.
        st.markdown(
            f"**The loss of this step overflowed** ({recording.loss}): the step returns before its backward pass, "
            "so the recording ends at the loss."
        )
    index = _scrubber(len(recording.lines))
    line = recording.lines[index]
    code_col, values_col = st.columns([6, 5], gap="medium")
    with code_col:
        st.html(_code_html(recorded, line))
        st.caption(
            "The stage's own train_step. The lines it ran are numbered in the order they ran, with their phase as a "
            "coloured margin; the highlighted one is the line whose values are shown. Grey lines made no value."
        )
        inputs_table(recording)
    with values_col, st.container(key="step_values"):
        line_values(recording, line, index, recorded.relu_inputs)
    st.divider()
    _hidden_units(recorded)


def _intro(recorded: Recorded) -> str:
    """One sentence on which step this is, and that recording it changed nothing."""
    step = f"{'the first mini-batch of ' if recorded.minibatch else ''}epoch {recorded.next_epoch}"
    if recorded.status.finished:
        start = f"The run is {recorded.status}; this is the step it would take next ({step})"
    else:
        start = f"The step the run takes next ({step})"
    return f"{start}, run on a copy of the run: training itself is unchanged."


def _scrubber(count: int) -> int:
    """A slider over the recorded lines with Previous and Next buttons; returns the highlighted line's index."""
    index = min(max(STEP_LINE.get(), 0), count - 1)
    STEP_LINE.set(index)
    if count < 2:
        return index
    STEP_SLIDER.set(index + 1)  # set before the slider is drawn, so buttons and a new step move it
    slider, back, forward = st.columns([3, 1, 1], vertical_alignment="bottom")
    slider.slider(
        "Line of the step, in the order the lines ran",
        min_value=1,
        max_value=count,
        step=1,
        format=f"%d of {count}",
        key=STEP_SLIDER.name,
        on_change=lambda: STEP_LINE.set(STEP_SLIDER.get() - 1),
    )
    back.button("◀ Previous", key="step_prev", disabled=index == 0, on_click=_move, args=(-1, count), width="stretch")
    forward.button(
        "Next ▶", key="step_next", disabled=index == count - 1, on_click=_move, args=(1, count), width="stretch"
    )
    st.caption("Or click the slider and walk the lines with the ← and → keys.")
    return index


def _move(delta: int, count: int) -> None:
    STEP_LINE.set(min(max(STEP_LINE.get() + delta, 0), count - 1))


def _code_html(recorded: Recorded, current: RecordedLine) -> str:
    """The train_step source as HTML: recorded lines numbered in run order with their phase, the current highlighted."""
    order = {line.lineno: (i + 1, line.phase) for i, line in enumerate(recorded.recording.lines)}
    marks = {
        lineno - recorded.first_lineno: (str(number), PHASE_COLOURS[phase]) for lineno, (number, phase) in order.items()
    }
    legend = "".join(
        f'<span class="tl-chip" style="background: {colour}"></span>{phase}' for phase, colour in PHASE_COLOURS.items()
    )
    label = f"Source of train_step; line {order[current.lineno][0]} of the step highlighted ({current.phase})"
    source = "\n".join(recorded.source)
    return f'{LEGEND_CSS}<div class="tl-legend">Phase:{legend}</div>' + code_html(
        source, label, marks, current.lineno - recorded.first_lineno
    )


# --- the hidden units over the run ---


def _hidden_units(recorded: Recorded) -> None:
    """Each hidden unit's firing rate over the run, and how many units are dead now."""
    st.markdown("#### Hidden units")
    epochs, rates = recorded.firing
    chart_col, count_col = st.columns([3, 1], gap="medium")
    with chart_col:
        shown = len(step_charts.units_shown(recorded.hidden))
        what = (
            "each row is one hidden unit, each column an epoch at which the run recorded it; the colour is the share "
            "of training rows (a fixed sample) on which the unit fires (h > 0). A dark row is a unit that stopped "
            "firing."
            + ("" if shown == recorded.hidden else f" {shown} of the {recorded.hidden} units are shown, evenly spaced.")
        )
        words = Words(
            "Hidden units firing", f"{what} {firing_words(epochs, rates)}", partial(firing_table, epochs, rates)
        )
        plot(st, step_charts.firing_figure(epochs, rates), "step-firing", words)
    with count_col:
        st.metric(f"Dead hidden units now, of {recorded.hidden}", recorded.dead)
        st.caption(
            "A dead ReLU is a hidden unit whose input h is at most 0 on every training row. Its output is always 0 "
            "and the ReLU blocks its gradient everywhere, so its weights never change again: it cannot come back "
            "by itself. Too large a learning rate often kills units."
        )
