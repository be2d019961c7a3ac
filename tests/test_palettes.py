"""Every chart's colours stay apart for red-green colour blindness, simulated on the real palettes and scales."""

import itertools

import numpy as np
import plotly.colors
import pytest

from twolayer.charts import step as step_charts
from twolayer.charts.base import PALETTE
from twolayer.charts.labels import RIGHT, WRONG, predictions_figure

# Machado, Oliveira and Fernandes (2009), severity 1.0: linear RGB as a dichromat sees it.
VISION = {
    "typical": np.eye(3),
    "protanopia": np.array(
        [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]]
    ),
    "deuteranopia": np.array(
        [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.01182, 0.04294, 0.968881]]
    ),
}
APART = 15.0  # CIE76 colour difference: two lines of these colours side by side are told apart at a glance
SEQUENTIAL = ["Viridis", "Blues", "Greys"]  # the heatmaps' scales: their order must be their lightness


def linear(colour: str) -> np.ndarray:
    """'#rrggbb' or 'rgb(r, g, b)' as linear RGB in [0, 1]."""
    if colour.startswith("#"):
        srgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)]) / 255
    else:
        srgb = np.array(plotly.colors.unlabel_rgb(colour)) / 255
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def lab(rgb: np.ndarray) -> np.ndarray:
    """Linear RGB -> CIE L*a*b* (D65)."""
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ np.clip(rgb, 0, 1)
    f = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(f > 0.008856, np.cbrt(f), 7.787 * f + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def seen(colour: str, vision: str) -> np.ndarray:
    return lab(VISION[vision] @ linear(colour))


@pytest.mark.parametrize("vision", list(VISION))
def test_the_line_colours_stay_apart(vision):
    """Up to seven lines share a chart (stages, a sweep's values, past runs): every pair must differ."""
    for a, b in itertools.combinations(PALETTE, 2):
        difference = float(np.linalg.norm(seen(a, vision) - seen(b, vision)))
        assert difference >= APART, f"{vision}: {a} and {b} differ by only {difference:.1f}"


@pytest.mark.parametrize("vision", list(VISION))
def test_right_and_wrong_differ_in_colour_and_in_mark(vision):
    """Predictions right and wrong: their colours stay apart, and a ✓ or ✗ says it without colour."""
    assert float(np.linalg.norm(seen(RIGHT, vision) - seen(WRONG, vision))) >= 2 * APART
    images = np.zeros((3, 64))
    figure = predictions_figure(images, (8, 8), [1, 2, 3], [1, 5, 3])
    marks = [annotation.text for annotation in figure.layout.annotations]
    assert sorted(mark[-5] for mark in marks) == ["✓", "✓", "✗"], marks


@pytest.mark.parametrize("vision", list(VISION))
@pytest.mark.parametrize("scale", SEQUENTIAL)
def test_sequential_scales_grow_in_lightness_for_every_vision(vision, scale):
    colours = plotly.colors.get_colorscale(scale)
    lightness = [seen(plotly.colors.convert_colors_to_same_type(c)[0][0], vision)[0] for _, c in colours]
    steps = np.diff(lightness)
    assert (steps > 0).all() or (steps < 0).all(), f"{scale} for {vision}: lightness {np.round(lightness, 1)}"


@pytest.mark.parametrize("vision", list(VISION))
def test_the_diverging_scale_keeps_its_two_sides_apart(vision):
    """Weights and gradients above and below zero: red against blue, never red against green, at every distance."""
    for far in (0.0, 0.1, 0.25, 0.4):
        low, high = plotly.colors.sample_colorscale(step_charts.DIVERGING, [far, 1 - far])
        difference = float(np.linalg.norm(seen(low, vision) - seen(high, vision)))
        assert difference >= APART, f"{vision}: {low} and {high} differ by only {difference:.1f}"
