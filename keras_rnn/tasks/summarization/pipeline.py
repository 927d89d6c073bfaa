"""The summarization task's pipeline: corpus → one shared vocabulary → extended ids for copying → the
seq2seq family (`keras_rnn.core.seq2seq`, `build_summarization_model`) → ROUGE on the validation split.

What is its own: the data (documents and summaries share a vocabulary and its preprocessor, which cuts
documents to `max_source_length` tokens in training and in the export; summaries are cut to
`max_summary_length`), the copy decoder's extended ids, and the metric (ROUGE with rouge-score, against
the summary and, where the corpus has them, best over the extra human references).
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
from keras_rnn.data.parallel import decoded_pairs
from keras_rnn.data.summarization import load_summarization
from keras_rnn.data.text import TextPreprocessor
from keras_rnn.metrics import rouge
from keras_rnn.models.generator import END_TOKEN, OOV_ID, START_TOKEN, Seq2SeqGenerator
from keras_rnn.models.seq2seq import build_summarization_model, extended_source_ids, extended_target_ids
from keras_rnn.tasks.summarization.config import SummarizationConfig

# A summarization run folder: the core's files and the one shared vocabulary.
SUMMARIZATION_RUN_FILES = {**RUN_FILES, "vocabulary": "vocabulary.txt"}
ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")


def make_preprocessor(config: SummarizationConfig, vocabulary: str | None = None) -> TextPreprocessor:
    """The one preprocessor of documents and summaries (`[START]`, `[END]` reserved). It cuts texts at
    `max_source_length` tokens: documents in training and in the export alike (summaries are cut
    shorter when making ids)."""
    text = config.text
    return TextPreprocessor(
        text.max_tokens, max_length=text.max_source_length, standardization="lower" if text.lowercase else "cased",
        fold_accents=text.fold_accents, reserved_tokens=(START_TOKEN, END_TOKEN), vocabulary=vocabulary,
        name="preprocessor",
    )


def summary_pairs_to_ids(pairs: tf.data.Dataset, preprocessor: TextPreprocessor, config: SummarizationConfig):
    """`(document, summary)` → `(source_ids, target_ids)`, or with `config.network.copy`
    `(source_ids, source_extended_ids, target_ids)` with the target in the extended vocabulary. The
    document keeps its first `max_source_length` tokens; the summary its first `max_summary_length`,
    between `[START]` and `[END]`."""
    start, end = preprocessor.token_id(START_TOKEN), preprocessor.token_id(END_TOKEN)
    vocabulary_size = preprocessor.vocabulary_size
    source_limit, summary_limit = config.text.max_source_length, config.text.max_summary_length
    copy = config.network.copy

    def vectorize(documents, summaries):
        source_tokens, source_ids = preprocessor.tokens_and_ids(documents)
        summary_tokens, summary_ids = preprocessor.tokens_and_ids(summaries)
        return (source_tokens[:, :source_limit], tf.cast(source_ids[:, :source_limit], tf.int32),
                summary_tokens[:, :summary_limit], tf.cast(summary_ids[:, :summary_limit], tf.int32))

    def wrap(source_tokens, source_ids, summary_tokens, summary_ids):
        target_ids = tf.concat([[start], summary_ids, [end]], axis=0)
        if not copy:
            return source_ids, target_ids
        extended = extended_source_ids(source_ids[tf.newaxis], source_tokens[tf.newaxis], vocabulary_size, OOV_ID)
        target_tokens = tf.concat([[START_TOKEN], summary_tokens, [END_TOKEN]], axis=0)
        target_ids = extended_target_ids(target_ids[tf.newaxis], target_tokens[tf.newaxis], extended,
                                         source_tokens[tf.newaxis], vocabulary_size, OOV_ID)
        return source_ids, extended[0], target_ids[0]

    return pairs.batch(512).map(vectorize, num_parallel_calls=tf.data.AUTOTUNE).unbatch().map(
        wrap, num_parallel_calls=tf.data.AUTOTUNE)


@dataclasses.dataclass
class SummarizationData:
    """Batched teacher-forcing datasets and the raw validation texts that ROUGE is computed on."""

    train: tf.data.Dataset
    validation: tf.data.Dataset
    preprocessor: TextPreprocessor
    validation_documents: list[str]
    validation_summaries: list[str]
    validation_references: list[list[str]] | None
    train_examples: int
    train_target_tokens: int
    train_batches: int
    validation_batches: int
    fresh_train: Callable[[], tf.data.Dataset]  # `train` with its shuffle at the first epoch

    def figures(self) -> dict:
        return {"train_examples": self.train_examples, "train_target_tokens_per_epoch": self.train_target_tokens,
                "vocabulary_size": self.preprocessor.vocabulary_size}


def prepare_summarization_data(
    config: SummarizationConfig,
    train_pairs: tf.data.Dataset,
    validation_pairs: tf.data.Dataset,
    validation_references: list[list[str]] | None = None,
    preprocessor: TextPreprocessor | None = None,
) -> SummarizationData:
    """Adapts the vocabulary on the training documents and summaries (unless given), drops training
    pairs with an empty side, and batches both splits."""
    if preprocessor is None:
        preprocessor = make_preprocessor(config)
        preprocessor.adapt(train_pairs.flat_map(lambda d, s: tf.data.Dataset.from_tensor_slices(tf.stack([d, s]))))

    def non_empty(*element):
        return (tf.size(element[0]) > 0) & (tf.size(element[-1]) > 2)

    train_ids = summary_pairs_to_ids(train_pairs, preprocessor, config).filter(non_empty)
    validation_ids = summary_pairs_to_ids(validation_pairs, preprocessor, config).filter(non_empty)
    batches = batch_splits(train_ids, validation_ids, batch_size=config.optimization.batch_size,
                           seed=config.optimization.seed, corpus=config.data.corpus,
                           usable="a non-empty document and summary")
    raw = decoded_pairs(validation_pairs)
    return SummarizationData(
        train=batches.train, validation=batches.validation, preprocessor=preprocessor,
        validation_documents=[d for d, _ in raw], validation_summaries=[s.strip() for _, s in raw],
        validation_references=validation_references, train_examples=len(batches.source_lengths),
        train_target_tokens=int(np.sum(batches.target_lengths - 1)), train_batches=batches.train_batches,
        validation_batches=batches.validation_batches, fresh_train=batches.fresh_train,
    )


def lead_baseline(documents: list[str], k: int) -> list[str]:
    """The first `k` whitespace-separated words of each document: the lead-k baseline.

    Example:
    >>> lead_baseline(["Meeting moved to Friday at noon.", ""], 3)
    ['Meeting moved to', '']
    """
    return [" ".join(document.split()[:k]) for document in documents]


def rouge_report(summaries: list[str], targets: list[str], references: list[list[str]] | None) -> dict:
    """ROUGE-1/2/L F1 against the target summary and, with `references`, best over the target and them."""
    figures = {f"{name}": value for name, value in rouge(summaries, targets, rouge_types=ROUGE_TYPES).items()}
    if references:
        every = [[target] + [r.strip() for r in extra if r.strip()] for target, extra in zip(targets, references)]
        best = rouge(summaries, every, rouge_types=ROUGE_TYPES)
        figures.update({f"{name}_best_of_references": value for name, value in best.items()})
    return figures


def summary_generator(model, preprocessor: TextPreprocessor, config: SummarizationConfig,
                      beam_width: int | None = None) -> Seq2SeqGenerator:
    """Documents → summaries over a trained model, with the configuration's decoding (`beam_width`
    overrides it; 1 is greedy): at most `max_summary_length` tokens whatever the document's length."""
    return make_generator(model, preprocessor, preprocessor, config.decoding, max_length_ratio=0.0,
                          max_length_offset=config.text.max_summary_length + 1, beam_width=beam_width)


def score_summaries(model, preprocessor, config: SummarizationConfig, documents, targets, references, beam_widths,
                    passes: int = 1, outputs: dict | None = None) -> dict:
    """ROUGE and documents/s of each beam width (1 = greedy) on the validation documents. When `outputs`
    is a dict, the summaries are stored in it too, by `decoding_name`."""
    figures = {}
    for width in beam_widths:
        generator = summary_generator(model, preprocessor, config, beam_width=width)
        decoded, rate = generate(generator, documents, passes=passes)
        name = decoding_name(width)
        if outputs is not None:
            outputs[name] = decoded
        figures.update({f"val_{key}_{name}": value for key, value in rouge_report(decoded, targets, references).items()})
        figures[f"decode_documents_per_s_{name}"] = round(rate, 1)
        figures[f"empty_outputs_{name}"] = sum(1 for output in decoded if not output.strip())
    figures["validation_examples"] = len(documents)
    return figures


def _load_summarization_pairs(config: SummarizationConfig):
    source = config.data
    data = load_summarization(
        source.corpus, split=source.train_split, document_feature=source.document_feature,
        summary_feature=source.summary_feature, validation_corpus=source.validation_corpus,
        validation_fraction=source.validation_fraction, validation_split=source.validation_split,
        seed=config.optimization.seed, data_dir=source.data_dir, download_and_prepare_kwargs=source.download_kwargs(),
    )
    return data.train, data.validation, data.validation_references


def build_compiled_summarization_model(config: SummarizationConfig, data: SummarizationData,
                                       steps_per_epoch: int | None = None) -> keras.Model:
    """The configuration's summarization model over the prepared vocabulary, compiled (`compile_seq2seq`;
    the schedule spans `epochs × steps_per_epoch`, default every batch)."""
    model = build_summarization_model(data.preprocessor.vocabulary_size, **dataclasses.asdict(config.network))
    total_steps = config.optimization.epochs * (steps_per_epoch or data.train_batches)
    return compile_seq2seq(model, config.optimization, total_steps=total_steps)


def preprocessor_from_run(config: SummarizationConfig, run_dir: str) -> TextPreprocessor:
    """The preprocessor of a run, from its saved vocabulary file."""
    settings = {k: v for k, v in make_preprocessor(config).get_config().items() if k != "vocabulary"}
    return TextPreprocessor.from_vocabulary_file(os.path.join(run_dir, SUMMARIZATION_RUN_FILES["vocabulary"]),
                                                 **settings)


def prepare_summarization_run_data(config: SummarizationConfig, run_dir: str) -> SummarizationData:
    """The corpus's pairs through `prepare_summarization_data` for a run folder: the vocabulary saved
    there is reused (a resumed run's ids must mean what they meant before), else adapted and saved."""
    path = os.path.join(run_dir, SUMMARIZATION_RUN_FILES["vocabulary"])
    preprocessor = preprocessor_from_run(config, run_dir) if os.path.exists(path) else None
    train_pairs, validation_pairs, references = _load_summarization_pairs(config)
    data = prepare_summarization_data(config, train_pairs, validation_pairs, references, preprocessor)
    if preprocessor is None:
        data.preprocessor.save_vocabulary(path)
    return data


@dataclasses.dataclass
class SummarizationTrainResult:
    """A finished summarization run: the model of its best epoch, its vocabulary and figures, and the
    validation split it was scored on (documents, target summaries, any extra references) with what
    each decoding wrote for it (`validation_outputs`: {"greedy": [...], "beam4": [...]})."""

    model: keras.Model
    preprocessor: TextPreprocessor
    config: SummarizationConfig
    metrics: dict
    run_dir: str
    validation_documents: list[str] = dataclasses.field(default_factory=list)
    validation_summaries: list[str] = dataclasses.field(default_factory=list)
    validation_references: list[list[str]] | None = None
    validation_outputs: dict[str, list[str]] = dataclasses.field(default_factory=dict)


def load_finished_summarization(config: SummarizationConfig, run_dir: str) -> SummarizationTrainResult:
    """A finished run's best model, preprocessor and figures, read back from `run_dir` (to export it
    again without training; the validation outputs are not kept in the run folder)."""
    with open(os.path.join(run_dir, SUMMARIZATION_RUN_FILES["metrics"]), encoding="utf-8") as f:
        metrics = json.load(f)
    model = keras.saving.load_model(os.path.join(run_dir, SUMMARIZATION_RUN_FILES["model"]))
    return SummarizationTrainResult(model, preprocessor_from_run(config, run_dir), config, metrics, run_dir)


def score_summarization(model, config: SummarizationConfig, data: SummarizationData, *,
                        evaluate_beam_widths: tuple[int, ...] | None = None, decoding_passes: int = 1):
    """After training: ROUGE and decoding rates on the validation split with greedy search and with
    `config.decoding.beam_width` (or `evaluate_beam_widths`), and the summaries by decoding name."""
    outputs: dict = {}
    figures = score_summaries(
        model, data.preprocessor, config, data.validation_documents, data.validation_summaries,
        data.validation_references, evaluate_beam_widths or sorted({1, config.decoding.beam_width}),
        passes=decoding_passes, outputs=outputs,
    )
    return figures, outputs


def decoded_scores(model, config: SummarizationConfig, data: SummarizationData, limit: int) -> dict:
    """ROUGE-1/2/L with the configuration's decoding on the first `limit` validation documents (a
    search's decoded objectives)."""
    generator = summary_generator(model, data.preprocessor, config)
    outputs, _ = generate(generator, data.validation_documents[:limit])
    scores = rouge(outputs, data.validation_summaries[:limit], rouge_types=ROUGE_TYPES)
    return {f"val_{name}": value for name, value in scores.items()}


def make_result(model, config: SummarizationConfig, data: SummarizationData, metrics: dict, run_dir: str,
                outputs: dict) -> SummarizationTrainResult:
    return SummarizationTrainResult(model, data.preprocessor, config, metrics, run_dir, data.validation_documents,
                                    data.validation_summaries, data.validation_references, outputs)
