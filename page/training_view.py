"""The page's Streamlit panels: each draws one part of a run into the container it is given."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import partial

import streamlit as st

from page import live_chart, state, take_home
from page.landscape_view import sharpness_chart
from page.panels import HISTOGRAMS, HistogramKind, Panel
from page.plot import Words, plot
from twolayer.charts.curves import accuracy_figure, norms_figure, update_ratio_figure
from twolayer.charts.labels import MATRIX_HEIGHT_PX, MAX_PREDICTIONS, confusion_matrix_figure, predictions_figure
from twolayer.charts.weights import MAX_UNIT_IMAGES, histogram_figure, histogram_over_time_figure, weight_images_figure
from twolayer.data.dataset import Dataset
from twolayer.data.sources import holds_images
from twolayer.serve.session import TrainingSession
from twolayer.teach import describe, describe_labels, describe_net
from twolayer.teach.advice import SETTINGS_TRIAL_EPOCHS, advise, divergence_hint
from twolayer.teach.code_html import code_html, diff_html
from twolayer.teach.program import program_source
from twolayer.teach.report import loss_chart, loss_unit
from twolayer.teach.stage_diff import stage_difference
from twolayer.teach.verdict import explanation
from twolayer.train import export
from twolayer.train.config import TrainConfig
from twolayer.train.history import MAX_SAMPLE
from twolayer.train.stages import STAGES, previous_stage, stage_source, stage_spec
from twolayer.train.state import RunState
from twolayer.train.trainer import Trainer, make_dataset

EMPTY_LOSS = (
    "<div style='border:2px dashed #c5cedb;border-radius:8px;padding:3rem 1rem;text-align:center;color:#55606e'>"
    "The loss curve appears here, epoch by epoch, once you press <b>Train</b> or <b>Step</b>.</div>"
)
# Code a little smaller than prose, so a stage's lines fit half the page without wrapping.
# Less side padding than Streamlit's wide layout: at 1280 px the code and charts need the width.
PAGE_CSS = (
    "<style>[data-testid='stMainBlockContainer'] { padding: 3rem 2rem 2rem; }"
    # The title is st.html: Streamlit's own heading style, which markdown's "##" would get.
    " .st-key-page-title h2 { font-size: 2.25rem; font-weight: 600; line-height: 1.2; margin: 0; padding: 1rem 0; }"
    # On a phone the title shrinks and the four buttons keep one row, so the status line and the loss chart
    # are on the first screen while a run trains (Streamlit would stack every column).
    " @media (max-width: 640px) {"
    " [data-testid='stMainBlockContainer'] { padding: 3.25rem 0.75rem 2rem; }"
    " .tl-tagline { display: none; } .st-key-page-title h2 { font-size: 1.5rem; padding: 0.5rem 0 0; }"
    " .st-key-run-buttons [data-testid='stHorizontalBlock'] { flex-wrap: nowrap; gap: 0.4rem; }"
    " .st-key-run-buttons [data-testid='stColumn'] { min-width: 0; width: auto; flex: 1 1 0; }"
    " .st-key-run-buttons [data-testid='stColumn']:last-child { display: none; }"
    " .st-key-run-buttons button { padding: 0.25rem 0.4rem; }"
    " }</style>" + live_chart.FEEDS_CSS
)
# Presenter mode, a layout for a projector: larger text and code, the band above the title gone (and, set in
# app.py and page.plot, the sidebar collapsed and chart fonts scaled), so charts and code fill the screen.
PRESENTER_CSS = (
    "<style>html { font-size: 22px; } .tl-code { font-size: 0.8rem; }"
    " [data-testid='stMainBlockContainer'] { padding: 4rem 1rem 1rem; max-width: 100%; }</style>"
)


def status_line(container, sess: TrainingSession, trainer: Trainer | None, blocked_by: str | None) -> None:
    """Epoch k of E, current loss, time per epoch and the state, in one line; `blocked_by`: why Train is off."""
    container.markdown(status_text(sess, trainer, blocked_by))


def status_text(sess: TrainingSession, trainer: Trainer | None, blocked_by: str | None) -> str:
    """The status line's Markdown: what the page says, and what a following page says word for word."""
    if trainer is not None and trainer.status is RunState.DIVERGED and trainer.last_loss() is None:
        return f"**Diverged** · the loss became **{trainer.diverged_at[1]}** in the first epoch."
    if trainer is None or trainer.epoch == 0:
        if sess.playing:
            hint = "starting…"
        elif blocked_by:
            hint = "Train is off until the settings or data are fixed (see the message above)."
        else:
            hint = "press Train to start, or Step for one epoch."
        return f"**{sess.state.capitalize()}**: {hint}"
    per_epoch = 1000 * trainer.train_seconds / max(trainer.epoch, 1)
    return (
        f"**{sess.state.capitalize()}** · epoch **{trainer.epoch}** of {trainer.config.epochs} · "
        f"{results_text(trainer)} · {per_epoch:.3g} ms per epoch · device {trainer.device} · "
        f"hidden {trainer.config.hidden_size}, lr {trainer.config.learning_rate:g}"
    )


def results_text(trainer: Trainer) -> str:
    """The status line's final loss and accuracy of a run that has trained, in Markdown."""
    scale, unit = loss_unit(trainer)
    if trainer.status is RunState.DIVERGED:
        epoch, value = trainer.diverged_at
        loss = f"loss **became {value}** at epoch {epoch} (last finite {trainer.last_loss() * scale:.4g}, {unit})"
    else:
        loss = f"loss **{trainer.last_loss() * scale:.4g}** ({unit})"
    evals = trainer.evaluations()
    split = "test" if "test_accuracy" in evals else "train"
    accuracy = (
        f" · {split} accuracy **{100 * evals[f'{split}_accuracy'][-1]:.1f}%**" if f"{split}_accuracy" in evals else ""
    )
    return f"{loss}{accuracy}"


def loss_panel(spot: live_chart.Spot, trainer: Trainer | None, log_y: bool, key: str, run: RunState) -> None:
    """The loss curve; per example with a test curve when the data has a test split; `run`: the state to announce."""
    if trainer is None or trainer.last_loss() is None:
        # No invented axes before there is a loss, and nothing heavy for the browser to draw on opening (st.html,
        # not markdown with HTML: that would fetch and compile a 184 KB HTML parser before the page is ready).
        spot.unplace()
        spot.chart.html(EMPTY_LOSS)
        return
    scale, unit = loss_unit(trainer)
    figure = loss_chart(trainer, log_y, validate=False)  # redrawn five times a second; tests build it checked
    epochs, losses = trainer.loss_curve()
    evals, every = trainer.evaluations(), trainer.eval_every
    test = (evals["epoch"], evals["test_loss_per_example"]) if "test_loss_per_example" in evals else None
    curves = {"training loss": (epochs, losses * scale)} | ({"test loss": test} if test else {})
    words = Words(
        "Loss chart",
        describe.loss_words(epochs, losses * scale, unit, test, every),
        table=lambda: describe.curves_table(curves),
        progress=describe.progress_words(run, trainer.epoch, trainer.config.epochs, losses[-1] * scale),
    )
    if (reference := state.LEAD_REFERENCE.get()) is not None:
        lead_epochs, lead_losses = reference
        figure.add_scatter(x=lead_epochs, y=[v * scale for v in lead_losses], name="lecturer's run", mode="lines",
                           line={"color": "#888888", "dash": "dash", "width": 2})  # fmt: skip
        said = " The dashed grey line is the lecturer's run, from which this one was taken over."
        words = dataclasses.replace(words, description=words.description + said)
    plot(spot, figure, key, words)


def diverged_box(container, trainer: Trainer) -> None:
    container.error("**The loss exploded.** " + divergence_hint(trainer), icon="💥")


def went_wrong_box(container, trainer: Trainer) -> None:
    """A finished run whose loss rose or stalled without overflowing: what happened, why, and what to try."""
    if (words := explanation(trainer)) is not None:
        container.warning("**This run went wrong.** " + words, icon="⚠️")


def histogram_panel(spot: live_chart.Spot, trainer: Trainer, panel: Panel, key: str) -> None:
    """One layer's weights, their change or gradients, as the radio says: now or over the epochs, as `panel` says."""
    name, over_time = HISTOGRAMS[panel]
    kind = state.HIST_KIND.get()
    prefix, change = "grad_" if kind is HistogramKind.GRADIENTS else "", kind is HistogramKind.CHANGE
    label = f"∂L/∂{name.upper()}" if prefix else f"{name.upper()} − {name.upper()}0" if change else name.upper()
    if not over_time:
        binned = trainer.histogram_now(prefix + name, change)
        if binned is None:
            spot.unplace()
            spot.caption.caption(f"{label}: no gradient yet; take a step first.")
            return
        [(_, counts)] = binned.counts
        figure = histogram_figure(binned.edges, counts, title=f"{label} now")
        said = describe_net.histogram_words(binned.edges, counts, binned.outside)
    else:
        binned = trainer.histogram_history(prefix + name, change)
        if binned is None:
            spot.unplace()
            return
        figure = histogram_over_time_figure(binned.edges, binned.counts, title=f"{label} over epochs")
        said = describe_net.histogram_history_words(binned.edges, binned.counts)
    what = f"counts of a sample of at most {MAX_SAMPLE:,} entries, bins over their range. {said}"
    table = partial(describe_net.histogram_table, binned.edges, binned.counts)
    plot(spot, figure, key, Words(f"{label} {'over epochs' if over_time else 'now'}", what, table))


def norm_panel(spot: live_chart.Spot, trainer: Trainer, panel: Panel, key: str) -> None:
    """Per layer, the gradient norms or the update ratios (each update's size relative to the weights)."""
    stats = trainer.norm_records()
    if not len(stats.get("epoch", ())):
        return
    layers = [name for name in trainer.layers() if f"grad_norm_{name}" in stats]
    epochs = stats["epoch"]
    if panel is Panel.GRADIENT_NORMS:
        grads = {name.upper(): stats[f"grad_norm_{name}"] for name in layers}
        what = "the size of each layer's gradient at the recorded epochs. " + describe_net.norms_words(epochs, grads)
        table = partial(describe_net.series_table, epochs, grads)
        plot(spot, norms_figure(epochs, grads), key, Words("Gradient norms", what, table))
    else:
        ratios = {name.upper(): stats[f"update_ratio_{name}"] for name in layers}
        what = "each step's size relative to the layer's weights; about 1e-3 is healthy. "
        table = partial(describe_net.series_table, epochs, ratios)
        words = Words("Update ratios", what + describe_net.ratio_words(epochs, ratios), table)
        plot(spot, update_ratio_figure(epochs, ratios), key, words)


def sharpness_panel(spot: live_chart.Spot, trainer: Trainer, key: str) -> None:
    """The sharpness against the edge 2/lr (or the update's own), once the run has measured it."""
    if not sharpness_chart(spot, trainer, key):
        spot.unplace()


def label_panels(container, trainer: Trainer, key: str) -> None:
    """Views that need labels: accuracy, confusion matrix, hidden units as images, predictions."""
    data = trainer.data
    if not data.is_classification:  # no class labels (the lecture's random data): nothing to show
        return
    with container.container():
        left, right = st.columns(2)
        evals = trainer.evaluations()
        split = "test" if data.has_test else "training"
        if len(epochs := evals.get("epoch", ())):
            train, test = evals["train_accuracy"], evals.get("test_accuracy")
            figure = accuracy_figure(epochs, train, test)
            figure.update_layout(height=MATRIX_HEIGHT_PX)  # level with the confusion matrix beside it
            what = "the share of examples classified right at each evaluated epoch. "
            said = what + describe_labels.accuracy_words(epochs, train, test)
            table = partial(describe_labels.accuracy_table, epochs, train, test)
            plot(left, figure, f"{key}-acc", Words("Accuracy chart", said, table))
        x, labels = (data.x_test, data.labels_test) if data.has_test else (data.x_train, data.labels_train)
        predicted, classes = trainer.predict(x).argmax(axis=1), data.output_size
        what = f"{split} examples counted by true class (row) and predicted class (column). "
        said = what + describe_labels.confusion_words(labels, predicted, classes, split)
        table = partial(describe_labels.confusion_table, labels, predicted, classes)
        figure = confusion_matrix_figure(labels, predicted, classes)
        plot(right, figure, f"{key}-confusion", Words("Confusion matrix", said, table))
        if data.image_shape:
            # Each grid the full width, so that a unit's pattern and a digit's caption read from the back row.
            w1 = trainer.weights()["w1"]
            shown = min(w1.shape[1], MAX_UNIT_IMAGES)
            what = "one image per unit, red for positive and blue for negative weights, each scaled to its largest. "
            words = Words(
                "Hidden units as images",
                what + describe_net.unit_images_words(w1, shown),
                partial(describe_net.unit_images_table, w1, shown),
            )
            plot(st, weight_images_figure(w1, data.image_shape), f"{key}-units", words)
            count = MAX_PREDICTIONS
            what = f"{split} images captioned true → predicted, ✓ when right and ✗ when wrong. "
            said = what + describe_labels.predictions_words(labels, predicted, count, split)
            words = Words(
                "Test images with predictions",
                said,
                partial(describe_labels.predictions_table, labels, predicted, count),
            )
            plot(st, predictions_figure(x, data.image_shape, labels, predicted, count), f"{key}-predictions", words)


def downloads(sess: TrainingSession) -> None:
    """History as CSV and JSON, weights as .npz, the run as a page and an animation; each built only when clicked,
    from a consistent run."""

    def locked(build):
        def data():
            with sess.lock:
                return build()

        return data

    files = export.downloads(sess.trainer, divergence_hint(sess.trainer))
    for entries in (files, take_home.run_downloads(sess.trainer)):
        for column, (label, name, mime, build) in zip(st.columns(3), entries, strict=False):
            ext = name.rsplit(".", 1)[1]
            column.download_button(label, locked(build), name, mime, key=f"download_{ext}", on_click="ignore")


def advice_box(config: TrainConfig | None, data) -> None:
    """When the settings are known to train this data poorly: say why, and offer settings that work, measured."""
    if config is None or config.data == "random" or not config.normal_start:
        return  # the cheap checks first: only labelled data on the lecture's standard normal start can be advised
    cached = state.ADVICE.get()
    if cached is None or cached[0] != config:  # one entry: the settings on screen
        cached = config, advise(config, data if data is not None else make_dataset(config))
        state.ADVICE.set(cached)
    advice = cached[1]
    if advice is None:
        return
    split = "test" if (data is not None and data.has_test) or holds_images(config.data) else "training"
    st.info(f"**These settings train this data poorly.** {advice.reason}")
    label = (
        f"Use the shared start and learning rate {advice.changes['lr']:g} "
        f"({advice.accuracy:.0%} {split} accuracy in a {SETTINGS_TRIAL_EPOCHS}-epoch trial)"
    )
    st.button(label, key="take_advice", on_click=_take, args=(advice.changes,))


def _take(changes: dict[str, object]) -> None:
    state.put_settings(changes)
    state.LR_TOUCHED.set(True)


def training_tab(sess: TrainingSession, config: TrainConfig | None, data: Dataset | None, stage: str) -> dict:
    """The live view: status and loss beside the stage's code, then histograms, norms and label views.

    Returns the places that `draw_frame` fills, one per panel so that each can be redrawn on its own: a live-chart
    spot per chart (updated in place, frame after frame), single-element containers for the rest (each redraw
    replaces their content instead of appending to it).
    """
    placeholders = {}
    feeds = live_chart.feeds()
    loss_col, code_col = st.columns(2, gap="large")
    with loss_col:
        placeholders["status"] = st.container(key="run-status").empty()  # a stable place for tests to read
        placeholders["what_went_wrong"] = st.empty()
        st.toggle("Log-scale loss", value=True, key=state.LOG_LOSS.name)
        placeholders["loss"] = live_chart.Spot("loss", feeds)
    with code_col:
        # The stage chosen in the sidebar, at once: the code a learner is about to run.
        spec, previous = stage_spec(stage), previous_stage(stage)
        st.markdown(f"**The code that runs:** {spec.title}")
        differences = st.toggle(
            f"Show what changed since stage {STAGES.index(previous) + 1}" if previous else "Show what changed",
            key="code_diff",
            disabled=previous is None or config is None,
            help="The lines this stage's API removed and added, each change with what the API now does for you."
            if previous
            else f"The {spec.title} stage is the first: every later stage shows what it changed.",
        )
        if config is None:  # settings the core refused: the stage's functions, with no run's values to frame them
            st.html(code_html(stage_source(stage), f"Source of the {spec.title} stage's functions"))
        elif differences and previous:
            parts = stage_difference(config, training_rows(config, data))
            label = f"What the {spec.title} stage changed in the program of the {stage_spec(previous).title} stage"
            st.html(diff_html(parts, label))
        else:
            source = program_source(config, training_rows(config, data))
            st.html(code_html(source, f"The whole program of the {spec.title} stage with these settings"))
        st.caption(spec.differences)
        if config is not None:
            take_home.program_downloads(config, training_rows(config, data))
        if sess.trainer is not None and sess.trainer.config.stage != stage:
            st.caption(f"The run shown used stage {sess.trainer.config.stage}: press Train to run this one.")
    if sess.trainer is not None and sess.trainer.epoch > 0:
        downloads(sess)
    st.radio("Histograms of", list(HistogramKind), format_func=str, horizontal=True, key=state.HIST_KIND.name)
    columns = dict(zip(("w1", "w2"), st.columns(2), strict=True))
    for panel, (layer, _) in HISTOGRAMS.items():
        with columns[layer]:
            placeholders[panel] = live_chart.Spot(panel.value, feeds)
    for column, panel in zip(st.columns(2), (Panel.GRADIENT_NORMS, Panel.UPDATE_RATIOS), strict=True):
        with column:
            placeholders[panel] = live_chart.Spot(panel.value, feeds)
    placeholders[Panel.SHARPNESS] = live_chart.Spot(Panel.SHARPNESS.value, feeds)
    placeholders[Panel.LABELS] = st.empty()
    return placeholders


def training_rows(config: TrainConfig, uploaded: Dataset | None) -> int:
    """The rows of training data a run with `config` (on `uploaded` data, if any) goes through each epoch."""
    if config.data == "random":
        return config.batch_size  # the lecture's N rows, drawn for the run
    return len(uploaded.x_train) if uploaded is not None else _source_rows(config.data)


@st.cache_data(max_entries=4)
def _source_rows(source: str) -> int:
    """The training rows of a named data source such as digits, whose split is the same size for every seed."""
    return len(make_dataset(TrainConfig(data=source)).x_train)


# Each slow panel's drawing, called with its place, the run and the chart's key. Every Panel has one
# (tests/test_training_view.py): one without would be a KeyError, never a place silently left empty.
PANEL_DRAWERS: dict[Panel, Callable[..., None]] = {
    **{panel: partial(histogram_panel, panel=panel) for panel in HISTOGRAMS},
    Panel.GRADIENT_NORMS: partial(norm_panel, panel=Panel.GRADIENT_NORMS),
    Panel.UPDATE_RATIOS: partial(norm_panel, panel=Panel.UPDATE_RATIOS),
    Panel.SHARPNESS: sharpness_panel,
    Panel.LABELS: label_panels,
}


def draw_frame(
    sess: TrainingSession,
    placeholders: dict,
    frame: int,
    panels: tuple[Panel, ...] = (),
    blocked_by: str | None = None,
) -> None:
    """Redraw the status (`blocked_by`: why Train is off, if it is) and loss, and the slower-moving `panels`."""
    with sess.lock:  # no slice of an overlapping script run may change the run mid-draw
        trainer = sess.trainer
        status_line(placeholders["status"], sess, trainer, blocked_by)
        loss_panel(placeholders["loss"], trainer, state.LOG_LOSS.get(), key=f"loss-{frame}", run=sess.state)
        if trainer is not None and trainer.status is RunState.DIVERGED:
            diverged_box(placeholders["what_went_wrong"], trainer)
        elif trainer is not None and trainer.status is RunState.DONE:
            went_wrong_box(placeholders["what_went_wrong"], trainer)
        if trainer is None:
            return
        for panel in panels:
            PANEL_DRAWERS[panel](placeholders[panel], trainer, key=f"{panel.value}-{frame}")
