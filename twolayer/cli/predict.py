"""`python -m twolayer predict`: the digit a saved network reads in an image file, prepared as the page does."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from twolayer.data.drawing import ImageError, input_shape_for, load_image, prepare_with_caption
from twolayer.train.forward import layers, scores
from twolayer.train.weights import WeightsError, read_npz

EXIT_DONE, EXIT_BAD_INPUT = 0, 2


def add_predict_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `predict` command and its flags to a CLI's subparsers; returns its parser."""
    predict = subparsers.add_parser("predict", help="read a digit from an image file with saved weights")
    predict.add_argument(
        "--weights", metavar="FILE.npz", required=True, help="w1, w2 [, b1, b2] from train --save-weights"
    )
    predict.add_argument("--image", metavar="FILE.png", required=True, help="a digit, dark on light or light on dark")
    predict.add_argument(
        "--raw",
        action="store_true",
        help="feed the pixels as they are, without cropping, scaling and centring; the image must have "
        "the data's size (default: off)",
    )
    predict.add_argument(
        "--out", metavar="FILE.json", help="write the scores and the prediction as JSON (default: none)"
    )
    return predict


def predict_command(args: argparse.Namespace) -> int:
    """Print the predicted digit and the ten scores; 0 when done, 2 (with one line on stderr) on bad input."""
    try:
        weights = read_weights(args.weights)
        image = load_image(args.image)
        input_size = weights["w1"].shape[0]
        if args.raw:
            if image.size != input_size:
                raise ImageError(
                    f"{args.image}: {image.shape[1]}x{image.shape[0]} = {image.size} pixels, but the weights take "
                    f"{input_size} inputs; drop --raw to scale the image to fit"
                )
            x, caption = image, "raw pixels"
        else:
            x, caption = prepare_with_caption(image, input_shape_for(input_size))
        out = scores(weights, x)
    except (ImageError, WeightsError) as exc:
        return _bad_input(str(exc))
    predicted = int(np.argmax(out))
    print(f"predicted {predicted} ({caption})")
    print("scores: " + "  ".join(f"{digit}: {score:.3f}" for digit, score in enumerate(out)))
    if args.out:
        try:
            Path(args.out).write_text(json.dumps({"scores": [float(s) for s in out], "predicted": predicted}) + "\n")
        except OSError as exc:
            return _bad_input(f"--out {args.out}: cannot write ({exc.strerror})")
    return EXIT_DONE


def read_weights(path: str | Path) -> dict[str, np.ndarray]:
    """Every array of a weights .npz as float64, read without unpickling anything."""
    path = Path(path)
    found = read_npz(path)
    if "w1" not in found or "w2" not in found:
        raise WeightsError(f"{path}: needs arrays 'w1' and 'w2' (found: {', '.join(found) or 'none'})")
    for name, array in found.items():
        if not np.issubdtype(array.dtype, np.floating) or not np.isfinite(array).all():
            raise WeightsError(f"{path}: {name} must hold finite floating-point numbers")
    try:
        layers(found)
    except WeightsError as exc:
        raise WeightsError(f"{path}: {exc}") from None
    return {name: array.astype(np.float64) for name, array in found.items()}


def _bad_input(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT
