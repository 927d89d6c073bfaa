"""Argument checks shared by every builder and reader.

One helper per kind of check, so every error says the same three things: which argument, what was
received, and what is accepted.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def validate_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """Returns `value` if it is one of `choices`, else raises `ValueError` naming all of them.

    Example:
    >>> validate_choice("cell", "gru", ("simple_rnn", "lstm", "gru"))
    'gru'
    """
    choices = tuple(choices)
    if value not in choices:
        accepted = ", ".join(repr(c) for c in choices)
        raise ValueError(
            f"Received an invalid value for argument `{name}`: {value!r}. Accepted values: {accepted}."
        )
    return value


def validate_positive_int(name: str, value: Any) -> int:
    """Returns `value` if it is an integer > 0 (bools excluded), else raises `ValueError`."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(
            f"Received an invalid value for argument `{name}`: {value!r}. Expected a positive integer."
        )
    return value


def validate_count(name: str, value: Any, meaning_of_zero: str) -> int:
    """Returns `value` if it is an integer >= 0 (bools excluded), else raises `ValueError` saying what 0
    means (`meaning_of_zero`)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(
            f"Received an invalid value for argument `{name}`: {value!r}. Expected 0 ({meaning_of_zero}) or a "
            "positive integer."
        )
    return value


def validate_fraction(name: str, value: Any, *, allow_zero: bool = True) -> float:
    """Returns `value` if it is a number in [0, 1) (or (0, 1) when `allow_zero` is False)."""
    number = not isinstance(value, bool) and isinstance(value, (int, float))
    if not number or not ((value >= 0 if allow_zero else value > 0) and value < 1):
        interval = "[0, 1)" if allow_zero else "(0, 1)"
        raise ValueError(
            f"Received an invalid value for argument `{name}`: {value!r}. Expected a number in {interval}."
        )
    return float(value)
