"""Run folders: what every task's run folder holds, opening one (fresh or resumed), and its default place.

A run folder holds the task's configuration (`config.json`, with the task it configures), the epoch history,
the best epoch's weights, the resume backup, TensorBoard logs, and at the end the model and its figures
(`metrics.json`, written last: a run is finished when it exists). Tasks add their own files (vocabularies).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil

import keras

from keras_rnn.core.config import RESUMABLE_CHANGES, TaskConfig

# The files every run folder holds (tasks add theirs).
RUN_FILES = {
    "config": "config.json",
    "history": "history.csv",
    "best_weights": "best.weights.h5",
    "model": "model.keras",
    "metrics": "metrics.json",
}

def open_run_dir(run_dir: str, config: TaskConfig, overwrite: bool) -> None:
    """`check_run_dir`, then creates the folder, writes the configuration there and seeds every random
    generator from it: how each task's training starts."""
    check_run_dir(run_dir, config, overwrite)
    os.makedirs(run_dir, exist_ok=True)
    config.save(os.path.join(run_dir, RUN_FILES["config"]))
    keras.utils.set_random_seed(config.optimization.seed)


def check_run_dir(run_dir: str, config: TaskConfig, overwrite: bool) -> None:
    """Refuses to clobber a finished run, or to resume one with a different configuration."""
    config_path = os.path.join(run_dir, RUN_FILES["config"])
    finished = is_finished_run(run_dir)
    if overwrite:
        shutil.rmtree(run_dir, ignore_errors=True)
        return
    held = run_task(run_dir)
    if held is not None and held != config.task:
        raise FileExistsError(f"Run directory {run_dir!r} holds a {held} run, not a {config.task} one; choose "
                              "another --run-dir (or pass --overwrite to replace that run).")
    if finished:
        raise FileExistsError(
            f"Run directory {run_dir!r} holds a finished run; pass overwrite=True (--overwrite) to train "
            "again there, or choose another --run-dir."
        )
    if os.path.exists(config_path):
        previous = type(config).load(config_path)
        changed = _changed(previous, config)
        if changed:
            raise ValueError(
                f"Run directory {run_dir!r} holds an unfinished run with a different configuration "
                f"(changed: {changed}); resume with the same settings, choose another --run-dir, or "
                "pass --overwrite."
            )
        epochs, before = config.optimization.epochs, previous.optimization.epochs
        if epochs != before and config.optimization.lr_schedule != "constant":
            # The schedule's length is epochs × steps: another epoch count would rescale it mid-run.
            raise ValueError(
                f"Run directory {run_dir!r} holds an unfinished run; resuming it with epochs {before} → {epochs} "
                f"would stretch its {config.optimization.lr_schedule} learning-rate schedule mid-run. Resume "
                f"with --epochs {before}, or pass --overwrite to train again."
            )


def run_task(run_dir: str) -> str | None:
    """The task of the run in `run_dir` (from its configuration), or None without one."""
    path = os.path.join(run_dir, RUN_FILES["config"])
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f).get("task")


def default_run_dir(task: str, output: str) -> str:
    """`runs/<task>/<export name>-<hash of the export's absolute path>`: one folder per export, so two
    exports of the same name (`a/model`, `b/model`) never share a run."""
    output = os.path.abspath(output).rstrip(os.sep)
    digest = hashlib.sha1(output.encode("utf-8")).hexdigest()[:8]
    return os.path.join("runs", task, f"{os.path.basename(output)}-{digest}")


def changed_fields(run_dir: str, config: TaskConfig) -> list[str]:
    """The configuration fields that differ from the run saved in `run_dir` (`RESUMABLE_CHANGES` aside)."""
    return _changed(type(config).load(os.path.join(run_dir, RUN_FILES["config"])), config)


def _changed(previous: TaskConfig, config: TaskConfig) -> list[str]:
    before, current = previous.flat(), config.flat()
    return sorted(k for k in current if current[k] != before.get(k) and k not in RESUMABLE_CHANGES)


def is_finished_run(run_dir: str) -> bool:
    """True when `run_dir` holds a run that trained to the end (its figures are written last)."""
    return os.path.exists(os.path.join(run_dir, RUN_FILES["metrics"]))

