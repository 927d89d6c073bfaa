"""Hyperparameter search with keras-tuner over the same pipelines and builders as `train`.

Flow: the task's data is prepared once (vocabulary adapted on the training split, as in `train`) →
`RNNHyperModel.build(hp)` makes a configuration from the base one and the trial's values and calls
the task's builder → `RNNHyperModel.fit` trains it (seq2seq objectives such as `val_bleu` or
`val_rouge1` decoded on a validation subset at every epoch end, with the trial's beam width) →
keras-tuner's oracle (random, Bayesian or Hyperband) picks the next values. The search lives in
`run_dir`: run the same command again and it continues without repeating finished trials.

Distributed search is keras-tuner's own: one process with `KERASTUNER_TUNER_ID=chief` serves the
oracle at `KERASTUNER_ORACLE_IP:KERASTUNER_ORACLE_PORT`, workers with other ids (`tuner0`, ...) run
trials; all share `run_dir`.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import shutil
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import keras

from keras_rnn.core.config import TaskConfig
from keras_rnn.core.fit import DecodedMetrics
from keras_rnn.core.precision import dtype_policy
from keras_rnn.core.task import Task
from keras_rnn.files import write_text_atomic
from keras_rnn.search_space import Hyperparameter, narrow_space, space_to_json
from keras_rnn.validation import validate_choice, validate_positive_int

TUNERS = ("random", "bayesian", "hyperband")
SEARCH_FILES = {"config": "config.json", "search": "search.json", "trials_csv": "trials.csv",
                "trials_json": "trials.json", "logs": "logs", "project": "search"}


def searchable_tasks() -> dict[str, Task]:
    """The registered tasks `keras-rnn tune` can search: those with a default search space."""
    from keras_rnn.tasks import TASKS

    return {name: task for name, task in TASKS.items() if task.config_class.search_space}


def field_parsers(config_class: type[TaskConfig]) -> dict[str, Callable]:
    """Field name → `int`, `float`, `str` or `bool`, from the configuration's annotations."""
    parsers = {}
    for field in config_class.fields():
        annotation = str(field.type)
        for name, parse in (("bool", bool), ("int", int), ("float", float), ("str", str)):
            if annotation.startswith(name):
                parsers[field.name] = parse
                break
    return parsers


def resolve_objective(task: str, objective: str | None) -> tuple[str, str]:
    """(objective name, direction) for `task`; `None` gives the task's default."""
    validate_choice("task", task, tuple(searchable_tasks()))
    definition = searchable_tasks()[task]
    objective = objective or definition.default_objective
    if objective not in definition.objectives:
        raise ValueError(f"Unknown objective {objective!r} for {task}; accepted: {sorted(definition.objectives)}.")
    return objective, definition.objectives[objective]


def is_decoded(task: Task, objective: str) -> bool:
    """Whether `objective` is computed by decoding (`task.decoded_scores`) rather than by the compiled metrics."""
    return objective in task.decoded_objectives


def resolve_search_space(
    config: TaskConfig,
    objective: str,
    specs: Mapping[str, Any] | None = None,
    fixed_fields: tuple[str, ...] = (),
) -> dict[str, Hyperparameter]:
    """The configuration's default space, without the fields the user fixed (`fixed_fields`: set
    explicitly, e.g. `--cell gru`), narrowed by `specs`, without decoding-only dimensions unless the
    objective is decoded. Every value a dimension can produce is checked against the configuration's
    own validation before any training."""
    space = {name: dim for name, dim in type(config).search_space.items() if name not in fixed_fields}
    specs = dict(specs or {})
    clash = sorted(set(specs) & set(fixed_fields))
    if clash:
        raise ValueError(f"{clash[0]!r} is both fixed (a configuration value) and searched (a --hp spec); "
                         "give one of the two.")
    known = type(config).search_space
    unknown = sorted(set(specs) - set(known))
    if unknown:
        raise ValueError(f"Unknown hyperparameter {unknown[0]!r} for {config.task}; the search space has: "
                         f"{sorted(known)} (other configuration fields are set with their own flags).")
    space = narrow_space(space, specs, field_parsers(type(config)))
    from keras_rnn.tasks import get_task

    task = get_task(config.task)
    if not is_decoded(task, objective):
        space = {name: dim for name, dim in space.items() if name not in task.decoding_dimensions or name in specs}
    for name, dimension in space.items():
        for value in dimension.extremes():
            config.replace(**{name: value})  # raises the configuration's own error
    return space


# --- The hypermodel ------------------------------------------------------------------------------------


def _keras_tuner():
    try:
        import keras_tuner
    except ImportError as error:  # pragma: no cover - declared in requirements
        raise ImportError("keras-rnn tune needs keras-tuner: pip install keras-tuner tensorboard") from error
    return keras_tuner


def make_hypermodel(task: Task, config: TaskConfig, space: Mapping[str, Hyperparameter], objective: str, data,
                    decode_examples: int = 200, verbose: str | int = "auto"):
    """A `keras_tuner.HyperModel` whose `build(hp)` is the task's builder on the base configuration with
    the trial's values, and whose `fit` trains on the prepared data (see `RNNHyperModel`)."""
    keras_tuner = _keras_tuner()
    direction = task.objectives[objective]

    class RNNHyperModel(keras_tuner.HyperModel):
        """One task's builder as a keras-tuner hypermodel.

        `fit` trains for the tuner's epochs (Hyperband's budget, else `epochs`) with early stopping
        on the objective (`patience`) and returns the validation figures of the best epoch, its
        fit time and epoch count; the tuner keeps that epoch's weights.
        """

        def config_for(self, hp):
            values = {name: dimension.declare(hp, name) for name, dimension in space.items()}
            return config.replace(**values)

        def build(self, hp):
            trial_config = self.config_for(hp)
            keras.utils.set_random_seed(trial_config.optimization.seed)  # every trial starts from the same seed
            with dtype_policy(trial_config.optimization.precision):
                return task.build(trial_config, data, data.train_batches)

        def fit(self, hp, model, *args, **kwargs):
            trial_config = self.config_for(hp)
            callbacks = [keras.callbacks.EarlyStopping(monitor=objective, mode=direction,
                                                       patience=trial_config.optimization.patience)]
            if is_decoded(task, objective):
                callbacks.insert(0, DecodedMetrics(
                    lambda m: task.decoded_scores(m, trial_config, data, decode_examples)))
            callbacks += list(getattr(data, "callbacks", ())) + list(kwargs.get("callbacks", []))
            # Every trial sees the batches in the same order: the shared `train` reshuffles on every pass,
            # so its order would depend on how many epochs earlier trials ran.
            train = data.fresh_train()
            started = time.perf_counter()
            history = model.fit(
                train, validation_data=data.validation, epochs=kwargs.get("epochs", trial_config.optimization.epochs),
                initial_epoch=kwargs.get("initial_epoch", 0), callbacks=callbacks, verbose=verbose, shuffle=False,
            ).history
            values = history.get(objective) or [float("nan")]
            pick = max if direction == "max" else min
            best = values.index(pick(values))
            results = {name: float(series[best]) for name, series in history.items()
                       if name.startswith("val_") and len(series) == len(values)}
            results.update(fit_time_s=round(time.perf_counter() - started, 1), epochs=len(values))
            return results

    return RNNHyperModel(name=f"{task.name}_hypermodel")


# --- Search --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class SearchResult:
    """What a search leaves: the trial table, the best trial's configuration and figures, the export."""

    trials: list[dict]
    best_config: Any
    best_metrics: dict
    run_dir: str
    search_time_s: float
    export_path: str | None = None


def _distributed() -> tuple[bool, bool]:
    """(part of a distributed search, this process is the chief) from keras-tuner's variables."""
    if "KERASTUNER_ORACLE_IP" not in os.environ:
        return False, False
    return True, "chief" in os.environ.get("KERASTUNER_TUNER_ID", "")


def _check_search_dir(run_dir: str, settings: dict, overwrite: bool, config_class: type[TaskConfig]) -> None:
    """Starts fresh with `overwrite`; otherwise refuses to continue a search made with other settings
    (a larger `max_trials` is allowed: it extends the search). A configuration saved flat (before
    configurations had parts) is compared as the configuration it reads as."""
    path = os.path.join(run_dir, SEARCH_FILES["search"])
    if overwrite:
        if _distributed()[0]:
            raise ValueError("--overwrite is not allowed in a distributed search (several processes share the "
                             f"folder); empty {run_dir!r} before starting the chief.")
        shutil.rmtree(run_dir, ignore_errors=True)
        return
    if not os.path.exists(path):
        return
    with open(path, encoding="utf-8") as f:
        previous = json.load(f)
    if isinstance(previous.get("config"), dict) and previous.get("task") == config_class.task:
        try:
            previous["config"] = config_class.from_dict(previous["config"]).to_dict()
        except (TypeError, ValueError):
            pass  # not a configuration this version reads: reported as changed below
    changed = sorted(k for k in set(previous) | set(settings)
                     if k != "max_trials" and previous.get(k) != settings.get(k))
    if changed:
        raise ValueError(
            f"{run_dir!r} holds a search with different settings (changed: {changed}); run the same command to "
            "continue it, choose another --run-dir, or pass --overwrite to start again."
        )


def make_tuner(name: str, hypermodel, objective: str, direction: str, run_dir: str, max_trials: int,
               max_epochs: int, seed: int, executions_per_trial: int = 1):
    """A keras-tuner `RandomSearch`, `BayesianOptimization` or `Hyperband` over `hypermodel`, kept in
    `run_dir/search` and reloaded from there (`overwrite=False`). Hyperband trains up to `max_epochs`
    per trial and is stopped after `max_trials` trials like the others."""
    keras_tuner = _keras_tuner()
    validate_choice("tuner", name, TUNERS)
    common = dict(objective=keras_tuner.Objective(objective, direction), seed=seed, overwrite=False,
                  directory=run_dir, project_name=SEARCH_FILES["project"],
                  executions_per_trial=executions_per_trial)
    if name == "random":
        return keras_tuner.RandomSearch(hypermodel, max_trials=max_trials, **common)
    if name == "bayesian":
        return keras_tuner.BayesianOptimization(hypermodel, max_trials=max_trials, **common)
    tuner = keras_tuner.Hyperband(hypermodel, max_epochs=max_epochs, factor=3, **common)
    tuner.oracle.max_trials = max_trials  # Hyperband has no max_trials argument; its oracle honours one
    return tuner


def trial_table(tuner, space: Mapping[str, Hyperparameter], objective: str) -> list[dict]:
    """One row per trial, in trial order: id, status, objective, fit time, epochs, hyperparameters
    (and Hyperband's epoch budget)."""
    rows = []
    for trial_id, trial in sorted(tuner.oracle.trials.items(), key=lambda item: item[0]):
        values = trial.hyperparameters.values
        metrics = {}
        for name in (objective, "fit_time_s", "epochs"):
            if trial.metrics.exists(name):
                metrics[name] = trial.metrics.get_last_value(name)
        epochs = metrics.get("epochs")
        row = {"trial": trial_id, "status": str(trial.status), objective: metrics.get(objective),
               "fit_time_s": metrics.get("fit_time_s"), "epochs": int(epochs) if epochs is not None else None}
        row.update({name: values.get(name) for name in space})
        if "tuner/epochs" in values:
            row["tuner/epochs"] = values["tuner/epochs"]
        rows.append(row)
    return rows


def _columns(rows: list[dict]) -> list[str]:
    """Every key of the rows, in first-seen order."""
    return list(dict.fromkeys(key for row in rows for key in row))


def format_table(rows: list[dict]) -> str:
    """The trial table as aligned text columns."""
    if not rows:
        return "(no trials)"
    columns = _columns(rows)

    def cell(value):
        if isinstance(value, float):
            return f"{value:.4g}"
        return "" if value is None else str(value)

    cells = [[cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)


def _write_tables(run_dir: str, rows: list[dict]) -> None:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=_columns(rows), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(os.path.join(run_dir, SEARCH_FILES["trials_csv"]), text.getvalue())
    write_text_atomic(os.path.join(run_dir, SEARCH_FILES["trials_json"]), json.dumps(rows, indent=2) + "\n")


def run_search(
    config: TaskConfig,
    run_dir: str,
    *,
    tuner: str = "hyperband",
    objective: str | None = None,
    max_trials: int = 10,
    space: Mapping[str, Any] | None = None,
    fixed_fields: tuple[str, ...] = (),
    decode_examples: int = 200,
    overwrite: bool = False,
    export_best: str | None = None,
    export_overwrite: bool = False,
    verbose: str | int = "auto",
) -> SearchResult | None:
    """Searches hyperparameters of `config`'s task with keras-tuner, in `run_dir` (resumed when it holds
    the same search), and optionally exports the best trial's model as `train` would.

    Args:
        config: the base configuration of a registered task (`SentimentConfig`, ...); the data, the
            epochs (Hyperband's maximum per trial) and every field the space does not vary come from it.
        tuner: `"random"`, `"bayesian"` or `"hyperband"`.
        objective: one of the task's `objectives`; default its `default_objective` (`val_accuracy`,
            `val_bleu`, `val_rouge1`).
        max_trials: trials to run in all (a resumed search counts the finished ones).
        space: narrowing specs by dimension name (see `keras_rnn.search_space`).
        fixed_fields: dimensions to leave at the configuration's value.
        decode_examples: validation examples decoded for BLEU / chrF / ROUGE objectives.
        export_best: a folder to write the best model's SavedModel to.

    Returns:
        A `SearchResult`, or `None` in a distributed worker (the chief holds the results).

    Writes `config.json`, `search.json`, the vocabulary, `search/` (keras-tuner's trials and best-epoch
    checkpoints), `logs/` (TensorBoard scalars and hparams per trial), `trials.csv` and `trials.json`.
    """
    validate_choice("tuner", tuner, TUNERS)
    validate_positive_int("max_trials", max_trials)
    validate_positive_int("decode_examples", decode_examples)
    objective, direction = resolve_objective(config.task, objective)
    task = searchable_tasks()[config.task]
    config = task.resolved(config)
    # A search leaves alone the fields the configuration took from elsewhere (a pretrained encoder's
    # vocabulary and RNN stack): another value there could not be built.
    fixed_fields = tuple(fixed_fields) + config.determined_fields()
    resolved = resolve_search_space(config, objective, space, fixed_fields)
    settings = {"task": task.name, "tuner": tuner, "objective": objective, "max_trials": max_trials,
                "space": space_to_json(resolved), "config": config.to_dict(),
                "decode_examples": decode_examples if is_decoded(task, objective) else None}
    distributed, chief = _distributed()
    _check_search_dir(run_dir, settings, overwrite, type(config))
    if export_best and os.path.exists(export_best) and not export_overwrite:
        raise FileExistsError(f"{export_best!r} already exists; pass --overwrite to replace it.")
    os.makedirs(run_dir, exist_ok=True)
    config.save(os.path.join(run_dir, SEARCH_FILES["config"]))
    write_text_atomic(os.path.join(run_dir, SEARCH_FILES["search"]), json.dumps(settings, indent=2) + "\n")

    started = time.perf_counter()
    data = task.prepare(config, run_dir)
    hypermodel = make_hypermodel(task, config, resolved, objective, data, decode_examples, verbose)
    keras_tuner_instance = make_tuner(tuner, hypermodel, objective, direction, run_dir, max_trials,
                                      max_epochs=config.optimization.epochs, seed=config.optimization.seed)
    keras_tuner_instance.search(callbacks=[keras.callbacks.TensorBoard(os.path.join(run_dir, SEARCH_FILES["logs"]))],
                                verbose=verbose)
    search_time = time.perf_counter() - started
    if distributed and not chief:
        return None

    rows = trial_table(keras_tuner_instance, resolved, objective)
    _write_tables(run_dir, rows)
    completed = [t for t in keras_tuner_instance.oracle.get_best_trials(1) if t.score is not None]
    if not completed:
        raise RuntimeError(f"No trial of the search in {run_dir!r} finished; see the errors above.")
    best_trial = completed[0]
    best_config = hypermodel.config_for(best_trial.hyperparameters)
    best_metrics = {name: best_trial.metrics.get_last_value(name) for name in best_trial.metrics.metrics}
    best_metrics.update(trial=best_trial.trial_id, objective=objective, score=best_trial.score)
    export_path = None
    if export_best:
        with warnings.catch_warnings():  # the checkpoint holds optimizer slots that serving does not need
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            model = keras_tuner_instance.load_model(best_trial)
        result = task.make_result(model, best_config, data, best_metrics, run_dir, {})
        export_path = task.export(export_best, result, overwrite=export_overwrite)
    return SearchResult(rows, best_config, best_metrics, run_dir, round(search_time, 1), export_path)
