"""What every stage offers the trainer: one step, its weights and gradients, a forward pass."""

from __future__ import annotations

import numpy as np
import torch


class NumpyStage:
    """Common plumbing for a stage whose arrays are NumPy arrays on the CPU."""

    device = "cpu"

    def __init__(self, dtype: str):
        self.dtype = np.dtype(dtype)

    def to_backend(self, array: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(array, dtype=self.dtype)

    def take(self, array: np.ndarray, index: np.ndarray) -> np.ndarray:
        return array[index]

    def to_numpy(self, array: np.ndarray) -> np.ndarray:
        return np.array(array, dtype=np.float64)

    def host(self, array: np.ndarray) -> np.ndarray:
        """The array itself: already in host memory, in its own dtype."""
        return array

    def copy_params(self) -> dict[str, np.ndarray]:
        return {name: p.copy() for name, p in self.params().items()}

    def weights(self) -> dict[str, np.ndarray]:
        """The current weights as float64 arrays in the lecture's layout."""
        return {name: self.to_numpy(p) for name, p in self.params().items()}

    def norms(self, before: dict[str, np.ndarray] | None = None) -> dict[str, float]:
        """Norms of each weight and gradient, and of the last update relative to the weight."""
        return _norms(self.params(), self.grads(), before, lambda a: float(np.linalg.norm(a)))


class TorchStage:
    """Common plumbing for a stage whose arrays are torch tensors on `device`."""

    def __init__(self, dtype: str, device: str):
        self.dtype = getattr(torch, dtype)
        self.device = device

    def to_backend(self, array: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(array, dtype=self.dtype, device=self.device)

    def take(self, tensor: torch.Tensor, index: np.ndarray) -> torch.Tensor:
        return tensor[torch.as_tensor(index, device=self.device)]

    def to_numpy(self, tensor: torch.Tensor) -> np.ndarray:
        return tensor.detach().to("cpu", torch.float64).numpy()

    def host(self, tensor: torch.Tensor) -> np.ndarray:
        """A NumPy view (a copy only off the CPU), in the tensor's own dtype."""
        return tensor.detach().cpu().numpy()

    def copy_params(self) -> dict[str, torch.Tensor]:
        return {name: p.detach().clone() for name, p in self.params().items()}

    def weights(self) -> dict[str, np.ndarray]:
        """The current weights as float64 arrays in the lecture's layout."""
        return {name: self.to_numpy(p) for name, p in self.params().items()}

    def norms(self, before: dict[str, torch.Tensor] | None = None) -> dict[str, float]:
        """Norms of each weight and gradient, and of the last update relative to the weight."""
        with torch.no_grad():
            named = _norms(self.params(), self.grads(), before, lambda t: torch.linalg.vector_norm(t.detach()))
            # one host-device transfer for all of them, not one per number
            values = torch.stack([v.to(torch.float64) for v in named.values()]).tolist()
        return dict(zip(named, values, strict=True))


def _norms(params, grads, before, norm) -> dict:
    out = {}
    for name, p in params.items():
        out[f"weight_norm_{name}"] = norm(p)
        if grads.get(name) is not None:
            out[f"grad_norm_{name}"] = norm(grads[name])
        if before is not None:
            # relative size of the step just taken: ~1e-3 is the usual healthy range
            out[f"update_ratio_{name}"] = norm(p - before[name]) / (out[f"weight_norm_{name}"] + 1e-30)
    return out
