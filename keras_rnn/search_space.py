"""Hyperparameter search spaces: one `Hyperparameter` per configuration field that a search varies.

Each task configuration declares its default space next to its fields (`SentimentConfig.search_space`,
...); `keras_rnn.tuning` turns a space into keras-tuner hyperparameters. A space is narrowed (or
widened) with specs written the same way on the command line and in JSON:

    units=32,64            a choice               JSON: [32, 64]
    learning_rate=1e-4:1e-2:log                   JSON: {"min": 1e-4, "max": 1e-2, "sampling": "log"}
    dropout=0:0.5:0.1      a range with a step    JSON: {"min": 0, "max": 0.5, "step": 0.1}
    cell=gru               one value (fixed)      JSON: "gru"

Example:
>>> space = {"units": choice(32, 64, 128), "dropout": float_range(0.0, 0.5, step=0.1)}
>>> narrowed = narrow_space(space, {"units": "64,128"}, {"units": int, "dropout": float})
>>> narrowed["units"]
Hyperparameter(kind='choice', values=(64, 128), min_value=None, max_value=None, step=None, sampling='linear')
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

KINDS = ("choice", "int", "float", "boolean", "fixed")
SAMPLINGS = ("linear", "log", "reverse_log")


@dataclasses.dataclass(frozen=True)
class Hyperparameter:
    """One dimension of a search space: a choice, an int or float range, a boolean or a fixed value."""

    kind: str
    values: tuple = ()
    min_value: float | None = None
    max_value: float | None = None
    step: float | None = None
    sampling: str = "linear"

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Unknown hyperparameter kind {self.kind!r}; accepted: {list(KINDS)}.")
        if self.sampling not in SAMPLINGS:
            raise ValueError(f"Unknown sampling {self.sampling!r}; accepted: {list(SAMPLINGS)}.")
        if self.kind in ("int", "float"):
            if self.min_value is None or self.max_value is None or not self.min_value < self.max_value:
                raise ValueError(f"A range needs min < max; got min={self.min_value!r}, max={self.max_value!r}.")
            if self.sampling != "linear" and self.min_value <= 0:
                raise ValueError(f"{self.sampling} sampling needs min > 0; got min={self.min_value!r}.")
        if self.kind == "choice" and not self.values:
            raise ValueError("A choice needs at least one value.")

    def declare(self, hp, name: str) -> Any:
        """Registers this dimension with a `keras_tuner.HyperParameters` and returns the trial's value."""
        if self.kind == "choice":
            return hp.Choice(name, list(self.values))
        if self.kind == "int":
            return hp.Int(name, int(self.min_value), int(self.max_value), step=int(self.step or 1),
                          sampling=self.sampling)
        if self.kind == "float":
            value = hp.Float(name, self.min_value, self.max_value, step=self.step, sampling=self.sampling)
            return round(value, 10)  # a stepped float such as 0.1 * 3 is 0.30000000000000004
        if self.kind == "boolean":
            return hp.Boolean(name)
        return hp.Fixed(name, self.values[0])

    def extremes(self) -> list:
        """Values that bound what this dimension can produce: checked against the configuration up front."""
        if self.kind in ("choice", "fixed"):
            return list(self.values)
        if self.kind == "boolean":
            return [False, True]
        return [self.min_value, self.max_value]

    def to_json(self) -> Any:
        if self.kind == "choice":
            return list(self.values)
        if self.kind == "fixed":
            return self.values[0]
        if self.kind == "boolean":
            return [False, True]
        spec = {"min": self.min_value, "max": self.max_value}
        if self.step is not None:
            spec["step"] = self.step
        if self.sampling != "linear":
            spec["sampling"] = self.sampling
        return spec


def choice(*values) -> Hyperparameter:
    return Hyperparameter("choice", tuple(values))


def int_range(min_value: int, max_value: int, step: int = 1) -> Hyperparameter:
    return Hyperparameter("int", min_value=min_value, max_value=max_value, step=step)


def float_range(min_value: float, max_value: float, *, step: float | None = None,
                sampling: str = "linear") -> Hyperparameter:
    return Hyperparameter("float", min_value=min_value, max_value=max_value, step=step, sampling=sampling)


def boolean() -> Hyperparameter:
    return Hyperparameter("boolean")


def fixed(value) -> Hyperparameter:
    return Hyperparameter("fixed", (value,))


def _parse_value(text: str, parse: Callable, name: str) -> Any:
    if parse is bool:
        lowered = text.strip().lower()
        if lowered not in ("true", "false"):
            raise ValueError(f"Hyperparameter {name!r}: {text!r} is not a boolean; write true or false.")
        return lowered == "true"
    try:
        return parse(text.strip())
    except ValueError:
        raise ValueError(f"Hyperparameter {name!r}: cannot read {text!r} as {parse.__name__}.") from None


def parse_spec(spec: Any, parse: Callable, name: str) -> Hyperparameter:
    """A `Hyperparameter` from a command-line string or a JSON value, its values read with `parse`
    (`int`, `float`, `str` or `bool`: the field's type)."""
    if isinstance(spec, Hyperparameter):
        return spec
    if isinstance(spec, str):
        if ":" in spec:
            parts = spec.split(":")
            if parse not in (int, float) or len(parts) not in (2, 3):
                raise ValueError(
                    f"Hyperparameter {name!r}: {spec!r} is not a valid range; write MIN:MAX, MIN:MAX:STEP or "
                    "MIN:MAX:log for a number, or a comma-separated list of values."
                )
            extra = {}
            if len(parts) == 3:
                if parts[2] in SAMPLINGS:
                    extra["sampling"] = parts[2]
                else:
                    extra["step"] = _parse_value(parts[2], parse, name)
            spec = {"min": _parse_value(parts[0], parse, name), "max": _parse_value(parts[1], parse, name), **extra}
        else:
            values = [_parse_value(part, parse, name) for part in spec.split(",") if part.strip()]
            spec = values if len(values) != 1 else values[0]
    if isinstance(spec, list):
        values = tuple(parse(v) if parse is not bool else v for v in spec)
        if parse is bool and any(not isinstance(v, bool) for v in values):
            raise ValueError(f"Hyperparameter {name!r}: {list(spec)} are not all booleans.")
        if parse is bool and set(values) == {False, True}:
            return boolean()
        return choice(*values) if len(values) > 1 else fixed(values[0])
    if isinstance(spec, dict):
        unknown = sorted(set(spec) - {"min", "max", "step", "sampling"})
        if unknown or "min" not in spec or "max" not in spec:
            raise ValueError(f"Hyperparameter {name!r}: a range is {{'min', 'max'[, 'step'][, 'sampling']}}; "
                             f"got keys {sorted(spec)}.")
        if parse not in (int, float):
            raise ValueError(f"Hyperparameter {name!r} is not a number; give a list of values instead of a range.")
        kind = "int" if parse is int else "float"
        step = spec.get("step")
        return Hyperparameter(kind, min_value=parse(spec["min"]), max_value=parse(spec["max"]),
                              step=parse(step) if step is not None else None, sampling=spec.get("sampling", "linear"))
    if parse is bool and not isinstance(spec, bool):
        raise ValueError(f"Hyperparameter {name!r}: {spec!r} is not a boolean.")
    return fixed(parse(spec) if parse is not bool else spec)


def narrow_space(space: Mapping[str, Hyperparameter], specs: Mapping[str, Any],
                 parsers: Mapping[str, Callable]) -> dict[str, Hyperparameter]:
    """`space` with the dimensions named in `specs` replaced (see the module docstring for the spec
    forms). A name must be one of the space's dimensions."""
    unknown = sorted(set(specs) - set(space))
    if unknown:
        raise ValueError(f"Unknown hyperparameter {unknown[0]!r}; this search space has: {sorted(space)}.")
    narrowed = dict(space)
    for name, spec in specs.items():
        narrowed[name] = parse_spec(spec, parsers[name], name)
    return narrowed


def space_to_json(space: Mapping[str, Hyperparameter]) -> dict[str, Any]:
    return {name: hyperparameter.to_json() for name, hyperparameter in sorted(space.items())}
