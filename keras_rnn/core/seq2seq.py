"""The sequence-to-sequence family the generating tasks (translation, summarization) share: the network
part of their configurations, length-bucketed teacher-forcing batches, compile, the generator over a
trained model with a configuration's decoding settings, batched generation with its decoding rate, and
the text-to-text SavedModel export.

Each task brings its own data (pairs, vocabularies, extended ids) and metrics (BLEU, ROUGE); neither
imports the other, and this module knows neither.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from keras_rnn.core.config import DecodingConfig, OptimizationConfig, TaskConfig
from keras_rnn.core.fit import learning_rate_schedule
from keras_rnn.data.batching import bucket_pairs_by_length, pair_length_boundaries, shuffled_batches
from keras_rnn.data.text import TextPreprocessor
from keras_rnn.losses import MaskedSequenceCrossentropy
from keras_rnn.metrics import MaskedPerplexity, MaskedTokenAccuracy
from keras_rnn.models.attention import LUONG_SCORES
from keras_rnn.models.rnn_stack import CELLS
from keras_rnn.models.generator import Seq2SeqGenerator
from keras_rnn.models.seq2seq import ATTENTIONS
from keras_rnn.validation import validate_choice, validate_fraction, validate_positive_int


@dataclasses.dataclass
class Seq2SeqNetwork:
    """The `build_seq2seq_model` arguments a configuration fixes: embeddings, the encoder's RNN stack,
    the decoder's, attention and output tying."""

    cell: str = "gru"
    embedding_dim: int = 256
    encoder_units: int = 256
    encoder_layers: int = 1
    bidirectional: bool = True
    decoder_units: int = 512
    decoder_layers: int = 1
    attention: str = "luong"
    luong_score: str = "general"
    attention_units: int = 256
    dropout: float = 0.3
    tie_embeddings: bool = True

    def __post_init__(self):
        for name in ("embedding_dim", "encoder_units", "encoder_layers", "decoder_units", "decoder_layers",
                     "attention_units"):
            validate_positive_int(name, getattr(self, name))
        validate_choice("cell", self.cell, CELLS)
        validate_choice("attention", self.attention, ATTENTIONS)
        validate_choice("luong_score", self.luong_score, LUONG_SCORES)
        validate_fraction("dropout", self.dropout)


def _pair_lengths(ids: tf.data.Dataset) -> tuple[np.ndarray, np.ndarray]:
    lengths = ids.map(lambda *element: (tf.size(element[0]), tf.size(element[-1]))).batch(8192)
    pairs = [(s.numpy(), t.numpy()) for s, t in lengths]
    if not pairs:
        return np.zeros(0, np.int32), np.zeros(0, np.int32)
    return np.concatenate([p[0] for p in pairs]), np.concatenate([p[1] for p in pairs])


@dataclasses.dataclass
class Seq2SeqOptimization(OptimizationConfig):
    """`OptimizationConfig` and the label smoothing of the token cross-entropy."""

    label_smoothing: float = 0.0

    def __post_init__(self):
        super().__post_init__()
        validate_fraction("label_smoothing", self.label_smoothing)


def batch_pairs(ids: tf.data.Dataset, batch_size: int, shuffle_seed: int | None = None):
    """Cached, optionally reshuffled every epoch, length-bucketed batches with an exact cardinality; also
    a function that builds them again with the shuffle back at its first epoch's order."""
    ids = ids.cache()
    source_lengths, target_lengths = _pair_lengths(ids)
    boundaries, batches = pair_length_boundaries(np.maximum(source_lengths, target_lengths), batch_size)
    make = shuffled_batches(ids, len(source_lengths), batches,
                            lambda shuffled: bucket_pairs_by_length(shuffled, batch_size, boundaries), shuffle_seed)
    return make(), batches, source_lengths, target_lengths, make


@dataclasses.dataclass
class PairBatches:
    """Both splits as length-bucketed teacher-forcing batches, with the counts training needs."""

    train: tf.data.Dataset
    validation: tf.data.Dataset
    train_batches: int
    validation_batches: int
    source_lengths: np.ndarray  # of the training pairs
    target_lengths: np.ndarray
    fresh_train: Callable[[], tf.data.Dataset]  # `train` again with its shuffle at the first epoch's order


def batch_splits(train_ids: tf.data.Dataset, validation_ids: tf.data.Dataset, *, batch_size: int, seed: int,
                 corpus: str, usable: str) -> PairBatches:
    """`batch_pairs` on both splits (the training one reshuffled every epoch); an error naming the corpus
    when either is empty (`usable`: which training pairs were kept)."""
    train, train_batches, source_lengths, target_lengths, fresh_train = batch_pairs(train_ids, batch_size, seed)
    validation, validation_batches, validation_lengths, _, _ = batch_pairs(validation_ids, batch_size)
    if len(source_lengths) == 0 or len(validation_lengths) == 0:
        raise ValueError(
            f"Corpus {corpus!r} gave {len(source_lengths)} usable training pairs ({usable}) and "
            f"{len(validation_lengths)} validation pairs; both must be non-empty."
        )
    return PairBatches(train, validation, train_batches, validation_batches, source_lengths, target_lengths,
                       fresh_train)


def compile_seq2seq(model: keras.Model, optimization: Seq2SeqOptimization, total_steps: int) -> keras.Model:
    """Adam (optionally linearly decayed, clipped) on the masked, label-smoothed cross-entropy, with
    token accuracy and perplexity."""
    learning_rate = learning_rate_schedule(optimization.learning_rate, optimization.lr_schedule, total_steps)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate, clipnorm=optimization.clipnorm),
        loss=MaskedSequenceCrossentropy(optimization.label_smoothing),
        metrics=[MaskedTokenAccuracy(), MaskedPerplexity()],
        # XLA ("auto" picks it when a GPU is present) compiles every new (batch, source, target) shape that
        # length bucketing makes: epochs several times slower (benchmarks/retracing.py).
        jit_compile=False,
    )
    return model


def generate(
    generator: Seq2SeqGenerator, texts: list[str], batch_size: int = 64, passes: int = 1
) -> tuple[list[str], float]:
    """Runs `generator` over `texts` in length-sorted batches inside one `tf.function`.

    Returns:
        The outputs in input order, and the decoding rate in texts per second (after tracing; the best
        of `passes` runs over the texts, to be less at the mercy of a busy machine).
    """
    call = tf.function(lambda t: generator(t)["text"], input_signature=[tf.TensorSpec([None], tf.string)])
    order = sorted(range(len(texts)), key=lambda i: len(texts[i].split()))
    outputs = [""] * len(texts)
    call(tf.constant(texts[:1] or [""]))  # trace outside the timing
    best = float("inf")
    for _ in range(passes):
        started = time.perf_counter()
        for begin in range(0, len(order), batch_size):
            chunk = order[begin : begin + batch_size]
            for i, text in zip(chunk, call(tf.constant([texts[i] for i in chunk])).numpy()):
                outputs[i] = text.decode("utf-8")
        best = min(best, time.perf_counter() - started)
    return outputs, len(texts) / best if best > 0 else float("inf")


def decoding_name(beam_width: int) -> str:
    """The name figures and outputs of a beam width are kept under: "greedy" for 1, else "beam<width>"."""
    return "greedy" if beam_width == 1 else f"beam{beam_width}"


def make_generator(
    model: keras.Model,
    source_preprocessor: TextPreprocessor,
    target_preprocessor: TextPreprocessor,
    decoding: DecodingConfig,
    *,
    max_length_ratio: float,
    max_length_offset: int,
    beam_width: int | None = None,
) -> Seq2SeqGenerator:
    """The generator over a trained `build_seq2seq_model` model with a configuration's decoding settings
    (`beam_width` overrides `decoding.beam_width`; 1 is greedy). Sources are cut where the source
    preprocessor cuts them in training: the same preprocessor serves."""
    return Seq2SeqGenerator(
        source_preprocessor, target_preprocessor, model.get_layer("encoder"), model.get_layer("decoder"),
        beam_width=decoding.beam_width if beam_width is None else beam_width,
        length_penalty=decoding.length_penalty, max_length_ratio=max_length_ratio,
        max_length_offset=max_length_offset, min_length=decoding.min_length,
        no_repeat_ngram_size=decoding.no_repeat_ngram_size, name="generator",
    )


def export_generator(
    path: str,
    generator: Seq2SeqGenerator,
    model: keras.Model,
    config: TaskConfig,
    *,
    output_name: str,
    vocabularies: dict[str, TextPreprocessor],
    overwrite: bool = False,
    metrics: dict | None = None,
) -> str:
    """Writes a text-to-text SavedModel with two signatures:

    - `serving_default`: `text` (batch of strings) → `output_name` strings (`translation`, `summary`),
      decoded with the generator's search, fixed in the graph;
    - `attention`: `text` → `source_tokens`, `output_tokens` (`""` padded) and `attention`
      `(batch, output_len, source_len)`, what `keras_rnn.plotting.plot_attention` draws.

    Atomic (`keras_rnn.export.write_export`); the folder also holds `keras/model.keras` and the
    vocabularies (file name → preprocessor).

    Raises:
        FileExistsError: `path` exists and `overwrite` is False.
    """
    from keras_rnn.export import write_export

    generator(tf.constant([""]))  # builds the layer: ExportArchive only tracks built layers
    archive = keras.export.ExportArchive()
    archive.track(generator)
    spec = [tf.TensorSpec([None], tf.string, name="text")]

    @tf.function(input_signature=spec)
    def serve(text):
        return {output_name: generator(text)["text"]}

    @tf.function(input_signature=spec)
    def attention(text):
        outputs = generator(text)
        return {"source_tokens": outputs["source_tokens"], "output_tokens": outputs["tokens"],
                "attention": outputs["attention"]}

    archive.add_endpoint("serving_default", serve)
    archive.add_endpoint("attention", attention)
    manifest = {
        "task": config.task,
        "output_name": output_name,
        "beam_width": generator.beam_width,
        "config": config.to_dict(),
        "validation_metrics": metrics or {},
        "signature": {"inputs": {"text": "string (batch,)"}, "outputs": {output_name: "string (batch,)"}},
    }
    return write_export(path, archive, model, vocabularies, manifest, overwrite)
