"""How the benchmarks hand their figures over: one JSON line on standard output, and the same line in a
file when asked (written atomically, so a killed run never leaves half a file)."""

from __future__ import annotations

import json


def print_figures(figures: dict, json_path: str | None = None) -> None:
    """Prints `figures` as one JSON line; also writes it to `json_path` when given."""
    line = json.dumps(figures)
    print(line, flush=True)
    if json_path:
        from keras_rnn.files import write_text_atomic

        write_text_atomic(json_path, line + "\n")
