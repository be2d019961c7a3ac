"""A drawn or photographed digit turned into the network's input, made the way the data was."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image

INK_THRESHOLD = 0.1  # lighter pixels are paper, not ink, when finding the digit's bounding box
MNIST_SHAPE = (28, 28)
MNIST_BOX = 20  # MNIST digits were scaled to fit a 20 x 20 box, keeping their aspect ratio
DIGITS_SHAPE = (8, 8)
DIGITS_BITMAP = 32  # scikit-learn's digits are 32 x 32 bitmaps counted in 4 x 4 blocks
MAX_IMAGE_PIXELS = 40_000_000  # refuse larger files before decoding them: a small file can unpack huge


class ImageError(ValueError):
    """An image is missing, unreadable, or does not fit the network; the message names the file or the sizes."""


def prepare_with_caption(image: np.ndarray, input_shape: tuple[int, int]) -> tuple[np.ndarray, str]:
    """A drawing (2-D, ink high, values in [0, 1]) as an input of `input_shape`, made the way the data was.

    Returns the input (float64 in [0, 1]) and one line saying what was done; sizes read width x height.
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2 or image.size == 0:
        raise ImageError(f"a drawing must be a non-empty 2-D array of pixels, got shape {image.shape}")
    image = np.clip(np.nan_to_num(image), 0.0, 1.0)
    shape = tuple(int(n) for n in input_shape)
    ink = _ink_box(image)
    if ink is None:
        return np.zeros(shape), "empty drawing: nothing to recognise"
    if shape == MNIST_SHAPE:
        return _like_mnist(image[ink])
    if shape == DIGITS_SHAPE:
        return _like_sklearn_digits(image[ink])
    # A data set we know nothing about: no cropping or centring, only the size.
    out = _stretch(_resize(image, shape))
    return out, f"scaled from {_size(image)} px to {_size(out)}"


def input_shape_for(input_size: int) -> tuple[int, int]:
    """The square image a network with `input_size` inputs reads: 784 -> (28, 28), 64 -> (8, 8)."""
    side = math.isqrt(input_size)
    if side * side != input_size:
        raise ImageError(f"the network takes {input_size} inputs, which is not a square image (such as 28x28 = 784)")
    return side, side


def _like_mnist(crop: np.ndarray) -> tuple[np.ndarray, str]:
    """MNIST's recipe: fit the ink into 20 x 20 keeping its aspect, then put its centre of mass at the centre."""
    scale = MNIST_BOX / max(crop.shape)
    digit = _stretch(_resize(crop, _scaled(crop.shape, scale)))
    # The centre of mass goes to the middle of the grid, (13.5, 13.5) in 0-indexed pixels, to the nearest
    # whole pixel: a symmetric digit then sits exactly in rows and columns 4 to 23, as in MNIST.
    rows, cols = np.indices(digit.shape)
    mass = digit.sum()
    top = round((MNIST_SHAPE[0] - 1) / 2 - (rows * digit).sum() / mass)
    left = round((MNIST_SHAPE[1] - 1) / 2 - (cols * digit).sum() / mass)
    out = _paste(digit, MNIST_SHAPE, top, left)
    caption = f"cropped to {_size(crop)} px, scaled to {_size(digit)}, centred by centre of mass in 28x28"
    return out, caption


def _like_sklearn_digits(crop: np.ndarray) -> tuple[np.ndarray, str]:
    """scikit-learn's recipe: the digit fills a 32 x 32 bitmap, each 4 x 4 block becomes one of the 8 x 8 pixels."""
    scale = DIGITS_BITMAP / max(crop.shape)
    digit = _resize(crop, _scaled(crop.shape, scale))
    top, left = (DIGITS_BITMAP - digit.shape[0]) // 2, (DIGITS_BITMAP - digit.shape[1]) // 2
    bitmap = _paste(digit, (DIGITS_BITMAP, DIGITS_BITMAP), top, left)
    block = DIGITS_BITMAP // DIGITS_SHAPE[0]
    out = _stretch(bitmap.reshape(DIGITS_SHAPE[0], block, DIGITS_SHAPE[1], block).mean(axis=(1, 3)))
    caption = f"cropped to {_size(crop)} px, scaled to {_size(digit)} in 32x32, averaged in 4x4 blocks to 8x8"
    return out, caption


def _ink_box(image: np.ndarray) -> tuple[slice, slice] | None:
    """Row and column slices around every pixel darker than paper, or None when there is no ink."""
    rows = np.flatnonzero((image > INK_THRESHOLD).any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero((image > INK_THRESHOLD).any(axis=0))
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def _scaled(shape: tuple[int, int], scale: float) -> tuple[int, int]:
    return max(1, round(shape[0] * scale)), max(1, round(shape[1] * scale))


def _resize(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """`image` resampled to (rows, columns); Pillow widens its bilinear filter when shrinking, so it anti-aliases."""
    resized = Image.fromarray(image.astype(np.float32)).resize((shape[1], shape[0]), Image.Resampling.BILINEAR)
    return np.clip(np.asarray(resized, dtype=np.float64), 0.0, 1.0)


def _stretch(image: np.ndarray) -> np.ndarray:
    """Intensities scaled so the darkest ink is 1, as in the data, where the middle of a stroke is full black."""
    peak = image.max()
    return image / peak if peak > 0 else image


def _paste(digit: np.ndarray, shape: tuple[int, int], top: int, left: int) -> np.ndarray:
    """A zero image of `shape` with `digit` placed at (top, left); any part falling outside is cut off."""
    out = np.zeros(shape)
    rows = slice(max(top, 0), min(top + digit.shape[0], shape[0]))
    cols = slice(max(left, 0), min(left + digit.shape[1], shape[1]))
    out[rows, cols] = digit[rows.start - top : rows.stop - top, cols.start - left : cols.stop - left]
    return out


def _size(image: np.ndarray) -> str:
    return f"{image.shape[1]}x{image.shape[0]}"


def load_image(path: str | Path) -> np.ndarray:
    """An image file as grayscale floats in [0, 1] with the ink high: a dark digit on light paper is inverted."""
    path = Path(path)
    if not path.is_file():
        raise ImageError(f"{path}: no such file")
    try:
        with Image.open(path) as opened:
            if opened.width * opened.height > MAX_IMAGE_PIXELS:
                raise ImageError(
                    f"{path}: {opened.width}x{opened.height} pixels, over the limit of {MAX_IMAGE_PIXELS:,}"
                )
            if opened.mode in ("RGBA", "LA", "PA") or "transparency" in opened.info:
                # Transparent areas are paper: painted onto white, as an image viewer shows them.
                rgba = opened.convert("RGBA")
                opened = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
            gray = np.asarray(opened.convert("L"), dtype=np.float64) / 255
    except ImageError:
        raise
    except Exception as exc:  # not an image, truncated, an unknown format: all unreadable
        raise ImageError(f"{path}: not a readable image ({exc})") from None
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    # The border is mostly paper: a light border means dark ink on light paper, the reverse of the data.
    return 1.0 - gray if np.median(border) > 0.5 else gray
