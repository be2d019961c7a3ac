"""What a stage is, as data: each stage module declares one `StageSpec`, and the rest of twolayer reads only that."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class StageSpec:
    """One lecture stage's identity: its names, its code, its rules and how the program and the page describe it."""

    name: str  # the key of --stage, of a link's ?stage= and of a stored run
    title: str  # "NumPy, hand-written backprop": headings and reports
    short: str  # "NumPy by hand": the stage select and chart legends
    stage: type  # the Stage class the trainer holds; its train_step and step_lines are what runs and what is shown
    uses_torch: bool  # False: NumPy arrays, always on the CPU
    lecture_learning_rate: float  # the lecture's rate for this stage from the lecture's own starting weights
    differences: str  # shown under the code: where these lines differ from the lecture's, and why
    # The function that builds the network as a torch.nn Module; None: the weights are plain arrays, which the lecture
    # starts from standard normal values and gives no biases.
    build_model: Callable | None = None
    # The function that builds the torch.optim optimizer doing the update; None: the update is written out.
    make_optimizer: Callable | None = None
    optimizer_calls: Mapping[str, str] = field(default_factory=dict)  # the program's call for each optimizer
    helpers: tuple[Callable, ...] = ()  # what the code panel shows above train_step: the functions that build its parts
    # The program's lines that turn the starting weights w1 and w2 into this stage's arrays (none: a Module holds them).
    program_weights: tuple[str, ...] = ()
    # The difference view: for each part of the program that changed since the previous stage, what this API does.
    notes: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Read-only views: a spec is shared by every session of a server.
        object.__setattr__(self, "optimizer_calls", MappingProxyType(dict(self.optimizer_calls)))
        object.__setattr__(self, "notes", MappingProxyType(dict(self.notes)))

    @property
    def train_step(self) -> Callable:
        """The function one training step runs: the page shows it, the program calls it, the recorder traces it."""
        return self.stage.train_step

    @property
    def has_model(self) -> bool:
        """Whether the network is a Module: nn.Linear's start, and biases allowed."""
        return self.build_model is not None

    @property
    def has_optimizer(self) -> bool:
        """Whether a torch.optim optimizer updates the weights, so the Optimizer setting applies."""
        return self.make_optimizer is not None

    @property
    def shown(self) -> tuple[Callable, ...]:
        """The functions the code panel shows: the helpers, then the step."""
        return (*self.helpers, self.train_step)
