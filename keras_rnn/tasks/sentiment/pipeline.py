"""The sentiment task's pipeline: corpus → bucketed id batches (`prepare`), the compiled classifier
(`build`), and a finished run read back; `keras_rnn.core.train` runs it."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import warnings
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from keras_rnn.core.fit import learning_rate_schedule
from keras_rnn.core.pretrained import PretrainedEncoder, read_pretrained_encoder
from keras_rnn.core.runs import RUN_FILES
from keras_rnn.data.batching import bucket_by_length, length_boundaries, padding_fraction, shuffled_batches
from keras_rnn.data.corpora import load_text_classification
from keras_rnn.data.text import TextPreprocessor
from keras_rnn.files import write_text_atomic
from keras_rnn.models.classifier import build_sentiment_model
from keras_rnn.optimizers import LayerwiseAdam
from keras_rnn.tasks.sentiment.config import SentimentConfig

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

    def figures(self) -> dict:
        return {"train_examples": self.train_examples, "train_tokens_per_epoch": self.train_tokens,
                "train_padding_fraction": round(padding_fraction(self.train), 4)}


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
    """Loads the corpus, adapts the vocabulary on train only (unless given, or a pretrained encoder's)
    and batches both splits."""
    source, text, optimization = config.data, config.text, config.optimization
    data = load_text_classification(
        source.corpus,
        split=source.train_split,
        validation_corpus=source.validation_corpus,
        validation_fraction=source.validation_fraction,
        validation_split=source.validation_split,
        seed=optimization.seed,
        class_names=source.class_names,
        text_column=source.text_column,
        label_column=source.label_column,
        data_dir=source.data_dir,
        download_and_prepare_kwargs=source.download_kwargs(),
    )
    if preprocessor is None:
        preprocessor = make_preprocessor(config)
        if config.network.pretrained_encoder is None:  # else it holds the encoder's vocabulary already
            preprocessor.adapt(data.train.map(lambda text, label: text))
    train_ids = texts_to_ids(data.train, preprocessor).cache()
    validation_ids = texts_to_ids(data.validation, preprocessor).cache()
    train_lengths, validation_lengths = _lengths(train_ids), _lengths(validation_ids)
    if len(train_lengths) == 0 or len(validation_lengths) == 0:
        raise ValueError(
            f"Corpus {source.corpus!r} gave {len(train_lengths)} training and {len(validation_lengths)} "
            "validation examples; both must be non-empty."
        )
    train, train_batches, fresh_train = _bucketed(train_ids, train_lengths, optimization.batch_size,
                                                  text.max_length, optimization.seed)
    validation, validation_batches, _ = _bucketed(validation_ids, validation_lengths, optimization.batch_size,
                                                  text.max_length)
    return PreparedData(
        train=train,
        validation=validation,
        class_names=data.class_names,
        preprocessor=preprocessor,
        train_examples=len(train_lengths),
        train_tokens=int(np.sum(np.minimum(train_lengths, text.max_length or np.inf))),
        train_batches=train_batches,
        validation_batches=validation_batches,
        fresh_train=fresh_train,
    )


def make_preprocessor(config: SentimentConfig, vocabulary_file: str | None = None) -> TextPreprocessor:
    """The text → ids layer of training, export and serving: the configuration's vocabulary size, cut and
    standardization; its vocabulary from `vocabulary_file` (a run's saved one) when given, else the
    pretrained encoder's, else none yet (`adapt` it)."""
    encoder = None
    if vocabulary_file is None and config.network.pretrained_encoder is not None:
        encoder = read_pretrained_encoder(config.network.pretrained_encoder)  # read once: settings and words
        config = _with_encoder(config, encoder)
    text = config.text
    settings = dict(max_tokens=text.max_tokens, max_length=text.max_length, truncating=text.truncating,
                    standardization=text.standardization)
    if vocabulary_file is not None:
        return TextPreprocessor.from_vocabulary_file(vocabulary_file, **settings)
    return TextPreprocessor(vocabulary=None if encoder is None else encoder.vocabulary, **settings)


def sentiment_preprocessor_from_run(config: SentimentConfig, run_dir: str) -> TextPreprocessor:
    """The preprocessor of a run, from its saved vocabulary file."""
    return make_preprocessor(config, os.path.join(run_dir, SENTIMENT_RUN_FILES["vocabulary"]))


def prepare_sentiment_run_data(config: SentimentConfig, run_dir: str) -> PreparedData:
    """`prepare_sentiment_data` for a run folder: the vocabulary saved there is reused (a resumed run's
    ids must mean what they meant before), else the pretrained encoder's or one adapted, and saved."""
    vocabulary_path = os.path.join(run_dir, SENTIMENT_RUN_FILES["vocabulary"])
    if os.path.exists(vocabulary_path):
        preprocessor = sentiment_preprocessor_from_run(config, run_dir)
    elif config.network.pretrained_encoder is not None:
        preprocessor = make_preprocessor(config)
    else:
        preprocessor = None
    data = prepare_sentiment_data(config, preprocessor)
    if not os.path.exists(vocabulary_path):
        data.preprocessor.save_vocabulary(vocabulary_path)
    write_text_atomic(os.path.join(run_dir, SENTIMENT_RUN_FILES["class_names"]), json.dumps(data.class_names) + "\n")
    return data


# --- Model -------------------------------------------------------------------------------------------


def compile_classifier(
    model: keras.Model,
    num_classes: int,
    learning_rate: float,
    clipnorm: float | None,
    lr_schedule: str = "constant",
    total_steps: int | None = None,
    *,
    layer_groups: list[list[str]] | None = None,
    discriminative_decay: float = 1.0,
    unfreeze_every: int | None = None,
):
    """Adam with optional gradient clipping; binary or sparse categorical cross-entropy by class count.

    `lr_schedule` as `keras_rnn.core.fit.learning_rate_schedule` over `total_steps`. With `layer_groups`
    (bottom first), `LayerwiseAdam`: each group `discriminative_decay` times slower than the one above,
    the head fastest, and with `unfreeze_every` one group unfrozen every that many steps, from the top.
    """
    learning_rate = learning_rate_schedule(learning_rate, lr_schedule, total_steps)
    if num_classes == 2:
        loss, accuracy = keras.losses.BinaryCrossentropy(), keras.metrics.BinaryAccuracy(name="accuracy")
    else:
        loss, accuracy = keras.losses.SparseCategoricalCrossentropy(), keras.metrics.SparseCategoricalAccuracy(name="accuracy")
    if layer_groups and (discriminative_decay != 1.0 or unfreeze_every):
        optimizer = LayerwiseAdam(learning_rate, layer_groups=layer_groups, decay=discriminative_decay,
                                  unfreeze_every=unfreeze_every, clipnorm=clipnorm)
    else:
        optimizer = keras.optimizers.Adam(learning_rate, clipnorm=clipnorm)
    model.compile(optimizer=optimizer, loss=loss, metrics=[accuracy])
    return model


def _recurrent_layers(model: keras.Model) -> list[keras.layers.Layer]:
    return [layer for layer in model.layers if isinstance(layer, (keras.layers.RNN, keras.layers.Bidirectional))]


def encoder_layer_groups(model: keras.Model) -> list[list[str]]:
    """The classifier's layer groups for discriminative fine-tuning, bottom first: the embedding, then each
    recurrent layer (the pooling, dropout, n-gram bag and output are the head)."""
    return [[model.get_layer("embedding").name]] + [[layer.name] for layer in _recurrent_layers(model)]


def load_pretrained_encoder(model: keras.Model, encoder: PretrainedEncoder) -> None:
    """Copies the language model's embedding and RNN weights into the classifier's.

    Raises:
        ValueError: the classifier was built with another vocabulary size or RNN stack.
    """
    embedding = model.get_layer("embedding")
    rnns = _recurrent_layers(model)
    embedding_weights, rnn_weights = encoder.weights()
    mine = [w.shape for w in embedding.get_weights()], [[w.shape for w in rnn.get_weights()] for rnn in rnns]
    theirs = [w.shape for w in embedding_weights], [[w.shape for w in weights] for weights in rnn_weights]
    if mine != theirs:
        raise ValueError(
            f"The classifier's embedding and RNN weights {mine} do not match the pretrained encoder's {theirs} "
            f"({encoder.run_dir!r}: {encoder.num_layers} one-way {encoder.cell} layer(s) of {encoder.units} units, "
            f"{encoder.embedding_dim}-d embeddings, {encoder.vocabulary_size} ids); build it with those (a "
            "configuration resolved by `resolve_pretrained_encoder` is).")
    embedding.set_weights(embedding_weights)
    for rnn, weights in zip(rnns, rnn_weights):
        rnn.set_weights(weights)


def resolve_pretrained_encoder(config: SentimentConfig) -> SentimentConfig:
    """`config` with the pretrained encoder's vocabulary size, standardization and RNN stack (one way)
    in place of its own, and the encoder's folder as an absolute path; unchanged without one."""
    if config.network.pretrained_encoder is None:
        return config
    return _with_encoder(config, read_pretrained_encoder(config.network.pretrained_encoder))


def _with_encoder(config: SentimentConfig, encoder: PretrainedEncoder) -> SentimentConfig:
    resolved = config.replace(pretrained_encoder=encoder.run_dir, max_tokens=encoder.vocabulary_size,
                              standardization=encoder.standardization, cell=encoder.cell, units=encoder.units,
                              num_layers=encoder.num_layers, embedding_dim=encoder.embedding_dim, bidirectional=False)
    given, defaults, final = config.flat(), SentimentConfig().flat(), resolved.flat()
    replaced = {name: given[name] for name in config.determined_fields()
                if given[name] != defaults[name] and given[name] != final[name]}
    if replaced:  # values somebody set, which the encoder overrides
        warnings.warn(f"The pretrained encoder {encoder.run_dir!r} sets {', '.join(f'{n}={final[n]!r}' for n in replaced)}; "
                      f"the values given ({', '.join(f'{n}={v!r}' for n, v in replaced.items())}) are not used.",
                      stacklevel=3)
    return resolved


def build_compiled_sentiment_model(config: SentimentConfig, data: PreparedData,
                                   steps_per_epoch: int | None = None) -> keras.Model:
    """The configuration's classifier over the prepared vocabulary and classes (its encoder initialised
    from the pretrained one, if any), compiled with its optimizer and schedule (`epochs` epochs of
    `steps_per_epoch`, default every batch)."""
    network = {k: v for k, v in dataclasses.asdict(config.network).items() if k != "pretrained_encoder"}
    model = build_sentiment_model(data.preprocessor.vocabulary_size, num_classes=len(data.class_names), **network)
    if config.network.pretrained_encoder is not None:
        load_pretrained_encoder(model, read_pretrained_encoder(config.network.pretrained_encoder))
    optimization = config.optimization
    steps = steps_per_epoch or data.train_batches
    groups = encoder_layer_groups(model)
    if optimization.gradual_unfreezing and optimization.epochs <= len(groups):
        warnings.warn(f"gradual_unfreezing with epochs={optimization.epochs}: the lowest of the {len(groups)} layer "
                      f"groups below the head ({groups[0][0]}) unfreezes only in epoch {len(groups) + 1}; "
                      f"train at least {len(groups) + 1} epochs for every layer to learn.", stacklevel=2)
    return compile_classifier(model, len(data.class_names), optimization.learning_rate, optimization.clipnorm,
                              optimization.lr_schedule, total_steps=optimization.epochs * steps,
                              layer_groups=groups,
                              discriminative_decay=optimization.discriminative_decay,
                              unfreeze_every=steps if optimization.gradual_unfreezing else None)


# --- Results ------------------------------------------------------------------------------------------


@dataclasses.dataclass
class TrainResult:
    model: keras.Model
    preprocessor: TextPreprocessor
    class_names: list[str]
    config: SentimentConfig
    metrics: dict
    run_dir: str


def make_result(model, config: SentimentConfig, data: PreparedData, metrics: dict, run_dir: str,
                outputs: dict) -> TrainResult:
    return TrainResult(model, data.preprocessor, data.class_names, config, metrics, run_dir)


def load_finished_sentiment(config: SentimentConfig, run_dir: str) -> TrainResult:
    """A finished run's best model, preprocessor, class names and figures, read back from `run_dir`
    (to export it again without training; `keras_rnn.core.runs.changed_fields` first)."""
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
