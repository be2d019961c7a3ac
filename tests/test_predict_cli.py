"""`predict` reads an image with saved weights: the digit, the scores, the JSON, and exit code 2 on bad input."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
from PIL import Image

from twolayer.cli.predict import add_predict_parser, predict_command
from twolayer.data.drawing import load_image, prepare_with_caption
from twolayer.train.forward import scores


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m twolayer")
    add_predict_parser(parser.add_subparsers(dest="command", required=True))
    return predict_command(parser.parse_args(["predict", *argv]))


def save_weights(path, weights: dict[str, np.ndarray]) -> None:
    """An uncompressed .npz of named arrays: the layout `train --save-weights` writes."""
    np.savez(path, **weights)


def ring(size: int) -> np.ndarray:
    rows, cols = np.indices((size, size))
    radius = np.hypot(rows - 0.35 * size, cols - 0.6 * size)
    return np.clip(1 - np.abs(radius - 0.2 * size) / (0.04 * size), 0, 1)


def bar(size: int) -> np.ndarray:
    image = np.zeros((size, size))
    image[size // 8 : size // 2, size // 2 : size // 2 + size // 10] = 1.0
    return image


def save_png(path, ink: np.ndarray) -> str:
    """Dark ink on white paper, as a scan or a paint program saves a digit."""
    Image.fromarray(np.round(255 * (1 - ink)).astype(np.uint8)).save(path)
    return str(path)


@pytest.fixture
def template_weights(tmp_path) -> str:
    """A network whose hidden layer copies the pixels and whose scores match templates: a ring is 0, a bar is 1."""
    templates = np.zeros((784, 10))
    templates[:, 0] = prepare_with_caption(ring(280), (28, 28))[0].ravel()
    templates[:, 1] = prepare_with_caption(bar(280), (28, 28))[0].ravel()
    path = tmp_path / "weights.npz"
    save_weights(path, {"w1": np.eye(784), "w2": templates, "b1": np.zeros(784), "b2": np.zeros(10)})
    return str(path)


@pytest.mark.parametrize(("ink", "digit"), [(ring, 0), (bar, 1)])
def test_predicts_the_digit_and_writes_the_scores_as_json(tmp_path, capsys, template_weights, ink, digit):
    image, out = save_png(tmp_path / "digit.png", ink(200)), tmp_path / "scores.json"
    assert run(["--weights", template_weights, "--image", image, "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"predicted {digit} (cropped to ") and lines[1].startswith("scores: 0: ")
    written = json.loads(out.read_text())
    assert written["predicted"] == digit and len(written["scores"]) == 10
    weights = dict(np.load(template_weights))
    expected = scores(weights, prepare_with_caption(load_image(image), (28, 28))[0])
    assert np.allclose(written["scores"], expected), "the CLI must prepare images as the page does"


def test_raw_feeds_the_pixels_unchanged_when_the_image_has_the_datas_size(tmp_path, capsys):
    rng = np.random.default_rng(0)
    weights = {"w1": rng.standard_normal((64, 6)), "w2": rng.standard_normal((6, 10))}
    path = tmp_path / "weights.npz"
    save_weights(path, weights)
    image, out = save_png(tmp_path / "small.png", ring(8)), tmp_path / "raw.json"
    assert run(["--weights", str(path), "--image", image, "--raw", "--out", str(out)]) == 0
    assert "(raw pixels)" in capsys.readouterr().out
    assert np.allclose(json.loads(out.read_text())["scores"], scores(weights, load_image(image)))


def test_raw_refuses_an_image_of_another_size(tmp_path, capsys, template_weights):
    image = save_png(tmp_path / "big.png", ring(100))
    assert run(["--weights", template_weights, "--image", image, "--raw"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "100x100 = 10000 pixels" in err and "784" in err


def test_bad_images_and_weights_exit_2_with_one_line(tmp_path, capsys, template_weights):
    image = save_png(tmp_path / "digit.png", ring(50))
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"no picture here")
    not_square, mismatched = tmp_path / "ten.npz", tmp_path / "mismatched.npz"
    save_weights(not_square, {"w1": np.zeros((10, 3)), "w2": np.zeros((3, 10))})
    save_weights(mismatched, {"w1": np.zeros((784, 4)), "w2": np.zeros((5, 10))})
    cases = {
        "missing.png: no such file": ["--weights", template_weights, "--image", str(tmp_path / "missing.png")],
        "junk.png: not a readable image": ["--weights", template_weights, "--image", str(junk)],
        "nothing.npz: no such file": ["--weights", str(tmp_path / "nothing.npz"), "--image", image],
        "junk.png: not a readable .npz": ["--weights", str(junk), "--image", image],
        "10 inputs, which is not a square image": ["--weights", str(not_square), "--image", image],
        "mismatched.npz: w1 (784, 4) and w2 (5, 10)": ["--weights", str(mismatched), "--image", image],
        "cannot write": ["--weights", template_weights, "--image", image, "--out", str(tmp_path / "no" / "x.json")],
    }
    for expected, argv in cases.items():
        assert run(argv) == 2, f"{expected}: wrong exit code"
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1 and expected in err, f"{expected}: got {err!r}"
