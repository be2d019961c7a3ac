"""Run settings: the one declaration of every setting, and the frozen config whose checks name what is allowed.

Each field of `TrainConfig` is declared with `setting(...)`: its default, range or choices, help, the public
key that the CLI flag (`--key`), the link (`?key=`) and the page's widget share, and the page's control with
its cap. The CLI, the link parser and the page's sidebar are all built from `SETTINGS`: adding a setting means
adding one field here, plus the code that uses it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from operator import attrgetter

from twolayer.train.stages import STAGE_LABELS, STAGES, StageSpec, stage_spec

OPTIMIZERS = ("adam", "sgd", "momentum", "rmsprop")
DEVICES = ("auto", "cpu", "cuda", "mps")
DTYPES = ("float32", "float64")
INITS = ("lecture", "shared")
LINK_DATA = ("random", "digits", "mnist5k")  # a link can never name a file on the server, nor an upload
# Log-spaced stops for the page's learning-rate slider: 1, 2, 3 and 5 per decade, 1e-8 to 1.
LEARNING_RATES = tuple(float(f"{m}e{e}") for e in range(-8, 0) for m in (1, 2, 3, 5)) + (1.0,)
HIDDEN_SIZES = (1, 2, 4, 8, 10, 16, 20, 32, 50, 64, 100, 128, 200, 256, 400, 512, 800, 1024, 2048, 4096)
# Work cap (hidden x rows per epoch x epochs): the lecture default is 3.2e6; this allows
# a 100,000-epoch run at lecture size or hidden 1024 x batch 1024 for 100 epochs.
MAX_WORK = 2_000_000_000
SHARED_START_RATE = 1e-4  # the learning rate for nn.Linear's small start, which the shared initialisation gives all
# The page's step for a fixed sharpness spacing: ten points of a lecture-length run. By default (0) the trainer
# spaces the measurements by their cost instead, to a tenth of the training time (see SHARPNESS_SHARE).
SHARPNESS_STEP = 50
SHARPNESS_SHARE = 0.1  # the share of the training time the sharpness may take when the trainer spaces it


def _every_stage(stage: StageSpec) -> bool:
    return True


class ConfigError(ValueError):
    """A setting is out of range: says which field, the bad value and what is allowed."""

    def __init__(self, field: str, value: object, allowed: str):
        self.field, self.value, self.allowed = field, value, allowed
        super().__init__(f"{field}={value!r} is not allowed: {allowed}")


@dataclass(frozen=True)
class Control:
    """How the page shows a setting; `high`, `stops` and `choices` narrow the core's range, for the reason `why`."""

    widget: str  # select, stops (a slider over fixed values), number, radio or checkbox
    label: str
    stops: tuple = ()  # the values a stops slider offers
    choices: tuple = ()  # the page's choices, when not the core's
    high: int | None = None  # the page's upper bound, when lower than the core's
    step: int = 1  # for number inputs
    default: object = None  # the page's starting value, when not the core's
    why: str = ""  # why the page allows less than the core, for whoever changes it
    applies: Callable[[StageSpec], bool] = _every_stage  # whether a stage's runs use it; only those show the control
    labels: Mapping = field(default_factory=dict)  # value -> text shown for it

    def shown_for(self, stage: str) -> bool:
        """Whether the control shows while stage `stage` is chosen."""
        return self.applies(stage_spec(stage))


@dataclass(frozen=True)
class Setting:
    """One setting: a TrainConfig field, the public key shared by CLI, link and widget, and its limits."""

    name: str
    key: str
    kind: type  # int, float, str or bool
    default: object  # None: derived from other settings, as `default_help` says
    help: str
    choices: tuple = ()
    low: float | None = None
    high: float | None = None
    default_help: str = ""  # the default in words, when it is derived
    control: Control | None = None  # None: not on the page
    in_link: bool = True  # whether a link may carry it
    link_only: tuple = ()  # the only values a link may carry, when fewer than the page's

    @property
    def page_default(self) -> object:
        """The setting's starting value on the page."""
        return self.default if self.control is None or self.control.default is None else self.control.default

    @property
    def link_choices(self) -> tuple:
        """The values a link may carry: a link opens the page, so at most the page's choices."""
        return self.link_only or (self.control.choices if self.control else ()) or self.choices

    @property
    def link_range(self) -> tuple[float | None, float | None]:
        """The range a link may ask for: the page's, since a link opens the page."""
        if self.control and self.control.stops:
            return self.control.stops[0], self.control.stops[-1]
        return self.low, self.control.high if self.control and self.control.high is not None else self.high


def setting(default: object, *, key: str, kind: type, help: str, **spec: object):
    """Declare a TrainConfig field as a setting (see `Setting` for the rest of `spec`)."""
    return field(default=default, metadata={"setting": dict(key=key, kind=kind, default=default, help=help, **spec)})


def default_learning_rate(stage: str, init: str = "lecture") -> float:
    """The lecture's learning rate for the stage from the lecture's start; the shared start's rate otherwise."""
    return stage_spec(stage).lecture_learning_rate if init == "lecture" else SHARED_START_RATE


def default_bias(stage: str) -> bool:
    """Biases where the network is a Module, as nn.Linear has them; none for plain weight arrays, as in the lecture."""
    return stage_spec(stage).has_model


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a run; two equal configs give bit-identical histories."""

    stage: str = setting(
        "numpy",
        key="stage",
        kind=str,
        help="lecture stage",
        choices=STAGES,
        control=Control("select", "Stage", labels=STAGE_LABELS),
    )
    hidden_size: int = setting(
        100,
        key="hidden",
        kind=int,
        help="neurons in the hidden layer (the lecture's H)",
        low=1,
        high=4096,
        control=Control("stops", "Hidden size", stops=HIDDEN_SIZES, why="a slider over sizes a lecture talks about"),
    )
    learning_rate: float | None = setting(
        None,
        key="lr",
        kind=float,
        help="learning rate",
        low=0.0,
        default_help="the lecture's: 1e-6 for the hand-written stages from its start, else 1e-4",
        control=Control(
            "stops",
            "Learning rate",
            stops=LEARNING_RATES,
            why="a log-scale slider from 1e-8 to 1; any positive rate works from the CLI",
        ),
    )
    epochs: int = setting(
        500,
        key="epochs",
        kind=int,
        help="full passes over the training data",
        low=1,
        high=100_000,
        control=Control("number", "Epochs", step=100),
    )
    batch_size: int = setting(
        64,
        key="batch",
        kind=int,
        help="the lecture's N: rows of random data, or the mini-batch size of real data",
        low=1,
        high=65_536,
        control=Control(
            "number",
            "Batch size",
            high=4096,
            step=16,
            why="random data holds N x 784 numbers per viewer: 4,096 keeps a class's server memory small",
        ),
    )
    seed: int = setting(
        0,
        key="seed",
        kind=int,
        help="drives data, initial weights and shuffling, never global RNGs",
        low=0,
        high=2**32 - 1,
        control=Control("number", "Seed"),
    )
    device: str = setting(
        "auto",
        key="device",
        kind=str,
        help="compute device; auto picks cuda, then mps, then cpu",
        choices=DEVICES,
        control=Control(
            "select",
            "Device",
            choices=DEVICES[1:],
            default="cpu",
            why="the page lists only the devices this server has; a class shares them, so a GPU is opted into",
        ),
    )
    dtype: str = setting(
        "float32",
        key="dtype",
        kind=str,
        help="floating-point type",
        choices=DTYPES,
        control=Control("radio", "Precision"),
    )
    optimizer: str = setting(
        "adam",
        key="optimizer",
        kind=str,
        help="optimizer of the optim stage (adam is the lecture's)",
        choices=OPTIMIZERS,
        control=Control(
            "select",
            "Optimizer",
            applies=attrgetter("has_optimizer"),
            labels={"adam": "Adam", "sgd": "SGD", "momentum": "SGD + momentum", "rmsprop": "RMSprop"},
        ),
    )
    bias: bool | None = setting(
        None,
        key="bias",
        kind=bool,
        help="biases in both layers",
        default_help="on where the network is an nn Module, as nn.Linear; off for plain weights, as in the lecture",
        control=Control("checkbox", "Biases", default=True, applies=attrgetter("has_model")),
    )
    init: str = setting(
        "lecture",
        key="init",
        kind=str,
        help="lecture: each stage starts as in the lecture; shared: every stage starts from the same weights",
        choices=INITS,
        control=Control("radio", "Initialisation"),
    )
    data: str = setting(
        "random",
        key="data",
        kind=str,
        help="random, digits, mnist5k, mnist:DIR, FILE.npz or FILE.csv",
        link_only=LINK_DATA,
        control=Control(
            "select",
            "Data",
            choices=(*LINK_DATA, "upload"),
            why="the page reads files only as uploads, and a link can name no file",
            labels={
                "random": "Random (lecture)",
                "digits": "Handwritten digits 8x8",
                "mnist5k": "MNIST sample, 28x28",
                "upload": "Upload a file",
            },
        ),
    )
    eval_every: int = setting(
        0,
        key="eval_every",
        kind=int,
        help="epochs between evaluations of accuracy and loss per example (labelled data)",
        low=0,
        high=100_000,
        default_help="0: as often as keeps it near 10% of the training time, e.g. every 5 epochs on digits",
        in_link=False,
    )
    stats_every: int = setting(
        0,
        key="stats_every",
        kind=int,
        help="epochs between norm records and histogram snapshots",
        low=0,
        high=100_000,
        default_help="0: chosen by the trainer, one per 3,200 rows of training, 10 to 50 a run, fewer where they "
        "would cost over 2% of the training time",
        in_link=False,
    )
    sharpness: bool = setting(
        False,
        key="sharpness",
        kind=bool,
        help="measure the sharpness while training (the loss's largest curvature, against 2/lr) on the rows of one "
        "step, from epoch 0, every sharpness_every epochs",
        control=Control("checkbox", "Sharpness while training"),
    )
    sharpness_every: int = setting(
        0,
        key="sharpness_every",
        kind=int,
        help="epochs between measurements of the sharpness, when it is measured; 0: chosen by the trainer, as often "
        "as a tenth of the training time allows",
        low=0,
        high=100_000,
        control=Control("number", "Sharpness every (epochs, 0: auto)", step=SHARPNESS_STEP),
    )

    def __post_init__(self) -> None:
        for spec in SETTINGS:
            value = getattr(self, spec.name)
            if value is not None or spec.default is not None:
                _check(spec, value)
        if self.learning_rate is None:
            object.__setattr__(self, "learning_rate", default_learning_rate(self.stage, self.init))
        object.__setattr__(self, "learning_rate", float(self.learning_rate))
        if self.bias is None:
            object.__setattr__(self, "bias", default_bias(self.stage))
        if self.bias and not default_bias(self.stage):
            with_model = ", ".join(name for name in STAGES if default_bias(name))
            raise ConfigError("bias", True, f"only the stages with an nn Module ({with_model}) have biases")
        if self.sharpness_every and not self.sharpness:
            raise ConfigError("sharpness_every", self.sharpness_every, "a spacing only with sharpness on")
        check_work(self.hidden_size, self.batch_size, self.epochs)

    @property
    def normal_start(self) -> bool:
        """Whether the run starts from the lecture's standard normal weights (plain weight arrays, lecture start)."""
        return self.init == "lecture" and not stage_spec(self.stage).has_model

    @classmethod
    def from_values(cls, values: dict[str, object]) -> TrainConfig:
        """A config from settings by public key (as a link or the page's widgets give them); unknown keys ignored."""
        fields = {spec.name: values[spec.key] for spec in SETTINGS if spec.key in values}
        stage = fields.get("stage", BY_NAME["stage"].default)
        if stage in STAGES and not default_bias(stage):
            fields.pop("bias", None)  # the page's bias box does not apply to plain weight arrays
        return cls(**fields)

    def values(self) -> dict[str, object]:
        """The settings by public key: what the page's widgets and a link hold."""
        return {spec.key: getattr(self, spec.name) for spec in SETTINGS}

    def replace(self, **changes: object) -> TrainConfig:
        """A copy with some fields changed; the learning rate follows a new stage unless given, and the sharpness's
        spacing goes when the sharpness is turned off."""
        if ("stage" in changes or "init" in changes) and "learning_rate" not in changes:
            changes["learning_rate"] = None
        if "stage" in changes and "bias" not in changes:
            changes["bias"] = None
        if changes.get("sharpness") is False and "sharpness_every" not in changes:
            changes["sharpness_every"] = 0  # the spacing goes with the measurements
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, object]:
        """Plain values, fit for JSON."""
        return dataclasses.asdict(self)


SETTINGS: tuple[Setting, ...] = tuple(
    Setting(name=f.name, **f.metadata["setting"]) for f in dataclasses.fields(TrainConfig)
)
BY_KEY: dict[str, Setting] = {spec.key: spec for spec in SETTINGS}
BY_NAME: dict[str, Setting] = {spec.name: spec for spec in SETTINGS}


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


def allowed(spec: Setting, low: float | None = None, high: float | None = None, choices: tuple = ()) -> str:
    """What a setting allows, in words (within `low`/`high`/`choices` when given, else the core's limits)."""
    low = spec.low if low is None else low
    high = spec.high if high is None else high
    choices = choices or spec.choices
    if choices:
        return "one of " + ", ".join(map(str, choices))
    if spec.kind is int:
        return f"a whole number from {low:,} to {high:,}"
    if spec.kind is float and high is not None:
        return f"a number from {low:g} to {high:g}"
    if spec.kind is float:
        return "a finite number greater than 0, e.g. 1e-6"
    if spec.kind is bool:
        return "1 or 0"
    return "a data source such as 'random' or 'digits'"


def _check(spec: Setting, value: object) -> None:
    """Raise ConfigError unless `value` fits the setting's core limits."""
    if spec.kind is int:
        ok = not isinstance(value, bool) and isinstance(value, int) and spec.low <= value <= spec.high
    elif spec.kind is float:
        ok = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
        ok = ok and value > spec.low
    elif spec.kind is bool:
        ok = isinstance(value, bool)
    elif spec.choices:
        ok = value in spec.choices
    else:
        ok = isinstance(value, str) and bool(value.strip())
    if not ok:
        raise ConfigError(spec.name, value, allowed(spec))
