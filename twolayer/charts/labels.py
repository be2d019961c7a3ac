"""What the network predicts for labelled data: the confusion matrix, and test images captioned with labels."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from twolayer.charts.base import PALETTE, figure, grid_height, image_figure, tile

WRONG, RIGHT = PALETTE[1], PALETTE[2]
# The confusion matrix's height: cells large enough for a count at the presenter's chart font.
MATRIX_HEIGHT_PX = 560
PREDICTION_COLUMNS = 6
MAX_PREDICTIONS = 12  # test images drawn with their predictions


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
    fig = figure(
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


def predictions_figure(
    images: np.ndarray,
    image_shape: tuple[int, int],
    labels_true: Sequence[int],
    labels_pred: Sequence[int],
    max_images: int = MAX_PREDICTIONS,
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
        return image_figure(title)
    # The wide gap, also above the first row, leaves room for each caption above its image.
    gap = max(1, math.ceil(0.45 * height))
    columns = min(len(order), PREDICTION_COLUMNS)
    tiled, origins = tile(images[order].reshape(-1, height, width), columns=columns, gap=gap)
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
    fig = image_figure(
        title,
        height=grid_height((rows + gap, tiled.shape[1])),
        yaxis=dict(autorange=False, range=[rows - 0.5, -0.5 - gap]),
        annotations=captions,
    )
    fig.add_trace(go.Heatmap(z=tiled, colorscale="Greys", showscale=False, hoverinfo="skip"))
    return fig
