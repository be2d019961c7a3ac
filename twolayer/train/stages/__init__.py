"""The lecture's five stages, each a module with a readable `train_step` and a `Stage` holder."""

from __future__ import annotations

import inspect
from types import ModuleType

from twolayer.train.stages import autograd_stage, nn_stage, numpy_stage, optim_stage, tensor_stage

MODULES: dict[str, ModuleType] = {
    "numpy": numpy_stage,
    "tensor": tensor_stage,
    "autograd": autograd_stage,
    "nn": nn_stage,
    "optim": optim_stage,
}


def make_stage(name: str, weights, config, device: str):
    """A ready-to-step holder for stage `name`, starting from `weights` (lecture layout)."""
    return MODULES[name].Stage(weights, config, device)


def stage_source(name: str) -> str:
    """The real source of the functions stage `name` runs, as shown to learners."""
    module = MODULES[name]
    parts = [module.train_step]
    if name == "nn":
        parts.insert(0, nn_stage.build_model)
    if name == "optim":
        parts.insert(0, optim_stage.make_optimizer)
    return "\n\n".join(inspect.getsource(fn) for fn in parts)


def lecture_differences(name: str) -> str:
    """A short note on where stage `name`'s lines differ from the lecture's, and why."""
    return MODULES[name].LECTURE_DIFFERENCES
