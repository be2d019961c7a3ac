"""Initial weights in the lecture's layout: w1 (D_in, H), w2 (H, D_out), optional b1 (H,), b2 (D_out,)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from twolayer.train.config import TrainConfig


class WeightsError(ValueError):
    """A weights file is missing, malformed or the wrong shape for this network."""


def initial_weights(
    config: TrainConfig, input_size: int, output_size: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """The starting weights a config asks for, drawn from `rng` as float64."""
    hidden = config.hidden_size
    if config.normal_start:
        # The lecture's hand-written stages start from standard normal weights, about
        # 28x larger than nn.Linear's: the reason their learning rate is 100x smaller.
        return {"w1": rng.standard_normal((input_size, hidden)), "w2": rng.standard_normal((hidden, output_size))}
    # nn.Linear's default: uniform on +-1/sqrt(fan_in) for weight and bias alike
    # (kaiming_uniform with a=sqrt(5)), drawn here so no global RNG is touched.
    weights = {
        "w1": _uniform(rng, input_size, (input_size, hidden)),
        "w2": _uniform(rng, hidden, (hidden, output_size)),
    }
    if config.bias:
        weights["b1"] = _uniform(rng, input_size, (hidden,))
        weights["b2"] = _uniform(rng, hidden, (output_size,))
    return weights


def _uniform(rng: np.random.Generator, fan_in: int, shape: tuple[int, ...]) -> np.ndarray:
    bound = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape)


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of an .npz file, read without unpickling anything; WeightsError names the file."""
    if not path.is_file():
        raise WeightsError(f"{path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except Exception as exc:  # bad zip, pickled object arrays, truncation: all unreadable
        raise WeightsError(f"{path}: not a readable .npz file ({exc})") from None


def load_weights(
    path: str | Path, input_size: int, hidden_size: int, output_size: int, bias: bool
) -> dict[str, np.ndarray]:
    """Weights from an .npz file, checked against the network's shape."""
    path = Path(path)
    found = read_npz(path)
    expected = {"w1": (input_size, hidden_size), "w2": (hidden_size, output_size)}
    if bias:
        expected |= {"b1": (hidden_size,), "b2": (output_size,)}
    weights = {}
    for name, shape in expected.items():
        if name not in found:
            raise WeightsError(f"{path}: missing array {name!r} (found: {', '.join(found) or 'none'})")
        array = found[name]
        if array.shape != shape:
            raise WeightsError(f"{path}: {name} has shape {array.shape}, this network needs {shape}")
        if not np.issubdtype(array.dtype, np.floating) or not np.isfinite(array).all():
            raise WeightsError(f"{path}: {name} must hold finite floating-point numbers")
        weights[name] = array.astype(np.float64)
    return weights
