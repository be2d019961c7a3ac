"""The look every figure shares: the lecture-hall layout, its palette and fonts, and the pieces of image grids."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

FONT_SIZE = 18  # readable from the back of a lecture hall
TITLE_SIZE = FONT_SIZE + 4
# Okabe-Ito colours: high contrast on white, and told apart with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
INK = "#111111"
GRID = "#d0d0d0"
TILE_GAP_COLOR = "#9a9a9a"  # shows between image tiles, where the heatmap holds NaN
FIGURE_HEIGHT_PX = 450  # Plotly's and Streamlit's default
# Image grids are sized for this plot width, about the page's main column at 1280 px: a wider column centres
# the grid, a narrower one shrinks it. Their height follows, within these bounds.
GRID_WIDTH_PX = 860
GRID_HEIGHT_PX = (320, 760)
# Legends go below the plot, anchored to the figure's bottom edge: Plotly then reserves a margin for them,
# so that however many rows they wrap to, they cover neither the curves, the axis titles nor the title.
LEGEND = dict(orientation="h", x=0, xanchor="left", y=0, yanchor="bottom", yref="container")


def figure(
    title: str,
    x_title: str,
    y_title: str,
    *,
    log_y: bool = False,
    revision: str | None = None,
    title_size: int = TITLE_SIZE,
    xaxis: dict | None = None,
    yaxis: dict | None = None,
    validate: bool = True,
    **layout: object,
) -> go.Figure:
    """An empty figure with the shared lecture-hall layout; `xaxis`, `yaxis` and `layout` add to it or override it;
    `validate=False` skips Plotly's checks of the layout (see `loss_figure`)."""
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
        title=dict(text=title, x=0.01, xanchor="left", font=dict(size=title_size)),
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
    return go.Figure(layout={**shared, **layout}, _validate=validate)


def image_figure(title: str, *, yaxis: dict | None = None, **layout: object) -> go.Figure:
    """A shared-layout figure for a tiled heatmap of images: square pixels, row 0 on top, no axes."""
    # Both axes shrink to the images, so the gap colour shows only between tiles.
    return figure(
        title,
        "",
        "",
        plot_bgcolor=TILE_GAP_COLOR,
        showlegend=False,
        xaxis=dict(visible=False, constrain="domain"),
        yaxis={"visible": False, "autorange": "reversed", "scaleanchor": "x", "constrain": "domain", **(yaxis or {})},
        **layout,
    )


def grid_height(shape: tuple[int, int], *, top: int = 90, bottom: int = 10) -> int:
    """A figure height that gives a grid of `shape` (rows, columns) cells GRID_WIDTH_PX across, within bounds."""
    rows, columns = shape
    low, high = GRID_HEIGHT_PX
    return int(min(max(top + bottom + GRID_WIDTH_PX * rows / columns, low), high))


def tile(images: np.ndarray, *, columns: int, gap: int) -> tuple[np.ndarray, list[tuple[int, int]]]:
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
