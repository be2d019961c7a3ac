"""What a sweep varies, written as KEY=V1,V2 (or KEY:V1,V2 in a link), read and checked before anything trains."""

from __future__ import annotations

import math
from collections.abc import Mapping

from twolayer.train.config import BY_KEY, BY_NAME, ConfigError, Setting, TrainConfig, allowed

VARIABLE = ("lr", "hidden", "batch", "epochs", "stage", "optimizer", "init", "dtype")  # keys a sweep may vary
MIN_VALUES, MAX_VALUES = 2, 6


class SweepError(ValueError):
    """A sweep that cannot run; the message names the key or value and what is allowed."""


def parse_vary(text: str) -> tuple[str, list[str]]:
    """'lr=1e-4,1e-3' (the CLI) or 'lr:1e-4,1e-3' (a link) -> ('lr', ['1e-4', '1e-3'])."""
    key, sep, values = text.partition("=") if "=" in text else text.partition(":")
    key = key.strip().replace("-", "_")
    if not sep or not values.strip():
        raise SweepError(f"{text!r}: write the setting and its values as KEY=V1,V2,..., e.g. lr=1e-4,1e-3,1e-2")
    return key, [value.strip() for value in values.split(",")]


def sweep_configs(key: str, texts: list[str], base: Mapping[str, object]) -> list[TrainConfig]:
    """One config per value of setting `key`, the rest from `base` (settings by field name, as the CLI's flags)."""
    values = parse_values(key, texts)  # checks the key first
    spec = BY_KEY[key]
    configs: list[TrainConfig] = []
    for text, value in zip(texts, values, strict=True):
        try:
            configs.append(TrainConfig(**{**base, spec.name: value}))
        except ConfigError as error:
            # the varied setting names itself by its key; another setting that the value breaks, by its own
            where = key if error.field == spec.name else BY_NAME[error.field].key
            raise SweepError(f"{key}={text}: {where} {error.value!r} is not allowed: {error.allowed}") from None
    return configs


def parse_values(key: str, texts: list[str]) -> list[object]:
    """The values of a sweep of setting `key`, each of the setting's type, checked: 2 to 6 of them, none twice."""
    if key not in VARIABLE:
        raise SweepError(f"a sweep cannot vary {key!r}: choose one of {', '.join(VARIABLE)}")
    if not MIN_VALUES <= len(texts) <= MAX_VALUES:
        raise SweepError(f"{key}: {len(texts)} values given; a sweep takes {MIN_VALUES} to {MAX_VALUES}")
    values: list[object] = []
    for text in texts:
        value = _parse(BY_KEY[key], text)
        if value in values:
            first = texts[values.index(value)]
            raise SweepError(f"{key}={text} is the same value as {key}={first}: give each value once")
        values.append(value)
    return values


def _parse(spec: Setting, text: str) -> object:
    """A sweep value's text as the setting's type, or SweepError saying what the setting allows."""
    try:
        value = text if spec.choices else spec.kind(text)
    except ValueError:
        raise SweepError(f"{spec.key}={text!r} is not allowed: {allowed(spec)}") from None
    if spec.choices and value not in spec.choices or isinstance(value, float) and not math.isfinite(value):
        raise SweepError(f"{spec.key}={text!r} is not allowed: {allowed(spec)}")
    return value


def format_value(value: object) -> str:
    """A sweep value as the table and links write it (1e-3, not 0.001)."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def link_text(key: str, values: list[object]) -> str:
    """The sweep as a link's `sweep` value: lr:0.0001,0.001."""
    return f"{key}:{','.join(format_value(value) for value in values)}"
