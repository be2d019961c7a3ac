"""The page's Streamlit panels: each draws one part of a run into the container it is given."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import streamlit as st

from twolayer import charts
from twolayer.config import STAGES, TrainConfig
from twolayer.gradcheck import gradient_check
from twolayer.session import SlotPool, TrainingSession
from twolayer.trainer import Trainer, make_dataset

PLOTLY_CONFIG = {"displaylogo": False}
# Code a little smaller than prose, so a stage's lines fit half the page without wrapping.
PAGE_CSS = "<style>[data-testid='stCode'] code { font-size: 0.8rem; }</style>"
# Presenter mode: everything larger, for the back of a lecture hall.
PRESENTER_CSS = "<style>html { font-size: 22px; } [data-testid='stCode'] code { font-size: 0.85rem; }</style>"
COMPARE_MAX_EPOCHS = 2000  # five runs on one click: keep the wait short


def plot(container, figure, key: str) -> None:
    # theme=None: the figures carry their own projection-ready styling.
    container.plotly_chart(figure, key=key, config=PLOTLY_CONFIG, theme=None)


def status_line(container, sess: TrainingSession, trainer: Trainer | None) -> None:
    """Epoch k of E, current loss, time per epoch and the state, in one line."""
    if trainer is None or trainer.epoch == 0:
        hint = "starting…" if sess.playing else "press Train to start, or Step for one epoch."
        container.markdown(f"**{sess.state.capitalize()}**: {hint}")
        return
    losses = trainer.history.columns["loss"]
    per_epoch = 1000 * trainer.train_seconds / max(trainer.epoch, 1)
    container.markdown(
        f"**{sess.state.capitalize()}** · epoch **{trainer.epoch}** of {trainer.config.epochs} · "
        f"loss **{losses[-1]:.4g}** · {per_epoch:.3g} ms per epoch · device {trainer.device}"
    )


def loss_panel(container, trainer: Trainer | None, log_y: bool, key: str) -> None:
    """The loss curve; per example with a test curve when the data has a test split."""
    if trainer is None or not len(trainer.history):
        plot(container, charts.loss_figure([], [], log_y=log_y, title="Loss (sum of squared errors)"), key)
        return
    epochs, losses = trainer.history.columns["epoch"], trainer.history.columns["loss"]
    if trainer.data.has_test and len(trainer.evals):
        n = len(trainer.data.x_train)
        per_example = np.array(losses) / n  # a copy: a view would pin the column's buffer
        test = (trainer.evals.columns["epoch"], trainer.evals.columns["test_loss_per_example"])
        figure = charts.loss_figure(epochs, per_example, test=test, log_y=log_y, title="Loss per example")
    else:
        figure = charts.loss_figure(epochs, losses, log_y=log_y, title="Loss (sum of squared errors)")
    plot(container, figure, key)


def diverged_box(container, trainer: Trainer) -> None:
    container.error("**The loss exploded.** " + trainer.hint, icon="💥")


def histogram_panel(container, trainer: Trainer, kind: str, name: str, view: str, key: str) -> None:
    """One layer's weight (or gradient) histogram: `view` "now", or "over time" for how it moved over the run."""
    prefix = "" if kind == "weights" else "grad_"
    label = f"{'∂L/∂' if prefix else ''}{name.upper()}"
    array = trainer.histogram_arrays().get(prefix + name)
    if array is None:
        if view == "now":
            container.caption(f"{label}: no gradient yet; take a step first.")
        else:
            container.empty()
        return
    hist = trainer.histograms
    now = hist.counts({prefix + name: array})[prefix + name]  # fixes the edges when first seen
    edges = hist.edges[prefix + name]
    if view == "now":
        plot(container, charts.histogram_figure(edges, now, title=f"{label} now"), key)
    else:
        over_time = charts.snapshots_for(hist.snapshots, prefix + name)
        plot(container, charts.histogram_over_time_figure(edges, over_time, title=f"{label} over epochs"), key)


def norm_panel(container, trainer: Trainer, view: str, key: str) -> None:
    """Per layer, the `view` "gradient norms" or "update ratios" (each update's size relative to the weights)."""
    stats = trainer.stats
    if not len(stats):
        return
    layers = [name for name in ("w1", "w2", "b1", "b2") if f"grad_norm_{name}" in stats.columns]
    epochs = stats.columns["epoch"]
    if view == "gradient norms":
        grads = {name.upper(): stats.columns[f"grad_norm_{name}"] for name in layers}
        plot(container, charts.norms_figure(epochs, grads), key)
    else:
        ratios = {name.upper(): stats.columns[f"update_ratio_{name}"] for name in layers}
        plot(container, charts.update_ratio_figure(epochs, ratios), key)


def label_panels(container, trainer: Trainer, key: str) -> None:
    """Views that need labels: accuracy, confusion matrix, hidden units as images, predictions."""
    data = trainer.data
    with container.container():
        left, right = st.columns(2)
        evals = trainer.evals
        if len(evals):
            test = evals.columns.get("test_accuracy")
            plot(
                left,
                charts.accuracy_figure(evals.columns["epoch"], evals.columns["train_accuracy"], test),
                f"{key}-acc",
            )
        x, labels = (data.x_test, data.labels_test) if data.has_test else (data.x_train, data.labels_train)
        predicted = trainer.predict(x).argmax(axis=1)
        plot(right, charts.confusion_matrix_figure(labels, predicted, data.output_size), f"{key}-confusion")
        if data.image_shape:
            left, right = st.columns(2)
            plot(left, charts.weight_images_figure(trainer.weights()["w1"], data.image_shape), f"{key}-units")
            plot(right, charts.predictions_figure(x, data.image_shape, labels, predicted), f"{key}-predictions")


def history_csv(trainer: Trainer) -> str:
    """The run's per-epoch records as CSV text, one row per epoch."""
    records = trainer.records()
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(dict.fromkeys(k for row in records for k in row)))
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue()


def weights_npz(trainer: Trainer) -> bytes:
    out = io.BytesIO()
    np.savez(out, **trainer.weights())
    return out.getvalue()


def downloads(sess: TrainingSession) -> None:
    """History as CSV and JSON, weights as .npz; each built only when clicked, from a consistent run."""
    trainer = sess.trainer
    name = f"twolayer-{trainer.config.stage}-seed{trainer.config.seed}"

    def locked(build):
        def data():
            with sess.lock:
                return build(trainer)

        return data

    files = [
        ("History (CSV)", history_csv, "csv", "text/csv"),
        ("History (JSON)", lambda t: json.dumps(t.summary(), indent=1), "json", "application/json"),
        ("Weights (.npz)", weights_npz, "npz", "application/octet-stream"),
    ]
    for column, (label, build, ext, mime) in zip(st.columns(3), files, strict=True):
        column.download_button(label, locked(build), f"{name}.{ext}", mime, key=f"download_{ext}", on_click="ignore")


def comparison_configs(config: TrainConfig) -> dict[str, TrainConfig]:
    """One config per stage that computes exactly the same thing: shared start, float64, no bias, plain SGD."""
    base = config.replace(
        init="shared", dtype="float64", optimizer="sgd", epochs=min(config.epochs, COMPARE_MAX_EPOCHS)
    )
    return {stage: base.replace(stage=stage, bias=False, learning_rate=config.learning_rate) for stage in STAGES}


def run_comparison(config: TrainConfig, data) -> dict:
    """Train every stage from the same start; their curves, their largest gaps and the gradient check."""
    configs = comparison_configs(config)
    data = data if data is not None else make_dataset(configs["numpy"])
    curves, statuses = {}, {}
    for stage, stage_config in configs.items():
        trainer = Trainer(stage_config, data=data)
        trainer.advance(stage_config.epochs)
        curves[stage] = (trainer.history.column("epoch"), trainer.history.column("loss"))
        statuses[stage] = trainer.status
    reference = np.array(curves["numpy"][1])
    gaps = []
    for stage in STAGES[1:]:
        losses = np.array(curves[stage][1])
        n = min(len(losses), len(reference))
        gap = float(np.max(np.abs(losses[:n] - reference[:n]) / np.abs(reference[:n]))) if n else float("nan")
        gaps.append(
            {
                "stage": stage,
                "vs": "numpy",
                "epochs compared": n,
                "largest relative gap": gap,
                "status": statuses[stage],
            }
        )
    start = Trainer(configs["numpy"], data=data).initial_weights
    rows = min(len(data.x_train), 256)  # finite differences: a few hundred rows are plenty
    check = gradient_check(data.x_train[:rows], data.y_train[:rows], start["w1"], start["w2"])
    return {"config": configs["numpy"], "curves": curves, "gaps": gaps, "gradcheck": check}


def compare_stages(config: TrainConfig | None, data, pool: SlotPool) -> None:
    """The Compare stages tab."""
    st.markdown(
        "Trains all five stages on the same data from the **same starting weights** in float64, without biases and "
        "with plain SGD for the optim stage, so that every stage does exactly the same arithmetic. "
        f"The curves should lie on top of each other (up to {COMPARE_MAX_EPOCHS:,} epochs)."
    )
    if st.button("Compare the five stages", key="compare", disabled=config is None):
        with st.spinner("Training five stages..."), pool.slot(timeout=60) as acquired:
            if acquired:
                st.session_state.comparison = run_comparison(config, data)
            else:
                st.warning("The server is busy training other runs; try again in a moment.")
    result = st.session_state.get("comparison")
    if result is None:
        return
    st.caption(
        f"Settings: hidden {result['config'].hidden_size}, learning rate {result['config'].learning_rate:g}, "
        f"{result['config'].epochs} epochs, seed {result['config'].seed}."
    )
    plot(st, charts.compare_figure(result["curves"], log_y=True, title="Loss by stage (same start)"), "compare-chart")
    left, right = st.columns(2)
    left.markdown("**Largest relative gap to the NumPy stage**")
    left.dataframe(
        result["gaps"],
        hide_index=True,
        column_config={"largest relative gap": st.column_config.NumberColumn(format="%.2e")},
    )
    right.markdown("**Gradient check** (float64, max relative error)")
    right.dataframe(
        result["gradcheck"],
        hide_index=True,
        column_config={"max_rel_error": st.column_config.NumberColumn("max relative error", format="%.2e")},
    )
