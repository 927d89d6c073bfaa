"""Compile and fit with the callbacks every run needs: resume, best weights, logs, strategies."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import math
import os
import shutil
import time
from collections.abc import Callable, Sequence

import keras
import numpy as np
import tensorflow as tf

from keras_rnn.config import LR_SCHEDULES, SentimentConfig
from keras_rnn.data.batching import bucket_by_length, length_boundaries, padding_fraction
from keras_rnn.data.corpora import load_text_classification
from keras_rnn.data.text import TextPreprocessor
from keras_rnn.data.tfds_source import tfds_prepare_kwargs
from keras_rnn.files import write_text_atomic
from keras_rnn.models.classifier import build_sentiment_model
from keras_rnn.validation import validate_choice

STRATEGIES = ("default", "mirrored", "multi_worker")
RUN_FILES = {
    "config": "config.json",
    "vocabulary": "vocabulary.txt",
    "history": "history.csv",
    "best_weights": "best.weights.h5",
    "model": "model.keras",
    "metrics": "metrics.json",
    "class_names": "class_names.json",
}
# Fields that may change between a run and its resumption without changing what is trained.
# Changing these does not invalidate a half-finished run (decoding settings only matter afterwards).
# Where the data lives (not what it is) may change too.
RESUMABLE_CHANGES = ("data_dir", "manual_dir", "epochs", "patience", "beam_width", "length_penalty",
                     "max_length_ratio", "max_length_offset", "min_length", "no_repeat_ngram_size")


def get_strategy(name: str = "default") -> tf.distribute.Strategy:
    """`"default"` (one device), `"mirrored"` (all local GPUs) or `"multi_worker"` (cluster from TF_CONFIG).

    Create it first thing in a program: `MultiWorkerMirroredStrategy` must exist before other TF ops.
    """
    validate_choice("strategy", name, STRATEGIES)
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if not os.environ.get("TF_CONFIG"):
        raise ValueError(
            "strategy 'multi_worker' reads the cluster from the TF_CONFIG environment variable, which is "
            'not set. Example: TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
            '"task": {"type": "worker", "index": 0}}\''
        )
    return KerasMultiWorkerMirroredStrategy()


def refuse_multi_worker(task: str, strategy: str | tf.distribute.Strategy) -> None:
    """Refuses multi-worker training for a task whose training does not handle workers, before anything is
    written (every worker would otherwise write the same run folder and export)."""
    if strategy == "multi_worker" or isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        raise ValueError(
            f"Received an invalid value for argument `strategy`: 'multi_worker' is not supported for {task} "
            f"training. Accepted values for {task}: 'default', 'mirrored'."
        )


class KerasMultiWorkerMirroredStrategy(tf.distribute.MultiWorkerMirroredStrategy):
    """`MultiWorkerMirroredStrategy` answering the two `reduce` calls Keras 3's `fit` gets wrong.

    Keras 3.15's TensorFlow trainer (tensorflow/tensorflow#72388) calls, under this strategy,
    1. `reduce("MEAN", (x, y))` on a whole input batch only to learn its shapes for a symbolic build,
       which fails on the tuple, and could not average id batches of different lengths anyway;
    2. `reduce("MEAN", loss, axis=0)` on every scalar it logs, which fails for a scalar.
    Here (1) returns this worker's own batch and (2) averages across workers (`axis=None`), which is
    what Keras means. Gradients are not reduced through this method, so training is unchanged.
    """

    def reduce(self, reduce_op, value, axis=None):
        if isinstance(value, (tuple, list, dict)):
            return tf.nest.map_structure(lambda v: self.experimental_local_results(v)[0], value)
        if axis == 0 and self.experimental_local_results(value)[0].shape.rank == 0:
            axis = None
        return super().reduce(reduce_op, value, axis=axis)


def worker_index(strategy: tf.distribute.Strategy) -> tuple[int, int]:
    """(this worker's index, number of workers); (0, 1) outside multi-worker training."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return 0, 1
    workers = len(resolver.cluster_spec().as_dict().get("worker", []))
    return int(resolver.task_id or 0), max(workers, 1)


# --- Data --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class PreparedData:
    """Batched `(ids, label)` datasets ready for `fit`, with the figures benchmarks report."""

    train: tf.data.Dataset
    validation: tf.data.Dataset
    class_names: list[str]
    preprocessor: TextPreprocessor
    train_examples: int
    train_tokens: int
    train_batches: int
    validation_batches: int
    # Builds `train` again with its shuffle at the first epoch's order: `train` reshuffles on every pass,
    # so runs that share it (search trials) would otherwise each see a different order.
    fresh_train: Callable[[], tf.data.Dataset]


def texts_to_ids(dataset: tf.data.Dataset, preprocessor: TextPreprocessor) -> tf.data.Dataset:
    """`(text, target)` → `(ids, target)` with 1-D ids of length >= 1 (an empty text gives `[0]`)."""

    def vectorize(texts, targets):
        return preprocessor(texts), targets

    def at_least_one_step(ids, target):
        return tf.pad(ids, [[0, tf.maximum(1 - tf.size(ids), 0)]]), target

    return (
        dataset.batch(1024)
        .map(vectorize, num_parallel_calls=tf.data.AUTOTUNE)
        .unbatch()
        .map(at_least_one_step, num_parallel_calls=tf.data.AUTOTUNE)
    )


def _lengths(ids_dataset: tf.data.Dataset) -> np.ndarray:
    lengths = ids_dataset.map(lambda ids, _: tf.size(ids)).batch(8192)
    return np.concatenate([batch.numpy() for batch in lengths] or [np.zeros(0, np.int32)])


def shuffled_batches(
    ids: tf.data.Dataset,
    count: int,
    batches: int,
    bucket: Callable[[tf.data.Dataset], tf.data.Dataset],
    shuffle_seed: int | None = None,
) -> Callable[[], tf.data.Dataset]:
    """A function that builds the batches of the `count` cached `ids`: shuffled from `shuffle_seed` (a new
    order on every pass, starting from the same first order each time the function is called; none when
    the seed is None), grouped by `bucket`, with the exact cardinality `batches`, prefetched."""

    def make() -> tf.data.Dataset:
        shuffled = ids
        if shuffle_seed is not None:
            shuffled = ids.shuffle(min(count, 200_000), seed=shuffle_seed, reshuffle_each_iteration=True)
        return bucket(shuffled).apply(tf.data.experimental.assert_cardinality(batches)).prefetch(tf.data.AUTOTUNE)

    return make


def _bucketed(ids_dataset, lengths, batch_size, max_length, shuffle_seed=None):
    """Buckets cached ids; the batch count is exact (a bucket's size does not depend on order). Also
    returns a function that builds the same batches again with the shuffle back at its first epoch."""
    longest = max_length or int(lengths.max(initial=1))
    boundaries = length_boundaries(longest)
    bucket_sizes = np.bincount(np.searchsorted(boundaries, lengths, side="right"), minlength=len(boundaries) + 1)
    batches = int(sum(math.ceil(n / batch_size) for n in bucket_sizes))
    make = shuffled_batches(ids_dataset, len(lengths), batches,
                            lambda ids: bucket_by_length(ids, batch_size, longest, boundaries=boundaries), shuffle_seed)
    return make(), batches, make


def prepare_sentiment_data(config: SentimentConfig, preprocessor: TextPreprocessor | None = None) -> PreparedData:
    """Loads the corpus, adapts the vocabulary on train only (unless given) and batches both splits."""
    data = load_text_classification(
        config.corpus,
        split=config.train_split,
        validation_corpus=config.validation_corpus,
        validation_fraction=config.validation_fraction,
        seed=config.seed,
        class_names=config.class_names,
        text_column=config.text_column,
        label_column=config.label_column,
        data_dir=config.data_dir,
        download_and_prepare_kwargs=tfds_prepare_kwargs(config.download_and_prepare_kwargs, config.manual_dir),
    )
    if preprocessor is None:
        preprocessor = TextPreprocessor(config.max_tokens, config.max_length, config.truncating)
        preprocessor.adapt(data.train.map(lambda text, label: text))
    train_ids = texts_to_ids(data.train, preprocessor).cache()
    validation_ids = texts_to_ids(data.validation, preprocessor).cache()
    train_lengths, validation_lengths = _lengths(train_ids), _lengths(validation_ids)
    if len(train_lengths) == 0 or len(validation_lengths) == 0:
        raise ValueError(
            f"Corpus {config.corpus!r} gave {len(train_lengths)} training and {len(validation_lengths)} "
            "validation examples; both must be non-empty."
        )
    train, train_batches, fresh_train = _bucketed(train_ids, train_lengths, config.batch_size, config.max_length,
                                                  config.seed)
    validation, validation_batches, _ = _bucketed(validation_ids, validation_lengths, config.batch_size,
                                                  config.max_length)
    return PreparedData(
        train=train,
        validation=validation,
        class_names=data.class_names,
        preprocessor=preprocessor,
        train_examples=len(train_lengths),
        train_tokens=int(np.sum(np.minimum(train_lengths, config.max_length or np.inf))),
        train_batches=train_batches,
        validation_batches=validation_batches,
        fresh_train=fresh_train,
    )


def sentiment_preprocessor_from_run(config: SentimentConfig, run_dir: str) -> TextPreprocessor:
    """The preprocessor of a run, from its saved vocabulary file."""
    return TextPreprocessor.from_vocabulary_file(
        os.path.join(run_dir, RUN_FILES["vocabulary"]), max_tokens=config.max_tokens, max_length=config.max_length,
        truncating=config.truncating,
    )


def prepare_sentiment_run_data(config: SentimentConfig, run_dir: str) -> PreparedData:
    """`prepare_sentiment_data` for a run folder: the vocabulary saved there is reused (a resumed run's
    ids must mean what they meant before), else adapted and saved."""
    vocabulary_path = os.path.join(run_dir, RUN_FILES["vocabulary"])
    preprocessor = sentiment_preprocessor_from_run(config, run_dir) if os.path.exists(vocabulary_path) else None
    data = prepare_sentiment_data(config, preprocessor)
    if preprocessor is None:
        data.preprocessor.save_vocabulary(vocabulary_path)
    return data


# --- Model -------------------------------------------------------------------------------------------


def learning_rate_schedule(learning_rate: float, schedule: str, total_steps: int | None):
    """`learning_rate` as is (`"constant"`), or decaying linearly to 0 over `total_steps` (`"linear_decay"`)."""
    validate_choice("lr_schedule", schedule, LR_SCHEDULES)
    if schedule == "linear_decay":
        return keras.optimizers.schedules.PolynomialDecay(learning_rate, total_steps, 0.0, power=1.0)
    return learning_rate


def compile_classifier(
    model: keras.Model,
    num_classes: int,
    learning_rate: float,
    clipnorm: float | None,
    lr_schedule: str = "constant",
    total_steps: int | None = None,
):
    """Adam with optional gradient clipping; binary or sparse categorical cross-entropy by class count.

    `lr_schedule="linear_decay"` lowers the learning rate linearly to 0 over `total_steps`.
    """
    learning_rate = learning_rate_schedule(learning_rate, lr_schedule, total_steps)
    if num_classes == 2:
        loss, accuracy = keras.losses.BinaryCrossentropy(), keras.metrics.BinaryAccuracy(name="accuracy")
    else:
        loss, accuracy = keras.losses.SparseCategoricalCrossentropy(), keras.metrics.SparseCategoricalAccuracy(name="accuracy")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=clipnorm), loss=loss, metrics=[accuracy])
    return model


def build_compiled_sentiment_model(config: SentimentConfig, data: PreparedData,
                                   steps_per_epoch: int | None = None) -> keras.Model:
    """The configuration's classifier over the prepared vocabulary and classes, compiled with its
    optimizer and schedule (`config.epochs` epochs of `steps_per_epoch`, default every batch)."""
    model = build_sentiment_model(
        data.preprocessor.vocabulary_size, num_classes=len(data.class_names), **config.model_kwargs()
    )
    return compile_classifier(model, len(data.class_names), config.learning_rate, config.clipnorm,
                              config.lr_schedule, total_steps=config.epochs * (steps_per_epoch or data.train_batches))


# --- Fit with resume ---------------------------------------------------------------------------------


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
) -> dict[str, list[float]]:
    """Fits with EarlyStopping, TensorBoard, a CSV history, the best epoch's weights and resume.

    Run again with the same `run_dir` after a kill, it continues after the last completed epoch
    (`keras.callbacks.BackupAndRestore`) as the uninterrupted run would have: the best-weights
    checkpoint remembers the best score of the epochs before the kill (resuming never replaces a better
    epoch by a worse one) and early stopping the epochs since it (`ResumableEarlyStopping`). The model
    ends with the best epoch's weights. `callbacks` run after the run's own, the backup included.

    Returns:
        The history of this call's epochs (all epochs are in `run_dir/history.csv`).
    """
    paths = {key: os.path.join(run_dir, name) for key, name in RUN_FILES.items()}
    backup = AtomicBackupAndRestore(os.path.join(run_dir, "backup"))
    _drop_unsaved_epochs(paths["history"], backup)
    callbacks = [
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


# --- The sentiment task ------------------------------------------------------------------------------


@dataclasses.dataclass
class TrainResult:
    model: keras.Model
    preprocessor: TextPreprocessor
    class_names: list[str]
    config: SentimentConfig
    metrics: dict
    run_dir: str


def open_run_dir(run_dir: str, config, overwrite: bool) -> None:
    """`check_run_dir`, then creates the folder, writes the configuration there and seeds every random
    generator from it: how each task's training starts."""
    check_run_dir(run_dir, config, overwrite)
    os.makedirs(run_dir, exist_ok=True)
    config.save(os.path.join(run_dir, RUN_FILES["config"]))
    keras.utils.set_random_seed(config.seed)


def check_run_dir(run_dir: str, config, overwrite: bool) -> None:
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
        changed = changed_fields(run_dir, config)
        if changed:
            raise ValueError(
                f"Run directory {run_dir!r} holds an unfinished run with a different configuration "
                f"(changed: {changed}); resume with the same settings, choose another --run-dir, or "
                "pass --overwrite."
            )
        previous = type(config).load(config_path)
        if config.epochs != previous.epochs and config.lr_schedule != "constant":
            # The schedule's length is epochs × steps: another epoch count would rescale it mid-run.
            raise ValueError(
                f"Run directory {run_dir!r} holds an unfinished run; resuming it with epochs {previous.epochs} → "
                f"{config.epochs} would stretch its {config.lr_schedule} learning-rate schedule mid-run. Resume "
                f"with --epochs {previous.epochs}, or pass --overwrite to train again."
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


def changed_fields(run_dir: str, config) -> list[str]:
    """The configuration fields that differ from the run saved in `run_dir` (`RESUMABLE_CHANGES` aside)."""
    previous = dataclasses.asdict(type(config).load(os.path.join(run_dir, RUN_FILES["config"])))
    current = dataclasses.asdict(config)
    return sorted(k for k in current if current[k] != previous.get(k) and k not in RESUMABLE_CHANGES)


def is_finished_run(run_dir: str) -> bool:
    """True when `run_dir` holds a run that trained to the end (its figures are written last)."""
    return os.path.exists(os.path.join(run_dir, RUN_FILES["metrics"]))


def train_sentiment(
    config: SentimentConfig,
    run_dir: str,
    *,
    overwrite: bool = False,
    strategy: str | tf.distribute.Strategy = "default",
    verbose: str | int = "auto",
) -> TrainResult:
    """Trains a sentiment classifier end to end in `run_dir`, resuming a killed run found there.

    Writes `config.json`, `vocabulary.txt`, `history.csv`, TensorBoard `logs/`, `best.weights.h5`,
    `model.keras` (best epoch) and `metrics.json` (validation figures and wall time).
    """
    if isinstance(strategy, str):
        strategy = get_strategy(strategy)
    index, workers = worker_index(strategy)
    if index > 0:
        # Non-chief workers keep their own files so that workers never write the same path.
        run_dir = os.path.join(run_dir, "workers", str(index))
    open_run_dir(run_dir, config, overwrite)
    started = time.perf_counter()

    data = prepare_sentiment_run_data(config, run_dir)

    steps_per_epoch = validation_steps = None
    train, validation = data.train, data.validation
    if workers > 1:
        # Every worker must run the same number of steps or the collectives wait forever.
        steps_per_epoch = max(data.train_batches // workers, 1)
        validation_steps = max(data.validation_batches // workers, 1)
        train, validation = train.repeat(), validation.repeat()

    with strategy.scope():
        model = build_compiled_sentiment_model(config, data, steps_per_epoch)
    fit_started = time.perf_counter()
    history = fit_resumable(
        model, train, validation, run_dir, epochs=config.epochs, patience=config.patience,
        steps_per_epoch=steps_per_epoch, validation_steps=validation_steps, verbose=verbose,
    )
    fit_time = time.perf_counter() - fit_started
    scores = model.evaluate(validation, steps=validation_steps, verbose=0, return_dict=True)
    metrics = {
        "val_accuracy": float(scores["accuracy"]),
        "val_loss": float(scores["loss"]),
        "epochs_this_call": len(history.get("loss", [])),
        "train_examples": data.train_examples,
        "train_tokens_per_epoch": data.train_tokens,
        "train_padding_fraction": round(padding_fraction(data.train), 4),
        "fit_time_s": round(fit_time, 1),
        "wall_time_s": round(time.perf_counter() - started, 1),
    }
    model.save(os.path.join(run_dir, RUN_FILES["model"]))
    write_text_atomic(os.path.join(run_dir, RUN_FILES["class_names"]), json.dumps(data.class_names) + "\n")
    write_text_atomic(os.path.join(run_dir, RUN_FILES["metrics"]), json.dumps(metrics, indent=2) + "\n")
    return TrainResult(model, data.preprocessor, data.class_names, config, metrics, run_dir)


def load_finished_sentiment(config: SentimentConfig, run_dir: str) -> TrainResult:
    """A finished run's best model, preprocessor, class names and figures, read back from `run_dir`
    (to export it again without training; `check_finished_run` first)."""
    paths = {key: os.path.join(run_dir, name) for key, name in RUN_FILES.items()}
    if not os.path.exists(paths["class_names"]):
        raise FileNotFoundError(f"Run directory {run_dir!r} has no {RUN_FILES['class_names']} (it was trained "
                                "before runs kept their class names); pass --overwrite to train it again.")
    with open(paths["class_names"], encoding="utf-8") as f:
        class_names = json.load(f)
    with open(paths["metrics"], encoding="utf-8") as f:
        metrics = json.load(f)
    model = keras.saving.load_model(paths["model"])
    return TrainResult(model, sentiment_preprocessor_from_run(config, run_dir), class_names, config, metrics, run_dir)
