"""A run for slides: an animated GIF of the loss curve and the weight histograms, one frame per snapshot of the run.

Drawn with matplotlib's Agg canvas (no display, no browser) and written with Pillow. The frames are the run's
histogram snapshots, at most 64; the whole animation lasts at most MAX_SECONDS, its last frame held a little.
"""

from __future__ import annotations

import io
import math

import numpy as np

from twolayer.charts.base import PALETTE
from twolayer.teach.report import loss_unit
from twolayer.train.trainer import Trainer

MAX_SECONDS = 10.0
FRAME_MS = 200  # per frame, for runs with few snapshots
HOLD_MS = 1500  # the last frame, so that the end of the run can be read
SIZE_PX = (960, 400)
DPI = 100
COLOURS = 64  # a GIF frame holds at most 256; a plot needs far fewer, and fewer make a smaller file


def frame_durations(frames: int) -> list[int]:
    """Milliseconds each frame shows, in whole hundredths (what a GIF stores): in all at most MAX_SECONDS."""
    if frames == 1:
        return [HOLD_MS]
    each = min(FRAME_MS, math.floor((1000 * MAX_SECONDS - HOLD_MS) / (frames - 1) / 10) * 10)
    return [each] * (frames - 1) + [HOLD_MS]


def animation_gif(trainer: Trainer) -> bytes:
    """The run as an animated GIF: per snapshot, the loss curve up to then and the histograms of W1 and W2."""
    # imported here: only this download draws with matplotlib, and it takes a second to import
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from PIL import Image

    epochs, losses = trainer.loss_curve()
    scale, unit = loss_unit(trainer)
    losses = losses * scale
    layers = {name: trainer.histogram_history(name) for name in ("w1", "w2")}
    snapshots = [epoch for epoch, _ in layers["w1"].counts]

    figure = Figure(figsize=(SIZE_PX[0] / DPI, SIZE_PX[1] / DPI), dpi=DPI, layout="constrained")
    canvas = FigureCanvasAgg(figure)
    loss_axes, *histogram_axes = figure.subplots(1, 3, width_ratios=[1.4, 1, 1])
    (curve,) = loss_axes.plot([], [], color=PALETTE[0], linewidth=2)
    loss_axes.set(xlabel="epoch", ylabel=f"loss ({unit})", xlim=(0, max(trainer.config.epochs - 1, 1)))
    positive = losses[losses > 0]
    if len(positive):  # a log scale, as the page's default: the lecture's loss falls by orders of magnitude
        loss_axes.set_yscale("log")
        loss_axes.set_ylim(positive.min() / 1.5, positive.max() * 1.5)
    bars = {}
    for axes, (name, binned) in zip(histogram_axes, layers.items(), strict=True):
        edges = binned.edges
        top = max(int(counts.max()) for _, counts in binned.counts) or 1
        bars[name] = axes.bar(edges[:-1], binned.counts[0][1], width=np.diff(edges), align="edge", color=PALETTE[0])
        axes.stairs(binned.counts[0][1], edges, color=PALETTE[1], linewidth=1.5, label="at the start")
        axes.set(title=name.upper(), xlabel="value", ylabel="count", ylim=(0, 1.05 * top))
        axes.legend(loc="upper right", fontsize="small", frameon=False)
    for axes in (loss_axes, *histogram_axes):
        axes.grid(color="#d0d0d0", linewidth=0.8)
        axes.set_axisbelow(True)
    title = figure.suptitle(f"{trainer.config.stage} stage · epoch {trainer.epoch:,} of {trainer.config.epochs:,}")
    canvas.draw()
    figure.set_layout_engine("none")  # laid out once, with the longest title: each frame then only draws

    frames = []
    for index, epoch in enumerate(snapshots):
        shown = epochs < epoch  # the losses of the epochs trained by this snapshot
        curve.set_data(epochs[shown], losses[shown])
        for name, binned in layers.items():
            for bar, count in zip(bars[name], binned.counts[index][1], strict=True):
                bar.set_height(count)
        latest = f" · loss {losses[shown][-1]:.4g}" if shown.any() else ""
        title.set_text(f"{trainer.config.stage} stage · epoch {epoch:,} of {trainer.config.epochs:,}{latest}")
        canvas.draw()
        image = Image.fromarray(np.asarray(canvas.buffer_rgba())).convert("RGB")
        frames.append(image.quantize(COLOURS, method=Image.Quantize.MEDIANCUT))
    out = io.BytesIO()
    frames[0].save(
        out, format="GIF", save_all=True, append_images=frames[1:], duration=frame_durations(len(frames)), loop=0
    )
    return out.getvalue()
