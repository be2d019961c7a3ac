"""Charts told in words: what a curve shows now, with its numbers, for those who cannot see the chart.

Each function takes the run's own numbers (its history, records and arrays, never a figure) and returns a sentence;
the `*_table` functions return the same numbers as columns for a chart's "Show as table". Shared by the page's
charts of losses: the live loss chart, the sweep, the comparison of stages and the run history.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from twolayer.train.state import RunState

MAX_TABLE_ROWS = 500  # a table of a long run: every k-th row, so that it stays small to send
WINDOWS = 10  # a curve is cut into this many stretches to say where it moved fastest


def number(value: float) -> str:
    """A value as people read it: four significant digits, thousands separated ("662.8", "0.0002", "12,350")."""
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    if 1e4 <= abs(value) < 1e15:
        digits = 4 - int(math.floor(math.log10(abs(value)))) - 1
        return f"{round(value, digits):,.0f}"
    return f"{value:.4g}"


def percent(share: float) -> str:
    """A share as a percentage with one decimal: "95.3%"."""
    return f"{100 * share:.1f}%"


def listing(items: Sequence[str]) -> str:
    """Items joined as in a sentence: "a", "a and b", "a, b and c"."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def finite_points(epochs: Sequence[float], values: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """The (epoch, value) pairs whose value is a finite number."""
    epochs, values = np.asarray(epochs, dtype=float), np.asarray(values, dtype=float)
    keep = np.isfinite(values)
    return epochs[keep], values[keep]


def fastest(epochs: np.ndarray, values: np.ndarray) -> tuple[int, int, float]:
    """The stretch (first epoch, last epoch, change) of about a tenth of the curve over which it moved most in its
    overall direction; on a logarithmic measure when every value is positive, as the loss chart shows it."""
    measure = np.log(values) if np.all(values > 0) else values
    falling = measure[-1] <= measure[0]
    cuts = np.unique(np.linspace(0, len(values) - 1, min(WINDOWS, len(values) - 1) + 1).round().astype(int))
    moves = [measure[b] - measure[a] for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
    best = int(np.argmin(moves) if falling else np.argmax(moves))
    a, b = cuts[best], cuts[best + 1]
    return int(epochs[a]), int(epochs[b]), float(values[b] - values[a])


def trend_words(epochs: Sequence[float], values: Sequence[float], what: str) -> str:
    """How a curve went: "the loss fell from 662.8 at epoch 0 to 0.0002 at epoch 499, fastest between epochs 0 and
    50", with its lowest or highest point when that is not its end."""
    epochs, values = finite_points(epochs, values)
    if not len(values):
        return f"{what} has no finite value yet"
    first, last = values[0], values[-1]
    if len(values) == 1:
        return f"{what} is {number(first)} at epoch {int(epochs[0]):,}"
    moved = "fell" if last < first else "rose" if last > first else "stayed"
    words = f"{what} {moved} from {number(first)} at epoch {int(epochs[0]):,} to {number(last)} at epoch "
    words += f"{int(epochs[-1]):,}"
    if moved != "stayed" and len(values) > 2:
        start, end, _ = fastest(epochs, values)
        words += f", fastest between epochs {start:,} and {end:,}"
    low, high = int(np.argmin(values)), int(np.argmax(values))
    if moved == "fell" and low != len(values) - 1:
        words += f"; its lowest was {number(values[low])} at epoch {int(epochs[low]):,}"
    elif moved == "rose" and high != len(values) - 1:
        words += f"; its highest was {number(values[high])} at epoch {int(epochs[high]):,}"
    return words


def loss_words(
    epochs: Sequence[float],
    losses: Sequence[float],
    unit: str,
    test: tuple[Sequence[float], Sequence[float]] | None = None,
    every: int = 1,
) -> str:
    """The loss chart: the training loss's way so far and, when measured, the test loss's latest value."""
    words = f"The training loss ({unit}) at every epoch so far, the latest point marked. "
    words += trend_words(epochs, losses, "It") + "."
    if test is not None:
        test_epochs, test_losses = finite_points(*test)
        if len(test_losses):
            measured = f", measured every {every:,} epochs," if every > 1 else ""
            words += f" The test loss{measured} is {number(test_losses[-1])} at epoch {int(test_epochs[-1]):,}"
            low = int(np.argmin(test_losses))
            if low != len(test_losses) - 1:
                words += f" (lowest {number(test_losses[low])} at epoch {int(test_epochs[low]):,})"
            words += "."
    return words


def progress_words(state: RunState, epoch: int, epochs: int, loss: float | None) -> str:
    """A short line for a screen reader to announce now and then: "Epoch 120 of 500: loss 3.41"."""
    loss_part = "" if loss is None else f": loss {number(loss)}"
    head = f"{state.capitalize()}, epoch" if state is not RunState.RUNNING else "Epoch"
    return f"{head} {epoch:,} of {epochs:,}{loss_part}"


def curves_words(curves: Mapping[str, tuple[Sequence[float], Sequence[float]]], what: str = "loss") -> str:
    """Several loss curves at once (stages, sweep values, past runs): each one's way, and which ends lowest."""
    ends = {}
    parts = []
    for name, (epochs, values) in curves.items():
        kept_epochs, kept = finite_points(epochs, values)
        if not len(kept):
            parts.append(f"{name}: no finite {what}")
            continue
        ends[name] = (kept[-1], int(kept_epochs[-1]))
        parts.append(f"{name}: {number(kept[0])} to {number(kept[-1])} at epoch {int(kept_epochs[-1]):,}")
    words = f"{len(curves)} curves of the {what}, from the first value to the last: " + "; ".join(parts) + "."
    if len(ends) > 1:
        best = min(ends, key=lambda name: ends[name][0])
        worst = max(ends, key=lambda name: ends[name][0])
        words += f" Lowest at the end: {best} ({number(ends[best][0])}); highest: {worst} ({number(ends[worst][0])})."
    return words


def gap_words(gaps: Mapping[str, tuple[Sequence[float], Sequence[float]]], same: float) -> str:
    """The relative gaps between stages: the largest of each, and whether all are below `same`."""
    largest = {}
    for name, (epochs, values) in gaps.items():
        kept_epochs, kept = finite_points(epochs, values)
        if len(kept):
            top = int(np.argmax(kept))
            largest[name] = (float(kept[top]), int(kept_epochs[top]))
    if not largest:
        return "No gap measured yet."
    parts = [f"{name} at most {number(gap)} (epoch {epoch:,})" for name, (gap, epoch) in largest.items()]
    worst = max(largest, key=lambda name: largest[name][0])
    verdict = (
        f"every gap is below {same:g}: the same arithmetic"
        if largest[worst][0] < same
        else f"{worst} differs most, by {number(largest[worst][0])}, above {same:g}"
    )
    return f"The largest relative gap of each stage to the NumPy stage: {'; '.join(parts)}. So {verdict}."


def rows_shown(count: int, limit: int = MAX_TABLE_ROWS) -> np.ndarray:
    """The rows a table of `count` rows keeps: all of them, or every k-th with the last, at most about `limit`."""
    if count <= limit:
        return np.arange(count)
    return np.unique(np.append(np.arange(0, count, -(-count // limit)), count - 1))


def curves_table(curves: Mapping[str, tuple[Sequence[float], Sequence[float]]]) -> dict[str, list]:
    """Curves as one table: a row per epoch any curve has, a column per curve (empty where it has no value)."""
    epochs = sorted({int(e) for xs, _ in curves.values() for e in xs})
    kept = [epochs[i] for i in rows_shown(len(epochs))]
    table: dict[str, list] = {"epoch": kept}
    for name, (xs, ys) in curves.items():
        by_epoch = {int(e): float(y) for e, y in zip(xs, ys, strict=True)}
        table[name] = [by_epoch.get(e) for e in kept]
    return table


def board_words(points: Sequence[tuple[str, float, float, bool]], x: str, y: str, higher_is_better: bool) -> str:
    """The class board's scatter of (stage, setting, result, diverged): the results' range, the best run's setting,
    and the runs per stage."""
    if not points:
        return "No run drawn."
    results = np.array([point[2] for point in points], dtype=float)
    best = int(np.argmax(results) if higher_is_better else np.argmin(results))
    stage, setting, result, _ = points[best]
    stages: dict[str, int] = {}
    for point in points:
        stages[point[0]] = stages.get(point[0], 0) + 1
    words = (
        f"{len(points):,} runs; {y} from {number(results.min())} to {number(results.max())}. The best, "
        f"{number(result)}, is a run of the {stage} stage with {x} {number(setting)}. Runs by stage: "
        + ", ".join(f"{name} {count:,}" for name, count in stages.items())
    )
    diverged = sum(point[3] for point in points)
    return words + (f"; {diverged:,} diverged." if diverged else ".")
