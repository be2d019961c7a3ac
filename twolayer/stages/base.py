"""What every stage offers the trainer: one step, its weights and gradients, a forward pass."""

from __future__ import annotations

import numpy as np
import torch


class NumpyStage:
    """Common plumbing for a stage whose arrays are NumPy arrays on the CPU."""

    device = "cpu"
    gradient_descent = True  # each step subtracts lr x gradient, so the update's size follows from the gradient

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
        return _norms(self, before, lambda arrays: [float(np.linalg.norm(a)) for a in arrays])


class TorchStage:
    """Common plumbing for a stage whose arrays are torch tensors on `device`."""

    gradient_descent = True  # each step subtracts lr x gradient, so the update's size follows from the gradient

    def __init__(self, dtype: str, device: str):
        self.dtype = getattr(torch, dtype)
        self.device = device

    def to_backend(self, array: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(array, dtype=self.dtype, device=self.device)

    def take(self, tensor: torch.Tensor, index: np.ndarray) -> torch.Tensor:
        return tensor[torch.as_tensor(index, device=self.device)]

    def to_numpy(self, tensor: torch.Tensor) -> np.ndarray:
        # copy=True: a float64 CPU tensor would otherwise come back as a view of the live weights
        return tensor.detach().to("cpu", torch.float64, copy=True).numpy()

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
        return _norms(self, before, _torch_norms)


def _torch_norms(tensors: list[torch.Tensor]) -> list[float]:
    """Each tensor's 2-norm in one kernel call and one host-device transfer, not one of each per tensor."""
    with torch.no_grad():
        return torch.stack(torch._foreach_norm([t.detach() for t in tensors])).tolist()


def _norms(stage, before, norms_of) -> dict[str, float]:
    params, grads = stage.params(), stage.grads()
    named = {f"weight_norm_{name}": p for name, p in params.items()}
    named.update({f"grad_norm_{name}": g for name, g in grads.items() if g is not None})
    if before is not None:
        named.update({f"update_norm_{name}": p - before[name] for name, p in params.items()})
    out = dict(zip(named, norms_of(list(named.values())), strict=True))
    for name in params:
        if before is not None:
            update = out.pop(f"update_norm_{name}")
        elif f"grad_norm_{name}" in out and stage.gradient_descent:
            update = stage.learning_rate * out[f"grad_norm_{name}"]  # the step was lr x gradient: no copy needed
        else:
            continue
        # relative size of the step just taken: ~1e-3 is the usual healthy range
        out[f"update_ratio_{name}"] = update / (out[f"weight_norm_{name}"] + 1e-30)
    return out
