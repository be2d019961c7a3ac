"""A run as one page: a single .html file that opens from disk, with no server and no network.

It holds the settings, the charts of the run (the page's own figures, drawn by Plotly's JavaScript, embedded once)
and the whole program coloured as in the app. `twolayer train --report FILE.html` and the page's download write it.
"""

from __future__ import annotations

import html

import plotly.io as pio
from plotly.offline import get_plotlyjs

from twolayer.charts.base import FIGURE_HEIGHT_PX
from twolayer.charts.curves import accuracy_figure, loss_figure, norms_figure, update_ratio_figure
from twolayer.charts.labels import confusion_matrix_figure
from twolayer.charts.snapshots import histogram_slider_figure
from twolayer.charts.weights import MAX_UNIT_IMAGES, weight_images_figure
from twolayer.teach.advice import divergence_hint
from twolayer.teach.code_html import code_html
from twolayer.teach.program import data_file, program_source
from twolayer.teach.program_file import train_command
from twolayer.train.config import SETTINGS
from twolayer.train.history import MAX_SAMPLE
from twolayer.train.stages import stage_spec
from twolayer.train.trainer import Trainer

PLOTLY_CONFIG = {"displaylogo": False}
CSS = """<style>
body { font-family: Arial, Helvetica, sans-serif; color: #111; margin: 1.5rem auto; max-width: 1500px;
  padding: 0 1rem; line-height: 1.45; }
h1 { font-size: 1.7rem; margin-bottom: 0.3rem; } h2 { font-size: 1.3rem; margin-top: 2rem; }
.tl-summary { font-size: 1.1rem; } .tl-command { font-family: ui-monospace, Menlo, Consolas, monospace; }
/* Two columns of a fixed share: a chart's width is known when it is drawn, before the page is complete. */
.tl-charts { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 1.5rem 2rem; }
@media (max-width: 1000px) { .tl-charts { grid-template-columns: minmax(0, 1fr); } }
.tl-chart { min-width: 0; } .tl-chart p { margin: 0.2rem 0 0; color: #444; font-size: 0.95rem; }
table { border-collapse: collapse; } td, th { border-bottom: 1px solid #d0d0d0; padding: 0.25rem 0.8rem 0.25rem 0;
  text-align: left; vertical-align: top; }
</style>"""


def loss_unit(trainer: Trainer) -> tuple[float, str]:
    """What the loss chart and the status line show: per example with a test split, else the epoch's sum."""
    rows = len(trainer.data.x_train)
    if trainer.data.has_test:
        return 1 / rows, "per example"
    return 1.0, f"sum over {rows:,} rows"


def loss_chart(trainer: Trainer, log_y: bool = True, validate: bool = True):
    """The run's loss curve as the page draws it: per example with the test curve when the data has a test split;
    `validate` as for `loss_figure`. Downsampled for the run's epochs, so a live chart's points stay as it grows."""
    epochs, losses = trainer.loss_curve()
    scale, unit = loss_unit(trainer)
    evals = trainer.evaluations()
    options = dict(log_y=log_y, unit=unit, validate=validate, total=trainer.config.epochs)
    if trainer.data.has_test and len(evals.get("epoch", ())):
        test = (evals["epoch"], evals["test_loss_per_example"])
        return loss_figure(epochs, losses * scale, test=test, title="Loss per example", **options)
    return loss_figure(epochs, losses, title="Loss (sum of squared errors)", **options)


def report_html(trainer: Trainer, started_from: str | None = None) -> str:
    """The run as one self-contained HTML page; `started_from` names a weights file the run started from, if any."""
    config = trainer.config
    figures = [(loss_chart(trainer), _loss_caption(trainer))]
    evals, data = trainer.evaluations(), trainer.data
    if data.is_classification and len(evals.get("epoch", ())):
        figures.append((accuracy_figure(evals["epoch"], evals["train_accuracy"], evals.get("test_accuracy")),
                        "Accuracy: the share of examples classified right at each evaluated epoch."))  # fmt: skip
    for name in ("w1", "w2"):
        binned = trainer.histogram_history(name)
        figures.append((histogram_slider_figure(binned.edges, binned.counts, title=name.upper()),
                        f"{name.upper()}: counts of a sample of at most {MAX_SAMPLE:,} weights at each snapshot; "
                        "move the slider to see them at another epoch."))  # fmt: skip
    figures += _norm_figures(trainer) + _label_figures(trainer)
    charts_html = "".join(
        f'<div class="tl-chart">{_figure_html(figure, f"chart-{i}")}<p>{html.escape(caption)}</p></div>'
        for i, (figure, caption) in enumerate(figures)
    )
    program = code_html(
        program_source(config, len(data.x_train)), f"The whole program of the {stage_spec(config.stage).title} stage"
    )
    start = (
        f"<p>This run started from the weights in {html.escape(started_from)}; the program below draws its "
        "starting weights from the seed instead.</p>"
        if started_from
        else ""
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(_title(trainer))}</title>{CSS}"
        f'<script type="text/javascript">{get_plotlyjs()}</script></head><body>'
        f"<h1>{html.escape(_title(trainer))}</h1>{_summary(trainer)}"
        f'<h2>Charts</h2><div class="tl-charts">{charts_html}</div>'
        f"<h2>Settings</h2>{_settings(trainer)}"
        f"<h2>The program</h2><p>The whole program of this run: run on its own, it prints the loss of every epoch "
        f"above, to the last digit.</p>{start}{program}</body></html>\n"
    )


def _title(trainer: Trainer) -> str:
    config = trainer.config
    data = data_file(config.data) or config.data
    return f"twolayer run: {stage_spec(config.stage).title}, hidden {config.hidden_size}, {data} data"


def _summary(trainer: Trainer) -> str:
    """The run in one line (state, epochs, loss from first to last, time, accuracy when labelled), its command line
    and, for a run that diverged, why."""
    _, losses = trainer.loss_curve()
    scale, unit = loss_unit(trainer)
    line = f"<b>{trainer.status.capitalize()}</b> after {trainer.epoch:,} of {trainer.config.epochs:,} epochs"
    if len(losses):
        line += f" · loss {losses[0] * scale:.4g} → <b>{losses[-1] * scale:.4g}</b> ({unit})"
    line += f" · {trainer.train_seconds:.3g} s of training on {trainer.device}"
    evals = trainer.evaluations()
    for split in ("train", "test"):
        if len(evals.get(f"{split}_accuracy", ())):
            line += f" · {split} accuracy <b>{100 * evals[f'{split}_accuracy'][-1]:.1f}%</b>"
    command = (
        f'<p>The same run from the command line: <span class="tl-command">{html.escape(train_command(trainer.config))}'
        f"</span> ({len(trainer.data.x_train):,} training rows; every setting is listed under the charts).</p>"
    )
    hint = divergence_hint(trainer)
    if hint is not None:
        command += f"<p>{html.escape(hint)}</p>"
    return f'<p class="tl-summary">{line}</p>{command}'


def _settings(trainer: Trainer) -> str:
    config = trainer.config
    rows = "".join(
        f"<tr><td><code>{spec.key}</code></td><td>{html.escape(str(getattr(config, spec.name)))}</td>"
        f"<td>{html.escape(spec.help)}</td></tr>"
        for spec in SETTINGS
    )
    return f"<table><tr><th>key</th><th>value</th><th>what it sets</th></tr>{rows}</table>"


def _loss_caption(trainer: Trainer) -> str:
    if not trainer.data.has_test:
        return "Loss: the training loss at every epoch, summed over the epoch's rows."
    every = trainer.eval_every
    return f"Loss: the training loss per example at every epoch, the test loss every {every:,} epoch(s)."


def _norm_figures(trainer: Trainer) -> list:
    stats = trainer.norm_records()
    if not len(stats.get("epoch", ())):
        return []
    layers = [name for name in trainer.layers() if f"grad_norm_{name}" in stats]
    grads = {name.upper(): stats[f"grad_norm_{name}"] for name in layers}
    ratios = {name.upper(): stats[f"update_ratio_{name}"] for name in layers}
    return [
        (norms_figure(stats["epoch"], grads), "Gradient norms: the size of each layer's gradient."),
        (
            update_ratio_figure(stats["epoch"], ratios),
            "Update ratios: each step's size relative to the layer's weights; about 1e-3 is healthy.",
        ),
    ]


def _label_figures(trainer: Trainer) -> list:
    data = trainer.data
    if not data.is_classification:
        return []
    x, labels = (data.x_test, data.labels_test) if data.has_test else (data.x_train, data.labels_train)
    split = "test" if data.has_test else "training"
    predicted = trainer.predict(x).argmax(axis=1)
    figures = [
        (
            confusion_matrix_figure(labels, predicted, data.output_size),
            f"Confusion matrix: {split} examples counted by true class (row) and predicted class (column).",
        )
    ]
    if data.image_shape:
        w1 = trainer.weights()["w1"]
        figures.append(
            (
                weight_images_figure(w1, data.image_shape),
                f"Hidden units as images: the incoming weights of {min(w1.shape[1], MAX_UNIT_IMAGES)} of "
                f"the {w1.shape[1]} hidden units, red positive and blue negative, each scaled to its largest.",
            )
        )
    return figures


def _figure_html(figure, div_id: str) -> str:
    # A fixed id for each chart (the same run always gives the same file), and the figure's own height in pixels:
    # Plotly's default of 100% would leave the caption below under the chart.
    height = f"{figure.layout.height or FIGURE_HEIGHT_PX}px"
    return pio.to_html(
        figure, include_plotlyjs=False, full_html=False, config=PLOTLY_CONFIG, div_id=div_id, default_height=height
    )
