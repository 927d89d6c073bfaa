"""What a task is to the command line, export and serving, and the registry of tasks by name.

A task bundles its configuration class with the functions that train it in a run folder, read a
finished run back, export it as a SavedModel, serve that export on strings and evaluate it. The CLI
(`keras-rnn train TASK`, `evaluate`, `predict`) knows tasks only through `TASKS`, and an export names
its task in its manifest, so `predict` and `evaluate` dispatch by what the folder holds. Adding a task is
one module that calls `register`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Callable
from typing import Any


@dataclasses.dataclass(frozen=True)
class Task:
    """One task: its configuration and what training, export and serving call.

    Attributes:
        name: the registry key and the CLI's `TASK`; equal to `config_class.task`.
        config_class: a `_JsonConfig` dataclass: one CLI flag per field.
        description: one line for `--help`.
        train: `train(config, run_dir, *, overwrite, strategy, verbose) -> result`, a result with at least
            `model`, `metrics` (dict) and `run_dir` (another folder for a non-chief worker).
        load_finished: `load_finished(config, run_dir) -> result` of a finished run, to export it again.
        export: `export(path, result, config, args) -> path`, atomic, refusing an existing `path` unless
            `args.overwrite`.
        predict: `predict(export_path, texts) -> rows`, one JSON-serializable dict a text.
        format_prediction: `format_prediction(text, row) -> str`, the plain-text line `predict` prints.
        evaluate: `evaluate(args, manifest) -> exit status` for `keras-rnn evaluate MODEL`, or None.
        add_train_arguments: adds task-specific `train` flags beyond the configuration's, or None.
        multi_worker: whether `train` handles several workers (`--strategy multi_worker`).
    """

    name: str
    config_class: type
    description: str
    train: Callable[..., Any]
    load_finished: Callable[[Any, str], Any]
    export: Callable[..., str]
    predict: Callable[[str, list[str]], list[dict]]
    format_prediction: Callable[[str, dict], str]
    evaluate: Callable[[argparse.Namespace, dict], int] | None = None
    add_train_arguments: Callable[[argparse.ArgumentParser], None] | None = None
    multi_worker: bool = False

    def __post_init__(self):
        if getattr(self.config_class, "task", None) != self.name:
            raise ValueError(f"Task {self.name!r}: its config_class {self.config_class.__name__} configures "
                             f"{getattr(self.config_class, 'task', None)!r}; they must name the same task.")


TASKS: dict[str, Task] = {}


def register(task: Task) -> Task:
    """Adds `task` to `TASKS` (the CLI lists what is registered when it builds its parser).

    Raises:
        ValueError: another task of that name is registered.
    """
    if task.name in TASKS and TASKS[task.name] is not task:
        raise ValueError(f"A task named {task.name!r} is registered already.")
    TASKS[task.name] = task
    return task


def get_task(name: str) -> Task:
    """The registered task `name`.

    Raises:
        ValueError: no such task; the message lists the registered ones.
    """
    if name not in TASKS:
        raise ValueError(f"Unknown task {name!r}; registered tasks: {', '.join(sorted(TASKS))}.")
    return TASKS[name]


def download_kwargs(config) -> dict | None:
    """The `download_and_prepare_kwargs` a configuration gives TFDS (its manual folder included)."""
    from keras_rnn.data.tfds_source import tfds_prepare_kwargs

    return tfds_prepare_kwargs(config.download_and_prepare_kwargs, config.manual_dir)


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
