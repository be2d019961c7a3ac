"""The sharpness of a run: the largest eigenvalue of the Hessian of its probe loss, and the learning rate it allows.

Gradient descent at learning rate lr is unstable along any direction whose curvature exceeds 2/lr (each step
overshoots by more than it corrects), so the sharpness at a run's weights says which rates work there. ReLU's kink
leaves the Hessian undefined only where a hidden input is exactly 0 (almost nowhere); elsewhere ReLU is linear and
the exact second derivative there is that of a linear map. The largest eigenvalue comes from Lanczos iterations on
Hessian-vector products (twolayer.train.hessian) in float64 NumPy on the CPU, whatever stage, precision or device
trained the weights, so every stage gives the same value at the same weights. Adam is judged instead by its
preconditioned sharpness, the largest eigenvalue of P^-1 H with P = diag(sqrt(v_hat) + eps), against 38/lr
(Cohen et al. 2022, "Adaptive gradient methods at the edge of stability").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import torch

from twolayer.train.config import BY_NAME, TrainConfig
from twolayer.train.hessian import ProbeHessian
from twolayer.train.probe import Probe, as_tensors, probe_loss
from twolayer.train.run import Run
from twolayer.train.stages import stage_spec
from twolayer.train.stages.base import TorchArrays

TOLERANCE = 1e-6  # relative: Lanczos stops once its estimate of the eigenvalue's error is below this share of it
MAX_ITERATIONS = 200  # Hessian-vector products at most; 10 to 40 reach the tolerance on the lecture's runs
START_SEED = 0  # the start vector's own generator: torch's global RNG is never drawn from
RITZ_BYTES = 64 * 2**20  # the Lanczos vectors kept to form the Ritz vector, at most (a few dozen at hidden 100)
MOMENTUM = 0.9  # the momentum optimizer's beta (optim_stage.make_optimizer)
ADAM_BETA1 = 0.9  # torch.optim.Adam's default first-moment decay, which the optim stage keeps


class Quantity(StrEnum):
    """Which curvature a run's update is judged by."""

    HESSIAN = "hessian"  # the largest eigenvalue of the Hessian
    ADAM_PRECONDITIONED = "adam-preconditioned"  # ... of P^-1 H, P Adam's per-weight divisor of the step


@dataclass(frozen=True)
class Edge:
    """Where a run's update turns unstable: at a curvature of `factor`/lr of the quantity it is judged by."""

    quantity: Quantity
    factor: float
    steps: str  # the update in words: "plain gradient steps"
    note: str = ""  # why the threshold is only a guide, when it is

    @property
    def rule(self) -> str:
        """The threshold in words: "2/lr"."""
        return f"{self.factor:g}/lr"

    def threshold(self, learning_rate: float) -> float:
        """The curvature above which steps at `learning_rate` grow instead of shrinking."""
        return self.factor / learning_rate


@dataclass(frozen=True)
class Eigen:
    """The largest eigenvalue Lanczos found, the Hessian-vector products it took, and whether it met the tolerance."""

    value: float
    iterations: int
    converged: bool
    vector: np.ndarray | None = None  # its Ritz vector, in the operator's coordinates, when kept


@dataclass(frozen=True)
class Sharpness:
    """A run's sharpness at some weights, with the edge its learning rate is measured against."""

    value: float  # lambda_max of the edge's quantity
    iterations: int
    converged: bool
    rows: int  # probe rows the loss was summed over
    edge: Edge
    learning_rate: float
    tolerance: float = TOLERANCE
    vector: np.ndarray | None = field(default=None, repr=False, compare=False)  # Lanczos's last Ritz vector

    @property
    def threshold(self) -> float:
        """The sharpness above which this run's steps are unstable: 2/lr, 3.8/lr or 38/lr."""
        return self.edge.threshold(self.learning_rate)

    @property
    def stable_rate(self) -> float:
        """The learning rate above which steps are unstable at this sharpness: factor / lambda_max."""
        return self.edge.factor / self.value if self.value > 0 else math.inf  # no upward curvature: no limit

    def to_dict(self) -> dict[str, object]:
        """Plain values, fit for JSON."""
        return {
            "lambda_max": self.value,
            "quantity": str(self.edge.quantity),
            "rows": self.rows,
            "iterations": self.iterations,
            "converged": self.converged,
            "tolerance": self.tolerance,
            "learning_rate": self.learning_rate,
            "threshold": self.threshold,
            "rule": self.edge.rule,
            "stable_rate": self.stable_rate if math.isfinite(self.stable_rate) else None,
            "note": self.edge.note,
        }


def edge(config: TrainConfig) -> Edge:
    """The quantity and threshold that judge a config's update rule."""
    if not stage_spec(config.stage).has_optimizer or config.optimizer == "sgd":
        return Edge(Quantity.HESSIAN, 2.0, "plain gradient steps")
    if config.optimizer == "momentum":
        # Heavy-ball momentum beta stays stable up to a curvature of (2 + 2 beta)/lr.
        return Edge(Quantity.HESSIAN, 2 + 2 * MOMENTUM, f"gradient steps with momentum {MOMENTUM:g}")
    name = BY_NAME["optimizer"].control.labels[config.optimizer]
    if config.optimizer == "adam":
        return Edge(Quantity.ADAM_PRECONDITIONED, (2 + 2 * ADAM_BETA1) / (1 - ADAM_BETA1), f"{name}'s steps")
    return Edge(
        Quantity.HESSIAN,
        2.0,
        "plain gradient steps",
        f"{name} divides each weight's step by the size of its past gradients: no fixed threshold holds for it, "
        "and the plain sharpness against 2/lr is only a guide",
    )


def measure(run: Run, probe: Probe, start: np.ndarray | None = None) -> Sharpness:
    """The run's sharpness at its current weights, on the probe's rows, as its edge defines it; `start`: the
    `vector` of an earlier measurement of this run on this probe, which Lanczos then starts from."""
    TorchArrays.adopt_thread_count()  # the same sums from whichever thread measures (see TorchArrays)
    found = edge(run.config)
    weights = as_tensors(run.weights())
    scale = None
    if found.quantity is Quantity.ADAM_PRECONDITIONED:
        scale = _adam_scale(run, weights, probe)
        # Adam's divisor moves between measurements, and the last one's vector starts Lanczos worse than a random
        # one (24 products instead of 18 on the lecture's run): every measurement of it starts afresh.
        start = None
    eigen = largest_eigenvalue(weights, probe, scale, start)
    return Sharpness(
        eigen.value, eigen.iterations, eigen.converged, probe.rows, found, run.config.learning_rate, vector=eigen.vector
    )


def largest_eigenvalue(
    weights: Mapping[str, torch.Tensor],
    probe: Probe,
    scale: Mapping[str, torch.Tensor] | None = None,
    start: np.ndarray | None = None,
) -> Eigen:
    """The largest eigenvalue of the Hessian of the probe loss over every weight, or of S H S when `scale` gives the
    diagonal S (which has the eigenvalues of S^2 H); Lanczos starts from `start` when it fits, else at random."""
    # S mixes w1's row space with the flat directions outside it: only the plain Hessian keeps to that space.
    hessian = ProbeHessian(weights, probe, reduce=scale is None)
    product = hessian.product
    if scale is not None:
        s = hessian.flatten(scale)

        def product(v: np.ndarray) -> np.ndarray:
            return s * hessian.product(s * v)

    eigen = lanczos(product, hessian.size, start)
    if hessian.reduced and eigen.value < 0:
        # Every eigenvalue inside the row space is negative: the top one is the 0 of the flat directions outside it.
        return Eigen(0.0, eigen.iterations, eigen.converged)
    return eigen


def lanczos(product: Callable[[np.ndarray], np.ndarray], size: int, start: np.ndarray | None = None) -> Eigen:
    """The largest eigenvalue of the symmetric operator `product` on vectors of `size`, by Lanczos iterations from
    `start` (a random vector when None or of another size).

    Three vectors drive it (no reorthogonalisation): the top eigenvalue converges first, before lost orthogonality
    shows. The others are kept, within RITZ_BYTES, to return the top Ritz vector, from which a later measurement at
    nearby weights converges in a few iterations. It stops once the error of the top Ritz value, at most the residual
    r of its Ritz pair and about r^2/gap once the next Ritz value lies a gap below, is within TOLERANCE of the value,
    or after MAX_ITERATIONS.
    """
    q = None if start is None else np.asarray(start, dtype=np.float64)
    if q is None or q.shape != (size,) or not np.linalg.norm(q) > 0:
        q = np.random.default_rng(START_SEED).standard_normal(size)
    q = q / np.linalg.norm(q)
    previous, beta = np.zeros_like(q), 0.0
    tridiagonal = np.zeros((MAX_ITERATIONS, MAX_ITERATIONS))  # Lanczos's T, filled as it grows
    kept: list[np.ndarray] | None = []
    top, vectors = math.nan, np.ones((1, 1))
    iteration, converged = 0, False
    while iteration < MAX_ITERATIONS:
        if kept is not None:
            kept.append(q)
            if len(kept) * size * 8 > RITZ_BYTES:
                kept = None  # too large to keep: no Ritz vector this time
        w = product(q) - beta * previous
        alpha = float(w @ q)
        w -= alpha * q
        tridiagonal[iteration, iteration] = alpha
        iteration += 1
        beta = float(np.linalg.norm(w))
        ritz, vectors = np.linalg.eigh(tridiagonal[:iteration, :iteration])
        top = float(ritz[-1])
        residual = beta * abs(float(vectors[-1, -1]))
        gap = top - float(ritz[-2]) if len(ritz) > 1 else 0.0
        error = min(residual, residual**2 / gap) if gap > 0 else residual
        if not math.isfinite(top):
            return Eigen(top, iteration, False)
        if error <= TOLERANCE * abs(top) or beta == 0.0:
            converged = True
            break
        if iteration < MAX_ITERATIONS:
            tridiagonal[iteration - 1, iteration] = tridiagonal[iteration, iteration - 1] = beta
        previous, q = q, w / beta
    vector = None
    if kept is not None:
        vector = vectors[:, -1] @ np.stack(kept)
    return Eigen(top, iteration, converged, vector)


def _adam_scale(run: Run, weights: Mapping[str, torch.Tensor], probe: Probe) -> dict[str, torch.Tensor]:
    """P^-1/2 for the step Adam takes from these weights: P = sqrt(v_hat) + eps, v_hat its bias-corrected second
    moment updated with the probe's gradient (the step's own gradient when the data fits one batch)."""
    optimizer = run.stage.optimizer
    group = optimizer.param_groups[0]
    beta2, eps = group["betas"][1], group["eps"]
    live = run.stage.params()
    states = {name: optimizer.state.get(param) for name, param in live.items()}
    steps = 0 if not all(states.values()) else int(states["w1"]["step"])
    moments = as_tensors(run.stage.lecture_layout({n: s["exp_avg_sq"] for n, s in states.items()})) if steps else {}
    params = {name: w.detach().clone().requires_grad_() for name, w in weights.items()}
    grads = dict(zip(params, torch.autograd.grad(probe_loss(params, probe), list(params.values())), strict=True))
    scale = {}
    for name, grad in grads.items():
        moment = beta2 * moments.get(name, 0.0) + (1 - beta2) * grad**2  # Adam's update of v, as its step makes it
        v_hat = moment / (1 - beta2 ** (steps + 1))
        scale[name] = (v_hat.sqrt() + eps).rsqrt()
    return scale
