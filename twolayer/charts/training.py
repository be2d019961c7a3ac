"""Plotly figure builders for the lecture views: plain values (lists, arrays, small dicts) in, a `go.Figure` out."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

FEW_POINTS = 20  # at most this many points in a line: drawn with markers too
MAX_POINTS = 2000  # per line trace and draw: a full-width curve, yet light enough to resend a few times a second
FONT_SIZE = 18  # readable from the back of a lecture hall
UPDATE_RATIO_REFERENCE = 1e-3  # the usual healthy size of one step relative to the weights
# Okabe-Ito colours: high contrast on white, and told apart with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
INK = "#111111"
GRID = "#d0d0d0"
TILE_GAP_COLOR = "#9a9a9a"  # shows between image tiles, where the heatmap holds NaN
WRONG, RIGHT = PALETTE[1], PALETTE[2]
FIGURE_HEIGHT_PX = 450  # Plotly's and Streamlit's default
# The confusion matrix's height: cells large enough for a count at the presenter's chart font.
MATRIX_HEIGHT_PX = 560
# Image grids are sized for this plot width, about the page's main column at 1280 px: a wider column centres
# the grid, a narrower one shrinks it. Their height follows, within these bounds.
GRID_WIDTH_PX = 860
GRID_HEIGHT_PX = (320, 760)
MAX_UNIT_IMAGES = 32  # hidden units drawn as images
UNIT_COLUMNS = 8  # hidden units per row: 32 units of 8x8 digits come out about 100 px each
PREDICTION_COLUMNS = 6
# Legends go below the plot, anchored to the figure's bottom edge: Plotly then reserves a margin for them,
# so that however many rows they wrap to, they cover neither the curves, the axis titles nor the title.
LEGEND = dict(orientation="h", x=0, xanchor="left", y=0, yanchor="bottom", yref="container")
LONG_LABEL = 24  # legend entries longer than this (a past run's settings) take a row each at presenter sizes
LEGEND_ROW_PX = 40  # a row of legend entries at the presenter's chart font

Curve = tuple[Sequence[float], Sequence[float]]  # (epochs, values)


def downsample(x: Sequence[float], y: Sequence[float], max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """At most `max_points` of the points (x, y), in order: first, last, and each bucket's lowest and highest."""
    if max_points < 2:
        raise ValueError(f"max_points must be at least 2 (the first and last points), got {max_points}")
    x, y = np.asarray(x), np.asarray(y, dtype=float)
    if x.shape != y.shape or y.ndim != 1:
        raise ValueError(f"x and y must be 1-D and of equal length, got shapes {x.shape} and {y.shape}")
    measured = ~np.isnan(y)  # NaN marks a value not measured at that epoch
    x, y = x[measured], y[measured]
    n = len(y)
    if n <= max_points:
        return x, y
    buckets = (max_points - 2) // 2  # each contributes its minimum and maximum, so a one-epoch spike survives
    if buckets == 0:
        return x[[0, -1]], y[[0, -1]]
    # Runs of `width` inner points, the last one padded: one argmin and one argmax over a
    # (buckets, width) view find every run's extremes in linear time, a few times a second.
    width = -(-(n - 2) // buckets)
    runs = -(-(n - 2) // width)
    padded = np.full(runs * width, np.inf)
    padded[: n - 2] = y[1:-1]
    lowest = padded.reshape(runs, width).argmin(axis=1)
    padded[n - 2 :] = -np.inf
    highest = padded.reshape(runs, width).argmax(axis=1)
    first = 1 + width * np.arange(runs)
    keep = np.unique(np.concatenate(([0], first + lowest, first + highest, [n - 1])))
    return x[keep], y[keep]


def loss_figure(
    epochs: Sequence[float],
    losses: Sequence[float],
    *,
    test: Curve | None = None,
    log_y: bool = True,
    mark_current: bool = True,
    title: str = "Loss",
    unit: str = "loss",
) -> go.Figure:
    """The training loss over epochs, an optional test curve, and the latest point marked; `unit` titles the y axis."""
    fig = _figure(title, "epoch", unit, log_y=log_y)
    train = _line(epochs, losses, "train", PALETTE[0])
    fig.add_trace(train)
    if test is not None:
        fig.add_trace(_line(*test, "test", PALETTE[1]))
    if mark_current and len(train.x):
        x, y = train.x[-1], train.y[-1]
        fig.add_trace(
            go.Scatter(
                x=[x],
                y=[y],
                name=f"latest: {y:.4g}",
                mode="markers",
                marker=dict(color=PALETTE[1], size=14, line=dict(color=INK, width=2)),
            )
        )
    return fig


def compare_figure(
    curves: Mapping[str, Curve], *, log_y: bool = True, title: str = "Loss by run", y_title: str = "loss"
) -> go.Figure:
    """Several curves overlaid, one per label (runs or stages): losses, or what `y_title` names."""
    return _lines_figure(title, y_title, curves, log_y=log_y)


def norms_figure(
    epochs: Sequence[float],
    series: Mapping[str, Sequence[float]],
    *,
    log_y: bool = True,
    title: str = "Gradient norm per layer",
    y_title: str = "L2 norm",
) -> go.Figure:
    """One norm curve per named array (e.g. gradient of each layer) over epochs."""
    return _lines_figure(title, y_title, {name: (epochs, values) for name, values in series.items()}, log_y=log_y)


def update_ratio_figure(
    epochs: Sequence[float],
    series: Mapping[str, Sequence[float]],
    *,
    log_y: bool = True,
    reference: float = UPDATE_RATIO_REFERENCE,
    title: str = "Update size / weight size",
) -> go.Figure:
    """Each layer's step size relative to its weights over epochs, with a dashed reference level."""
    fig = norms_figure(epochs, series, log_y=log_y, title=title, y_title="|update| / |weight|")
    if len(epochs):
        first, last = float(np.min(epochs)), float(np.max(epochs))
        fig.add_trace(
            go.Scatter(
                x=[first, last],
                y=[reference, reference],
                name=f"{reference:g} (typical)",
                mode="lines",
                line=dict(color=INK, width=2, dash="dash"),
                hoverinfo="skip",
            )
        )
    return fig


def accuracy_figure(
    epochs: Sequence[float],
    train_acc: Sequence[float],
    test_acc: Sequence[float] | None = None,
    *,
    title: str = "Accuracy",
) -> go.Figure:
    """Train (and test) accuracy over epochs, fractions 0..1 shown as percentages."""
    # Autorange keeps 90% vs 97% visible, but never beyond the meaningful 0..100%.
    yaxis = dict(tickformat=".0%", autorangeoptions=dict(minallowed=0, maxallowed=1))
    fig = _figure(title, "epoch", "accuracy", yaxis=yaxis)
    fig.add_trace(_line(epochs, train_acc, "train", PALETTE[0]))
    if test_acc is not None:
        fig.add_trace(_line(epochs, test_acc, "test", PALETTE[1]))
    fig.update_traces(hovertemplate="epoch %{x}: %{y:.1%}")
    return fig


def histogram_figure(
    edges: Sequence[float], counts: Sequence[int], title: str = "Histogram", *, color: str = PALETTE[0]
) -> go.Figure:
    """Bars of pre-binned counts, one per bin between consecutive edges."""
    edges, counts = np.asarray(edges, dtype=float), np.asarray(counts)
    _check_bins(edges, counts)
    # Counts read best as plain numbers.
    yaxis = dict(exponentformat="none", separatethousands=True)
    fig = _figure(title, "value", "count", yaxis=yaxis, bargap=0, showlegend=False)
    fig.add_trace(
        go.Bar(
            x=((edges[:-1] + edges[1:]) / 2).tolist(),
            y=counts.tolist(),
            width=np.diff(edges).tolist(),
            marker=dict(color=color, line=dict(width=0)),
            name=title,
        )
    )
    return fig


def histogram_over_time_figure(
    edges: Sequence[float],
    snapshots: Sequence[tuple[int, Sequence[int]]],
    title: str = "Histogram over epochs",
    *,
    log_color: bool = True,
) -> go.Figure:
    """Bin counts over epochs as a heatmap (x epoch, y bin centre), colour on a log scale by default."""
    edges = np.asarray(edges, dtype=float)
    fig = _figure(title, "epoch", "value", xaxis=dict(showgrid=False), yaxis=dict(showgrid=False))
    if not snapshots:
        return fig
    counts = np.array([np.asarray(c) for _, c in snapshots]).T  # (bins, snapshots): a row per value, column per epoch
    _check_bins(edges, counts)
    # log1p so that the few far-out weights stay visible next to thousands in the central bins
    colour = np.log1p(counts) if log_color else counts.astype(float)
    top = int(counts.max())
    ticks = [0] + [10**k for k in range(int(math.log10(top)) + 1)] if log_color and top > 0 else None
    fig.add_trace(
        go.Heatmap(
            x=[epoch for epoch, _ in snapshots],
            y=((edges[:-1] + edges[1:]) / 2).tolist(),
            z=np.round(colour, 3).tolist(),  # colour only: three decimals are plenty and keep the payload small
            customdata=counts.tolist(),
            colorscale="Viridis",
            colorbar=dict(
                title=dict(text="count"),
                tickvals=np.log1p(ticks).tolist() if ticks else None,
                ticktext=[str(t) for t in ticks] if ticks else None,
            ),
            hovertemplate="epoch %{x}<br>value %{y:.3g}<br>count %{customdata}<extra></extra>",
        )
    )
    return fig


def confusion_matrix_figure(
    labels_true: Sequence[int], labels_pred: Sequence[int], n_classes: int = 10, *, title: str = "Confusion matrix"
) -> go.Figure:
    """Counts of each (true, predicted) class pair as an annotated heatmap, rows true, columns predicted."""
    true, pred = np.asarray(labels_true, dtype=int), np.asarray(labels_pred, dtype=int)
    if true.shape != pred.shape or true.ndim != 1:
        raise ValueError(f"labels must be 1-D and of equal length, got shapes {true.shape} and {pred.shape}")
    for name, labels in (("labels_true", true), ("labels_pred", pred)):
        if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
            raise ValueError(f"{name} must lie in 0..{n_classes - 1}, got {labels.min()}..{labels.max()}")
    matrix = np.bincount(true * n_classes + pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)
    if true.size:
        title = f"{title}: accuracy {np.trace(matrix) / true.size:.1%}"
    # A fixed revision: the accuracy in the title changes every draw, the view should not.
    fig = _figure(
        title,
        "predicted",
        "true",
        revision="confusion",
        height=MATRIX_HEIGHT_PX,
        xaxis=dict(showgrid=False, dtick=1, constrain="domain"),
        yaxis=dict(showgrid=False, dtick=1, autorange="reversed", scaleanchor="x", constrain="domain"),
    )
    classes = list(range(n_classes))
    fig.add_trace(
        go.Heatmap(
            x=classes,
            y=classes,
            z=matrix.tolist(),
            colorscale="Blues",
            showscale=False,
            texttemplate="%{z}",
            hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>",
        )
    )
    return fig


def weight_images_figure(
    w1: np.ndarray,
    image_shape: tuple[int, int],
    max_units: int = MAX_UNIT_IMAGES,
    *,
    title: str = "Incoming weights of hidden units",
) -> go.Figure:
    """The first `max_units` hidden units' incoming weights (columns of w1) drawn as images in one tiled heatmap."""
    w1 = np.asarray(w1, dtype=float)
    height, width = image_shape
    if w1.ndim != 2 or w1.shape[0] != height * width:
        raise ValueError(f"w1 has shape {w1.shape}; {height}x{width} images need shape ({height * width}, hidden)")
    units = w1[:, :max_units].T.reshape(-1, height, width)  # (units, height, width)
    # Each unit scaled to its own largest |weight|: the pattern shows, whatever the unit's size.
    scale = np.abs(units).max(axis=(1, 2), keepdims=True)
    units = units / np.where(scale > 0, scale, 1.0)
    tiled, _ = _tile(units, columns=min(len(units), UNIT_COLUMNS), gap=max(1, height // 8))
    # The colour bar short and thin below the grid, at its right: the grid keeps the width.
    colorbar = dict(
        orientation="h",
        len=0.3,
        lenmode="fraction",
        thickness=14,
        x=1,
        xanchor="right",
        y=0,
        yref="container",
        yanchor="bottom",
        tickvals=[-1, 0, 1],
        title=dict(text="w / max|w|", side="right"),
    )
    fig = _image_figure(title, height=_grid_height(tiled.shape, bottom=70), margin=dict(l=10, r=10, t=90, b=70))
    fig.add_trace(go.Heatmap(z=tiled, zmin=-1, zmax=1, colorscale="RdBu_r", colorbar=colorbar))
    return fig


def predictions_figure(
    images: np.ndarray,
    image_shape: tuple[int, int],
    labels_true: Sequence[int],
    labels_pred: Sequence[int],
    max_images: int = 12,
    *,
    title: str = "Test images: true → predicted",
) -> go.Figure:
    """Up to `max_images` inputs drawn as images, wrongly predicted ones first, each captioned with its labels."""
    images = np.asarray(images, dtype=float)
    true, pred = np.asarray(labels_true, dtype=int), np.asarray(labels_pred, dtype=int)
    height, width = image_shape
    if images.ndim != 2 or images.shape[1] != height * width:
        raise ValueError(f"images have shape {images.shape}; {height}x{width} images need shape (k, {height * width})")
    if not len(images) == len(true) == len(pred):
        raise ValueError(f"{len(images)} images but {len(true)} true and {len(pred)} predicted labels")
    # A stable sort keeps the given order within the wrong and within the right ones.
    order = np.argsort(true == pred, kind="stable")[:max_images]
    if not len(order):
        return _image_figure(title)
    # The wide gap, also above the first row, leaves room for each caption above its image.
    gap = max(1, math.ceil(0.45 * height))
    columns = min(len(order), PREDICTION_COLUMNS)
    tiled, origins = _tile(images[order].reshape(-1, height, width), columns=columns, gap=gap)
    # Ink-coloured labels, legible on a projector; only the mark after them is coloured.
    captions = [
        dict(
            x=col + (width - 1) / 2,
            y=row - 0.5,
            yanchor="bottom",
            bgcolor="white",  # the marks' colours are legible on white, not on the grey between tiles
            text=f"{t} → {p} <b style='color:{RIGHT if t == p else WRONG}'>{'✓' if t == p else '✗'}</b>",
            showarrow=False,
        )
        for (row, col), t, p in zip(origins, true[order], pred[order], strict=True)
    ]
    rows = len(tiled)
    fig = _image_figure(
        title,
        height=_grid_height((rows + gap, tiled.shape[1])),
        yaxis=dict(autorange=False, range=[rows - 0.5, -0.5 - gap]),
        annotations=captions,
    )
    fig.add_trace(go.Heatmap(z=tiled, colorscale="Greys", showscale=False, hoverinfo="skip"))
    return fig


def _figure(
    title: str,
    x_title: str,
    y_title: str,
    *,
    log_y: bool = False,
    revision: str | None = None,
    xaxis: dict | None = None,
    yaxis: dict | None = None,
    **layout: object,
) -> go.Figure:
    """An empty figure with the shared lecture-hall layout; `xaxis`, `yaxis` and `layout` add to it or override it."""
    axis = dict(
        automargin=True,
        showline=True,
        linewidth=2,
        linecolor=INK,
        ticks="outside",
        gridcolor=GRID,
        zeroline=False,
        exponentformat="power",
    )
    y_type = "log" if log_y else "linear"
    shared = dict(
        template="none",  # all styling is explicit here; a named template would add kilobytes to every draw
        font=dict(family="Arial, Helvetica, sans-serif", size=FONT_SIZE, color=INK),
        title=dict(text=title, x=0.01, xanchor="left", font=dict(size=FONT_SIZE + 4)),
        paper_bgcolor="white",
        plot_bgcolor="white",
        colorway=PALETTE,
        margin=dict(l=10, r=10, t=90, b=10),  # axes grow their own margin to fit their labels
        legend=LEGEND,
        hoverlabel=dict(font=dict(size=FONT_SIZE - 2)),
        xaxis={**axis, "title": dict(text=x_title), **(xaxis or {})},
        yaxis={**axis, "title": dict(text=y_title), "type": y_type, **(yaxis or {})},
        # Unchanged between redraws of one view, so zoom and pan survive them; a new axis type resets them.
        uirevision=f"{revision or title}|{y_type}",
    )
    # The whole layout in one validated call: update_layout() parses every property path
    # again and costs ten times as much, on every draw of every chart.
    return go.Figure(layout={**shared, **layout})


def _image_figure(title: str, *, yaxis: dict | None = None, **layout: object) -> go.Figure:
    """A shared-layout figure for a tiled heatmap of images: square pixels, row 0 on top, no axes."""
    # Both axes shrink to the images, so the gap colour shows only between tiles.
    return _figure(
        title,
        "",
        "",
        plot_bgcolor=TILE_GAP_COLOR,
        showlegend=False,
        xaxis=dict(visible=False, constrain="domain"),
        yaxis={"visible": False, "autorange": "reversed", "scaleanchor": "x", "constrain": "domain", **(yaxis or {})},
        **layout,
    )


def _grid_height(shape: tuple[int, int], *, top: int = 90, bottom: int = 10) -> int:
    """A figure height that gives a grid of `shape` (rows, columns) cells GRID_WIDTH_PX across, within bounds."""
    rows, columns = shape
    low, high = GRID_HEIGHT_PX
    return int(min(max(top + bottom + GRID_WIDTH_PX * rows / columns, low), high))


def _line(x: Sequence[float], y: Sequence[float], name: str, color: str) -> go.Scatter:
    """A downsampled line trace."""
    # Arrays, not lists: Plotly checks them in one step and sends them as compact typed arrays.
    xs, ys = downsample(x, y)
    # A few points (the records of a run that diverged early) need markers: one point draws no line.
    mode = "lines+markers" if len(xs) <= FEW_POINTS else "lines"
    return go.Scatter(x=xs, y=ys, name=name, mode=mode, line=dict(color=color, width=3))


def _lines_figure(title: str, y_title: str, curves: Mapping[str, Curve], *, log_y: bool) -> go.Figure:
    """One downsampled line per labelled (epochs, values) curve, colours in palette order."""
    # Long labels (a past run's settings) wrap to a row each: the figure grows by those rows, not the plot shrinks.
    rows = sum(len(label) > LONG_LABEL for label in curves)
    layout = {"height": FIGURE_HEIGHT_PX + LEGEND_ROW_PX * (rows - 1)} if rows > 1 else {}
    fig = _figure(title, "epoch", y_title, log_y=log_y, **layout)
    for i, (label, (x, y)) in enumerate(curves.items()):
        fig.add_trace(_line(x, y, label, PALETTE[i % len(PALETTE)]))
    return fig


def _check_bins(edges: np.ndarray, counts: np.ndarray) -> None:
    """Raise unless there is one count per bin along the first axis of `counts`."""
    if edges.ndim != 1 or len(edges) < 2 or len(counts) != len(edges) - 1:
        raise ValueError(f"{len(edges)} edges make {len(edges) - 1} bins, but counts have {len(counts)} values per set")


def _tile(images: np.ndarray, *, columns: int, gap: int) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Images (n, h, w) laid out in a grid, NaN between them, as float32; also each image's top-left (row, col)."""
    n, height, width = images.shape
    rows = math.ceil(n / columns)
    # float32 halves the payload (sent as a typed array); NaN cells are drawn transparent, so the gaps show.
    grid = np.full((rows * (height + gap) - gap, columns * (width + gap) - gap), np.nan, dtype=np.float32)
    origins = []
    for i, image in enumerate(images):
        top, left = (i // columns) * (height + gap), (i % columns) * (width + gap)
        grid[top : top + height, left : left + width] = image
        origins.append((top, left))
    return grid, origins
