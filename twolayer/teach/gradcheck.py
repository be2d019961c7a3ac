"""Checks the hand-written gradients against autograd and central finite differences, in float64."""

from __future__ import annotations

import numpy as np
import torch

from twolayer.train.stages import numpy_stage, tensor_stage


def _loss(x, y, w1, w2) -> float:
    return float(np.square(np.maximum(x @ w1, 0) @ w2 - y).sum())


def _relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """Largest difference relative to the largest gradient entry (robust to zero entries)."""
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))


def gradient_check(x, y, w1, w2, samples: int = 20, seed: int = 0) -> list[dict[str, object]]:
    """Max relative error of each way of getting dL/dw1 and dL/dw2, one row per comparison."""
    x, y, w1, w2 = (np.array(a, dtype=np.float64) for a in (x, y, w1, w2))  # copies: entries are nudged below
    # A learning rate of 0 runs the real training steps without changing the weights.
    _, manual_np = numpy_stage.train_step(w1.copy(), w2.copy(), x, y, 0.0)
    tensors = [torch.from_numpy(a.copy()) for a in (x, y, w1, w2)]
    _, manual_torch = tensor_stage.train_step(tensors[2], tensors[3], tensors[0], tensors[1], 0.0)
    manual_torch = [g.numpy() for g in manual_torch]

    tw1, tw2 = (torch.from_numpy(a.copy()).requires_grad_() for a in (w1, w2))
    loss = (torch.from_numpy(x).mm(tw1).clamp(min=0).mm(tw2) - torch.from_numpy(y)).pow(2).sum()
    loss.backward()
    autograd = [tw1.grad.numpy(), tw2.grad.numpy()]

    # Finite differences cost two forward passes per entry: check a seeded sample of entries.
    rng = np.random.default_rng(seed)
    rows = []
    manual = zip(manual_np, manual_torch, strict=True)
    for name, reference, (grad_np, grad_torch) in zip(("w1", "w2"), autograd, manual, strict=True):
        weights = {"w1": w1, "w2": w2}
        w = weights[name]
        picks = [tuple(rng.integers(0, n) for n in w.shape) for _ in range(samples)]
        numeric = []
        for index in picks:
            eps = 1e-6 * max(1.0, abs(w[index]))
            saved = w[index]
            w[index] = saved + eps
            plus = _loss(x, y, weights["w1"], weights["w2"])
            w[index] = saved - eps
            minus = _loss(x, y, weights["w1"], weights["w2"])
            w[index] = saved
            numeric.append((plus - minus) / (2 * eps))
        numeric = np.array(numeric)
        sampled = tuple(np.array(axis) for axis in zip(*picks, strict=True))
        rows += [
            {
                "weight": name,
                "compared": "numpy by hand vs autograd",
                "max_rel_error": _relative_error(grad_np, reference),
            },
            {
                "weight": name,
                "compared": "tensor by hand vs autograd",
                "max_rel_error": _relative_error(grad_torch, reference),
            },
            {
                "weight": name,
                "compared": f"numpy by hand vs finite differences ({samples} entries)",
                "max_rel_error": _relative_error(grad_np[sampled], numeric),
            },
            {
                "weight": name,
                "compared": f"autograd vs finite differences ({samples} entries)",
                "max_rel_error": _relative_error(reference[sampled], numeric),
            },
        ]
    return rows
