"""Flags the benchmarks share: `--set FIELD=VALUE` configuration values."""

from __future__ import annotations

import json


def parse_settings(settings: list[str]) -> dict:
    """`["batch_size=64", "copy=false", "cell=lstm"]` → `{"batch_size": 64, "copy": False, "cell": "lstm"}`:
    values are read as JSON when they parse, else kept as text.

    Raises:
        ValueError: an item is not `FIELD=VALUE`.
    """
    values = {}
    for setting in settings:
        name, sep, text = setting.partition("=")
        if not sep or not name:
            raise ValueError(f"{setting!r}: expected FIELD=VALUE, e.g. batch_size=64")
        try:
            values[name] = json.loads(text)
        except json.JSONDecodeError:
            values[name] = text
    return values
