"""The sentiment task's training: corpus → bucketed id batches, the classifier, a resumable run, its
figures; over the shared core (`keras_rnn.core`: run folders, resumable fit, strategies)."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from keras_rnn.config import SentimentConfig
from keras_rnn.core.fit import fit_resumable, learning_rate_schedule
from keras_rnn.core.runs import RUN_FILES, open_run_dir
from keras_rnn.core.strategies import get_strategy, worker_index
from keras_rnn.data.batching import bucket_by_length, length_boundaries, padding_fraction, shuffled_batches
from keras_rnn.data.corpora import load_text_classification
from keras_rnn.data.text import TextPreprocessor
from keras_rnn.data.tfds_source import tfds_prepare_kwargs
from keras_rnn.files import write_text_atomic
from keras_rnn.models.classifier import build_sentiment_model

# A sentiment run folder: the core's files, the vocabulary and the class names.
SENTIMENT_RUN_FILES = {**RUN_FILES, "vocabulary": "vocabulary.txt", "class_names": "class_names.json"}


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
        os.path.join(run_dir, SENTIMENT_RUN_FILES["vocabulary"]), max_tokens=config.max_tokens, max_length=config.max_length,
        truncating=config.truncating,
    )


def prepare_sentiment_run_data(config: SentimentConfig, run_dir: str) -> PreparedData:
    """`prepare_sentiment_data` for a run folder: the vocabulary saved there is reused (a resumed run's
    ids must mean what they meant before), else adapted and saved."""
    vocabulary_path = os.path.join(run_dir, SENTIMENT_RUN_FILES["vocabulary"])
    preprocessor = sentiment_preprocessor_from_run(config, run_dir) if os.path.exists(vocabulary_path) else None
    data = prepare_sentiment_data(config, preprocessor)
    if preprocessor is None:
        data.preprocessor.save_vocabulary(vocabulary_path)
    return data


# --- Model -------------------------------------------------------------------------------------------


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


# --- The sentiment task ------------------------------------------------------------------------------


@dataclasses.dataclass
class TrainResult:
    model: keras.Model
    preprocessor: TextPreprocessor
    class_names: list[str]
    config: SentimentConfig
    metrics: dict
    run_dir: str


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
    write_text_atomic(os.path.join(run_dir, SENTIMENT_RUN_FILES["class_names"]), json.dumps(data.class_names) + "\n")
    write_text_atomic(os.path.join(run_dir, RUN_FILES["metrics"]), json.dumps(metrics, indent=2) + "\n")
    return TrainResult(model, data.preprocessor, data.class_names, config, metrics, run_dir)


def load_finished_sentiment(config: SentimentConfig, run_dir: str) -> TrainResult:
    """A finished run's best model, preprocessor, class names and figures, read back from `run_dir`
    (to export it again without training; `check_finished_run` first)."""
    paths = {key: os.path.join(run_dir, name) for key, name in SENTIMENT_RUN_FILES.items()}
    if not os.path.exists(paths["class_names"]):
        raise FileNotFoundError(f"Run directory {run_dir!r} has no {SENTIMENT_RUN_FILES['class_names']} (it was trained "
                                "before runs kept their class names); pass --overwrite to train it again.")
    with open(paths["class_names"], encoding="utf-8") as f:
        class_names = json.load(f)
    with open(paths["metrics"], encoding="utf-8") as f:
        metrics = json.load(f)
    model = keras.saving.load_model(paths["model"])
    return TrainResult(model, sentiment_preprocessor_from_run(config, run_dir), class_names, config, metrics, run_dir)
