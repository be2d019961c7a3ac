"""Page settings <-> URL query parameters, so a link reopens the same run; bad values fall back with a warning."""

from __future__ import annotations

import math
from collections.abc import Mapping

from twolayer.config import DEVICES, DTYPES, INITS, OPTIMIZERS, STAGES, default_learning_rate

DATA_CHOICES = ("random", "digits")  # a URL can never name a file on the server
MAX_QUERY_CHARS = 2000
LR_RANGE = (1e-8, 1.0)
# Log-spaced choices a slider can offer: 1, 2, 3 and 5 per decade.
LEARNING_RATES = tuple(float(f"{m}e{e}") for e in range(-8, 0) for m in (1, 2, 3, 5)) + (1.0,)
HIDDEN_SIZES = (1, 2, 4, 8, 10, 16, 20, 32, 50, 64, 100, 128, 200, 256, 400, 512, 800, 1024, 2048, 4096)
BATCH_RANGE = (1, 4096)

DEFAULTS: dict[str, object] = {
    "stage": "numpy",
    "hidden": 100,
    "lr": None,  # None: the lecture's value for the stage
    "epochs": 500,
    "batch": 64,
    "seed": 0,
    "device": "cpu",
    "optimizer": "adam",
    "init": "lecture",
    "data": "random",
    "dtype": "float32",
    "bias": True,  # nn and optim stages only, as in the lecture
    "present": False,  # presenter mode: larger text, chosen controls hidden
    "hide": (),  # controls hidden in presenter mode, e.g. hide=seed,batch
}


def _choice(allowed: tuple[str, ...]):
    def parse(text: str) -> str:
        if text not in allowed:
            raise ValueError("one of " + ", ".join(allowed))
        return text

    return parse


def _integer(low: int, high: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"a whole number from {low:,} to {high:,}") from None
        if not low <= value <= high:
            raise ValueError(f"a whole number from {low:,} to {high:,}")
        return value

    return parse


def _learning_rate(text: str) -> float:
    allowed = f"a number from {LR_RANGE[0]:g} to {LR_RANGE[1]:g}"
    try:
        value = float(text)
    except ValueError:
        raise ValueError(allowed) from None
    if not (math.isfinite(value) and LR_RANGE[0] <= value <= LR_RANGE[1]):
        raise ValueError(allowed)
    return value


def _names(text: str) -> tuple[str, ...]:
    names = tuple(name for name in text.split(",") if name)
    unknown = [name for name in names if name not in DEFAULTS]
    if unknown:
        raise ValueError("a comma-separated list of setting names such as seed,batch")
    return names


def _flag(text: str) -> bool:
    if text.lower() not in ("1", "true", "yes", "0", "false", "no"):
        raise ValueError("1 or 0")
    return text.lower() in ("1", "true", "yes")


PARSERS = {
    "stage": _choice(STAGES),
    "hidden": _integer(1, 4096),
    "lr": _learning_rate,
    "epochs": _integer(1, 100_000),
    "batch": _integer(*BATCH_RANGE),
    "seed": _integer(0, 2**32 - 1),
    "device": _choice(DEVICES[1:]),
    "optimizer": _choice(OPTIMIZERS),
    "init": _choice(INITS),
    "data": _choice(DATA_CHOICES),
    "dtype": _choice(DTYPES),
    "bias": _flag,
    "present": _flag,
    "hide": _names,
}


def parse_query(query: Mapping[str, str | list[str]]) -> tuple[dict[str, object], list[str]]:
    """Settings from a URL query (defaults where absent or bad) and a warning for each problem."""
    settings = dict(DEFAULTS)
    warnings: list[str] = []
    size = sum(len(k) + sum(len(v) for v in ([vs] if isinstance(vs, str) else vs)) for k, vs in query.items())
    if size > MAX_QUERY_CHARS:
        return settings, [
            f"The link's settings are {size:,} characters long (at most {MAX_QUERY_CHARS:,}); "
            "all settings are at their defaults."
        ]
    for key, values in query.items():
        values = [values] if isinstance(values, str) else list(values)
        if key not in PARSERS:
            warnings.append(f"Unknown link setting '{key[:40]}' was ignored.")
            continue
        if len(values) > 1:
            warnings.append(f"The link gives '{key}' {len(values)} times; the last one is used.")
        text = values[-1].strip()
        try:
            settings[key] = PARSERS[key](text)
        except ValueError as exc:
            warnings.append(f"The link's {key}={text[:40]!r} is not allowed ({exc}); the default is used.")
    return settings, warnings


def to_query(settings: Mapping[str, object]) -> dict[str, str]:
    """The query parameters for `settings`, leaving out values equal to their defaults."""
    query = {}
    for key, default in DEFAULTS.items():
        value = settings.get(key, default)
        if key == "lr":
            default = default_learning_rate(str(settings.get("stage")), str(settings.get("init")))
        if value is None or value == default or (key == "data" and value not in DATA_CHOICES):
            continue  # an upload stays with its session: a link cannot carry it
        if isinstance(value, bool):
            query[key] = "1" if value else "0"
        elif key == "lr":
            query[key] = f"{value:g}"
        elif key == "hide":
            query[key] = ",".join(value)
        else:
            query[key] = str(value)
    return query


def nearest(options: tuple, value: float) -> float:
    """The option closest to `value` on a log scale, for sliders with fixed stops."""
    return min(options, key=lambda option: abs(math.log(option) - math.log(value)))
