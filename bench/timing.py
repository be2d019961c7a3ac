"""Interleaved repetitions, medians and target verdicts."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping
from typing import TypeVar

Key = TypeVar("Key")


def interleaved(cases: Mapping[Key, Callable[[], float]], repeats: int, warmup: int = 1) -> dict[Key, list[float]]:
    """Seconds each case reports over `repeats` rounds, run in turn (a, b, a, b, ...) after uncounted warm-up rounds."""
    times: dict[Key, list[float]] = {name: [] for name in cases}
    for round_ in range(warmup + repeats):
        for name, case in cases.items():
            seconds = case()
            if round_ >= warmup:
                times[name].append(seconds)
    return times


def median(values: list[float]) -> float:
    """The middle value."""
    return statistics.median(values)


def paired_ratios(candidate: list[float], baseline: list[float]) -> list[float]:
    """The round-by-round ratios: each pair ran back to back, so slow spells of a shared machine cancel."""
    return [c / b for c, b in zip(candidate, baseline, strict=True)]


def paired_ratio(candidate: list[float], baseline: list[float]) -> float:
    """Median of the round-by-round ratios."""
    return statistics.median(paired_ratios(candidate, baseline))


def spread(values: list[float], digits: int = 3) -> str:
    """The smallest and largest of the repetitions, "lowest-highest": the noise a figure comes with."""
    return f"{min(values):.{digits}f}-{max(values):.{digits}f}"


def median_interval(values: list[float], confidence: float = 0.95) -> tuple[float, float]:
    """A distribution-free interval for the median of what `values` sample: the k-th lowest and k-th highest
    value, k as large as keeps the chance that the median lies between them at `confidence` or more (with too few
    values for that, the lowest and highest)."""
    n, ordered = len(values), sorted(values)

    def outside(k: int) -> float:  # the chance that the median lies below the k-th lowest or above the k-th highest
        return 2 * sum(math.comb(n, i) for i in range(k)) / 2**n

    k = 1
    while k < (n + 1) // 2 and outside(k + 1) <= 1 - confidence:
        k += 1
    return ordered[k - 1], ordered[n - k]


def with_noise(values: list[float], digits: int = 3) -> str:
    """The median of `values` beside its 95% interval and the lowest and highest: "median (low-high; min-max)"."""
    low, high = median_interval(values)
    return f"{median(values):.{digits}f} ({low:.{digits}f}-{high:.{digits}f}; {spread(values, digits)})"


def verdict(met: bool) -> str:
    """PASS or MISS."""
    return "PASS" if met else "MISS"
