"""The lecture's stages, each a module with a readable `train_step` and its `StageSpec`, registered here once.

Everything outside this package learns what stages there are, and what each one is, from the registry: a new stage
is a module that declares its `SPEC`, named in `BUILT_IN`. The stage modules (and torch with them) are imported when
a stage is first asked for, so the settings, links and data readers that name stages stay light to import.
"""

from __future__ import annotations

import importlib
import inspect
import threading
from collections.abc import Iterator, Mapping, Sequence

from twolayer.train.stages.spec import StageSpec

BUILT_IN = ("numpy_stage", "tensor_stage", "autograd_stage", "nn_stage", "optim_stage")  # the lecture's order
_REGISTRY: dict[str, StageSpec] = {}
_LOADING = threading.Lock()  # sessions of a server may ask for the first stage at once


def registry() -> dict[str, StageSpec]:
    """Every stage's spec by name, in order; the built-in stages are imported on the first call."""
    with _LOADING:
        if not _REGISTRY:
            for module in BUILT_IN:
                spec = importlib.import_module(f"{__name__}.{module}").SPEC
                _REGISTRY[spec.name] = spec
    return _REGISTRY


def register(spec: StageSpec) -> StageSpec:
    """Add a stage after those registered so far; its name must be new."""
    stages = registry()
    if spec.name in stages:
        raise ValueError(f"a stage named {spec.name!r} is registered already")
    stages[spec.name] = spec
    return spec


def stage_spec(name: str) -> StageSpec:
    """The spec of stage `name`; ValueError names the stages there are."""
    stages = registry()
    if name not in stages:
        raise ValueError(f"unknown stage {name!r}: one of {', '.join(stages)}")
    return stages[name]


class _Names(Sequence[str]):
    """The registered stages' names in order, read afresh at each use, so a stage registered later is among them."""

    def __getitem__(self, index):
        return tuple(registry())[index]

    def __len__(self) -> int:
        return len(registry())

    def __contains__(self, name: object) -> bool:
        return name in registry()

    def __iter__(self) -> Iterator[str]:
        return iter(tuple(registry()))

    def __repr__(self) -> str:
        return repr(tuple(registry()))


class _Labels(Mapping[str, str]):
    """Each stage's label in the stage select, numbered in lecture order ("1. NumPy by hand")."""

    def __getitem__(self, name: str) -> str:
        short = registry()[name].short  # KeyError for a name that is no stage, as a mapping's
        return f"{STAGES.index(name) + 1}. {short}"

    def __len__(self) -> int:
        return len(registry())

    def __iter__(self) -> Iterator[str]:
        return iter(STAGES)


STAGES: Sequence[str] = _Names()
STAGE_LABELS: Mapping[str, str] = _Labels()


def previous_stage(name: str) -> str | None:
    """The stage before `name` in the lecture; None for the first."""
    index = STAGES.index(name)
    return STAGES[index - 1] if index else None


def make_stage(name: str, weights, config, device: str):
    """A ready-to-step holder for stage `name`, starting from `weights` (lecture layout)."""
    return stage_spec(name).stage(weights, config, device)


def stage_source(name: str) -> str:
    """The real source of the functions stage `name` runs, as shown to learners."""
    return "\n\n".join(inspect.getsource(fn) for fn in stage_spec(name).shown)
