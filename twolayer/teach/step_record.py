"""Record one training step line by line: the values each line of a stage's real `train_step` produced."""

from __future__ import annotations

import copy
import json
import linecache
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from twolayer.train.stages.phases import Phase, StepLine, locate
from twolayer.train.trainer import Trainer

DIM_ORDER = ("N", "D_in", "H", "D_out")  # the lecture's sizes; the first wins when two are equal
BEFORE = ".before"  # suffix of a weight or optimizer state as it was when the step began

Value = np.ndarray | float


@dataclass
class RecordedLine:
    """One line of `train_step` as it ran: where it is, what it says, what its stage declares of it, what it made."""

    lineno: int  # in the stage's source file
    source: str
    declared: StepLine  # its phase, and whether it applies the ReLU or runs backpropagation
    names: list[str] = field(default_factory=list)

    @property
    def phase(self) -> Phase:
        """The part of the step the line belongs to, as its stage declares."""
        return self.declared.phase


@dataclass
class StepRecording:
    """What one step computed, line by line, with copies of the real values."""

    lines: list[RecordedLine]  # the declared lines, in the order they first ran; one run again (a loop) adds names
    values: dict[str, Value]  # name -> copy, in the stage's own layout and dtype
    inputs: list[str]  # names taken when the step began: its arguments and the weights before it
    loss: float  # what the step returned
    graph: dict | None  # the autograd graph behind the loss (autograd stages only)
    dims: dict[str, int]  # the lecture's sizes in this run: N, D_in, H, D_out
    first_lineno: int  # the line of `def train_step`, to place recorded lines in its source

    @property
    def finite(self) -> bool:
        """False when the loss overflowed: the step returned early and the recording ends at the loss."""
        return math.isfinite(self.loss)

    def describe(self, name: str) -> dict:
        """Shape, dimension names and statistics of one recorded value."""
        return describe(name, self.values[name], self.dims)

    def to_json(self) -> str:
        """The recording as JSON: each line with its phase and each name it produced with shape and statistics."""
        record = {
            "loss": self.loss,
            "finite": self.finite,
            "dims": self.dims,
            "inputs": [self.describe(name) for name in self.inputs],
            "lines": [
                {
                    "lineno": line.lineno,
                    "source": line.source,
                    "phase": line.phase,
                    "names": [self.describe(name) for name in line.names],
                }
                for line in self.lines
            ],
            "graph": self.graph,
        }
        return json.dumps(_finite_or_text(record), indent=1)

    def save_npz(self, path: str | Path) -> None:
        """Every recorded value as one array in an .npz file, keyed by its name."""
        np.savez(path, **{name: np.asarray(value) for name, value in self.values.items()})


def record_next_step(trainer: Trainer) -> StepRecording:
    """Every value of the step `trainer` takes next, line by line, computed on a copy (the run is unchanged)."""
    trainer.stage.adopt_thread_count()
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow shows as a non-finite loss, not warnings
        return record_step(trainer.stage, *trainer.next_batch())


def record_step(stage: Any, x: Any, y: Any) -> StepRecording:
    """Run one step of a copy of `stage` on `x`, `y` and record what each line of its `train_step` produced.

    `stage` itself is never stepped, so recording leaves its run exactly as it was.
    """
    holder = copy.deepcopy(stage)  # the whole holder at once, so a copied optimizer steps the copied model
    tracer = _StepTracer(holder)
    previous = sys.gettrace()
    sys.settrace(tracer.global_trace)
    try:
        loss = holder.step(x, y)
    finally:
        sys.settrace(previous)
    code = holder.train_step.__code__
    return StepRecording(
        lines=list(tracer.lines.values()),
        values=tracer.values,
        inputs=tracer.inputs,
        loss=float(loss),
        graph=tracer.graph,
        dims=_run_dims(stage, x, y),
        first_lineno=code.co_firstlineno,
    )


def describe(name: str, value: Value, dims: Mapping[str, int] | None = None) -> dict:
    """Shape, dimensions named from `dims`, dtype and statistics of `value`; a scalar gives its value."""
    array = np.asarray(value)
    dtype = type(value).__name__ if isinstance(value, int | float) else str(array.dtype)
    if array.ndim == 0:
        return {"name": name, "shape": [], "dims": [], "dtype": dtype, "value": float(array)}
    numbers = array.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):  # an overflowed step has inf values: their stats are inf/nan
        return {
            "name": name,
            "shape": list(array.shape),
            "dims": dim_names(array.shape, dims or {}),
            "dtype": dtype,
            "min": float(numbers.min()),
            "max": float(numbers.max()),
            "mean": float(numbers.mean()),
            "std": float(numbers.std()),
            "zeros": float(np.mean(numbers == 0)),
        }


def dim_names(shape: tuple[int, ...], dims: Mapping[str, int]) -> list[str | None]:
    """Each axis named by the size it matches in `dims`, in DIM_ORDER, preferring a name not used on another axis."""
    order = sorted(dims, key=lambda d: DIM_ORDER.index(d) if d in DIM_ORDER else len(DIM_ORDER))
    names: list[str | None] = []
    for size in shape:
        matches = [d for d in order if dims[d] == size]
        unused = [d for d in matches if d not in names]
        names.append((unused or matches or [None])[0])
    return names


class _StepTracer:
    """Follows one run of a holder's `train_step` and, after each line, copies every value that line made or changed."""

    def __init__(self, holder: Any) -> None:
        self.code = holder.train_step.__code__
        self.declared = locate(holder.step_lines, holder.train_step)  # by line number; other lines are control flow
        self.optimizer = getattr(holder, "optimizer", None)
        model = getattr(holder, "model", None)
        if model is None:
            self.params = dict(holder.params())  # w1, w2: the arrays the step changes in place
        else:
            self.params = {f"model.{name}": p for name, p in model.named_parameters()}
            for name, layer in model.named_children():
                layer.register_forward_hook(self._layer_hook(f"model.{name}"))  # on the copy, thrown away after
        self.param_ids = {id(p) for p in self.params.values()}
        self.lines: dict[int, RecordedLine] = {}  # declared lines by line number, in the order each first ran
        self.values: dict[str, Value] = {}
        self.inputs: list[str] = []
        self.graph: dict | None = None
        self.seen: dict[str, tuple[Any, Any, Value]] = {}  # name -> (object, fingerprint, copy) as last taken
        self.layer_outputs: dict[str, Value] = {}  # from forward hooks, during the line now running
        self.running: int | None = None  # the line now running

    def global_trace(self, frame, event, arg):
        """Trace only `train_step`'s own frames: every other call runs untraced, at full speed."""
        if frame.f_code is not self.code:
            return None
        self._take_inputs(self._live(frame))
        return self.local_trace

    def local_trace(self, frame, event, arg):
        """A 'line' event means the line before it finished, as does 'return' for the last one."""
        if event in ("line", "return"):
            if self.running is not None:
                self._take_line(self.running, self._live(frame))
            self.running = frame.f_lineno if event == "line" else None
        return self.local_trace

    def _layer_hook(self, path: str):
        def hook(module, inputs, output):
            self.layer_outputs[path] = _copy(output)

        return hook

    def _live(self, frame) -> dict[str, Any]:
        """The values the step can change, by name: locals, weights, their gradients, optimizer state."""
        # A local that is a weight (w1, or the loop's `param`) is taken under the weight's own name.
        objects = {
            name: value
            for name, value in frame.f_locals.items()
            if _is_value(value) and id(value) not in self.param_ids
        }
        for path, param in self.params.items():
            objects[path] = param
            if getattr(param, "grad", None) is not None:
                objects[f"{path}.grad"] = param.grad
        if self.optimizer is not None:
            paths = {id(p): path for path, p in self.params.items()}
            for param, state in self.optimizer.state.items():
                for key, value in state.items():
                    if isinstance(value, torch.Tensor):
                        objects[f"optimizer.state.{paths[id(param)]}.{key}"] = value
        return objects

    def _take_inputs(self, objects: dict[str, Any]) -> None:
        """The arguments, and the weights and optimizer state before the step; last step's gradients are only noted."""
        for name, value in objects.items():
            self.seen[name] = _snapshot(value)
            if name.endswith(".grad"):
                continue
            key = name + BEFORE if name in self.params or name.startswith("optimizer.") else name
            self.values[key] = self.seen[name][2]
            self.inputs.append(key)

    def _take_line(self, lineno: int, objects: dict[str, Any]) -> None:
        """Credit the line that just ran with every value that is new or changed since the line before."""
        produced = list(self.layer_outputs)
        self.values.update(self.layer_outputs)
        self.layer_outputs = {}
        for name, value in objects.items():
            if self._changed(name, value):
                self.seen[name] = _snapshot(value)
                self.values[name] = self.seen[name][2]
                produced.append(name)
        loss = objects.get("loss")
        if "loss" in produced and isinstance(loss, torch.Tensor) and loss.grad_fn is not None:
            self.graph = autograd_graph(loss, self.params)
        declared = self.declared.get(lineno)
        if declared is None:  # control flow (`if`, `return`): it makes no value, and is not shown
            return
        if self.graph is not None and declared.backprop:
            self.graph["filled"] = [name for name in produced if name.endswith(".grad")]
        line = self.lines.get(lineno)
        if line is None:
            source = linecache.getline(self.code.co_filename, lineno).strip()
            line = self.lines[lineno] = RecordedLine(lineno, source, declared)
        line.names += [name for name in produced if name not in line.names]

    def _changed(self, name: str, value: Any) -> bool:
        if name not in self.seen:
            return True
        _, fingerprint, taken = self.seen[name]
        if fingerprint != _fingerprint(value):
            return True
        # NumPy arrays keep no count of in-place writes: compare with the copy taken last time.
        return isinstance(value, np.ndarray) and not np.array_equal(value, taken, equal_nan=True)


def autograd_graph(loss: torch.Tensor, params: Mapping[str, torch.Tensor]) -> dict:
    """The backward functions autograd chained from `loss` to the weights: nodes (name, depth, weight) and edges."""
    weight_names = {id(p): path for path, p in params.items()}
    index = {loss.grad_fn: 0}
    nodes = [_graph_node(loss.grad_fn, 0, weight_names)]
    edges = []
    queue = [loss.grad_fn]
    for function in queue:  # breadth first: a node's depth is its fewest steps from the loss
        for child, _ in function.next_functions:
            if child is None:  # an input that needs no gradient, such as x
                continue
            if child not in index:
                index[child] = len(nodes)
                nodes.append(_graph_node(child, nodes[index[function]]["depth"] + 1, weight_names))
                queue.append(child)
            edges.append([index[function], index[child]])
    return {"nodes": nodes, "edges": edges, "filled": []}


def _graph_node(function, depth: int, weight_names: Mapping[int, str]) -> dict:
    variable = getattr(function, "variable", None)  # AccumulateGrad: the weight whose .grad it fills
    return {"name": type(function).__name__, "depth": depth, "param": weight_names.get(id(variable))}


def _run_dims(stage: Any, x: Any, y: Any) -> dict[str, int]:
    """The lecture's sizes in this run: batch N, inputs D_in, hidden H, outputs D_out."""
    inputs = x.shape[1]
    w1_shape = stage.params()["w1"].shape  # (D_in, H) in the lecture's layout, (H, D_in) in nn.Linear's
    hidden = w1_shape[1] if w1_shape[0] == inputs else w1_shape[0]
    return {"N": x.shape[0], "D_in": inputs, "H": hidden, "D_out": y.shape[1]}


def _is_value(value: Any) -> bool:
    """Arrays, tensors and plain numbers: what a line computes (not modules, optimizers or functions)."""
    if isinstance(value, bool):
        return False
    return isinstance(value, np.ndarray | torch.Tensor | int | float)


def _fingerprint(value: Any) -> tuple[int, int]:
    """Identity, and for a tensor its count of in-place writes: a change in either is a new value."""
    return id(value), value._version if isinstance(value, torch.Tensor) else 0


def _snapshot(value: Any) -> tuple[Any, tuple[int, int], Value]:
    # The live object is kept so its id cannot be reused by another while the step runs.
    return value, _fingerprint(value), _copy(value)


def _copy(value: Any) -> Value:
    """A copy later lines cannot change: arrays and tensors as NumPy arrays in their own dtype, numbers as floats."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True).numpy()  # one copy, from any device
    if isinstance(value, np.ndarray):
        return value.copy()
    return float(value)


def _finite_or_text(value: Any) -> Any:
    """`value` with each inf or nan written as text: JSON has no numbers for them."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: _finite_or_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite_or_text(item) for item in value]
    return value
