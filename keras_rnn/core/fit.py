"""Resumable fit: the callbacks every run needs (best weights, early stopping, history, logs, an atomic
backup) and the learning-rate schedules."""

from __future__ import annotations

import csv
import io
import json
import os
import time
import weakref
from collections.abc import Callable, Sequence

import keras
import numpy as np
import tensorflow as tf

from keras_rnn.core.config import LR_SCHEDULES
from keras_rnn.core.runs import RUN_FILES
from keras_rnn.files import write_text_atomic
from keras_rnn.optimizers import SlantedTriangular  # also registers it, so a saved model using it loads
from keras_rnn.validation import validate_choice



def learning_rate_schedule(learning_rate: float, schedule: str, total_steps: int | None):
    """`learning_rate` as is (`"constant"`), decaying linearly to 0 over `total_steps` (`"linear_decay"`), or
    rising over the first tenth of the steps from a 32nd of it and falling back (`"slanted_triangular"`,
    `keras_rnn.optimizers.SlantedTriangular`)."""
    validate_choice("lr_schedule", schedule, LR_SCHEDULES)
    if schedule == "linear_decay":
        return keras.optimizers.schedules.PolynomialDecay(learning_rate, total_steps, 0.0, power=1.0)
    if schedule == "slanted_triangular":
        return SlantedTriangular(learning_rate, total_steps)
    return learning_rate


def _save_weights_atomic(model: keras.Model, path: str) -> None:
    partial = path.removesuffix(".weights.h5") + ".partial.weights.h5"
    model.save_weights(partial, overwrite=True)
    os.replace(partial, path)


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """`BackupAndRestore` whose backup files are replaced by renames, never rewritten in place.

    Keras writes `latest.weights.h5` in place: a SIGKILL during that write leaves a corrupt file and a
    run that cannot resume. Here weights and metadata are written beside and renamed over the old ones.
    """

    def _save_model(self):
        os.makedirs(self.backup_dir, exist_ok=True)
        metadata = json.dumps({"epoch": self._current_epoch, "batch": self._last_batch_seen})
        _save_weights_atomic(self.model, self._weights_path)
        write_text_atomic(self._training_metadata_path, metadata)


_INFERENCE_FUNCTIONS: "weakref.WeakKeyDictionary[keras.Model, Callable]" = weakref.WeakKeyDictionary()


def traced_inference(model: keras.Model) -> Callable:
    """`model(inputs, training=False)` as one traced function per model (kept while the model lives), for
    the figures a task decodes from a model. Not `predict` / `predict_on_batch`: under a multi-worker
    strategy those gather across workers, and only the chief scores after training."""
    if model not in _INFERENCE_FUNCTIONS:
        _INFERENCE_FUNCTIONS[model] = tf.function(lambda inputs: model(inputs, training=False), reduce_retracing=True)
    return _INFERENCE_FUNCTIONS[model]


class DecodedMetrics(keras.callbacks.Callback):
    """Adds decoded validation scores (e.g. `val_bleu`, `val_f1`) to the epoch's logs, for the callbacks
    after it (checkpoints, early stopping, the history) to see.

    Args:
        score: `model → {name: value}`.
    """

    def __init__(self, score: Callable[[keras.Model], dict]):
        super().__init__()
        self.score = score

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs.update(self.score(self.model))


class TrainingTime(keras.callbacks.Callback):
    """Seconds spent on training batches alone: from each epoch's start to its validation pass (or to its
    end without one), so throughput figures leave out validation, checkpoints and decoded scores.

    Attributes:
        seconds: the total over the epochs of the `fit` calls it watched.
    """

    def __init__(self):
        super().__init__()
        self.seconds = 0.0
        self._started = None

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()

    def _stop(self):
        if self._started is not None:
            self.seconds += time.perf_counter() - self._started
            self._started = None

    def on_test_begin(self, logs=None):
        self._stop()

    def on_epoch_end(self, epoch, logs=None):
        self._stop()


class BestWeightsCheckpoint(keras.callbacks.Callback):
    """Saves the weights of the best epoch so far (atomically), starting from a known best score.

    Args:
        path: a `.weights.h5` file.
        monitor: the logged metric to compare, e.g. `"val_accuracy"`.
        mode: `"max"` or `"min"`.
        best: best score of earlier epochs (a resumed run), or `None`.
    """

    def __init__(self, path: str, monitor: str = "val_accuracy", mode: str = "max", best: float | None = None):
        super().__init__()
        self.path, self.monitor, self.best = path, monitor, best
        self.better = np.greater if validate_choice("mode", mode, ("max", "min")) == "max" else np.less

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is not None and (self.best is None or self.better(value, self.best)):
            self.best = float(value)
            _save_weights_atomic(self.model, self.path)


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """`EarlyStopping` that, on a resumed run, starts from the epochs already trained.

    Keras resets `best` and `wait` at every `fit`, so after a kill the patience would start again and a
    resumed run could train epochs the uninterrupted run never would. Here they are restored from the
    run's history (the epochs the backup holds): `best` is the best monitored value so far and `wait` the
    epochs since it.

    Args:
        history_path: the run's `history.csv` (`keras.callbacks.CSVLogger`).
        monitor, mode, patience: as for `keras.callbacks.EarlyStopping`.
    """

    def __init__(self, history_path: str, monitor: str, mode: str, patience: int):
        super().__init__(monitor=monitor, mode=mode, patience=patience)
        self.history_path = history_path

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        values = _history_values(self.history_path, self.monitor)
        if values:
            best_epoch = int(np.argmax(values) if self.mode == "max" else np.argmin(values))
            self.best, self.best_epoch, self.wait = values[best_epoch], best_epoch, len(values) - 1 - best_epoch


def _history_values(history_path: str, monitor: str) -> list[float]:
    """The monitored value of each epoch in `history_path`, in epoch order (empty without the file)."""
    if not os.path.exists(history_path):
        return []
    with open(history_path, newline="") as f:
        return [float(row[monitor]) for row in csv.DictReader(f) if row.get(monitor)]


def _drop_unsaved_epochs(history_path: str, backup: keras.callbacks.BackupAndRestore) -> None:
    """Keeps only the history rows of epochs the backup holds: a kill between writing an epoch's row
    and its backup makes that epoch run again, and its row must not appear twice."""
    if not os.path.exists(history_path):
        return
    metadata = backup._training_metadata_path
    saved_epochs = 0
    if os.path.exists(metadata):
        with open(metadata) as f:
            saved_epochs = int(json.load(f)["epoch"])
    with open(history_path, newline="") as f:
        rows = list(csv.reader(f))
    kept = [rows[0]] + [row for row in rows[1:] if row and int(row[0]) < saved_epochs] if rows else []
    if len(kept) != len(rows):
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerows(kept)
        write_text_atomic(history_path, text.getvalue())


def _best_so_far(history_path: str, monitor: str, mode: str) -> float | None:
    values = _history_values(history_path, monitor)
    if not values:
        return None
    return max(values) if mode == "max" else min(values)


def fit_resumable(
    model: keras.Model,
    train: tf.data.Dataset,
    validation: tf.data.Dataset,
    run_dir: str,
    *,
    epochs: int,
    patience: int,
    monitor: str = "val_accuracy",
    mode: str = "max",
    steps_per_epoch: int | None = None,
    validation_steps: int | None = None,
    verbose: str | int = "auto",
    callbacks: Sequence[keras.callbacks.Callback] = (),
    metric_callbacks: Sequence[keras.callbacks.Callback] = (),
) -> dict[str, list[float]]:
    """Fits with EarlyStopping, TensorBoard, a CSV history, the best epoch's weights and resume.

    Run again with the same `run_dir` after a kill, it continues after the last completed epoch
    (`keras.callbacks.BackupAndRestore`) as the uninterrupted run would have: the best-weights
    checkpoint remembers the best score of the epochs before the kill (resuming never replaces a better
    epoch by a worse one) and early stopping the epochs since it (`ResumableEarlyStopping`). The model
    ends with the best epoch's weights. `callbacks` run after the run's own, the backup included;
    `metric_callbacks` (e.g. `DecodedMetrics`) run before them, so the figures they add to an epoch's logs
    can be the monitor and are in the history.

    Returns:
        The history of this call's epochs (all epochs are in `run_dir/history.csv`).
    """
    paths = {key: os.path.join(run_dir, name) for key, name in RUN_FILES.items()}
    backup = AtomicBackupAndRestore(os.path.join(run_dir, "backup"))
    _drop_unsaved_epochs(paths["history"], backup)
    callbacks = [
        *metric_callbacks,
        BestWeightsCheckpoint(paths["best_weights"], monitor, mode, best=_best_so_far(paths["history"], monitor, mode)),
        keras.callbacks.CSVLogger(paths["history"], append=True),
        ResumableEarlyStopping(paths["history"], monitor, mode, patience),
        keras.callbacks.TensorBoard(os.path.join(run_dir, "logs")),
        # Last, so an epoch is marked done only after its history row and checkpoint are written.
        backup,
        *callbacks,
    ]
    history = model.fit(
        train, validation_data=validation, epochs=epochs, callbacks=callbacks, verbose=verbose, shuffle=False,
        steps_per_epoch=steps_per_epoch, validation_steps=validation_steps,
    )
    if os.path.exists(paths["best_weights"]):
        model.load_weights(paths["best_weights"])
    return history.history

