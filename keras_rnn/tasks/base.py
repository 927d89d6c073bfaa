"""Helpers several tasks' command-line parts share (no task's own code: tasks never import each other).

The `Task` record and the registry are in `keras_rnn.core.task`.
"""

from __future__ import annotations

import argparse
import json


def report_outputs(args: argparse.Namespace, outputs: list[str], report: dict) -> int:
    """Prints an evaluation's figures; writes the outputs (one a line, `--output-file`) and the figures
    (`--json`) where asked."""
    from keras_rnn.files import write_text_atomic

    print(json.dumps(report))
    if getattr(args, "output_file", None):
        write_text_atomic(args.output_file, "".join(line.replace("\n", " ") + "\n" for line in outputs))
    if getattr(args, "json_path", None):
        write_text_atomic(args.json_path, json.dumps(report, indent=2) + "\n")
    return 0


# --- What the text-generation tasks (translation, summarization) share -----------------------------


def predict_generated(path: str, texts: list[str]) -> list[dict]:
    """An exported generator's output a text: `{"translation": ...}` or `{"summary": ...}`."""
    from keras_rnn.serving import TextGenerator

    generator = TextGenerator(path)
    return [{generator.output_name: output} for output in generator.generate(texts)]


def format_generated(text: str, row: dict) -> str:
    return next(iter(row.values()))


def add_export_beam_width(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--export-beam-width", type=int, default=None,
                        help="beam width fixed in the SavedModel; 1 is greedy (default: --beam-width)")
