"""The Run history tab: this browser's finished and reset runs, overlaid, each curve to download."""

from __future__ import annotations

from functools import partial

import streamlit as st

from page import state
from page.plot import Words, plot
from twolayer.charts.curves import compare_figure
from twolayer.serve.session import TrainingSession
from twolayer.teach.describe import curves_table, curves_words
from twolayer.train import export


def history_tab(sess: TrainingSession) -> None:
    """This browser session's finished and reset runs: a table, an overlay, and each run's curve to download."""
    if not sess.runs:
        st.info("Finished and reset runs of this browser session appear here, to overlay and compare.")
        return
    rows = [
        {
            "run": r.label,
            "status": r.outcome,
            "epochs": r.epochs_completed,
            "final loss": r.losses[-1] if r.losses else None,
        }
        for r in sess.runs
    ]
    loss = st.column_config.NumberColumn("final loss", format="%.3e")
    st.dataframe(rows, hide_index=True, column_config={"final loss": loss})
    chosen = st.multiselect("Overlay runs", [r.label for r in sess.runs], default=[r.label for r in sess.runs])
    curves = {r.label: (r.epochs, r.losses) for r in sess.runs if r.label in chosen}
    what = "the loss curves of the chosen runs, one colour each. " + (
        curves_words(curves) if curves else "None chosen."
    )
    words = Words("Run history chart", what, partial(curves_table, curves))
    plot(st, compare_figure(curves, log_y=state.LOG_LOSS.get()), "history", words)
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    pick = left.selectbox("A past run's loss curve", range(len(sess.runs)), format_func=lambda i: sess.runs[i].label)
    run = sess.runs[pick]
    right.download_button(
        "Download (CSV)", export.past_run_csv(run), f"{export.file_stem(run)}-run{pick + 1}.csv", "text/csv"
    )
    st.button("Clear run history", key="clear_runs", on_click=sess.clear_runs)
