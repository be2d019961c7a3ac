"""Settings <-> a link's query, so a link reopens the same run; a bad value falls back to its default with a warning."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from twolayer.teach.sweep_spec import link_text, parse_values, parse_vary
from twolayer.train.config import SETTINGS, Setting, allowed, default_learning_rate

MAX_QUERY_CHARS = 2000
LINKED = tuple(spec for spec in SETTINGS if spec.in_link)
# Link-only view keys besides the settings: presenter mode, the controls it hides, a sweep to hand out, and whether
# the page leads the class (it asks for the lecturer key).
VIEW_DEFAULTS: dict[str, object] = {"present": False, "hide": (), "sweep": "", "lead": False}


DEFAULTS: dict[str, object] = {spec.key: spec.page_default for spec in LINKED} | VIEW_DEFAULTS


@dataclass(frozen=True)
class Link:
    """What a link asks for, fitted to the page: values by key, whether it chose the learning rate, warnings."""

    values: dict[str, object]
    lr_chosen: bool
    warnings: list[str]

    @property
    def present(self) -> bool:
        return bool(self.values["present"])

    @property
    def hidden_controls(self) -> set[str]:
        return set(self.values["hide"]) if self.present else set()


def resolve_link(query: Mapping[str, str | list[str]], devices: list[str]) -> Link:
    """The page's settings for a link: parsed, the device checked against `devices`, values snapped to slider stops."""
    values, warnings = parse_query(query)
    if values["device"] not in devices:
        warnings.append(f"The link asks for device '{values['device']}', which this server lacks; using cpu.")
        values["device"] = "cpu"
    lr_chosen = values["lr"] is not None
    if not lr_chosen:
        values["lr"] = default_learning_rate(values["stage"], values["init"])
    for spec in LINKED:
        stops = spec.control.stops if spec.control else ()
        if stops and values[spec.key] not in stops:
            snapped = nearest(stops, values[spec.key])
            warnings.append(f"{spec.control.label} {values[spec.key]:g} is not on the slider; using {snapped:g}.")
            values[spec.key] = snapped
    return Link(values, lr_chosen, warnings)


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
    if settings.get("sharpness_every") and "sharpness" not in query:
        settings["sharpness"] = True  # a spacing asks for the measurements, as --sharpness-every does
    return settings, warnings


def to_query(settings: Mapping[str, object]) -> dict[str, str]:
    """The query parameters for `settings`, leaving out values equal to their defaults."""
    query = {}
    for key, default in DEFAULTS.items():
        value = settings.get(key, default)
        if key == "lr":
            default = default_learning_rate(str(settings.get("stage")), str(settings.get("init")))
        spec = next((s for s in LINKED if s.key == key), None)
        if value is None or value == default or (spec and spec.link_choices and value not in spec.link_choices):
            continue  # an upload stays with its session: a link cannot carry it
        if isinstance(value, bool):
            query[key] = "1" if value else "0"
        elif isinstance(value, float):
            query[key] = f"{value:g}"
        elif key == "hide":
            query[key] = ",".join(value)
        else:
            query[key] = str(value)
    return query


def nearest(options: tuple, value: float) -> float:
    """The option closest to `value` on a log scale, for sliders with fixed stops."""
    return min(options, key=lambda option: abs(math.log(option) - math.log(value)))


def _parser(spec: Setting):
    """A function from a link's text to the setting's value, raising ValueError that says what is allowed."""
    low, high = spec.link_range
    choices = spec.link_choices  # the stages' names are read when a link is parsed: a stage registered later counts

    def parse(text: str) -> object:
        if choices:
            if text not in choices:
                raise ValueError(allowed(spec, low, high, choices))
            return text
        if spec.kind is bool:
            return _flag(text)
        try:
            value = spec.kind(text)
        except ValueError:
            raise ValueError(allowed(spec, low, high, choices)) from None
        if not (math.isfinite(value) and low <= value <= high):
            raise ValueError(allowed(spec, low, high, choices))
        return value

    return parse


def _flag(text: str) -> bool:
    if text.lower() not in ("1", "true", "yes", "0", "false", "no"):
        raise ValueError("1 or 0")
    return text.lower() in ("1", "true", "yes")


def _names(text: str) -> tuple[str, ...]:
    names = tuple(name for name in text.split(",") if name)
    if any(name not in DEFAULTS for name in names):
        raise ValueError("a comma-separated list of setting names such as seed,batch")
    return names


def _sweep(text: str) -> str:
    """A sweep as a link hands it out (lr:1e-4,1e-3), checked and written the one way."""
    key, texts = parse_vary(text)
    return link_text(key, parse_values(key, texts))


PARSERS = {spec.key: _parser(spec) for spec in LINKED} | {
    "present": _flag,
    "hide": _names,
    "sweep": _sweep,
    "lead": _flag,
}
