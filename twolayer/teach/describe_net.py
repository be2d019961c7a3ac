"""The network's own charts told in words: histograms of weights, gradient norms, update ratios, hidden units.

As in twolayer.teach.describe: the run's numbers in, a sentence (or a table's columns) out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from twolayer.teach.describe import finite_points, listing, number, percent, rows_shown, trend_words

RATIO_HIGH = 1e-2  # an update this large against the weights rewrites them in a few hundred steps: too large
RATIO_LOW = 1e-4  # this small, the layer barely moves
HEALTHY_RATIO = 1e-3
MIDDLE = (0.05, 0.95)  # the share of values a histogram's "middle" leaves out below and above
MAX_NAMED = 8  # units named one by one in a sentence; more are counted


def middle_range(edges: np.ndarray, counts: np.ndarray) -> tuple[float, float]:
    """Where the middle 90% of a histogram's values lie, read from its bins (each bin's values spread evenly)."""
    cumulative = np.concatenate([[0.0], np.cumsum(counts, dtype=float)])
    total = cumulative[-1]
    if total == 0:
        return float(edges[0]), float(edges[-1])
    low, high = np.interp([MIDDLE[0] * total, MIDDLE[1] * total], cumulative, edges)
    return float(low), float(high)


def histogram_words(edges: Sequence[float], counts: Sequence[int], outside: int = 0) -> str:
    """One histogram: how many values, their range, where the middle 90% and the tallest bin lie."""
    edges, counts = np.asarray(edges, dtype=float), np.asarray(counts)
    total = int(counts.sum())
    if not total:
        return "No values yet."
    low, high = middle_range(edges, counts)
    peak = int(np.argmax(counts))
    centre = (edges[peak] + edges[peak + 1]) / 2
    words = (
        f"{total:,} values between {number(edges[0])} and {number(edges[-1])}; the middle 90% lie between "
        f"{number(low)} and {number(high)}, the tallest bin around {number(centre)} holds "
        f"{percent(counts[peak] / total)}."
    )
    if outside:
        words += f" {outside:,} values lie outside and are counted in the end bins."
    return words


def histogram_history_words(edges: Sequence[float], snapshots: Sequence[tuple[int, Sequence[int]]]) -> str:
    """Histograms over the epochs: how the middle 90% of the values moved from the first snapshot to the latest."""
    edges = np.asarray(edges, dtype=float)
    if not snapshots:
        return "No snapshot yet."
    (first_epoch, first), (last_epoch, last) = snapshots[0], snapshots[-1]
    a, b = middle_range(edges, np.asarray(first))
    if len(snapshots) == 1:
        return (
            f"1 snapshot, at epoch {first_epoch:,}: the middle 90% of the values lie between "
            f"{number(a)} and {number(b)}."
        )
    c, d = middle_range(edges, np.asarray(last))
    change = (d - c) / (b - a) if b > a else float("nan")
    went = "widened" if change > 1.05 else "narrowed" if change < 0.95 else "kept its width"
    return (
        f"{len(snapshots)} snapshots from epoch {first_epoch:,} to {last_epoch:,}. The middle 90% of the values lay "
        f"between {number(a)} and {number(b)} at epoch {first_epoch:,} and lie between {number(c)} and {number(d)} at "
        f"epoch {last_epoch:,}: the spread {went} ({number(change)} times as wide)."
    )


def histogram_table(edges: Sequence[float], snapshots: Sequence[tuple[int, Sequence[int]]]) -> dict[str, list]:
    """Bins as rows (their edges), a column of counts per snapshot (the first, the latest and some between)."""
    edges = np.asarray(edges, dtype=float)
    table: dict[str, list] = {"from": edges[:-1].tolist(), "to": edges[1:].tolist()}
    for i in rows_shown(len(snapshots), limit=8):
        epoch, counts = snapshots[i]
        table[f"epoch {epoch:,}"] = np.asarray(counts).tolist()
    return table


def norms_words(epochs: Sequence[float], norms: Mapping[str, Sequence[float]], what: str = "gradient norm") -> str:
    """Each layer's gradient norm over the recorded epochs, and which layer's is largest now."""
    parts = [trend_words(epochs, values, f"{layer}'s {what}") for layer, values in norms.items()]
    words = "; ".join(parts) + "."
    latest = {layer: finite_points(epochs, values)[1] for layer, values in norms.items()}
    latest = {layer: values[-1] for layer, values in latest.items() if len(values)}
    if len(latest) > 1:
        top = max(latest, key=latest.get)
        words += f" Largest now: {top}'s, {number(latest[top])}."
    return words


def ratio_words(epochs: Sequence[float], ratios: Mapping[str, Sequence[float]]) -> str:
    """Each layer's latest update ratio (step size over weight size) against the healthy 1e-3, naming any too large."""
    parts, large, small = [], [], []
    for layer, values in ratios.items():
        kept_epochs, kept = finite_points(epochs, values)
        if not len(kept):
            continue
        ratio = kept[-1]
        parts.append(f"{layer} {number(ratio)} at epoch {int(kept_epochs[-1]):,} (from {number(kept[0])})")
        if ratio > RATIO_HIGH:
            large.append(layer)
        elif ratio < RATIO_LOW:
            small.append(layer)
    if not parts:
        return "No update recorded yet."
    words = f"Latest update ratios, each step's size over its layer's weights: {'; '.join(parts)}."
    if large:
        words += f" Too large, above {RATIO_HIGH:g}: {listing(large)}; a smaller learning rate would steady it."
    if small:
        words += f" Below {RATIO_LOW:g}, barely moving: {listing(small)}."
    if not large and not small:
        words += f" Every layer is within a factor of ten of the healthy {HEALTHY_RATIO:g}."
    return words


def series_table(epochs: Sequence[float], series: Mapping[str, Sequence[float]]) -> dict[str, list]:
    """Recorded epochs as rows, a column per series (a layer's norm or ratio), thinned for a long run."""
    rows = rows_shown(len(epochs))
    table: dict[str, list] = {"epoch": [int(epochs[i]) for i in rows]}
    for name, values in series.items():
        table[name] = [float(values[i]) for i in rows]
    return table


def firing_words(epochs: Sequence[int], rates: np.ndarray) -> str:
    """Hidden units' firing rates (units x records): their spread now and at the first record, and the units that
    fire on no sampled row (dead ReLUs), by number."""
    rates = np.asarray(rates, dtype=float)
    if rates.size == 0:
        return "No hidden unit recorded yet."
    units, now, first = rates.shape[0], rates[:, -1], rates[:, 0]
    words = (
        f"{units:,} hidden units at {len(epochs)} recorded epochs. At epoch {epochs[-1]:,} they fire on "
        f"{percent(now.mean())} of the rows on average (from {percent(now.min())} to {percent(now.max())})"
    )
    if len(epochs) > 1:
        words += f", against {percent(first.mean())} at epoch {epochs[0]:,}"
    silent = np.flatnonzero(now == 0)
    if len(silent):
        named = ", ".join(str(u) for u in silent[:MAX_NAMED]) + (" and more" if len(silent) > MAX_NAMED else "")
        words += f". {len(silent):,} fire on no sampled row (dead): unit{'s' if len(silent) > 1 else ''} {named}"
    else:
        words += ". Every unit fires on some rows"
    return words + "."


def firing_table(epochs: Sequence[int], rates: np.ndarray) -> dict[str, list]:
    """A row per hidden unit: its firing rate at the first record, the latest, and its lowest over the run."""
    rates = np.asarray(rates, dtype=float)
    return {
        "unit": list(range(rates.shape[0])),
        f"fires at epoch {epochs[0]:,}": rates[:, 0].tolist(),
        f"fires at epoch {epochs[-1]:,}": rates[:, -1].tolist(),
        "lowest": rates.min(axis=1).tolist(),
    }


def unit_images_words(w1: np.ndarray, shown: int) -> str:
    """The first `shown` hidden units' incoming weights (inputs x units), as drawn: their range, and the strongest
    and weakest of them."""
    hidden = np.shape(w1)[1]
    w1 = np.asarray(w1, dtype=float)[:, :shown]
    norms = np.linalg.norm(w1, axis=0)
    strong, weak = int(np.argmax(norms)), int(np.argmin(norms))
    words = (
        f"The incoming weights of {shown} of the {hidden:,} hidden units range from {number(w1.min())} to "
        f"{number(w1.max())}. The strongest unit is {strong} (weight norm {number(norms[strong])}), the weakest "
        f"{weak} ({number(norms[weak])})"
    )
    flat = np.flatnonzero(norms < 1e-3 * norms.max()) if norms.max() > 0 else np.arange(len(norms))
    if len(flat):
        words += f"; {len(flat):,} units have almost no incoming weight"
    return words + "."


def unit_images_table(w1: np.ndarray, shown: int) -> dict[str, list]:
    """A row per hidden unit shown: its incoming weights' norm, lowest, highest and mean."""
    w1 = np.asarray(w1, dtype=float)[:, :shown]
    return {
        "unit": list(range(w1.shape[1])),
        "weight norm": np.linalg.norm(w1, axis=0).tolist(),
        "lowest": w1.min(axis=0).tolist(),
        "highest": w1.max(axis=0).tolist(),
        "mean": w1.mean(axis=0).tolist(),
    }


def array_words(name: str, values: np.ndarray) -> str:
    """A value of a step as drawn (bars or a heatmap): its range, mean, where its largest entry is, and its zeros."""
    values = np.asarray(values, dtype=float)
    if not values.size:
        return f"{name} is empty."
    top = np.unravel_index(int(np.argmax(np.abs(values))), values.shape)
    where = ", ".join(str(int(i)) for i in top)
    return (
        f"{name}: {values.size:,} entries from {number(values.min())} to {number(values.max())}, mean "
        f"{number(values.mean())}; the largest in size, {number(values[top])}, at entry ({where}); "
        f"{percent(np.mean(values == 0))} are zero."
    )


def update_words(name: str, before: np.ndarray, after: np.ndarray) -> str:
    """A step's update of a value: the change's range, its size against the value's, and its largest entry."""
    before, after = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    change = after - before
    size = np.linalg.norm(before)
    relative = f", {number(np.linalg.norm(change) / size)} of the value's own size" if size > 0 else ""
    top = np.unravel_index(int(np.argmax(np.abs(change))), change.shape)
    where = ", ".join(str(int(i)) for i in top)
    return (
        f"{name} changed by {number(change.min())} to {number(change.max())} in this step{relative}; the largest "
        f"change, {number(change[top])}, at entry ({where}), from {number(before[top])} to {number(after[top])}."
    )


def array_table(values: np.ndarray, limit: int = 100) -> dict[str, list]:
    """A value's entries as a table, a row per entry (its indices and value), at most about `limit` rows."""
    values = np.asarray(values, dtype=float)
    flat = values.ravel()
    rows = rows_shown(len(flat), limit)
    indices = np.unravel_index(rows, values.shape)
    table: dict[str, list] = {f"index {axis + 1}": index.tolist() for axis, index in enumerate(indices)}
    table["value"] = flat[rows].tolist()
    return table


def graph_words(graph: dict) -> str:
    """The autograd graph: its functions level by level from the loss, and the weights whose .grad it fills."""
    levels: dict[int, list[str]] = {}
    for node in graph["nodes"]:
        name = node["name"] if node["param"] is None else f"{node['name']} of {node['param']}"
        levels.setdefault(node["depth"], []).append(name)
    walk = "; ".join(f"level {depth}: {', '.join(names)}" for depth, names in sorted(levels.items()))
    filled = graph.get("filled", [])
    words = f"{len(graph['nodes'])} functions on {len(levels)} levels from the loss down ({walk})."
    return words + (f" Gradients filled: {listing(filled)}." if filled else "")


def graph_table(graph: dict) -> dict[str, list]:
    """A row per function of the graph: its level below the loss, and the weight it fills, if any."""
    nodes = graph["nodes"]
    return {
        "function": [node["name"] for node in nodes],
        "level": [node["depth"] for node in nodes],
        "fills the gradient of": [node["param"] or "" for node in nodes],
    }


def mask_words(mask: np.ndarray) -> str:
    """The ReLU's mask (examples x hidden units): the share that passes, and the units blocked on every example."""
    mask = np.asarray(mask, dtype=bool)
    blocked = np.flatnonzero(~mask.any(axis=0))
    words = f"{percent(mask.mean())} pass, of {mask.size:,} entries."
    if len(blocked):
        named = ", ".join(str(u) for u in blocked[:MAX_NAMED]) + (" and more" if len(blocked) > MAX_NAMED else "")
        words += (
            f" {len(blocked):,} hidden units pass on no example of this step (units {named}): no gradient reaches them."
        )
    return words
