"""What a task is to the shared core, the command line, export and serving; and the registry of tasks.

A task bundles its configuration class with the functions the shared pipeline calls: `prepare` (corpus →
batches, vocabularies saved in the run folder), `build` (the compiled network), `score` (figures the
loss does not give, such as BLEU), `make_result`, and export, serving and evaluation. `keras_rnn.core.train`
runs any task from them; the CLI (`keras-rnn train TASK`, `tune TASK`, `evaluate`, `predict`) knows
tasks only through `TASKS`, and an export names its task in its manifest, so `predict` and `evaluate`
dispatch by what the folder holds. Adding a task is one package under `keras_rnn/tasks/` that calls
`register`, and its import in `keras_rnn/tasks/__init__.py`.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from typing import Any, Protocol

import keras
import tensorflow as tf

from keras_rnn.core.config import DataConfig, OptimizationConfig, TaskConfig


class TaskData(Protocol):
    """What `prepare` returns, as the shared training reads it (tasks add their own fields)."""

    train: tf.data.Dataset  # batches, reshuffled every epoch
    validation: tf.data.Dataset
    train_batches: int  # exact batches per epoch (workers split them)
    validation_batches: int
    fresh_train: Callable[[], tf.data.Dataset]  # `train` again with its shuffle at the first epoch's order
    # Optional: `callbacks`, Keras callbacks the task's model needs in fit and evaluate (e.g. resetting
    # the states of a stateful model); read with getattr, default none.

    def figures(self) -> dict:
        """Data figures for `metrics.json` (examples, tokens per epoch, vocabulary sizes)."""


@dataclasses.dataclass(frozen=True)
class Task:
    """One task: its configuration and what training, search, export and serving call.

    Attributes:
        name: the registry key and the CLI's `TASK`; equal to `config_class.task`.
        config_class: a `TaskConfig` subclass (one CLI flag per field).
        description: one line for `--help`.
        prepare: `prepare(config, run_dir) -> TaskData`; reuses the vocabularies saved in `run_dir`
            (a resumed run's ids must mean what they meant) or adapts and saves them.
        build: `build(config, data, steps_per_epoch) -> keras.Model`, compiled (the schedule spans
            `epochs × steps_per_epoch`); called inside the distribution strategy's scope.
        make_result: `make_result(model, config, data, metrics, run_dir, outputs) -> result`, what `train`
            returns; a result has at least `model`, `config`, `metrics` and `run_dir`.
        load_finished: `load_finished(config, run_dir) -> result` of a finished run, to export it again.
        export: `export(path, result, *, overwrite, beam_width=None) -> path`, atomic.
        predict: `predict(export_path, texts) -> rows`, one JSON-serializable dict a text.
        format_prediction: `format_prediction(text, row) -> str`, the plain-text line `predict` prints.
        monitor: the validation figure the best epoch is chosen by, and its direction; a decoded
            objective (in `decoded_objectives`, e.g. a tagger's `val_f1`) is computed every epoch for it.
        score: `score(model, config, data, **options) -> (figures, outputs)` after training: figures the
            compiled metrics do not give (decoded BLEU, ROUGE) and what was decoded, by decoding name;
            None when the compiled metrics are all.
        objectives: what `keras-rnn tune TASK` can optimise, name → "min" or "max".
        default_objective: the one it optimises unless told.
        decoded_scores: `decoded_scores(model, config, data, limit) -> {objective: value}` for objectives
            the compiled metrics do not give (computed each epoch of a search), or None.
        decoded_objectives: the objectives `decoded_scores` gives.
        decoding_dimensions: search dimensions that change only decoding (searched only for a decoded
            objective).
        evaluate: `evaluate(args, manifest) -> exit status` for `keras-rnn evaluate MODEL`, or None.
        add_train_arguments: adds task-specific `train` flags beyond the configuration's, or None.
        generate_command: the CLI command that runs its exports on texts (`translate`, `summarize`,
            `generate`), or None.
        add_generate_arguments: adds that command's task-specific flags (sampling settings), or None.
        run_generate: `run_generate(args, texts) -> exit status`, the command for a task whose export is
            not a text-to-text generator with attention (None: `keras_rnn.serving.TextGenerator` runs it).
        resolve_config: `resolve_config(config) -> config` with the fields it takes from elsewhere filled
            in (a pretrained encoder's vocabulary and architecture), before a run folder or search opens,
            so that the folder records what was trained; None when a configuration is complete as given.
    """

    name: str
    config_class: type[TaskConfig]
    description: str
    prepare: Callable[[TaskConfig, str], TaskData]
    build: Callable[[TaskConfig, TaskData, int], keras.Model]
    make_result: Callable[..., Any]
    load_finished: Callable[[Any, str], Any]
    export: Callable[..., str]
    predict: Callable[[str, list[str]], list[dict]]
    format_prediction: Callable[[str, dict], str]
    monitor: tuple[str, str] = ("val_loss", "min")
    score: Callable[..., tuple[dict, dict]] | None = None
    objectives: dict[str, str] = dataclasses.field(default_factory=lambda: {"val_loss": "min"})
    default_objective: str = "val_loss"
    decoded_scores: Callable[..., dict] | None = None
    decoded_objectives: tuple[str, ...] = ()
    decoding_dimensions: tuple[str, ...] = ()
    evaluate: Callable[[argparse.Namespace, dict], int] | None = None
    add_train_arguments: Callable[[argparse.ArgumentParser], None] | None = None
    generate_command: str | None = None
    add_generate_arguments: Callable[[argparse.ArgumentParser], None] | None = None
    run_generate: Callable[[argparse.Namespace, list[str]], int] | None = None
    resolve_config: Callable[[TaskConfig], TaskConfig] | None = None

    def resolved(self, config: TaskConfig) -> TaskConfig:
        """`config` with the fields `resolve_config` fills in (unchanged when the task has none): what
        training, search and a re-export of a finished run all start from."""
        return config if self.resolve_config is None else self.resolve_config(config)

    def __post_init__(self):
        if getattr(self.config_class, "task", None) != self.name:
            raise ValueError(f"Task {self.name!r}: its config_class {self.config_class.__name__} configures "
                             f"{getattr(self.config_class, 'task', None)!r}; they must name the same task.")
        if self.default_objective not in self.objectives:
            raise ValueError(f"Task {self.name!r}: default objective {self.default_objective!r} is not one of its "
                             f"objectives {sorted(self.objectives)}.")
        monitor, mode = self.monitor
        if monitor in self.decoded_objectives and mode != self.objectives.get(monitor):
            raise ValueError(f"Task {self.name!r}: monitor {self.monitor} goes the other way from its objective "
                             f"{monitor!r} ({self.objectives.get(monitor)}).")
        if self.decoded_objectives and self.decoded_scores is None:
            raise ValueError(f"Task {self.name!r}: decoded objectives {list(self.decoded_objectives)} need decoded_scores.")
        self.config_class.field_parts()  # field names unique across parts (one flag each)
        for part, required in (("data", DataConfig), ("optimization", OptimizationConfig)):
            given = self.config_class.parts.get(part)
            if not (isinstance(given, type) and issubclass(given, required)):
                raise TypeError(f"Task {self.name!r}: {self.config_class.__name__}.parts[{part!r}] must be a "
                                f"{required.__name__} (or a subclass): the shared training reads it.")


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
    """The registered task `name` (`keras_rnn.tasks` registers the built-in ones when imported).

    Raises:
        ValueError: no such task; the message lists the registered ones.
    """
    if name not in TASKS:
        raise ValueError(f"Unknown task {name!r}; registered tasks: {', '.join(sorted(TASKS))}.")
    return TASKS[name]
