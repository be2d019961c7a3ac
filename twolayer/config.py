"""Run settings: one frozen dataclass whose validation names the field, the value and what is allowed."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

STAGES = ("numpy", "tensor", "autograd", "nn", "optim")
STAGE_TITLES = {
    "numpy": "NumPy, hand-written backprop",
    "tensor": "PyTorch tensors, hand-written backprop",
    "autograd": "PyTorch autograd",
    "nn": "torch.nn Module",
    "optim": "torch.optim optimizer",
}
MANUAL_STAGES = ("numpy", "tensor", "autograd")  # no biases, weights updated by hand
OPTIMIZERS = ("adam", "sgd", "momentum", "rmsprop")
DEVICES = ("auto", "cpu", "cuda", "mps")
DTYPES = ("float32", "float64")
INITS = ("lecture", "shared")

HIDDEN_RANGE = (1, 4096)
EPOCHS_RANGE = (1, 100_000)
BATCH_RANGE = (1, 65_536)
SEED_RANGE = (0, 2**32 - 1)
# Work cap (hidden x batch x epochs): the lecture default is 3.2e6; this allows
# a 100,000-epoch run at lecture size or hidden 1024 x batch 1024 for 100 epochs.
MAX_WORK = 2_000_000_000


class ConfigError(ValueError):
    """A setting is out of range: says which field, the bad value and what is allowed."""

    def __init__(self, field: str, value: object, allowed: str):
        self.field, self.value, self.allowed = field, value, allowed
        super().__init__(f"{field}={value!r} is not allowed: {allowed}")


def default_learning_rate(stage: str, init: str = "lecture") -> float:
    """The lecture's learning rate: 1e-6 for randn-initialised manual stages, else 1e-4."""
    if init == "lecture" and stage in MANUAL_STAGES:
        return 1e-6
    return 1e-4


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a run; two equal configs give bit-identical histories."""

    stage: str = "numpy"  # one of STAGES
    hidden_size: int = 100  # neurons in the hidden layer (the lecture's H)
    learning_rate: float | None = None  # None: the lecture's value for this stage
    epochs: int = 500  # full passes over the training data
    batch_size: int = 64  # the lecture's N; random data has exactly this many rows
    seed: int = 0  # drives data, initial weights and shuffling, never global RNGs
    device: str = "auto"  # auto picks cuda, then mps, then cpu
    dtype: str = "float32"
    optimizer: str = "adam"  # used by the optim stage only
    bias: bool | None = None  # None: biases for nn/optim (as nn.Linear), none for manual stages
    init: str = "lecture"  # lecture: each stage as in the lecture; shared: same start for all
    data: str = "random"  # random, digits, mnist:DIR, or a .npz/.csv path
    eval_every: int = 1  # epochs between test-set evaluations (classification data)
    stats_every: int = 0  # epochs between norm/update records; 0: chosen by the trainer, 10 to 50 per run

    def __post_init__(self) -> None:
        _check_choice("stage", self.stage, STAGES)
        _check_int("hidden_size", self.hidden_size, *HIDDEN_RANGE)
        _check_int("epochs", self.epochs, *EPOCHS_RANGE)
        _check_int("batch_size", self.batch_size, *BATCH_RANGE)
        _check_int("seed", self.seed, *SEED_RANGE)
        _check_int("eval_every", self.eval_every, 1, EPOCHS_RANGE[1])
        _check_int("stats_every", self.stats_every, 0, EPOCHS_RANGE[1])
        _check_choice("device", self.device, DEVICES)
        _check_choice("dtype", self.dtype, DTYPES)
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _check_choice("init", self.init, INITS)
        if not isinstance(self.data, str) or not self.data.strip():
            raise ConfigError("data", self.data, "a data source such as 'random' or 'digits'")
        if self.learning_rate is None:
            object.__setattr__(self, "learning_rate", default_learning_rate(self.stage, self.init))
        lr = self.learning_rate
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
            raise ConfigError("learning_rate", lr, "a finite number greater than 0, e.g. 1e-6")
        object.__setattr__(self, "learning_rate", float(lr))
        if self.bias is None:
            object.__setattr__(self, "bias", self.stage not in MANUAL_STAGES)
        if self.bias and self.stage in MANUAL_STAGES:
            raise ConfigError("bias", True, "only the nn and optim stages have biases, as in the lecture")
        check_work(self.hidden_size, self.batch_size, self.epochs)

    def replace(self, **changes: object) -> TrainConfig:
        """A copy with some fields changed; the learning rate follows a new stage unless given."""
        if ("stage" in changes or "init" in changes) and "learning_rate" not in changes:
            changes["learning_rate"] = None
        if "stage" in changes and "bias" not in changes:
            changes["bias"] = None
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, object]:
        """Plain values, fit for JSON."""
        return dataclasses.asdict(self)


def check_work(hidden_size: int, rows: int, epochs: int) -> None:
    """Refuse a run whose work (hidden size x rows per epoch x epochs) is over MAX_WORK."""
    work = hidden_size * rows * epochs
    if work > MAX_WORK:
        raise ConfigError(
            "epochs",
            epochs,
            f"hidden size x rows per epoch x epochs must be at most {MAX_WORK:,} "
            f"(here {hidden_size:,} x {rows:,} x {epochs:,} = {work:,}); use fewer epochs or a smaller network",
        )


def _check_int(field: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(field, value, f"a whole number from {low:,} to {high:,}")


def _check_choice(field: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(field, value, "one of " + ", ".join(allowed))
