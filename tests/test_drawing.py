"""Drawings prepared as the data was made, image files read with the ink high, and the network's scores."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from twolayer import TrainConfig, Trainer, WeightsError
from twolayer.data.drawing import ImageError, input_shape_for, load_image, prepare_with_caption
from twolayer.train.forward import scores, top_units

CENTRE = 13.5  # preparing puts the centre of mass at the middle of the 28 x 28 grid, 0-indexed


def stroke_canvas(size: int = 280) -> np.ndarray:
    """A thick ring drawn off-centre, towards the top right of a `size` x `size` canvas, with soft edges."""
    rows, cols = np.indices((size, size))
    radius = np.hypot(rows - 0.3 * size, cols - 0.7 * size)
    return np.clip(1 - np.abs(radius - 0.15 * size) / (0.03 * size), 0, 1)


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    rows, cols = np.indices(image.shape)
    return float((rows * image).sum() / image.sum()), float((cols * image).sum() / image.sum())


def ink_box(image: np.ndarray) -> tuple[int, int]:
    """Height and width of the box around all non-zero pixels."""
    rows, cols = np.nonzero(image > 0)
    return rows.max() - rows.min() + 1, cols.max() - cols.min() + 1


@pytest.mark.parametrize("shape", [(280, 280), (300, 180)])
def test_a_drawing_is_fitted_into_20x20_and_centred_by_mass_like_mnist(shape):
    canvas = np.zeros(shape)
    canvas[20:180, 100:130] = 1.0  # a thick "7" towards the top right: its stem
    canvas[20:40, 10:130] = 1.0  # and its bar
    out, caption = prepare_with_caption(canvas, (28, 28))
    height, width = ink_box(out)
    assert out.shape == (28, 28) and out.min() >= 0 and out.max() == pytest.approx(1.0)
    assert max(height, width) in (19, 20, 21) and height <= 21 and width <= 21, f"ink box {height}x{width}"
    row, col = centre_of_mass(out)
    assert abs(row - CENTRE) <= 0.5 and abs(col - CENTRE) <= 0.5, f"centre of mass at ({row:.2f}, {col:.2f})"
    assert caption.startswith("cropped to 120x160 px, scaled to 15x20,"), caption
    assert caption.endswith("centred by centre of mass in 28x28")


def test_an_off_centre_ring_lands_in_the_middle():
    out = prepare_with_caption(stroke_canvas(), (28, 28))[0]
    assert max(ink_box(out)) in (19, 20, 21)
    row, col = centre_of_mass(out)
    assert abs(row - CENTRE) <= 0.5 and abs(col - CENTRE) <= 0.5, f"centre of mass at ({row:.2f}, {col:.2f})"


def test_a_drawing_for_8x8_digits_fills_the_grid_in_its_longer_side():
    canvas = np.zeros((280, 280))
    canvas[50:250, 120:160] = 1.0  # a tall bar, 200 px high and 40 wide
    out, caption = prepare_with_caption(canvas, (8, 8))
    assert out.shape == (8, 8) and out.min() >= 0 and out.max() == pytest.approx(1.0)
    assert (out.max(axis=1) > 0.5).all(), "a tall digit must reach every row, as scikit-learn's digits do"
    assert (out.max(axis=0) > 0.5).sum() <= 3, "its width keeps the aspect ratio"
    assert caption == "cropped to 40x200 px, scaled to 6x32 in 32x32, averaged in 4x4 blocks to 8x8"


def test_other_sizes_are_only_scaled_and_an_empty_drawing_is_zeros():
    out, caption = prepare_with_caption(stroke_canvas(), (16, 16))
    assert out.shape == (16, 16) and caption == "scaled from 280x280 px to 16x16"
    empty, caption = prepare_with_caption(np.zeros((280, 280)), (28, 28))
    assert not empty.any() and empty.shape == (28, 28) and caption.startswith("empty drawing")
    with pytest.raises(ImageError, match="2-D"):
        prepare_with_caption(np.zeros((3, 4, 4)), (28, 28))


def test_input_shape_for_a_square_number_of_inputs():
    assert input_shape_for(784) == (28, 28) and input_shape_for(64) == (8, 8)
    with pytest.raises(ImageError, match="not a square"):
        input_shape_for(10)


def test_a_dark_digit_on_light_paper_is_inverted(tmp_path):
    ring = stroke_canvas(60)
    path = tmp_path / "dark-on-light.png"
    Image.fromarray(np.round(255 * (1 - ring)).astype(np.uint8)).save(path)
    loaded = load_image(path)
    assert loaded.shape == (60, 60)
    assert np.abs(loaded - ring).max() <= 1 / 255, "ink must come back high, paper low"
    light_on_dark = tmp_path / "light-on-dark.png"
    Image.fromarray(np.round(255 * ring).astype(np.uint8)).convert("RGB").save(light_on_dark)
    assert np.abs(load_image(light_on_dark) - ring).max() <= 1 / 255, "already the data's way round: unchanged"


def test_transparent_paper_counts_as_white(tmp_path):
    ring = stroke_canvas(40)
    rgba = np.zeros((40, 40, 4), dtype=np.uint8)
    rgba[..., 3] = np.round(255 * ring)  # black ink, transparent paper, as a canvas exports it
    path = tmp_path / "transparent.png"
    Image.fromarray(rgba).save(path)
    assert np.abs(load_image(path) - ring).max() <= 1 / 255


def test_missing_and_unreadable_files_name_the_file(tmp_path):
    with pytest.raises(ImageError, match=r"nothere\.png: no such file"):
        load_image(tmp_path / "nothere.png")
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not a picture at all")
    with pytest.raises(ImageError, match=r"junk\.png: not a readable image"):
        load_image(junk)
    assert issubclass(ImageError, ValueError)


def test_scores_follow_the_lecture_formula():
    rng = np.random.default_rng(0)
    weights = {"w1": rng.standard_normal((64, 20)), "w2": rng.standard_normal((20, 10)), "b2": rng.standard_normal(10)}
    x = rng.random((3, 8, 8))
    expected = np.maximum(x.reshape(3, 64) @ weights["w1"], 0) @ weights["w2"] + weights["b2"]
    assert np.allclose(scores(weights, x), expected)
    assert np.allclose(scores(weights, x[1]), expected[1]), "one image gives one row of ten scores"
    units = top_units(weights, x[1], k=3)
    top = int(expected[1].argmax())
    hidden = np.maximum(x[1].reshape(64) @ weights["w1"], 0)
    assert [unit for unit, _ in units] == list(np.argsort(-hidden * weights["w2"][:, top], kind="stable")[:3])
    assert units[0][1] == pytest.approx(hidden[units[0][0]] * weights["w2"][units[0][0], top])


def test_weights_that_do_not_fit_the_image_say_both_sizes():
    weights = {"w1": np.zeros((784, 4)), "w2": np.zeros((4, 10))}
    with pytest.raises(ImageError, match=r"784 inputs .* 8x8 = 64 pixels"):
        scores(weights, np.zeros((8, 8)))
    with pytest.raises(WeightsError, match="w1"):
        scores({"w1": np.zeros((784, 4)), "w2": np.zeros((5, 10))}, np.zeros((28, 28)))


# The key test: a network trained on MNIST-style digits reads small, off-centre drawings
# well only once they are prepared the way its data was made.


def mnist_style(digit: np.ndarray) -> np.ndarray:
    """An 8 x 8 digit made the MNIST way: upscaled to 20 x 20, centre of mass at the middle of 28 x 28."""
    big = np.asarray(Image.fromarray(digit.astype(np.float32)).resize((20, 20), Image.Resampling.BILINEAR))
    row, col = centre_of_mass(big)
    top, left = round(CENTRE - row), round(CENTRE - col)
    out = np.zeros((28, 28))
    out[top : top + 20, left : left + 20] = big  # a centre of mass stays within 4 px of the box centre here
    return out


def small_off_centre(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An 8 x 8 digit drawn 10 to 14 px tall somewhere away from the middle of a 28 x 28 canvas."""
    side = int(rng.integers(10, 15))
    small = np.asarray(Image.fromarray(digit.astype(np.float32)).resize((side, side), Image.Resampling.BILINEAR))
    canvas = np.zeros((28, 28))
    top, left = (int(rng.choice([rng.integers(0, 4), rng.integers(28 - side - 3, 28 - side + 1)])) for _ in "rc")
    canvas[top : top + side, left : left + side] = np.clip(small, 0, 1)
    return canvas


def test_prepared_drawings_are_read_far_better_than_the_raw_canvas(tmp_path):
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images, labels = bunch.images / 16.0, bunch.target
    order = np.random.default_rng(0).permutation(len(labels))
    train, held_out = order[:1400], order[1400:]
    path = tmp_path / "mnist-style.npz"
    np.savez(path, x=np.stack([mnist_style(images[i]) for i in train]), y=labels[train])
    config = TrainConfig(stage="optim", data=str(path), hidden_size=128, learning_rate=1e-3, epochs=40, device="cpu")
    trainer = Trainer(config)
    trainer.advance(config.epochs)
    weights = trainer.weights()

    rng = np.random.default_rng(1)
    canvases = [small_off_centre(images[i], rng) for i in held_out]
    truth = labels[held_out]
    clean = (scores(weights, np.stack([mnist_style(images[i]) for i in held_out])).argmax(axis=1) == truth).mean()
    raw = (scores(weights, np.stack(canvases)).argmax(axis=1) == truth).mean()
    inputs = np.stack([prepare_with_caption(c, (28, 28))[0] for c in canvases])
    prepared = (scores(weights, inputs).argmax(axis=1) == truth).mean()
    print(f"accuracy on {len(truth)} held-out digits: clean {clean:.3f}, raw canvas {raw:.3f}, prepared {prepared:.3f}")
    assert clean >= 0.9, f"the network did not learn the MNIST-style digits: {clean:.3f} on clean held-out digits"
    assert prepared >= 0.8, f"prepared drawings read with accuracy {prepared:.3f}, expected at least 0.8"
    assert raw <= prepared / 2, f"raw canvases read with accuracy {raw:.3f}, expected at most half of {prepared:.3f}"
