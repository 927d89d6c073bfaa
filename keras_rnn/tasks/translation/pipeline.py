"""The translation task's pipeline, over the seq2seq family (`keras_rnn.core.seq2seq`).

Flow: text pairs → `TextPreprocessor` per side (target with `[START]`/`[END]`; the source one cuts at
`max_source_length` and serves in the export too) → length-bucketed teacher-forcing batches
(`prepare`) → `build_translation_model` (`build`) → `keras_rnn.core.train` (best epoch by validation
loss, resume after a kill) → `Seq2SeqGenerator` (decoding) → corpus BLEU / chrF with sacrebleu (`score`).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from keras_rnn.core.runs import RUN_FILES
from keras_rnn.core.seq2seq import batch_splits, compile_seq2seq, decoding_name, generate, make_generator
from keras_rnn.data.parallel import decoded_pairs, load_parallel
from keras_rnn.data.text import TextPreprocessor
from keras_rnn.metrics import bleu_and_chrf
from keras_rnn.models.generator import END_TOKEN, START_TOKEN, Seq2SeqGenerator
from keras_rnn.models.seq2seq import build_translation_model
from keras_rnn.tasks.translation.config import TranslationConfig

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
    validation_batches: int
    fresh_train: Callable[[], tf.data.Dataset]  # `train` with its shuffle at the first epoch

    def figures(self) -> dict:
        return {"train_examples": self.train_examples, "train_target_tokens_per_epoch": self.train_target_tokens,
                "source_vocabulary_size": self.source_preprocessor.vocabulary_size,
                "target_vocabulary_size": self.target_preprocessor.vocabulary_size}


def make_preprocessors(config: TranslationConfig) -> tuple[TextPreprocessor, TextPreprocessor]:
    """Unadapted source and target preprocessors of a configuration. The source one cuts at
    `max_source_length` tokens, in training (pairs longer than `max_length` are skipped after) and in
    the export alike; targets are not cut (pairs are filtered or cut when batching)."""
    text = config.text
    standardization = "lower" if text.lowercase else "cased"
    common = dict(standardization=standardization, fold_accents=text.fold_accents)
    source = TextPreprocessor(text.source_max_tokens, max_length=text.max_source_length, name="source_preprocessor",
                              **common)
    target = TextPreprocessor(text.target_max_tokens, max_length=None, reserved_tokens=(START_TOKEN, END_TOKEN),
                              name="target_preprocessor", **common)
    return source, target


def preprocessors_from_run(config: TranslationConfig, run_dir: str) -> tuple[TextPreprocessor, TextPreprocessor]:
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
    config: TranslationConfig,
    train_pairs: tf.data.Dataset,
    validation_pairs: tf.data.Dataset,
    preprocessors: tuple[TextPreprocessor, TextPreprocessor] | None = None,
) -> Seq2SeqData:
    """Adapts vocabularies on the training pairs (unless given), drops training pairs with an empty side
    or a side longer than `config.text.max_length` tokens, and batches both splits (validation cut to
    `max_length` for the loss; BLEU uses the raw validation pairs)."""
    if preprocessors is None:
        source, target = make_preprocessors(config)
        source.adapt(train_pairs.map(lambda s, t: s))
        target.adapt(train_pairs.map(lambda s, t: t))
    else:
        source, target = preprocessors
    limit = config.text.max_length

    def fits(source_ids, target_ids):
        source_length, target_length = tf.size(source_ids), tf.size(target_ids) - 2
        return (source_length > 0) & (target_length > 0) & (source_length <= limit) & (target_length <= limit)

    def cut(source_ids, target_ids):
        source_ids = tf.pad(source_ids[:limit], [[0, tf.maximum(1 - tf.size(source_ids), 0)]])
        return source_ids, tf.concat([target_ids[: limit + 1], target_ids[-1:]], axis=0)

    train_ids = pairs_to_ids(train_pairs, source, target).filter(fits)
    validation_ids = pairs_to_ids(validation_pairs, source, target).map(cut)
    batches = batch_splits(train_ids, validation_ids, batch_size=config.optimization.batch_size,
                           seed=config.optimization.seed, corpus=config.data.corpus,
                           usable=f"both sides 1..{limit} tokens")
    raw = decoded_pairs(validation_pairs)
    return Seq2SeqData(
        train=batches.train,
        validation=batches.validation,
        source_preprocessor=source,
        target_preprocessor=target,
        validation_sources=[s for s, _ in raw],
        validation_targets=[t for _, t in raw],
        train_examples=len(batches.source_lengths),
        train_target_tokens=int(np.sum(batches.target_lengths - 1)),
        train_batches=batches.train_batches,
        validation_batches=batches.validation_batches,
        fresh_train=batches.fresh_train,
    )


def translation_generator(model, source: TextPreprocessor, target: TextPreprocessor, config: TranslationConfig,
                          beam_width: int | None = None) -> Seq2SeqGenerator:
    """Strings → translations over a trained model, with the configuration's decoding (`beam_width`
    overrides it; 1 is greedy)."""
    decoding = config.decoding
    return make_generator(model, source, target, decoding, max_length_ratio=decoding.max_length_ratio,
                          max_length_offset=decoding.max_length_offset, beam_width=beam_width)


def score_decoding(model, source, target, config: TranslationConfig, sources, references, beam_widths,
                   passes: int = 1, outputs: dict | None = None) -> dict:
    """BLEU, chrF and sentences/s of each beam width (1 = greedy) on `sources` against `references`.
    When `outputs` is a dict, the translations are stored in it too, by `decoding_name`."""
    figures = {}
    for width in beam_widths:
        generator = translation_generator(model, source, target, config, beam_width=width)
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


def build_compiled_translation_model(config: TranslationConfig, data: Seq2SeqData,
                                     steps_per_epoch: int | None = None) -> keras.Model:
    """The configuration's translation model over the prepared vocabularies, compiled (`compile_seq2seq`;
    the schedule spans `epochs × steps_per_epoch`, default every batch)."""
    model = build_translation_model(data.source_preprocessor.vocabulary_size,
                                    data.target_preprocessor.vocabulary_size, **dataclasses.asdict(config.network))
    total_steps = config.optimization.epochs * (steps_per_epoch or data.train_batches)
    return compile_seq2seq(model, config.optimization, total_steps=total_steps)


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
    source = config.data
    data = load_parallel(
        source.corpus, source=source.source, target=source.target, split=source.train_split,
        validation_corpus=source.validation_corpus, validation_fraction=source.validation_fraction,
        validation_split=source.validation_split, seed=config.optimization.seed, tsv_columns=source.tsv_columns,
        data_dir=source.data_dir, download_and_prepare_kwargs=source.download_kwargs(),
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


def score_translation(model, config: TranslationConfig, data: Seq2SeqData, *,
                      evaluate_beam_widths: tuple[int, ...] | None = None, decoding_passes: int = 1):
    """After training: BLEU, chrF and decoding rates on the validation split with greedy search and with
    `config.decoding.beam_width` (or `evaluate_beam_widths`; rates are the best of `decoding_passes`
    runs), and the translations by decoding name."""
    outputs: dict = {}
    figures = score_decoding(
        model, data.source_preprocessor, data.target_preprocessor, config, data.validation_sources,
        data.validation_targets, evaluate_beam_widths or sorted({1, config.decoding.beam_width}),
        passes=decoding_passes, outputs=outputs,
    )
    return figures, outputs


def decoded_scores(model, config: TranslationConfig, data: Seq2SeqData, limit: int) -> dict:
    """`val_bleu` and `val_chrf` with the configuration's decoding on the first `limit` validation pairs
    (a search's decoded objectives)."""
    generator = translation_generator(model, data.source_preprocessor, data.target_preprocessor, config)
    outputs, _ = generate(generator, data.validation_sources[:limit])
    scores = bleu_and_chrf(outputs, data.validation_targets[:limit])
    return {"val_bleu": scores["bleu"], "val_chrf": scores["chrf"]}


def make_result(model, config: TranslationConfig, data: Seq2SeqData, metrics: dict, run_dir: str,
                outputs: dict) -> Seq2SeqTrainResult:
    return Seq2SeqTrainResult(model, data.source_preprocessor, data.target_preprocessor, config, metrics, run_dir,
                              data.validation_sources, data.validation_targets, outputs)
