"""What a live chart sends after its first figure: the change since the last (twolayer.charts.delta), and the
downsampling that keeps a growing curve's points so that the change is its new points."""

from __future__ import annotations

import base64
import json
import math

import numpy as np
import plotly.io as pio
import pytest

from twolayer.charts import curves
from twolayer.charts.delta import diff, is_typed, typed_values
from twolayer.charts.weights import histogram_figure, histogram_over_time_figure


def merged(old, patch):
    """What the browser (page/live_chart.js) makes of `old` and `patch`: the same rules, in Python."""
    if patch is None:
        return old
    if "=" in patch:
        return patch["="]
    if "+" in patch:
        kept, tail = patch["+"]
        if is_typed(tail):
            values = np.concatenate([typed_values(old)[:kept], typed_values(tail)])
            return {"dtype": tail["dtype"], "values": values}
        return old[:kept] + tail
    if "|" in patch:
        kept, tails = patch["|"]
        return [row[:kept] + tail for row, tail in zip(old, tails, strict=True)]
    if "[" in patch:
        out = list(old)
        for i, item in patch["["]:
            out[i] = merged(old[i], item)
        return out
    out = {**old}
    for key, item in patch["{"].items():
        out[key] = merged(old.get(key), item)
    for key in patch.get("-", []):
        del out[key]
    return out


def plain(value):
    """`value` with typed arrays as (dtype, values), so that arrays compare by what they hold."""
    if is_typed(value):
        return ("typed", value["dtype"], typed_values(value).tobytes())
    if isinstance(value, dict) and "values" in value and "dtype" in value:
        return ("typed", value["dtype"], np.asarray(value["values"]).tobytes())
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def as_sent(figure) -> dict:
    """The figure as a live chart sends it: Plotly's JSON, parsed."""
    return json.loads(pio.to_json(figure, validate=False))


def spiky_run(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    losses = np.exp(-np.arange(n) / (n / 5)) * 600 + rng.random(n)
    losses[rng.integers(0, n, 5)] *= 50
    return np.arange(n), losses


def live_figures(n: int, frames: list[int], total: int):
    epochs, losses = spiky_run(n)
    for upto in frames:
        yield curves.loss_figure(epochs[:upto], losses[:upto], total=total, validate=False)


@pytest.mark.parametrize("total", [500, 20_000])
def test_a_growing_loss_curve_merged_from_patches_equals_each_whole_figure(total):
    """Frame after frame of a live run: every patch merged into the last figure gives the new figure exactly."""
    frames = sorted({1, 2, 3, 25, 26, 160, 161, 999, 2000, 2001, 7777, total} & set(range(1, total + 1)))
    held = None
    for figure in live_figures(total, frames, total):
        sent = as_sent(figure)
        held = sent if held is None else merged(held, diff(held, sent))
        assert plain(held) == plain(sent)


def test_a_frame_of_new_epochs_sends_a_small_patch_of_new_points():
    """160 more epochs of a 20,000-epoch run send their few buckets and the latest point, not the curve."""
    before, after = live_figures(20_000, [10_000, 10_160], 20_000)
    whole = pio.to_json(after, validate=False)
    patch = json.dumps(diff(as_sent(before), as_sent(after)))
    assert len(patch) < len(whole) / 20, f"patch of {len(patch):,} bytes against {len(whole):,} whole"
    train = diff(as_sent(before), as_sent(after))["{"]["data"]["["][0][1]["{"]
    kept, tail = train["y"]["+"]
    assert kept > 900 and len(typed_values(tail)) < 30


def test_the_live_curve_ends_as_the_whole_run_downsampled():
    """With the run's epochs as total, the finished curve is the plain downsampling of its history."""
    epochs, losses = spiky_run(20_000)
    x, y = curves.downsample(epochs, losses, total=20_000)
    plain_x, plain_y = curves.downsample(epochs, losses)
    assert np.array_equal(x, plain_x) and np.array_equal(y, plain_y)
    assert len(x) <= curves.MAX_POINTS


def test_points_kept_for_finished_buckets_stay_as_the_curve_grows():
    epochs, losses = spiky_run(20_000)
    early_x, _ = curves.downsample(epochs[:5000], losses[:5000], total=20_000)
    late_x, _ = curves.downsample(epochs, losses, total=20_000)
    width = math.ceil((20_000 - 2) / ((curves.MAX_POINTS - 2) // 2))
    settled = early_x[early_x < 1 + (4998 // width) * width]  # the buckets finished by epoch 4999
    assert np.array_equal(late_x[: len(settled)], settled)


def test_an_unchanged_figure_has_no_patch_and_a_changed_scalar_is_sent_alone():
    epochs, losses = spiky_run(100)
    figure = as_sent(curves.loss_figure(epochs, losses, validate=False))
    assert diff(figure, json.loads(json.dumps(figure))) is None
    retitled = json.loads(json.dumps(figure))
    retitled["layout"]["title"]["text"] = "Loss per example"
    assert diff(figure, retitled) == {"{": {"layout": {"{": {"title": {"{": {"text": {"=": "Loss per example"}}}}}}}


def test_heatmap_rows_that_gain_a_column_send_the_column_and_histograms_merge_exactly():
    edges = np.linspace(-1, 1, 11)
    rng = np.random.default_rng(1)
    snapshots = [(epoch, rng.integers(0, 50, 10)) for epoch in range(0, 400, 40)]
    before = as_sent(histogram_over_time_figure(edges, snapshots[:-1]))
    after = as_sent(histogram_over_time_figure(edges, snapshots))
    patch = diff(before, after)
    assert plain(merged(before, patch)) == plain(after)
    trace = patch["{"]["data"]["["][0][1]["{"]
    assert trace["z"]["|"][0] == trace["customdata"]["|"][0] == 9, "one patch for every row's new column"
    assert len(json.dumps(patch)) < len(json.dumps(after)) / 5
    now, later = (as_sent(histogram_figure(edges, counts)) for _, counts in snapshots[-2:])
    assert plain(merged(now, diff(now, later))) == plain(later)


SMALL_INTS, WIDER_INTS = {"dtype": "i1", "bdata": "AAE="}, {"dtype": "i2", "bdata": "AAABAAIA"}  # 0, 1; 0, 1, 2


@pytest.mark.parametrize(
    ("old", "new", "patch"),
    [
        ([1, 2, 3], [1, 2, 3, 4], {"+": [3, [4]]}),
        ([1, 2, 3], [9, 2, 3, 4], {"=": [9, 2, 3, 4]}),
        ([1, 2, 3], [1, 2], {"+": [2, []]}),
        ({"a": 1, "b": 2}, {"a": 1, "c": 3}, {"{": {"c": {"=": 3}}, "-": ["b"]}),
        ([[1], [2], [3]], [[1, 5], [2], [3]], {"[": [[0, {"+": [1, [5]]}]]}),
        ([[1], [2], [3]], [[1, 5], [2, 6], [3, 7]], {"|": [1, [[5], [6], [7]]]}),
        (
            [[1], [2, 4], [3]],
            [[1, 5], [2, 4, 6], [3, 7]],
            {"[": [[0, {"+": [1, [5]]}], [1, {"+": [2, [6]]}], [2, {"+": [1, [7]]}]]},
        ),
        (1, 1.0, {"=": 1.0}),
        (
            {"dtype": "i1", "bdata": "AAE="},
            {"dtype": "i2", "bdata": "AAABAAIA"},
            {"=": {"dtype": "i2", "bdata": "AAABAAIA"}},
        ),
    ],
)
def test_patches_by_kind(old, new, patch):
    assert diff(old, new) == patch
    assert plain(merged(old, patch)) == plain(new)


def test_nan_values_compare_equal_bit_for_bit():
    values = np.array([1.0, math.nan, 3.0])
    old = {"dtype": "f8", "bdata": base64.b64encode(values.tobytes()).decode()}
    assert diff(old, dict(old)) is None
