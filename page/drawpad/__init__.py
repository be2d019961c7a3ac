"""A square pad to draw one digit on: a custom component of our own (Streamlit components v2), nothing fetched."""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
from pathlib import Path

import numpy as np
import streamlit as st
from PIL import Image

HERE = Path(__file__).resolve().parent
CANVAS = 280  # the pad's side in CSS pixels; drawings come back at this resolution
# Stroke widths in canvas pixels: MNIST strokes are 2 to 3 of 28 pixels, scikit-learn's 3 to 4 of a 32-pixel bitmap.
STROKES = {28: 22, 8: 30}
PNG_PREFIX = "data:image/png;base64,"
MAX_MESSAGE = 2_000_000  # characters; a 280 x 280 drawing as PNG takes a few thousand, anything longer is refused

_pad = st.components.v2.component(
    "twolayer.drawpad",
    html=(HERE / "drawpad.html").read_text(),
    css=(HERE / "drawpad.css").read_text(),
    js=(HERE / "drawpad.js").read_text(),
)


def drawpad(size: int, key: str, image: list[float] | None = None) -> np.ndarray | None:
    """The drawing as (CANVAS, CANVAS) floats in [0, 1], ink high, on a `size` x `size` grid; None while blank.

    `image`, size * size values in [0, 1], is shown on the pad to draw over, until a different one is given.
    """
    if image is not None and len(image) != size * size:
        raise ValueError(f"an initial image for a {size}x{size} pad needs {size * size} values, got {len(image)}")
    pixels = None if image is None else [round(min(max(float(v), 0.0), 1.0), 3) for v in image]
    token = "" if pixels is None else hashlib.sha1(repr(pixels).encode()).hexdigest()[:16]
    data = {"size": size, "canvas": CANVAS, "stroke": STROKES.get(size, 22), "image": pixels, "token": token}
    state = _pad(key=key, data=data, on_drawing_change=_rerun_only).get("drawing")
    if not isinstance(state, dict) or state.get("base") != token:
        # The pad has not yet reported since this image arrived: it shows the image itself.
        return None if pixels is None else _cells(np.reshape(pixels, (size, size)))
    return decode_drawing(state.get("png"))


def decode_drawing(png: object) -> np.ndarray | None:
    """A PNG data URL from the pad as (CANVAS, CANVAS) ink in [0, 1] (its alpha); None when blank or malformed."""
    # The browser can send anything: a message that is not the pad's own PNG counts as a blank pad.
    if not isinstance(png, str) or not png.startswith(PNG_PREFIX) or len(png) > MAX_MESSAGE:
        return None
    try:
        with Image.open(io.BytesIO(base64.b64decode(png.removeprefix(PNG_PREFIX), validate=True))) as opened:
            if opened.format != "PNG" or opened.size != (CANVAS, CANVAS):
                return None
            ink = np.asarray(opened.convert("RGBA"), dtype=np.float64)[..., 3] / 255
    except (binascii.Error, OSError, ValueError):
        return None
    return ink if ink.any() else None


def _cells(grid: np.ndarray) -> np.ndarray:
    """A size x size image blown up to the canvas, one square per pixel, as the pad paints it."""
    rows = np.arange(CANVAS) * grid.shape[0] // CANVAS
    cols = np.arange(CANVAS) * grid.shape[1] // CANVAS
    return grid[np.ix_(rows, cols)]


def _rerun_only() -> None:
    """Components v2 keeps a state value only when it has a callback; a new drawing needs nothing but the rerun."""
