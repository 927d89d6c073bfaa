"""What the seq2seq tasks (translation, summarization) share: length-bucketed teacher-forcing batches,
compile, the resumable fit that saves the model, and batched generation with its decoding rate.

Each task brings its own data (pairs, vocabularies, extended ids) and metrics (BLEU, ROUGE); neither
imports the other.
"""

from __future__ import annotations

import os
import time

import keras
import numpy as np
import tensorflow as tf

from keras_rnn.core.fit import fit_resumable, learning_rate_schedule
from keras_rnn.core.runs import RUN_FILES
from keras_rnn.data.batching import bucket_pairs_by_length, pair_length_boundaries, shuffled_batches
from keras_rnn.losses import MaskedSequenceCrossentropy
from keras_rnn.metrics import MaskedPerplexity, MaskedTokenAccuracy
from keras_rnn.models.generator import Seq2SeqGenerator


def _pair_lengths(ids: tf.data.Dataset) -> tuple[np.ndarray, np.ndarray]:
    lengths = ids.map(lambda *element: (tf.size(element[0]), tf.size(element[-1]))).batch(8192)
    pairs = [(s.numpy(), t.numpy()) for s, t in lengths]
    if not pairs:
        return np.zeros(0, np.int32), np.zeros(0, np.int32)
    return np.concatenate([p[0] for p in pairs]), np.concatenate([p[1] for p in pairs])


def batch_pairs(ids: tf.data.Dataset, batch_size: int, shuffle_seed: int | None = None):
    """Cached, optionally reshuffled every epoch, length-bucketed batches with an exact cardinality; also
    a function that builds them again with the shuffle back at its first epoch's order."""
    ids = ids.cache()
    source_lengths, target_lengths = _pair_lengths(ids)
    boundaries, batches = pair_length_boundaries(np.maximum(source_lengths, target_lengths), batch_size)
    make = shuffled_batches(ids, len(source_lengths), batches,
                            lambda shuffled: bucket_pairs_by_length(shuffled, batch_size, boundaries), shuffle_seed)
    return make(), batches, source_lengths, target_lengths, make


def batch_splits(train_ids: tf.data.Dataset, validation_ids: tf.data.Dataset, config, usable: str):
    """`batch_pairs` on both splits (the training one reshuffled every epoch); an error naming the corpus
    when either is empty. Returns the two datasets, the training batches per epoch, the training source
    and target lengths, and the function that builds the training batches afresh (see `batch_pairs`)."""
    train, train_batches, source_lengths, target_lengths, fresh_train = batch_pairs(
        train_ids, config.batch_size, config.seed)
    validation, _, validation_lengths, _, _ = batch_pairs(validation_ids, config.batch_size)
    if len(source_lengths) == 0 or len(validation_lengths) == 0:
        raise ValueError(
            f"Corpus {config.corpus!r} gave {len(source_lengths)} usable training pairs ({usable}) and "
            f"{len(validation_lengths)} validation pairs; both must be non-empty."
        )
    return train, validation, train_batches, source_lengths, target_lengths, fresh_train


def compile_seq2seq(model: keras.Model, config, total_steps: int) -> keras.Model:
    """Adam (optionally linearly decayed, clipped) on the masked, label-smoothed cross-entropy, with
    token accuracy and perplexity."""
    learning_rate = learning_rate_schedule(config.learning_rate, config.lr_schedule, total_steps)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate, clipnorm=config.clipnorm),
        loss=MaskedSequenceCrossentropy(config.label_smoothing),
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


def fit_and_save_seq2seq(model: keras.Model, data, config, run_dir: str, verbose) -> dict:
    """Resumable fit (early stopping on validation loss, best weights kept), `model.keras` saved, and the
    validation loss figures of the kept weights. `data`: a `Seq2SeqData`-like object (`train`,
    `validation`, `train_examples`, `train_target_tokens`)."""
    started = time.perf_counter()
    history = fit_resumable(
        model, data.train, data.validation, run_dir, epochs=config.epochs, patience=config.patience,
        monitor="val_loss", mode="min", verbose=verbose,
    )
    fit_time = time.perf_counter() - started
    model.save(os.path.join(run_dir, RUN_FILES["model"]))
    scores = model.evaluate(data.validation, verbose=0, return_dict=True)
    return {
        "val_loss": float(scores["loss"]),
        "val_token_accuracy": float(scores["token_accuracy"]),
        "val_perplexity": float(scores["perplexity"]),
        "epochs_this_call": len(history.get("loss", [])),
        "train_examples": data.train_examples,
        "train_target_tokens_per_epoch": data.train_target_tokens,
        "fit_time_s": round(fit_time, 1),
    }

