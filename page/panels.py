"""The Training tab's choices as types: its slow panels, and what its histograms count. Labels are for display only."""

from __future__ import annotations

from enum import Enum


class Panel(Enum):
    """The slow panels, each redrawn in a place of its own: one chart each, but for the labelled data's group.

    A panel's value names its live chart, on the page and in the chart's element key."""

    W1_NOW = "w1 now"
    W1_OVER_TIME = "w1 over time"
    W2_NOW = "w2 now"
    W2_OVER_TIME = "w2 over time"
    GRADIENT_NORMS = "gradient norms"
    UPDATE_RATIOS = "update ratios"
    SHARPNESS = "sharpness"
    LABELS = "labels"


PANELS = tuple(Panel)
# The histogram panels: the layer each shows, and whether over the epochs (else now).
HISTOGRAMS = {
    Panel.W1_NOW: ("w1", False),
    Panel.W1_OVER_TIME: ("w1", True),
    Panel.W2_NOW: ("w2", False),
    Panel.W2_OVER_TIME: ("w2", True),
}


class HistogramKind(Enum):
    """What the histograms count; a value is the radio's label."""

    WEIGHTS = "weights"
    CHANGE = "change since the start (W − W0)"
    GRADIENTS = "gradients"

    def __str__(self) -> str:
        return self.value
