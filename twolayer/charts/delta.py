"""A figure's change since the one sent before it: what a live chart sends instead of the whole figure.

Figures are Plotly's JSON structure (`Figure.to_plotly_json()`): dicts, lists, scalars and typed arrays
(`{"dtype": "f8", "bdata": base64}`). A patch says how to turn the old structure into the new one, tagged by one key:

- `{"=": value}`: the new value whole;
- `{"+": [k, tail]}`: a list or typed array that keeps its first k items and then holds `tail` (same dtype): a curve
  that gained points sends those alone;
- `{"{": {key: patch, ...}, "-": [key, ...]}`: a dict with those keys patched (a key it lacked patched from
  nothing, whole) and those removed;
- `{"[": [[i, patch], ...]}`: a list of the same length with those items patched;
- `{"|": [k, [tail, ...]]}`: a list of the same length whose items are lists that each keep their first k items and
  then hold their tail: a heatmap's rows that each gained the same new columns, without a patch per row.

`diff` gives None when nothing changed. page/live_chart.js applies patches in the browser.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

_MISSING = object()


def is_typed(value: Any) -> bool:
    """Whether `value` is a typed array as Plotly writes NumPy arrays: a dtype and base64 data, maybe a shape."""
    return (
        isinstance(value, dict) and "bdata" in value and "dtype" in value and set(value) <= {"dtype", "bdata", "shape"}
    )


def typed_values(value: dict) -> np.ndarray:
    """A typed array's values."""
    return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]).newbyteorder("<"))


def typed(values: np.ndarray, dtype: str) -> dict:
    """`values` as a 1-D typed array of `dtype`."""
    return {"dtype": dtype, "bdata": base64.b64encode(np.ascontiguousarray(values).tobytes()).decode()}


def diff(old: Any, new: Any) -> dict | None:
    """The patch that turns `old` into `new`, or None when they are the same."""
    if old is _MISSING:
        return {"=": new}
    if is_typed(old) and is_typed(new):
        return _diff_typed(old, new)
    if isinstance(old, dict) and isinstance(new, dict) and not is_typed(old) and not is_typed(new):
        changed = {key: patch for key, value in new.items() if (patch := diff(old.get(key, _MISSING), value))}
        removed = [key for key in old if key not in new]
        if not changed and not removed:
            return None
        return {"{": changed, **({"-": removed} if removed else {})}
    if isinstance(old, list) and isinstance(new, list):
        return _diff_list(old, new)
    if type(old) is type(new) and old == new:
        return None
    return {"=": new}


def _diff_typed(old: dict, new: dict) -> dict | None:
    if old == new:
        return None
    if old["dtype"] != new["dtype"] or "shape" in old or "shape" in new:
        return {"=": new}
    before, after = typed_values(old), typed_values(new)
    kept = _common_prefix(before, after)
    if kept == len(before) == len(after):
        return None
    return {"+": [kept, typed(after[kept:], new["dtype"])]} if kept else {"=": new}


def _common_prefix(before: np.ndarray, after: np.ndarray) -> int:
    """How many leading values the two arrays share, bit for bit (so NaN equals NaN, and -0.0 differs from 0.0)."""
    n = min(len(before), len(after))
    bits = np.dtype(f"u{before.dtype.itemsize}")
    unequal = np.flatnonzero(before[:n].view(bits) != after[:n].view(bits))
    return int(unequal[0]) if len(unequal) else n


def _columns(new: list, items: list) -> dict | None:
    """The `|` patch for item patches that each append to a plain list after the same k items, or None."""
    if len(items) != len(new) or not all("+" in patch and not is_typed(patch["+"][1]) for _, patch in items):
        return None
    kept = {patch["+"][0] for _, patch in items}
    return {"|": [kept.pop(), [patch["+"][1] for _, patch in items]]} if len(kept) == 1 else None


def _diff_list(old: list, new: list) -> dict | None:
    if len(old) == len(new):
        items = [[i, patch] for i, (a, b) in enumerate(zip(old, new, strict=True)) if (patch := diff(a, b))]
        if not items:
            return None
        if (columns := _columns(new, items)) is not None:
            return columns
        # A list changed all over (a histogram's counts) is cheaper sent whole than item by item.
        if all("=" in patch for _, patch in items) and len(items) > len(new) // 2:
            return {"=": new}
        return {"[": items}
    kept = 0
    for a, b in zip(old, new, strict=False):
        if diff(a, b) is not None:
            break
        kept += 1
    return {"+": [kept, new[kept:]]} if kept else {"=": new}
