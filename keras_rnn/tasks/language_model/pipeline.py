"""The language-model task's pipeline: corpus → one token stream → BPTT windows (`prepare`), the compiled
network (`build`), exact validation scores (`score`) and a finished run read back.

Training windows: the stream cut into non-overlapping windows of `sequence_length` inputs, each with the
next `sequence_length` tokens as targets; stateless training shuffles the windows every epoch (each
starts from zero states). Stateful training (`stateful=True`) splits the stream into `batch_size`
contiguous lanes instead and feeds window `j` of every lane as batch `j`, in order, so that each row's
final states are the right initial states of the same row in the next batch (truncated BPTT over the
whole stream); states are reset at every epoch and before every validation pass.

Validation is laid out in lanes too (padded at the end, padding not scored), so the per-epoch
`val_loss` / `val_perplexity` count every validation token once; `score` then computes the reported
figures with states carried across windows (`generation.evaluate_stream`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from keras_rnn.core.fit import learning_rate_schedule
from keras_rnn.core.pretrained import LANGUAGE_MODEL_VOCABULARY
from keras_rnn.core.runs import RUN_FILES
from keras_rnn.losses import MaskedMean, MaskedSequenceCrossentropy
from keras_rnn.metrics import MaskedPerplexity, MaskedTokenAccuracy
from keras_rnn.models.language_model import (
    RecurrentLanguageModel, build_language_model, language_model_layer, stateless_copy,
)
from keras_rnn.tasks.language_model.config import LanguageModelConfig
from keras_rnn.tasks.language_model.data import load_documents
from keras_rnn.tasks.language_model.generation import evaluate_stream, lanes
from keras_rnn.tasks.language_model.preprocessor import LanguageModelPreprocessor, token_stream

LANGUAGE_MODEL_RUN_FILES = {**RUN_FILES, "vocabulary": LANGUAGE_MODEL_VOCABULARY}
EVALUATION_WINDOW = 256  # tokens per step of the exact evaluation (states carry across steps)


class ResetStates(keras.callbacks.Callback):
    """Zeroes a stateful model's carried states at every epoch and before every evaluation pass."""

    def _reset(self):
        for layer in self.model.layers:
            if isinstance(layer, RecurrentLanguageModel):
                layer.reset_state()

    def on_epoch_begin(self, epoch, logs=None):
        self._reset()

    def on_test_begin(self, logs=None):
        self._reset()


@dataclasses.dataclass
class PreparedLanguageModelData:
    """Window batches for `fit`, the two streams, the preprocessor, and the figures benchmarks report."""

    train: tf.data.Dataset
    validation: tf.data.Dataset
    train_batches: int
    validation_batches: int
    fresh_train: Callable[[], tf.data.Dataset]
    preprocessor: LanguageModelPreprocessor
    train_stream: np.ndarray
    validation_stream: np.ndarray
    validation_source: str
    train_documents: int
    callbacks: tuple = ()

    def figures(self) -> dict:
        return {"train_documents": self.train_documents, "train_tokens": int(len(self.train_stream)),
                "validation_tokens": int(len(self.validation_stream)) - 1, "vocabulary_size":
                self.preprocessor.vocabulary_size, "validation_source": self.validation_source}


def make_preprocessor(config: LanguageModelConfig, vocabulary_file: str | None = None) -> LanguageModelPreprocessor:
    """The text → ids layer of training, export and serving (unadapted unless a saved vocabulary is given)."""
    text = config.text
    options = dict(granularity=text.granularity, max_tokens=text.max_tokens, lowercase=text.lowercase)
    if vocabulary_file is not None:
        return LanguageModelPreprocessor.from_vocabulary_file(vocabulary_file, **options)
    return LanguageModelPreprocessor(**options)


def preprocessor_from_run(config: LanguageModelConfig, run_dir: str) -> LanguageModelPreprocessor:
    return make_preprocessor(config, os.path.join(run_dir, LANGUAGE_MODEL_RUN_FILES["vocabulary"]))


def stream_windows(stream: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Non-overlapping `(windows, length)` inputs and their next-token targets (a tail shorter than a
    window is dropped from training).

    Example:
    >>> x, y = stream_windows(np.arange(1, 8), 3)
    >>> x.tolist(), y.tolist()
    ([[1, 2, 3], [4, 5, 6]], [[2, 3, 4], [5, 6, 7]])
    """
    count = (len(stream) - 1) // length
    if count < 1:
        raise ValueError(f"The training stream has {len(stream)} tokens: fewer than one window of "
                         f"sequence_length={length} plus its next token. Use a larger corpus or a shorter "
                         "--sequence-length.")
    return stream[: count * length].reshape(count, length), stream[1: count * length + 1].reshape(count, length)


def lane_batches(inputs: np.ndarray, targets: np.ndarray, length: int, batch_size: int | None = None) -> np.ndarray:
    """`(lanes, T)` inputs and targets → `(steps, 2, lanes, length)` consecutive windows of every lane
    (padded with 0 to whole windows, and to `batch_size` lanes when given: a stateful model's static batch)."""
    rows, width = inputs.shape
    steps = math.ceil(width / length)
    rows_out = max(rows, batch_size or 0)
    both = np.zeros((2, rows_out, steps * length), inputs.dtype)
    both[0, :rows, :width], both[1, :rows, :width] = inputs, targets
    return both.reshape(2, rows_out, steps, length).transpose(2, 0, 1, 3)


def _pairs(batches: np.ndarray, with_targets: bool = False) -> tf.data.Dataset:
    return tf.data.Dataset.from_tensor_slices(batches).map(lambda b: _inputs(b[0], b[1], with_targets))


def _inputs(ids, targets, with_targets: bool):
    """`(ids, targets)`, or for a sampled-softmax model, whose network takes the targets too,
    `({"ids", "targets"}, targets)`."""
    return ({"ids": ids, "targets": targets}, targets) if with_targets else (ids, targets)


def prepare_language_model_data(config: LanguageModelConfig, preprocessor: LanguageModelPreprocessor | None = None
                                ) -> PreparedLanguageModelData:
    """Reads the corpus, adapts (or reuses) the vocabulary on training text only, and lays out the batches."""
    source, text, optimization = config.data, config.text, config.optimization
    documents = load_documents(
        source.corpus, split=source.train_split, validation_corpus=source.validation_corpus,
        validation_fraction=source.validation_fraction, validation_split=source.validation_split,
        seed=optimization.seed, document_unit=source.document_unit, text_feature=source.text_feature,
        data_dir=source.data_dir, download_and_prepare_kwargs=source.download_kwargs(),
    )
    if preprocessor is None:
        preprocessor = make_preprocessor(config)
        preprocessor.adapt(documents.train)
    train_stream = token_stream(preprocessor, documents.train)
    validation_stream = token_stream(preprocessor, documents.validation)
    batch, length = optimization.batch_size, text.sequence_length
    sampled = bool(config.network.sampled_softmax)
    if config.network.stateful:
        lane_length = (len(train_stream) - 1) // batch // length * length
        if lane_length < 1:
            raise ValueError(f"The training stream has {len(train_stream)} tokens: too few for {batch} lanes of at "
                             f"least one window of {length}; use a smaller --batch-size or --sequence-length.")
        used = batch * lane_length
        train_lanes = (train_stream[:used].reshape(batch, lane_length),
                       train_stream[1:used + 1].reshape(batch, lane_length))
        train_array = lane_batches(*train_lanes, length)

        def make_train() -> tf.data.Dataset:
            return _pairs(train_array, sampled).prefetch(tf.data.AUTOTUNE)

        train_batches = train_array.shape[0]
    else:
        inputs, targets = stream_windows(train_stream, length)
        windows = np.stack([inputs, targets], axis=1)
        train_batches = math.ceil(len(windows) / batch)

        def make_train() -> tf.data.Dataset:
            return (tf.data.Dataset.from_tensor_slices(windows)
                    .shuffle(len(windows), seed=optimization.seed, reshuffle_each_iteration=True)
                    .batch(batch).map(lambda b: _inputs(b[:, 0], b[:, 1], sampled)).prefetch(tf.data.AUTOTUNE))

    validation_array = lane_batches(*lanes(validation_stream, batch), length,
                                    batch_size=batch if config.network.stateful else None)
    return PreparedLanguageModelData(
        train=make_train(), validation=_pairs(validation_array, sampled).cache(), train_batches=train_batches,
        validation_batches=validation_array.shape[0], fresh_train=make_train, preprocessor=preprocessor,
        train_stream=train_stream, validation_stream=validation_stream,
        validation_source=documents.validation_source, train_documents=len(documents.train),
        callbacks=(ResetStates(),) if config.network.stateful else (),
    )


def prepare_language_model_run_data(config: LanguageModelConfig, run_dir: str) -> PreparedLanguageModelData:
    """`prepare_language_model_data` for a run folder: its saved vocabulary is reused, else adapted and saved."""
    path = os.path.join(run_dir, LANGUAGE_MODEL_RUN_FILES["vocabulary"])
    preprocessor = preprocessor_from_run(config, run_dir) if os.path.exists(path) else None
    data = prepare_language_model_data(config, preprocessor)
    if preprocessor is None:
        data.preprocessor.save_vocabulary(path)
    return data


def compile_language_model(model: keras.Model, config: LanguageModelConfig, total_steps: int) -> keras.Model:
    """Adam (clipped, optionally decayed) on the masked next-token cross-entropy, with perplexity and
    top-1 / top-3 next-token accuracy (with `sampled_softmax`: the loss the model computes and its
    perplexity, sampled in training and exact in validation)."""
    optimization = config.optimization
    learning_rate = learning_rate_schedule(optimization.learning_rate, optimization.lr_schedule, total_steps)
    optimizer = keras.optimizers.Adam(learning_rate, clipnorm=optimization.clipnorm)
    if config.network.sampled_softmax:
        # The model outputs each position's loss (sampled in training, exact in validation): perplexity
        # from it, no logits for top-k accuracy. No XLA: the candidate sampler has no XLA kernel.
        model.compile(optimizer=optimizer, loss=MaskedMean(), metrics=[MaskedPerplexity(from_losses=True)],
                      jit_compile=False)
        return model
    model.compile(
        optimizer=optimizer,
        loss=MaskedSequenceCrossentropy(),
        metrics=[MaskedPerplexity(), MaskedTokenAccuracy("top_1_accuracy"), MaskedTokenAccuracy("top_3_accuracy", k=3)],
    )
    return model


def build_compiled_language_model(config: LanguageModelConfig, data: PreparedLanguageModelData,
                                  steps_per_epoch: int | None = None) -> keras.Model:
    model = build_language_model(data.preprocessor.vocabulary_size, batch_size=config.optimization.batch_size,
                                 **dataclasses.asdict(config.network))
    return compile_language_model(model, config, config.optimization.epochs * (steps_per_epoch or data.train_batches))


def score_language_model(model: keras.Model, config: LanguageModelConfig, data: PreparedLanguageModelData) -> tuple[dict, dict]:
    """Exact validation figures with states carried across windows: cross-entropy, perplexity, bits per
    token (per character for a character model) and top-1 / top-3 next-token accuracy."""
    figures = evaluate_stream(language_model_layer(model), data.validation_stream,
                              batch_size=config.optimization.batch_size, window=EVALUATION_WINDOW)
    unit = "char" if config.text.granularity == "char" else "word"
    scores = {"val_stream_cross_entropy": figures["cross_entropy"], "val_stream_perplexity": figures["perplexity"],
              f"val_bits_per_{unit}": figures["bits_per_token"],
              "val_stream_top_1_accuracy": figures["top_1_accuracy"],
              "val_stream_top_3_accuracy": figures["top_3_accuracy"], "val_stream_tokens": figures["tokens"]}
    return scores, {}


@dataclasses.dataclass
class LanguageModelResult:
    model: keras.Model
    language_model: RecurrentLanguageModel  # stateless, with the best epoch's weights
    preprocessor: LanguageModelPreprocessor
    config: LanguageModelConfig
    metrics: dict
    run_dir: str


def make_result(model, config, data: PreparedLanguageModelData, metrics, run_dir, outputs) -> LanguageModelResult:
    return LanguageModelResult(model, language_model_layer(model), data.preprocessor, config, metrics, run_dir)


def load_finished_language_model(config: LanguageModelConfig, run_dir: str) -> LanguageModelResult:
    paths = {key: os.path.join(run_dir, name) for key, name in LANGUAGE_MODEL_RUN_FILES.items()}
    with open(paths["metrics"], encoding="utf-8") as f:
        metrics = json.load(f)
    model = keras.saving.load_model(paths["model"])
    return LanguageModelResult(model, language_model_layer(model), preprocessor_from_run(config, run_dir), config,
                               metrics, run_dir)
