"""The Hessian of the probe loss as an operator: Hessian-vector products of the two-layer network, written out.

For L = sum((ReLU(x w1 + b1) w2 + b2 - y)^2) the product H v is the directional derivative of the gradient along v
(Pearlmutter's R-operator): one forward and one backward pass of the network's own matrices, with ReLU's mask held
fixed (its derivative is 0 wherever it is defined). Written out in NumPy it costs a few matrix products and none of
autograd's or torch's per-operation bookkeeping, which on the lecture's 64 rows is most of a double backward's time.

The loss sees w1 only through x w1, so every direction of w1 outside the row space of x is flat (H maps it to 0),
and H maps the rest, with w2 and the biases, into itself. When the probe has fewer rows than inputs (64 of 784 in
the lecture) the operator therefore works on w1's coordinates in an orthonormal basis of that row space: the same
nonzero eigenvalues from a twelfth of the arithmetic.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from twolayer.train.probe import Probe, probe_hidden


class ProbeHessian:
    """Products with the Hessian of the probe loss at fixed weights, on flat vectors in the operator's coordinates."""

    def __init__(self, weights: Mapping[str, torch.Tensor], probe: Probe, reduce: bool = True) -> None:
        """The Hessian at `weights` (lecture layout, float64); `reduce`: w1 on the row space of the probe's x."""
        self.w2 = weights["w2"].numpy()
        self.biases = "b1" in weights
        hidden = probe_hidden(weights, probe).numpy()
        self.mask = (hidden > 0).astype(hidden.dtype)
        self.a = hidden
        output = hidden @ self.w2 + (weights["b2"].numpy() if self.biases else 0.0)
        self.dy = 2 * (output - probe.y.numpy())  # dL/d(output)
        self.reduced = reduce and probe.row_basis is not None
        # x in the coordinates w1's directions use: the row space's when reduced (w1's other directions are flat)
        self.x = (probe.x_in_row_basis if self.reduced else probe.x).numpy()
        inputs, hidden_size, outputs = self.x.shape[1], weights["w1"].shape[1], self.w2.shape[1]
        self.shapes = [(inputs, hidden_size), (hidden_size, outputs)]
        if self.biases:
            self.shapes += [(hidden_size,), (outputs,)]
        self.sizes = [int(np.prod(shape)) for shape in self.shapes]
        ends = np.cumsum(self.sizes).tolist()
        self.slices = [slice(end - size, end) for end, size in zip(ends, self.sizes, strict=True)]

    @property
    def size(self) -> int:
        """The length of the vectors the operator takes."""
        return sum(self.sizes)

    def flatten(self, tensors: Mapping[str, torch.Tensor]) -> np.ndarray:
        """Per-weight tensors (w1 whole) as one vector in the operator's order; for the unreduced operator."""
        order = ["w1", "w2", "b1", "b2"] if self.biases else ["w1", "w2"]
        return np.concatenate([tensors[name].numpy().reshape(-1) for name in order])

    def product(self, v: np.ndarray) -> np.ndarray:
        """H v for a flat vector v of the operator's coordinates."""
        # Views into v and into the result, written in place: Lanczos calls this dozens of times a measurement.
        parts = [v[cut].reshape(shape) for cut, shape in zip(self.slices, self.shapes, strict=True)]
        result = np.empty(self.size)
        out = [result[cut].reshape(shape) for cut, shape in zip(self.slices, self.shapes, strict=True)]
        v1, v2 = parts[0], parts[1]
        r_hidden = self.x @ v1
        if self.biases:
            r_hidden += parts[2]
        r_a = np.multiply(r_hidden, self.mask, out=r_hidden)
        r_output = r_a @ self.w2
        r_output += self.a @ v2
        if self.biases:
            r_output += parts[3]
        r_dy = np.multiply(r_output, 2, out=r_output)
        r_dh = r_dy @ self.w2.T
        r_dh += self.dy @ v2.T
        r_dh *= self.mask
        np.matmul(self.x.T, r_dh, out=out[0])
        np.matmul(r_a.T, self.dy, out=out[1])
        out[1] += self.a.T @ r_dy
        if self.biases:
            r_dh.sum(0, out=out[2])
            r_dy.sum(0, out=out[3])
        return result
