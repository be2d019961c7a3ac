"""Figure builders: trace lengths, values, layout and payload size of each chart."""

import json
import math

import numpy as np
import plotly.io as pio
import pytest

from twolayer.charts import base, curves, draw, labels, step, weights


def spiky_losses(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A falling loss over n epochs with noise and a few one-epoch spikes, as the lecture's runs show."""
    rng = np.random.default_rng(seed)
    epochs = np.arange(n)
    losses = 1e6 * np.exp(-epochs / (n / 10)) + rng.random(n)
    return epochs, losses


# --- downsample ---------------------------------------------------------------------------------


def test_downsample_short_input_is_returned_whole_as_arrays():
    x, y = curves.downsample([0, 1, 2], [3.0, 1.0, 2.0])
    assert (x.tolist(), y.tolist()) == ([0, 1, 2], [3.0, 1.0, 2.0])
    assert isinstance(x, np.ndarray) and y.dtype == np.float64


@pytest.mark.parametrize("max_points", [2, 3, 4, 5, 101, 2000])
@pytest.mark.parametrize("n", [2001, 10_007, 100_000])
def test_downsample_bounds_points_and_keeps_ends_and_extremes(n, max_points):
    epochs, losses = spiky_losses(n)
    spikes = [n // 3, n // 2 + 1, n - 5]
    losses[spikes] = [5e6, 7e6, 9e6]
    low = n // 4
    losses[low] = -1.0
    x, y = curves.downsample(epochs, losses, max_points)
    assert len(x) == len(y) <= max_points, f"{len(x)} points for max_points={max_points}"
    assert (x[0], y[0]) == (0, losses[0]) and (x[-1], y[-1]) == (n - 1, losses[-1]), "first or last point lost"
    assert all(np.diff(x) > 0), "points out of order or repeated"
    assert np.array_equal(y, losses[x]), "points moved off the curve"
    if max_points >= 4:  # room for at least one bucket's minimum and maximum
        assert max(y) == 9e6 and min(y) == -1.0, "global max or min lost"
    if max_points >= 101:
        assert set(spikes) <= set(x), "a one-epoch spike was dropped"


def test_downsample_drops_unmeasured_nan_points():
    x, y = curves.downsample([0, 1, 2, 3], [1.0, math.nan, 3.0, math.nan])
    assert (x.tolist(), y.tolist()) == ([0, 2], [1.0, 3.0])


@pytest.mark.parametrize(
    ("x", "y", "max_points"),
    [([0, 1], [1.0], 10), ([[0, 1]], [[1.0, 2.0]], 10), ([0, 1], [1.0, 2.0], 1)],
)
def test_downsample_rejects_bad_input(x, y, max_points):
    with pytest.raises(ValueError):
        curves.downsample(x, y, max_points)


# --- loss ----------------------------------------------------------------------------------------


def test_loss_figure_of_100k_epochs_is_bounded_and_ends_at_the_last_loss():
    epochs, losses = spiky_losses(100_000)
    fig = curves.loss_figure(epochs, losses, test=(epochs[::10], 1.1 * losses[::10]))
    train, test, current = fig.data
    assert len(fig.to_json()) < 200_000, "loss figure payload over 200 KB"
    assert len(train.x) <= curves.MAX_POINTS and len(test.x) <= curves.MAX_POINTS
    assert (train.x[-1], train.y[-1]) == (99_999, losses[-1]), "train trace does not end at the last loss"
    assert max(train.y) == losses.max() and min(train.y) == losses.min()
    assert (test.name, test.x[-1], test.y[-1]) == ("test", 99_990, 1.1 * losses[-10])
    assert (current.x, current.y) == ((99_999,), (losses[-1],)), "current point not marked at the last epoch"
    assert current.name == f"latest: {losses[-1]:.4g}"
    assert fig.layout.yaxis.type == "log"


def test_loss_figure_linear_axis_and_no_marker_when_asked():
    fig = curves.loss_figure([0, 1, 2], [3.0, 2.0, 1.0], log_y=False, mark_current=False, title="Stage 1")
    assert fig.layout.yaxis.type == "linear"
    assert len(fig.data) == 1 and fig.data[0].y.tolist() == [3.0, 2.0, 1.0]
    assert fig.layout.title.text == "Stage 1"
    assert fig.layout.uirevision != curves.loss_figure([0], [1.0], title="Stage 1").layout.uirevision, (
        "switching the axis type must reset the kept zoom"
    )


def test_loss_figure_with_no_points_has_axes_and_no_marker():
    fig = curves.loss_figure([], [])
    assert [len(trace.x) for trace in fig.data] == [0]
    assert (fig.layout.xaxis.title.text, fig.layout.yaxis.title.text) == ("epoch", "loss")


def test_compare_figure_overlays_one_bounded_trace_per_label():
    epochs, losses = spiky_losses(5000)
    overlaid = {f"stage {i}": (epochs, losses * (i + 1)) for i in range(8)}
    fig = curves.compare_figure(overlaid, log_y=False)
    assert [trace.name for trace in fig.data] == list(overlaid)
    assert all(len(trace.x) <= curves.MAX_POINTS for trace in fig.data)
    assert fig.data[3].y[-1] == 4 * losses[-1]
    assert fig.data[7].line.color == fig.data[0].line.color == base.PALETTE[0], "colours do not cycle"
    assert fig.data[1].line.color != fig.data[0].line.color
    assert fig.layout.yaxis.type == "linear"
    assert fig.layout.yaxis.title.text == "loss"
    gaps = curves.compare_figure({"nn": ([0, 1], [1e-16, 1e-17])}, y_title="relative gap")
    assert gaps.layout.yaxis.title.text == "relative gap"


# --- histograms ----------------------------------------------------------------------------------


def test_histogram_figure_draws_one_bar_per_bin_at_its_centre():
    edges = np.linspace(-2.0, 2.0, 5)
    fig = weights.histogram_figure(edges, [1, 5, 7, 2], "W1")
    (bars,) = fig.data
    assert bars.type == "bar"
    assert bars.x.tolist() == [-1.5, -0.5, 0.5, 1.5] and bars.width.tolist() == [1.0, 1.0, 1.0, 1.0]
    assert bars.y.tolist() == [1, 5, 7, 2]
    sent = json.loads(pio.to_json(fig, validate=False))["data"][0]
    assert [sent[key]["dtype"] for key in ("x", "width", "y")] == ["f4", "f4", "i4"], "typed arrays for the page"
    assert fig.layout.title.text == "W1" and fig.layout.bargap == 0


def test_histogram_figure_rejects_counts_that_do_not_match_the_edges():
    with pytest.raises(ValueError, match="5 edges make 4 bins"):
        weights.histogram_figure(np.linspace(0, 1, 5), [1, 2, 3])


def test_histogram_over_time_is_a_small_bins_by_epochs_heatmap():
    bins, n_snapshots = 40, 64
    edges = np.linspace(-3.0, 3.0, bins + 1)
    rng = np.random.default_rng(0)
    snapshots = [(10 * i, rng.integers(0, 80_000, bins)) for i in range(n_snapshots)]
    fig = weights.histogram_over_time_figure(edges, snapshots, "W1 over epochs")
    (heat,) = fig.data
    z = np.array(heat.z)
    assert z.shape == (bins, n_snapshots), "expected a row per bin and a column per snapshot"
    assert heat.x == tuple(range(0, 640, 10))
    assert np.allclose(heat.y, (edges[:-1] + edges[1:]) / 2)
    counts = np.array([c for _, c in snapshots]).T
    assert np.array_equal(heat.customdata, counts), "hover counts differ from the snapshots"
    steps = weights.LOG_COLOR_STEPS
    assert z.dtype.kind == "i", "the colour is whole steps"
    assert np.allclose(z / steps, np.log1p(counts), atol=0.5 / steps), "colour is not log1p of the counts"
    assert heat.colorbar.ticktext == ("0", "1", "10", "100", "1000", "10000")
    assert np.allclose(heat.colorbar.tickvals, np.log1p([0, 1, 10, 100, 1000, 10000]) * steps)
    assert len(fig.to_json()) < 50_000


def test_histogram_over_time_linear_colour_and_empty_and_mismatched():
    edges = [0.0, 1.0, 2.0]
    fig = weights.histogram_over_time_figure(edges, [(0, [3, 4]), (5, [0, 7])], log_color=False)
    assert np.array_equal(fig.data[0].z, [[3, 0], [4, 7]]) and fig.data[0].colorbar.tickvals is None
    assert weights.histogram_over_time_figure(edges, []).data == ()
    with pytest.raises(ValueError):
        weights.histogram_over_time_figure(edges, [(0, [1, 2, 3])])


def test_norms_figure_draws_a_log_line_per_layer():
    epochs = [0, 5, 10]
    fig = curves.norms_figure(epochs, {"W1": [3.0, 2.0, 1.0], "W2": [0.3, 0.2, 0.1]})
    assert [(t.name, t.y.tolist()) for t in fig.data] == [("W1", [3.0, 2.0, 1.0]), ("W2", [0.3, 0.2, 0.1])]
    assert fig.layout.yaxis.type == "log"
    assert curves.norms_figure(epochs, {"W1": [1.0, 2.0, 3.0]}, log_y=False).layout.yaxis.type == "linear"


def test_update_ratio_figure_has_a_dashed_reference_across_the_epochs():
    fig = curves.update_ratio_figure([0, 5, 10], {"W1": [1e-2, 1e-3, 1e-4]})
    ratio, reference = fig.data
    assert ratio.y.tolist() == [1e-2, 1e-3, 1e-4]
    assert reference.x == (0.0, 10.0) and reference.y == (1e-3, 1e-3)
    assert reference.line.dash == "dash"
    assert [t.name for t in curves.update_ratio_figure([], {}).data] == [], "reference drawn without epochs"


# --- classification views ------------------------------------------------------------------------


def test_rate_finder_figure_marks_the_suggestion_the_blow_up_and_the_edge_when_given():
    lrs, losses = [1e-4, 1e-3, 1e-2, 1e-1], [4.0, 2.0, 1.0, 9.0]
    fig = curves.rate_finder_figure(lrs, losses, [4.0, 3.0, 2.0, 5.0], suggested=1e-3, diverged_at=1e-1, edge=3e-2)
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"
    assert [trace.name for trace in fig.data] == [
        "loss of each step",
        "moving average",
        "suggested 0.001",
        "blew up 0.1",
        "2/λ 0.03",
    ]
    edge = fig.data[-1]
    assert list(edge.x) == [3e-2, 3e-2] and list(edge.y) == [1.0, 9.0] and edge.line.dash == "dash"
    assert len(curves.rate_finder_figure(lrs, losses, losses).data) == 2, "no marks when none are given"
    assert len(curves.rate_finder_figure([], [], [], edge=1.0).data) == 2, "nothing to span: no marks"


def test_accuracy_figure_shows_fractions_as_percent_within_0_to_100():
    fig = curves.accuracy_figure([0, 10], [0.5, 0.9], [0.45, 0.85])
    train, test = fig.data
    assert (train.y.tolist(), test.y.tolist()) == ([0.5, 0.9], [0.45, 0.85])
    assert fig.layout.yaxis.tickformat == ".0%"
    opts = fig.layout.yaxis.autorangeoptions
    assert (opts.minallowed, opts.maxallowed) == (0, 1)
    assert len(curves.accuracy_figure([0], [0.1]).data) == 1


def test_confusion_matrix_counts_each_true_predicted_pair():
    true = [0, 0, 1, 1, 1, 2, 2, 2, 2]
    pred = [0, 1, 1, 1, 2, 2, 2, 0, 2]
    fig = labels.confusion_matrix_figure(true, pred, n_classes=3)
    (heat,) = fig.data
    assert np.array_equal(heat.z, [[1, 1, 0], [0, 2, 1], [1, 0, 3]]), "rows must be true classes, columns predicted"
    assert fig.layout.title.text == "Confusion matrix: accuracy 66.7%"
    assert fig.layout.yaxis.autorange == "reversed", "class 0 should be the top row"
    assert fig.layout.height == labels.MATRIX_HEIGHT_PX, "cells too small for their counts in presenter mode"
    assert np.array(labels.confusion_matrix_figure([], [], 10).data[0].z).shape == (10, 10)


@pytest.mark.parametrize(("true", "pred"), [([0, 10], [0, 1]), ([0, 1], [-1, 1]), ([0, 1], [0])])
def test_confusion_matrix_rejects_bad_labels(true, pred):
    with pytest.raises(ValueError):
        labels.confusion_matrix_figure(true, pred, n_classes=10)


def test_weight_images_tile_each_units_weights_scaled_to_its_max():
    rng = np.random.default_rng(0)
    w1 = rng.normal(size=(64, 40))  # 8x8 digits, 40 hidden units
    fig = weights.weight_images_figure(w1, (8, 8), max_units=32)
    z = np.asarray(fig.data[0].z)
    assert z.shape == (4 * 9 - 1, 8 * 9 - 1), "32 units of 8x8 should tile as 4 rows of 8 with 1-cell gaps"
    assert np.isnan(z).sum() == z.size - 32 * 64, "gaps should be NaN and only gaps"
    unit1 = w1[:, 1].reshape(8, 8)
    assert np.allclose(z[0:8, 9:17], unit1 / np.abs(unit1).max(), atol=1e-6), "unit 1 not in the second tile"
    assert np.isnan(z[8, :]).all() and np.isnan(z[:, 8]).all()
    assert fig.layout.yaxis.autorange == "reversed" and fig.layout.yaxis.scaleanchor == "x"


def test_weight_images_of_mnist_stay_under_200_kb():
    w1 = np.random.default_rng(0).normal(size=(784, 100))
    assert len(weights.weight_images_figure(w1, (28, 28)).to_json()) < 200_000


def test_weight_images_reject_a_shape_that_does_not_match():
    with pytest.raises(ValueError, match="28x28 images need shape"):
        weights.weight_images_figure(np.zeros((64, 10)), (28, 28))


def test_predictions_put_wrong_ones_first_in_their_given_order():
    images = np.arange(6 * 4, dtype=float).reshape(6, 4)  # six 2x2 images, each distinct
    true = [0, 1, 2, 3, 4, 5]
    pred = [0, 7, 2, 8, 4, 9]
    fig = labels.predictions_figure(images, (2, 2), true, pred, max_images=4)
    texts = [a.text for a in fig.layout.annotations]
    wrong, right = f"<b style='color:{labels.WRONG}'>✗</b>", f"<b style='color:{labels.RIGHT}'>✓</b>"
    assert texts == [f"1 → 7 {wrong}", f"3 → 8 {wrong}", f"5 → 9 {wrong}", f"0 → 0 {right}"]
    z = np.asarray(fig.data[0].z)
    assert np.array_equal(z[0:2, 0:2], images[1].reshape(2, 2)), "first tile is not the first wrong image"
    assert np.array_equal(z[0:2, 9:11], images[0].reshape(2, 2)), "fourth tile is not the first right image"


def test_prediction_captions_are_ink_at_the_chart_font_on_white():
    """Read from the back row: the labels in ink at the figure's font (scaled up in presenter mode), not small
    coloured text; only the mark is coloured, on a white box rather than the grey between tiles."""
    images = np.random.default_rng(0).random((12, 64))
    fig = labels.predictions_figure(images, (8, 8), list(range(10)) + [1, 2], list(range(10)) + [3, 2])
    for caption in fig.layout.annotations:
        assert caption.font.color in (None, base.INK), f"{caption.text}: coloured caption text"
        assert caption.font.size is None, f"{caption.text}: a fixed size would not follow presenter mode"
        assert caption.bgcolor == "white"
    assert fig.layout.font.size >= 16 and fig.layout.font.color == base.INK
    # A caption's band above each row is at least 0.45 of an image: about 45 px for 100 px images.
    rows = len(fig.data[0].z)
    assert fig.layout.yaxis.range[1] - fig.layout.yaxis.range[0] <= -(rows + 0.45 * 8)


def test_image_grids_fill_the_width_with_a_small_colour_bar_below():
    """32 hidden units in rows of 8, the figure tall enough for them at the page's width, the colour bar short,
    thin and horizontal under the grid rather than a tall bar beside it."""
    fig = weights.weight_images_figure(np.random.default_rng(0).normal(size=(64, 64)), (8, 8))
    z = np.asarray(fig.data[0].z)
    assert z.shape == (4 * 9 - 1, 8 * 9 - 1)
    bar = fig.data[0].colorbar
    assert bar.orientation == "h" and bar.len <= 0.4 and bar.thickness <= 16
    assert (bar.yref, bar.y, bar.yanchor) == ("container", 0, "bottom"), "the colour bar belongs below the grid"
    grid_px = base.GRID_WIDTH_PX * z.shape[0] / z.shape[1]
    assert fig.layout.height >= grid_px + fig.layout.margin.t, "the figure is too short for its grid at full width"
    assert fig.layout.height <= base.GRID_HEIGHT_PX[1]
    strip = weights.weight_images_figure(np.ones((4, 8)), (2, 2))  # one row of eight 2x2 units
    assert strip.layout.height == base.GRID_HEIGHT_PX[0], "a flat grid still gets a usable figure"


def test_predictions_with_no_images_and_with_mismatched_labels():
    assert labels.predictions_figure(np.zeros((0, 4)), (2, 2), [], []).data == ()
    with pytest.raises(ValueError, match="3 images but 2 true"):
        labels.predictions_figure(np.zeros((3, 4)), (2, 2), [0, 1], [0, 1])


# --- shared layout -------------------------------------------------------------------------------

EVERY_FIGURE = {
    "loss": lambda: curves.loss_figure([0, 1], [2.0, 1.0]),
    "compare": lambda: curves.compare_figure({"a": ([0, 1], [2.0, 1.0])}),
    "sweep": lambda: curves.sweep_figure([("lr 0.1", ([0, 1], [2.0, 1.0]), ([1], [1.5]))]),
    "histogram": lambda: weights.histogram_figure([0.0, 1.0], [3]),
    "histogram_over_time": lambda: weights.histogram_over_time_figure([0.0, 1.0], [(0, [3])]),
    "norms": lambda: curves.norms_figure([0, 1], {"W1": [1.0, 2.0]}),
    "update_ratio": lambda: curves.update_ratio_figure([0, 1], {"W1": [1e-3, 2e-3]}),
    "accuracy": lambda: curves.accuracy_figure([0, 1], [0.1, 0.2]),
    "rate_finder": lambda: curves.rate_finder_figure([1e-3, 1e-2], [2.0, 1.0], [2.0, 1.5], suggested=1e-3),
    "confusion": lambda: labels.confusion_matrix_figure([0, 1], [0, 1], 2),
    "weight_images": lambda: weights.weight_images_figure(np.ones((4, 3)), (2, 2)),
    "predictions": lambda: labels.predictions_figure(np.ones((2, 4)), (2, 2), [0, 1], [0, 0]),
    "scores": lambda: draw.scores_figure(np.array([0.1, 0.9]), predicted=1),
    "units": lambda: draw.units_figure(np.ones((4, 3)), [(2, 0.5)], (2, 2), predicted=1),
    "matrix": lambda: step.matrix_figure("w1", np.ones((2, 3))),
    "vector": lambda: step.vector_figure("b1", np.ones(3)),
    "mask": lambda: step.mask_figure("h > 0", np.ones((2, 3))),
    "firing": lambda: step.firing_figure([1, 2], np.ones((3, 2))),
    "graph": lambda: step.graph_column_figure(
        {"nodes": [{"name": "SumBackward0", "depth": 0, "param": None}], "edges": []}
    ),
    "update": lambda: step.update_figure(np.ones((2, 2)), np.zeros((2, 2))),
}


LEGEND_FIGURES = ("loss", "compare", "sweep", "norms", "update_ratio", "accuracy", "rate_finder")


@pytest.mark.parametrize("name", LEGEND_FIGURES)
def test_legends_lie_below_the_plot_in_a_margin_of_their_own(name):
    """A legend anchored to the figure's bottom edge: Plotly reserves a margin for it, so that it can cover
    neither the title above the plot nor the curves, however many rows it wraps to at a narrow width."""
    layout = EVERY_FIGURE[name]().layout
    legend = layout.legend
    assert legend.orientation == "h", f"{name}: a vertical legend beside the plot squeezes it at 1280 px"
    assert (legend.yref, legend.y, legend.yanchor) == ("container", 0, "bottom"), f"{name}: legend not at the bottom"
    assert (legend.x, legend.xanchor) == (0, "left")
    assert layout.title.y is None or layout.title.y > 0.5, f"{name}: title moved down to the legend"
    assert layout.showlegend is not False


def test_images_and_histograms_have_no_legend_to_place():
    for name in ("histogram", "weight_images", "predictions"):
        assert EVERY_FIGURE[name]().layout.showlegend is False, name


def test_many_long_legend_entries_grow_the_figure_not_shrink_the_plot():
    overlaid = {f"#{i} numpy, H=100, lr=1e-06, batch 0, seed 0, random": ([0, 1], [2.0, 1.0]) for i in range(8)}
    fig = curves.compare_figure(overlaid)
    assert fig.layout.height == base.FIGURE_HEIGHT_PX + 7 * curves.LEGEND_ROW_PX
    assert curves.compare_figure({"numpy": ([0, 1], [2.0, 1.0]), "nn": ([0, 1], [2.0, 1.0])}).layout.height is None


@pytest.mark.parametrize("name", EVERY_FIGURE)
def test_every_figure_shares_the_lecture_hall_layout(name):
    fig = EVERY_FIGURE[name]()
    layout = fig.layout
    assert layout.font.size == base.FONT_SIZE, f"{name}: base font size"
    assert layout.uirevision, f"{name}: no uirevision, zoom would reset on every redraw"
    assert layout.template.layout.to_plotly_json() == {}, f"{name}: a styling template adds weight to every draw"
    assert layout.margin.l <= 20 and layout.margin.r <= 20
    assert len(fig.to_json()) < 10_000, f"{name}: a tiny figure should stay tiny"


def test_a_line_of_few_points_is_drawn_with_markers():
    few, many = curves.norms_figure([0], {"W1": [1.0]}), curves.norms_figure(list(range(50)), {"W1": [1.0] * 50})
    assert few.data[0].mode == "lines+markers" and many.data[0].mode == "lines"


@pytest.mark.parametrize("data", ["random", "digits"])  # the sum of squares alone, and per example with a test curve
@pytest.mark.parametrize("log_y", [True, False])
def test_the_live_loss_chart_built_unchecked_is_the_checked_figure(data, log_y):
    """The page skips Plotly's checks for the loss chart it redraws five times a second: the same figure."""
    import json

    from twolayer import TrainConfig, Trainer
    from twolayer.teach.report import loss_chart

    trainer = Trainer(TrainConfig(data=data, epochs=30, hidden_size=8))
    trainer.advance(30)
    checked, unchecked = loss_chart(trainer, log_y), loss_chart(trainer, log_y, validate=False)
    assert len(checked.data) == (3 if data == "digits" else 2)
    fast, slow = json.loads(unchecked.to_json()), json.loads(checked.to_json())  # the keys' order aside
    # Checked, Plotly resolves the template "none" into an empty one; plotly.js reads either as no template.
    assert fast["layout"].pop("template") == "none"
    assert slow["layout"].pop("template") == {"data": {"scatter": [{"type": "scatter"}]}}
    assert fast == slow
