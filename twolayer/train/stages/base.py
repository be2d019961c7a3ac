"""What a stage offers the trainer (the `Stage` protocol), and the plumbing the stages share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
import torch

from twolayer.train.stages.phases import StepLine


class Stage(Protocol):
    """One lecture stage, holding a run's weights; the trainer only ever talks to this."""

    train_step: Callable[..., Any]  # the lecture's function that runs: shown on the page, traced when recorded
    step_lines: Sequence[StepLine]  # what each line of train_step that does work is for, beside it in its module
    device: str
    learning_rate: float
    gradient_descent: bool  # True when a step subtracts lr x gradient (its size follows from the gradient)

    def step(self, x: Any, y: Any) -> float:
        """One training step on inputs `x` and targets `y` (backend arrays); the loss before the update."""

    def predict(self, x: Any) -> Any:
        """The network's outputs for `x`, without recording anything for gradients."""

    def hidden(self, x: Any) -> Any:
        """The hidden layer's input h (before ReLU) for `x`, without recording anything for gradients."""

    def params(self) -> dict[str, Any]:
        """The live weights by lecture name (w1, w2, b1, b2), in the backend's own layout."""

    def grads(self) -> dict[str, Any]:
        """The gradients of the last step by lecture name; None before the first step."""

    def weights(self) -> dict[str, np.ndarray]:
        """Copies of the weights as float64 arrays in the lecture's layout."""

    def set_learning_rate(self, learning_rate: float) -> None:
        """Take later steps at `learning_rate`, wherever this stage keeps its rate."""

    def lecture_layout(self, arrays: dict[str, Any]) -> dict[str, np.ndarray]:
        """Arrays by weight name in the backend's layout, as float64 copies in the lecture's layout."""

    def to_backend(self, array: np.ndarray) -> Any: ...
    def take(self, array: Any, index: np.ndarray) -> Any: ...
    def to_numpy(self, array: Any) -> np.ndarray: ...
    def host(self, array: Any) -> np.ndarray: ...
    def copy_params(self) -> dict[str, Any]: ...
    def adopt_thread_count(self) -> None: ...
    def norms(self, before: dict[str, Any] | None = None) -> dict[str, float]: ...

    def state(self) -> dict[str, Any]:
        """What training changes in the stage (weights, last gradients, an optimizer's state), as live values."""

    def load_state(self, state: dict[str, Any]) -> None:
        """Take up a `state()` of a stage built from the same config, to the bit."""


class NumpyArrays:
    """Arrays are NumPy arrays on the CPU."""

    device = "cpu"
    # Measured against the bare loop: freed before a step, 784x1024 gradients go back to the system and each
    # step faults in fresh pages (1.20 of the bare loop at N=1024, H=1024, against 1.03 when kept).
    free_gradients_first = False

    def __init__(self, dtype: str, device: str = "cpu") -> None:
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

    @staticmethod
    def adopt_thread_count() -> None:
        """Nothing to do: NumPy's BLAS thread count is one setting for the whole process."""

    @staticmethod
    def copy(array: np.ndarray) -> np.ndarray:
        return array.copy()

    @staticmethod
    def assign(array: np.ndarray, value: np.ndarray) -> None:
        array[...] = value

    @staticmethod
    def relu(array: np.ndarray) -> np.ndarray:
        return np.maximum(array, 0)

    @staticmethod
    def norm_list(arrays: list[np.ndarray]) -> list[float]:
        return [float(np.linalg.norm(a)) for a in arrays]


class TorchArrays:
    """Arrays are torch tensors on `device`."""

    # Measured against the bare loop: kept through the next step, the last gradients cost the lecture-size tensor
    # stage 3% (1.029 of the bare loop, against 1.000 when freed first); at N=1024, H=1024 either way is 1.02-1.03.
    free_gradients_first = True

    def __init__(self, dtype: str, device: str) -> None:
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

    @staticmethod
    def adopt_thread_count() -> None:
        """Give the calling thread the process's torch thread count, as torch's own parallel code does."""
        # Intel MKL (torch's matrix library on x86) splits a product's sums by the count of the calling thread,
        # and a thread that never set one starts at one per core: a run resumed there (a Streamlit callback)
        # would differ in its last bits. Setting the count costs a microsecond; MKL's strict mode, which also
        # keeps sums the same, cost 7-8% of the lecture's products.
        torch.set_num_threads(torch.get_num_threads())

    @staticmethod
    def copy(tensor: torch.Tensor) -> torch.Tensor:
        return tensor.detach().clone()

    @staticmethod
    def assign(tensor: torch.Tensor, value: torch.Tensor) -> None:
        with torch.no_grad():
            tensor.copy_(value)

    @staticmethod
    def relu(tensor: torch.Tensor) -> torch.Tensor:
        return tensor.clamp(min=0)

    @staticmethod
    def norm_list(tensors: list[torch.Tensor]) -> list[float]:
        """Each tensor's 2-norm in one kernel call and one host-device transfer, not one of each per tensor."""
        with torch.no_grad():
            return torch.stack(torch._foreach_norm([t.detach() for t in tensors])).tolist()


class Weights:
    """Weight arrays a stage owns: a copy in the backend, never a view of the caller's array."""

    def own(self, array: np.ndarray) -> Any:
        # A float64 array would otherwise be shared with the caller, and training would overwrite its start.
        return self.copy(self.to_backend(array))


class Records(Weights):
    """The reads every stage shares, built on its arrays' `copy`, `to_numpy` and `norm_list`."""

    gradient_descent = True

    def set_learning_rate(self, learning_rate: float) -> None:
        self.learning_rate = learning_rate

    def copy_params(self) -> dict[str, Any]:
        return {name: self.copy(p) for name, p in self.params().items()}

    def weights(self) -> dict[str, np.ndarray]:
        return self.lecture_layout(self.params())

    def lecture_layout(self, arrays: dict[str, Any]) -> dict[str, np.ndarray]:
        """Arrays shaped like the live weights (such as an optimizer's state), as float64 in the lecture's layout."""
        return {name: self.to_numpy(array) for name, array in arrays.items()}

    def state(self) -> dict[str, Any]:
        """The live weights and last gradients, in the backend's layout and dtype: read them before the next step."""
        return {"params": self.params(), "grads": self.grads()}

    def load_state(self, state: dict[str, Any]) -> None:
        """Copy a `state()` into this stage's weights, which stay the arrays its parts hold, and gradients."""
        for name, param in self.params().items():
            self.assign(param, state["params"][name])
        self.set_grads(state["grads"])

    def set_grads(self, grads: dict[str, Any]) -> None:
        """Put back the last step's gradients where autograd leaves them: each weight's .grad."""
        for name, param in self.params().items():
            param.grad = grads[name]

    def norms(self, before: dict[str, Any] | None = None) -> dict[str, float]:
        """Norms of each weight and gradient, and of the last update relative to the weight."""
        params, grads = self.params(), self.grads()
        named = {f"weight_norm_{name}": p for name, p in params.items()}
        named.update({f"grad_norm_{name}": g for name, g in grads.items() if g is not None})
        if before is not None:
            named.update({f"update_norm_{name}": p - before[name] for name, p in params.items()})
        out = dict(zip(named, self.norm_list(list(named.values())), strict=True))
        for name in params:
            if before is not None:
                update = out.pop(f"update_norm_{name}")
            elif f"grad_norm_{name}" in out and self.gradient_descent:
                update = self.learning_rate * out[f"grad_norm_{name}"]  # the step was lr x gradient: no copy needed
            else:
                continue
            # relative size of the step just taken: ~1e-3 is the usual healthy range
            out[f"update_ratio_{name}"] = update / (out[f"weight_norm_{name}"] + 1e-30)
        return out


class HandWritten(Records):
    """A stage whose `train_step(w1, w2, x, y, learning_rate)` returns the loss and its own gradients."""

    def __init__(self, weights: dict[str, np.ndarray], config, device: str) -> None:
        super().__init__(config.dtype, device)
        self.w1, self.w2 = self.own(weights["w1"]), self.own(weights["w2"])
        self.learning_rate = config.learning_rate
        self._grads = (None, None)

    def step(self, x, y) -> float:
        if self.free_gradients_first:  # whichever is faster for the arrays' kind, measured against the bare loop
            self._grads = (None, None)
        loss, grads = self.train_step(self.w1, self.w2, x, y, self.learning_rate)
        if grads is not None:  # None: the step diverged before computing any
            self._grads = grads
        return loss

    def params(self):
        return {"w1": self.w1, "w2": self.w2}

    def grads(self):
        return dict(zip(("w1", "w2"), self._grads, strict=True))

    def set_grads(self, grads):
        self._grads = (grads["w1"], grads["w2"])

    def predict(self, x):
        return self.relu(self.hidden(x)) @ self.w2

    def hidden(self, x):
        return x @ self.w1
