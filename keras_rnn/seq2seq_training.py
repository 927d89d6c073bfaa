"""Training and evaluating the translation task, over the pieces the seq2seq tasks share (`seq2seq_core`).

Flow: text pairs → `TextPreprocessor` per side (target with `[START]`/`[END]`) → length-bucketed
teacher-forcing batches → `build_seq2seq_model` → `fit_resumable` (best epoch by validation loss,
resume after a kill) → `Seq2SeqGenerator` (decoding) → corpus BLEU / chrF with sacrebleu.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from keras_rnn.config import TranslationConfig
from keras_rnn.core.runs import RUN_FILES, open_run_dir
from keras_rnn.core.strategies import get_strategy, refuse_multi_worker
from keras_rnn.data.parallel import decoded_pairs, load_parallel
from keras_rnn.data.text import TextPreprocessor
from keras_rnn.data.tfds_source import tfds_prepare_kwargs
from keras_rnn.files import write_text_atomic
from keras_rnn.metrics import bleu_and_chrf
from keras_rnn.models.generator import END_TOKEN, START_TOKEN, Seq2SeqGenerator
from keras_rnn.models.seq2seq import build_translation_model
from keras_rnn.seq2seq_core import batch_splits, compile_seq2seq, decoding_name, fit_and_save_seq2seq, generate

# A translation run folder: the core's files and a vocabulary per side.
SEQ2SEQ_RUN_FILES = {**RUN_FILES, "source_vocabulary": "source_vocabulary.txt",
                     "target_vocabulary": "target_vocabulary.txt"}


@dataclasses.dataclass
class Seq2SeqData:
    """Batched teacher-forcing datasets and the raw validation pairs that BLEU is computed on."""

    train: tf.data.Dataset
    validation: tf.data.Dataset
    source_preprocessor: TextPreprocessor
    target_preprocessor: TextPreprocessor
    validation_sources: list[str]
    validation_targets: list[str]
    train_examples: int
    train_target_tokens: int
    train_batches: int
    fresh_train: Callable[[], tf.data.Dataset]  # `train` with its shuffle at the first epoch


def make_preprocessors(config) -> tuple[TextPreprocessor, TextPreprocessor]:
    """Unadapted source and target preprocessors for a seq2seq configuration (no truncation: lengths
    are handled when batching)."""
    standardization = "lower" if config.lowercase else "cased"
    common = dict(max_length=None, standardization=standardization, fold_accents=config.fold_accents)
    source = TextPreprocessor(config.source_max_tokens, name="source_preprocessor", **common)
    target = TextPreprocessor(
        config.target_max_tokens, reserved_tokens=(START_TOKEN, END_TOKEN), name="target_preprocessor", **common
    )
    return source, target


def preprocessors_from_run(config, run_dir: str) -> tuple[TextPreprocessor, TextPreprocessor]:
    """The source and target preprocessors of a run, from its saved vocabulary files."""
    loaded = []
    for key, fresh in zip(("source_vocabulary", "target_vocabulary"), make_preprocessors(config)):
        settings = {k: v for k, v in fresh.get_config().items() if k != "vocabulary"}
        loaded.append(TextPreprocessor.from_vocabulary_file(os.path.join(run_dir, SEQ2SEQ_RUN_FILES[key]), **settings))
    return loaded[0], loaded[1]


def pairs_to_ids(pairs: tf.data.Dataset, source: TextPreprocessor, target: TextPreprocessor) -> tf.data.Dataset:
    """`(source_text, target_text)` → `(source_ids, [START] target_ids [END])`, int32, 1-D."""
    start, end = target.token_id(START_TOKEN), target.token_id(END_TOKEN)

    def vectorize(source_texts, target_texts):
        return source(source_texts), target(target_texts)

    def wrap(source_ids, target_ids):
        source_ids = tf.cast(source_ids, tf.int32)
        target_ids = tf.concat([[start], tf.cast(target_ids, tf.int32), [end]], axis=0)
        return source_ids, target_ids

    return pairs.batch(1024).map(vectorize, num_parallel_calls=tf.data.AUTOTUNE).unbatch().map(wrap)


def prepare_seq2seq_data(
    config,
    train_pairs: tf.data.Dataset,
    validation_pairs: tf.data.Dataset,
    preprocessors: tuple[TextPreprocessor, TextPreprocessor] | None = None,
) -> Seq2SeqData:
    """Adapts vocabularies on the training pairs (unless given), drops training pairs with an empty side
    or a side longer than `config.max_length` tokens, and batches both splits (validation cut to
    `max_length` for the loss; BLEU uses the raw validation pairs)."""
    if preprocessors is None:
        source, target = make_preprocessors(config)
        source.adapt(train_pairs.map(lambda s, t: s))
        target.adapt(train_pairs.map(lambda s, t: t))
    else:
        source, target = preprocessors
    limit = config.max_length

    def fits(source_ids, target_ids):
        source_length, target_length = tf.size(source_ids), tf.size(target_ids) - 2
        return (source_length > 0) & (target_length > 0) & (source_length <= limit) & (target_length <= limit)

    def cut(source_ids, target_ids):
        source_ids = tf.pad(source_ids[:limit], [[0, tf.maximum(1 - tf.size(source_ids), 0)]])
        return source_ids, tf.concat([target_ids[: limit + 1], target_ids[-1:]], axis=0)

    train_ids = pairs_to_ids(train_pairs, source, target).filter(fits)
    validation_ids = pairs_to_ids(validation_pairs, source, target).map(cut)
    train, validation, train_batches, train_source_lengths, train_target_lengths, fresh_train = batch_splits(
        train_ids, validation_ids, config, f"both sides 1..{limit} tokens")
    raw = decoded_pairs(validation_pairs)
    return Seq2SeqData(
        train=train,
        validation=validation,
        source_preprocessor=source,
        target_preprocessor=target,
        validation_sources=[s for s, _ in raw],
        validation_targets=[t for _, t in raw],
        train_examples=len(train_source_lengths),
        train_target_tokens=int(np.sum(train_target_lengths - 1)),
        train_batches=train_batches,
        fresh_train=fresh_train,
    )


def score_decoding(model, source, target, config, sources, references, beam_widths, passes: int = 1,
                   outputs: dict | None = None) -> dict:
    """BLEU, chrF and sentences/s of each beam width (1 = greedy) on `sources` against `references`.
    When `outputs` is a dict, the translations are stored in it too, by `decoding_name`."""
    figures = {}
    for width in beam_widths:
        generator = Seq2SeqGenerator.from_model(model, source, target, config, beam_width=width)
        decoded, rate = generate(generator, sources, passes=passes)
        scores = bleu_and_chrf(decoded, references)
        name = decoding_name(width)
        if outputs is not None:
            outputs[name] = decoded
        figures.update({f"val_bleu_{name}": scores["bleu"], f"val_chrf_{name}": scores["chrf"],
                        f"decode_sentences_per_s_{name}": round(rate, 1)})
        figures["bleu_signature"] = scores["bleu_signature"]
    figures["validation_examples"] = len(sources)
    return figures


def build_compiled_translation_model(config: TranslationConfig, data: Seq2SeqData) -> keras.Model:
    """The configuration's translation model over the prepared vocabularies, compiled (`compile_seq2seq`)."""
    model = build_translation_model(data.source_preprocessor.vocabulary_size,
                                    data.target_preprocessor.vocabulary_size, **config.model_kwargs())
    return compile_seq2seq(model, config, total_steps=config.epochs * data.train_batches)


def rescore_translation_run(run_dir: str, beam_widths: tuple[int, ...] = (1, 5), passes: int = 1) -> dict:
    """Decoding figures of a finished run (its `model.keras` and vocabularies) on its validation split,
    without training again: for measuring decoding changes on the same model."""
    config = TranslationConfig.load(os.path.join(run_dir, SEQ2SEQ_RUN_FILES["config"]))
    source, target = preprocessors_from_run(config, run_dir)
    model = keras.saving.load_model(os.path.join(run_dir, SEQ2SEQ_RUN_FILES["model"]))
    _, validation_pairs = _load_translation_pairs(config)
    pairs = decoded_pairs(validation_pairs)
    return score_decoding(model, source, target, config, [s for s, _ in pairs], [t for _, t in pairs],
                          beam_widths, passes=passes)


@dataclasses.dataclass
class Seq2SeqTrainResult:
    """A finished translation run: the model of its best epoch, its vocabularies and figures, and the
    validation split it was scored on with what each decoding wrote for it (`validation_outputs`:
    {"greedy": [...], "beam5": [...]}, in the order of `validation_sources`)."""

    model: keras.Model
    source_preprocessor: TextPreprocessor
    target_preprocessor: TextPreprocessor
    config: TranslationConfig
    metrics: dict
    run_dir: str
    validation_sources: list[str] = dataclasses.field(default_factory=list)
    validation_references: list[str] = dataclasses.field(default_factory=list)
    validation_outputs: dict[str, list[str]] = dataclasses.field(default_factory=dict)


def load_finished_translation(config: TranslationConfig, run_dir: str) -> Seq2SeqTrainResult:
    """A finished run's best model, preprocessors and figures, read back from `run_dir` (to export it
    again without training; the validation outputs are not kept in the run folder)."""
    with open(os.path.join(run_dir, SEQ2SEQ_RUN_FILES["metrics"]), encoding="utf-8") as f:
        metrics = json.load(f)
    model = keras.saving.load_model(os.path.join(run_dir, SEQ2SEQ_RUN_FILES["model"]))
    source, target = preprocessors_from_run(config, run_dir)
    return Seq2SeqTrainResult(model, source, target, config, metrics, run_dir)


def _load_translation_pairs(config: TranslationConfig):
    data = load_parallel(
        config.corpus, source=config.source, target=config.target, split=config.train_split,
        validation_corpus=config.validation_corpus, validation_fraction=config.validation_fraction,
        seed=config.seed, tsv_columns=config.tsv_columns, data_dir=config.data_dir,
        download_and_prepare_kwargs=tfds_prepare_kwargs(config.download_and_prepare_kwargs, config.manual_dir),
    )
    return data.train, data.validation


def prepare_translation_run_data(config: TranslationConfig, run_dir: str) -> Seq2SeqData:
    """The corpus's pairs through `prepare_seq2seq_data` for a run folder: the vocabularies saved there
    are reused (a resumed run's ids must mean what they meant before), else adapted and saved."""
    paths = [os.path.join(run_dir, SEQ2SEQ_RUN_FILES[key]) for key in ("source_vocabulary", "target_vocabulary")]
    preprocessors = preprocessors_from_run(config, run_dir) if all(map(os.path.exists, paths)) else None
    train_pairs, validation_pairs = _load_translation_pairs(config)
    data = prepare_seq2seq_data(config, train_pairs, validation_pairs, preprocessors)
    if preprocessors is None:
        data.source_preprocessor.save_vocabulary(paths[0])
        data.target_preprocessor.save_vocabulary(paths[1])
    return data


def train_translation(
    config: TranslationConfig,
    run_dir: str,
    *,
    overwrite: bool = False,
    strategy: str | tf.distribute.Strategy = "default",
    verbose: str | int = "auto",
    evaluate_beam_widths: tuple[int, ...] | None = None,
    decoding_passes: int = 1,
) -> Seq2SeqTrainResult:
    """Trains a translation model end to end in `run_dir`, resuming a killed run found there, then scores
    validation BLEU and chrF (sacrebleu) with greedy search and with `config.beam_width` (decoding
    rates: the best of `decoding_passes` runs).

    Writes `config.json`, `source_vocabulary.txt`, `target_vocabulary.txt`, `history.csv`, `logs/`,
    `best.weights.h5`, `model.keras` (best epoch by validation loss) and `metrics.json`.
    """
    refuse_multi_worker("translation", strategy)
    if isinstance(strategy, str):
        strategy = get_strategy(strategy)
    open_run_dir(run_dir, config, overwrite)
    started = time.perf_counter()

    data = prepare_translation_run_data(config, run_dir)

    with strategy.scope():
        model = build_compiled_translation_model(config, data)
    metrics = fit_and_save_seq2seq(model, data, config, run_dir, verbose)
    metrics.update(source_vocabulary_size=data.source_preprocessor.vocabulary_size,
                   target_vocabulary_size=data.target_preprocessor.vocabulary_size)
    outputs = {}
    metrics.update(score_decoding(
        model, data.source_preprocessor, data.target_preprocessor, config, data.validation_sources,
        data.validation_targets, evaluate_beam_widths or sorted({1, config.beam_width}), passes=decoding_passes,
        outputs=outputs,
    ))
    metrics["wall_time_s"] = round(time.perf_counter() - started, 1)
    write_text_atomic(os.path.join(run_dir, SEQ2SEQ_RUN_FILES["metrics"]), json.dumps(metrics, indent=2) + "\n")
    return Seq2SeqTrainResult(model, data.source_preprocessor, data.target_preprocessor, config, metrics, run_dir,
                              data.validation_sources, data.validation_targets, outputs)
