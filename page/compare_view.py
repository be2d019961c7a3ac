"""The Compare stages tab: every stage from one start in float64, their curves, gaps and gradient check."""

from __future__ import annotations

from functools import partial

import streamlit as st

from page import state
from page.plot import Words, plot
from twolayer.charts.curves import compare_figure
from twolayer.serve.session import SlotPool
from twolayer.teach.compare import EXACTLY_EQUAL, FINITE_DIFFERENCES, MAX_EPOCHS, SAME_ARITHMETIC, compare_stages
from twolayer.teach.describe import curves_table, curves_words, gap_words
from twolayer.train.config import TrainConfig
from twolayer.train.stages import STAGES


def compare_tab(config: TrainConfig | None, data, pool: SlotPool) -> None:
    """The Compare stages tab."""
    st.markdown(
        "Trains every stage on the same data from the **same starting weights** in float64, without biases and "
        "with plain SGD for the optim stage, so that every stage does exactly the same arithmetic. "
        f"The curves should lie on top of each other (up to {MAX_EPOCHS:,} epochs)."
    )
    if st.button("Compare every stage", key="compare", disabled=config is None):
        with st.spinner(f"Training {len(STAGES)} stages..."), pool.slot(timeout=60) as acquired:
            if acquired:
                state.COMPARISON.set(compare_stages(config, data))
            else:
                st.warning("The server is busy training other runs; try again in a moment.")
    result = state.COMPARISON.get()
    if result is None:
        return
    c = result.config
    st.caption(
        f"Settings: hidden {c.hidden_size}, learning rate {c.learning_rate:g}, {c.epochs} epochs, seed {c.seed}. "
        "These curves start lower than the lecture's NumPy run: the shared start is nn.Linear's small uniform "
        "weights (±1/√fan-in), not the lecture's standard normal ones, so the same learning rate takes other steps."
    )
    left, right = st.columns(2)
    with left:
        what = "the curves lie on top of each other, so one colour hides the rest. " + curves_words(result.curves)
        words = Words("Loss by stage", what, partial(curves_table, result.curves))
        plot(st, compare_figure(result.curves, log_y=True, title="Loss by stage (same start)"), "compare-chart", words)
    with right:
        gaps = compare_figure(
            result.gap_curves, log_y=True, title="Relative gap to the NumPy stage", y_title="relative gap"
        )
        what = (
            f"each stage's |loss − numpy loss| / numpy loss per epoch; {EXACTLY_EQUAL:g} stands for exactly equal. "
            f"Below {SAME_ARITHMETIC:g} counts as the same arithmetic: float64 rounds each sum at ~1e-16. "
        )
        said = what + gap_words(result.gap_curves, SAME_ARITHMETIC)
        plot(st, gaps, "compare-gaps", Words("Relative gaps", said, partial(curves_table, result.gap_curves)))
    st.markdown("**Stages against the NumPy stage**")
    gap_format = st.column_config.NumberColumn(format="%.2e")
    st.dataframe(result.gaps, hide_index=True, column_config={"largest relative gap to numpy": gap_format})
    st.markdown("**Gradient check** (float64)")
    error = st.column_config.NumberColumn("max relative error", format="%.2e")
    st.dataframe(result.gradcheck, hide_index=True, column_config={"max_rel_error": error})
    st.caption(
        f"✓ when the hand-written gradients are within {SAME_ARITHMETIC:g} of autograd, and within "
        f"{FINITE_DIFFERENCES:g} of central finite differences, which carry an error of ~1e-7 from their step."
    )
