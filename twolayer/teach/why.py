"""What the curvature, the landscape, the rate finder and the hidden units show, in a sentence with their numbers:
the captions of the page's Landscape tab and of the sharpness chart."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from twolayer.teach.hidden_map import HiddenMap
from twolayer.teach.landscape import Landscape
from twolayer.teach.rate_finder import RateFinding
from twolayer.train.config import SHARPNESS_SHARE, TrainConfig
from twolayer.train.curvature import Edge, Sharpness


def sharpness_words(epochs: Sequence[int], values: Sequence[float], edge: Edge, learning_rate: float) -> str:
    """Where the sharpness went, and how it stood against the rate's edge (2/lr, ...)."""
    threshold = edge.threshold(learning_rate)
    first, last, peak = values[0], values[-1], max(values)
    moved = f"λmax went from {first:.4g} at epoch {epochs[0]:,} to {last:.4g} at epoch {epochs[-1]:,}"
    if len(values) == 1:
        moved = f"λmax is {first:.4g} at epoch {epochs[0]:,}"
    crossed = next((e for e, v in zip(epochs, values, strict=True) if v > threshold), None)
    if crossed is None:
        where = f"it stayed below, at most {peak / threshold:.0%} of it"
    else:
        where = f"it crossed it at epoch {crossed:,} (peak {peak:.4g}, {peak / threshold:.2g} times the edge)"
    line = f"{moved}. {edge.steps.capitalize()} at a learning rate of {learning_rate:g} are unstable above {edge.rule} "
    line += f"= {threshold:.4g}: {where}."
    return f"{line} {edge.note}" if edge.note else line


def sharpness_spacing(config: TrainConfig) -> str:
    """How often the run measures its sharpness, in words."""
    if not config.sharpness:
        return "never"
    if config.sharpness_every:
        return f"every {config.sharpness_every:,} epochs from epoch 0"
    return f"from epoch 0, as often as {SHARPNESS_SHARE:.0%} of the training time allows"


def sharpness_cost_words(measurements: int, seconds: float, train_seconds: float, spacing: str) -> str:
    """What measuring the sharpness cost the run: how often, how long, and its share of the training time."""
    share = f", {seconds / train_seconds:.0%} of the training time" if train_seconds > 0 else ""
    times = "once" if measurements == 1 else f"{measurements:,} times"
    return f"Measured {times} ({spacing}) in {seconds:.2f} s{share}."


def line_words(view: Landscape) -> str:
    """The loss on the straight line from the start to the end: how it falls, and whether a ridge lies between."""
    inside = (view.line_t >= 0) & (view.line_t <= 1)
    t, losses = view.line_t[inside], view.line_loss[inside]
    start, end = view.start_loss, view.end_loss
    top = int(np.argmax(losses))
    if losses[top] > start and 0 < t[top] < 1:
        shape = f"rises to {losses[top]:.4g} at t = {t[top]:.2f} before it falls: a ridge the run went around"
    elif np.all(np.diff(losses) <= 0):
        shape = "falls all the way, without a bump"
    else:
        shape = "falls, though not steadily"
    beyond = float(view.line_loss[view.line_t == view.line_t.max()][0])
    return (
        f"From the start (t = 0, loss {start:.4g}) to the end (t = 1, loss {end:.4g}) the loss {shape}; past the end, "
        f"at t = {view.line_t.max():g}, it is {beyond:.4g} again."
    )


def plane_words(view: Landscape) -> str:
    """The plane around the end: the loss's range there and the path's way across it."""
    finite = view.plane_loss[np.isfinite(view.plane_loss)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (float("nan"), float("nan"))
    return (
        f"The plane through the end's weights along the two directions they moved most ({len(view.path_epochs)} "
        f"snapshots, epochs {view.path_epochs[0]:,} to {view.path_epochs[-1]:,}): the loss there ranges from "
        f"{low:.4g} to {high:.4g}. The path starts at ({view.path_a[0]:.3g}, {view.path_b[0]:.3g}), loss "
        f"{view.start_loss:.4g}, and ends at the centre (0, 0), loss {view.end_loss:.4g}."
    )


def rate_words(found: RateFinding, start: Sharpness | None) -> str:
    """The rate finder's curve: where the loss fell fastest, where it blew up, and the edge (2/λ0, ...) beside them."""
    parts = [f"{len(found.lrs)} steps from a rate of {found.lrs[0]:.0e}, each larger by the same factor"]
    if found.suggested is not None:
        parts.append(f"the loss fell fastest near {found.suggested:.3g}, the suggested rate")
    else:
        parts.append("the loss never fell")
    if found.diverged_at is not None:
        parts.append(f"it blew up at {found.diverged_at:.3g}")
    if start is not None:
        rule = f"{start.edge.factor:g}/λ0"
        parts.append(f"at the start, {start.edge.steps} are unstable above {rule} = {start.stable_rate:.3g}")
    return "; ".join(parts) + "."


def hidden_words(found: HiddenMap, index: int) -> str:
    """How far apart the digits' hidden activations lie at one snapshot, against the first."""

    def spread(points: np.ndarray) -> float:
        """Mean distance between the digits' centres, over the mean distance of an image to its digit's centre."""
        digits = np.unique(found.labels)
        centres = np.stack([points[found.labels == d].mean(axis=0) for d in digits])
        within = np.mean(
            [np.linalg.norm(points[found.labels == d] - c, axis=1).mean() for d, c in zip(digits, centres, strict=True)]
        )
        pairs = [np.linalg.norm(a - b) for i, a in enumerate(centres) for b in centres[i + 1 :]]
        between = np.mean(pairs) if pairs else 0.0  # a single digit among the probe images has no other
        return float(between / (within + 1e-12))

    return (
        f"{len(found.labels)} probe images placed by their hidden units' two principal components at epoch "
        f"{found.epochs[index]:,}: the digits' centres lie {spread(found.points[index]):.2f} times as far apart as an "
        f"image from its digit's centre, against {spread(found.points[0]):.2f} at epoch {found.epochs[0]:,}."
    )
