"""The Hessian of the probe loss as an operator: Hessian-vector products of the two-layer network, written out.

For L = sum((ReLU(x w1 + b1) w2 + b2 - y)^2) the product H v is the directional derivative of the gradient along v
(Pearlmutter's R-operator): one forward and one backward pass of the network's own matrices, with ReLU's mask held
fixed (its derivative is 0 wherever it is defined). Written out it costs a few matrix products and none of
autograd's bookkeeping, which on the lecture's 64 rows is most of a double backward's time.

The loss sees w1 only through x w1, so every direction of w1 outside the row space of x is flat (H maps it to 0),
and H maps the rest, with w2 and the biases, into itself. When the probe has fewer rows than inputs (64 of 784 in
the lecture) the operator therefore works on w1's coordinates in an orthonormal basis of that row space: the same
nonzero eigenvalues from a twelfth of the arithmetic.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from twolayer.train.probe import Probe, probe_hidden


class ProbeHessian:
    """Products with the Hessian of the probe loss at fixed weights, on flat vectors in the operator's coordinates."""

    def __init__(self, weights: Mapping[str, torch.Tensor], probe: Probe, reduce: bool = True) -> None:
        """The Hessian at `weights` (lecture layout, float64); `reduce`: w1 on the row space of the probe's x."""
        self.w1, self.w2 = weights["w1"], weights["w2"]
        self.biases = "b1" in weights
        hidden = probe_hidden(weights, probe)
        self.mask = (hidden > 0).to(hidden.dtype)
        self.a = hidden
        output = hidden @ self.w2 + (weights["b2"] if self.biases else 0.0)
        self.dy = 2 * (output - probe.y)  # dL/d(output)
        basis = probe.row_basis if reduce else None
        self.basis = basis
        self.x = probe.x if basis is None else probe.x_in_row_basis  # x in the coordinates w1's directions use
        inputs, hidden_size, outputs = self.x.shape[1], self.w1.shape[1], self.w2.shape[1]
        self.shapes = [(inputs, hidden_size), (hidden_size, outputs)]
        if self.biases:
            self.shapes += [(hidden_size,), (outputs,)]
        self.sizes = [int(torch.Size(shape).numel()) for shape in self.shapes]

    @property
    def reduced(self) -> bool:
        """Whether w1's directions are confined to the row space of x, a subspace smaller than all of w1."""
        return self.basis is not None

    @property
    def size(self) -> int:
        """The length of the vectors the operator takes."""
        return sum(self.sizes)

    def flatten(self, tensors: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Per-weight tensors (w1 whole) as one vector in the operator's order; for the unreduced operator."""
        order = ["w1", "w2", "b1", "b2"] if self.biases else ["w1", "w2"]
        return torch.cat([tensors[name].reshape(-1) for name in order])

    def product(self, v: torch.Tensor) -> torch.Tensor:
        """H v for a flat vector v of the operator's coordinates."""
        parts = [part.reshape(shape) for part, shape in zip(torch.split(v, self.sizes), self.shapes, strict=True)]
        v1, v2 = parts[0], parts[1]
        r_hidden = self.x @ v1
        if self.biases:
            r_hidden = r_hidden + parts[2]
        r_a = r_hidden * self.mask
        r_output = r_a @ self.w2 + self.a @ v2
        if self.biases:
            r_output = r_output + parts[3]
        r_dy = 2 * r_output
        r_dh = (r_dy @ self.w2.T + self.dy @ v2.T) * self.mask
        out = [self.x.T @ r_dh, r_a.T @ self.dy + self.a.T @ r_dy]
        if self.biases:
            out += [r_dh.sum(0), r_dy.sum(0)]
        return torch.cat([o.reshape(-1) for o in out])
