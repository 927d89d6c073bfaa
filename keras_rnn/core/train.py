"""One `train(task, config, run_dir)` for every task: run folder, data, network, resumable fit, figures.

The task brings what differs (`prepare`, `build`, `score`, `make_result`: see `keras_rnn.core.task`);
everything else is here, once: opening (or resuming) the run folder, the distribution strategy and its
workers, early stopping on the task's monitor with the best epoch kept, `model.keras`, and
`metrics.json` written last (a run is finished when it exists).
"""

from __future__ import annotations

import json
import os
import time

import tensorflow as tf

from keras_rnn.core.config import TaskConfig
from keras_rnn.core.fit import DecodedMetrics, TrainingTime, fit_resumable
from keras_rnn.core.precision import dtype_policy
from keras_rnn.core.runs import RUN_FILES, open_run_dir
from keras_rnn.core.strategies import get_strategy, worker_index
from keras_rnn.core.task import Task
from keras_rnn.files import write_text_atomic


def train(
    task: Task,
    config: TaskConfig,
    run_dir: str,
    *,
    overwrite: bool = False,
    strategy: str | tf.distribute.Strategy = "default",
    verbose: str | int = "auto",
    **score_options,
):
    """Trains `task` with `config` end to end in `run_dir`, resuming a killed run found there.

    With several workers (`strategy="multi_worker"`), every worker runs this with the same arguments:
    each takes an equal share of the batches (collectives wait for all), non-chief workers keep their
    files in `run_dir/workers/<index>` so that no two write the same path, and only the chief computes
    the task's decoded figures.

    Writes `config.json`, the task's vocabularies, `history.csv`, TensorBoard `logs/`, `best.weights.h5`,
    `model.keras` (best epoch by `task.monitor`) and `metrics.json` (validation figures and times).

    Args:
        score_options: passed to `task.score` (e.g. `evaluate_beam_widths`, `decoding_passes`).

    Returns:
        `task.make_result(...)`: the best model, its preprocessing, figures and run folder.
    """
    if type(config) is not task.config_class:
        raise TypeError(f"Task {task.name!r} is configured with a {task.config_class.__name__}, "
                        f"not a {type(config).__name__}.")
    if score_options and task.score is None:
        raise TypeError(f"Task {task.name!r} scores nothing after training; it takes no {sorted(score_options)}.")
    config = task.resolved(config)
    if isinstance(strategy, str):
        strategy = get_strategy(strategy)
    index, workers = worker_index(strategy)
    if index > 0:
        run_dir = os.path.join(run_dir, "workers", str(index))
    open_run_dir(run_dir, config, overwrite)
    started = time.perf_counter()

    data = task.prepare(config, run_dir)

    steps_per_epoch = validation_steps = None
    train_batches, validation_batches = data.train, data.validation
    if workers > 1:
        # Every worker must run the same number of steps or the collectives wait forever.
        steps_per_epoch = max(data.train_batches // workers, 1)
        validation_steps = max(data.validation_batches // workers, 1)
        train_batches, validation_batches = train_batches.repeat(), validation_batches.repeat()

    with strategy.scope(), dtype_policy(config.optimization.precision) as policy:
        model = task.build(config, data, steps_per_epoch or data.train_batches)
    monitor, mode = task.monitor
    callbacks = tuple(getattr(data, "callbacks", ()))
    training_time = TrainingTime()  # throughput figures divide by this: validation left out
    metric_callbacks = ()
    if monitor in task.decoded_objectives:
        # The best epoch is chosen by a decoded figure (a tagger's entity F1): computed every epoch.
        metric_callbacks = (DecodedMetrics(lambda m: task.decoded_scores(m, config, data, None)),)
    fit_started = time.perf_counter()
    history = fit_resumable(
        model, train_batches, validation_batches, run_dir, epochs=config.optimization.epochs,
        patience=config.optimization.patience, monitor=monitor, mode=mode, steps_per_epoch=steps_per_epoch,
        validation_steps=validation_steps, verbose=verbose, callbacks=callbacks + (training_time,),
        metric_callbacks=metric_callbacks,
    )
    fit_time = time.perf_counter() - fit_started
    model.save(os.path.join(run_dir, RUN_FILES["model"]))
    scores = model.evaluate(validation_batches, steps=validation_steps, verbose=0, return_dict=True,
                            callbacks=list(callbacks))
    metrics = {f"val_{name}": float(value) for name, value in scores.items()}
    metrics.update(epochs_this_call=len(history.get("loss", [])), **data.figures(), fit_time_s=round(fit_time, 1),
                   train_time_s=round(training_time.seconds, 1), precision=policy)
    outputs: dict = {}
    if task.score is not None and index == 0:
        figures, outputs = task.score(model, config, data, **score_options)
        metrics.update(figures)
    metrics["wall_time_s"] = round(time.perf_counter() - started, 1)
    write_text_atomic(os.path.join(run_dir, RUN_FILES["metrics"]), json.dumps(metrics, indent=2) + "\n")
    return task.make_result(model, config, data, metrics, run_dir, outputs)
