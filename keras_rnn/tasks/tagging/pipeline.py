"""The tagging task's pipeline: corpus → preprocessed sentences in length buckets (`prepare`), the compiled
tagger (`build`), entity F1 on validation every epoch (`validation_scores`) and after training (`score`),
and a finished run read back.

Tags: the corpus's tags are IOB2 (the readers convert); the model is trained on `tag_scheme` (IOBES by
default: the CRF then also learns where entities end) with ids `["[PAD]", "O", ...]`; predictions are
mapped back to IOB2 (`E-X` → `I-X`, `S-X` → `B-X`) before they are scored or returned, so every figure
compares IOB2 with the corpus's own IOB2 tags, in conlleval mode as CoNLL-2003 scored them.

Plain labels (`scheme="plain"`: part-of-speech tags, say) are trained and returned as they are, and
scored token by token (`tagging_metrics.label_report`): their `val_f1` is the micro F1 over tokens,
which is the token accuracy.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Sequence

import keras
import numpy as np
import tensorflow as tf

from keras_rnn.core.fit import learning_rate_schedule, traced_inference
from keras_rnn.core.runs import RUN_FILES
from keras_rnn.data.batching import pair_length_boundaries, shuffled_batches
from keras_rnn.data.tagging import (
    PLAIN, TaggedCorpus, TaggedSentence, load_tagging_corpus, tag_vocabulary, to_iobes,
)
from keras_rnn.files import write_text_atomic
from keras_rnn.models.tagger import PAD_TAG, build_tagger, tagger_loss, tagger_tags
from keras_rnn.tagging_metrics import entity_report, label_report
from keras_rnn.tasks.tagging.config import TaggingConfig
from keras_rnn.tasks.tagging.preprocessor import CASINGS, TaggingPreprocessor

TAGGING_RUN_FILES = {**RUN_FILES, "vocabulary": "vocabulary.json", "tags": "tags.json"}


def iob2_name(tag: str) -> str:
    """A model tag as IOB2: `E-X` → `I-X`, `S-X` → `B-X`, `"[PAD]"` → `O`; others unchanged.

    Example:
    >>> [iob2_name(t) for t in ["[PAD]", "O", "B-PER", "I-PER", "E-PER", "S-LOC"]]
    ['O', 'O', 'B-PER', 'I-PER', 'I-PER', 'B-LOC']
    """
    if tag.startswith("[") and tag.endswith("]"):
        return "O"
    prefix, dash, kind = tag.partition("-")
    return {"E": "I", "S": "B"}.get(prefix, prefix) + dash + kind if dash else tag


def training_scheme(config: TaggingConfig) -> str:
    """The scheme of the model's tags: `"plain"` for plain labels, else the configuration's `tag_scheme`."""
    return PLAIN if config.data.scheme == PLAIN else config.text.tag_scheme


def training_tag_sequence(tags: Sequence[str], scheme: str) -> list[str]:
    """A corpus's tags (IOB2, or plain labels) in the scheme the model trains on."""
    return to_iobes(tags) if scheme == "IOBES" else list(tags)


def output_names(tags: Sequence[str], scheme: str) -> list[str]:
    """What each model tag id is returned as: IOB2 names (`iob2_name`), or plain labels as they are
    (`"[PAD]"`, never on a real token, as `""`).

    Example:
    >>> output_names(["[PAD]", "O", "S-PER"], "IOBES"), output_names(["[PAD]", "E-X", "NN"], "plain")
    (['O', 'O', 'B-PER'], ['', 'E-X', 'NN'])
    """
    if scheme == PLAIN:
        return ["" if tag == PAD_TAG else tag for tag in tags]
    return [iob2_name(tag) for tag in tags]


def tag_report(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], scheme: str) -> dict:
    """Entity scores (conlleval) of IOB2 tags, or token scores of plain labels."""
    return label_report(gold, predicted) if scheme == PLAIN else entity_report(gold, predicted)


def make_preprocessor(config: TaggingConfig, vocabulary_file: str | None = None) -> TaggingPreprocessor:
    """The tokens → ids layer of training, export and serving (unadapted unless a saved vocabulary is given)."""
    text = config.text
    options = dict(max_word_tokens=text.max_word_tokens, min_word_count=text.min_word_count,
                   lowercase=text.lowercase, normalize_digits=text.normalize_digits,
                   max_word_length=text.max_word_length)
    if vocabulary_file is not None:
        return TaggingPreprocessor.from_vocabulary_file(vocabulary_file, **options)
    return TaggingPreprocessor(**options)


def reader_options(config: TaggingConfig) -> dict:
    """How the configuration's corpus is read (`data.tagging.READER_OPTIONS`)."""
    source = config.data
    return dict(token_column=source.token_column, tag_column=source.tag_column, scheme=source.scheme,
                max_length=source.max_length, long_sentences=source.long_sentences, data_dir=source.data_dir,
                download_and_prepare_kwargs=source.download_kwargs())


def load_corpus(config: TaggingConfig) -> TaggedCorpus:
    """The configuration's training and validation sentences."""
    source = config.data
    return load_tagging_corpus(source.corpus, validation_corpus=source.validation_corpus,
                               validation_fraction=source.validation_fraction, seed=config.optimization.seed,
                               **reader_options(config))


def _ragged(rows: Sequence[Sequence], dtype) -> tf.RaggedTensor:
    lengths = np.array([len(row) for row in rows], np.int64)
    flat = [item for row in rows for item in row]
    values = tf.constant(flat, dtype) if flat else tf.zeros([0], dtype)
    return tf.RaggedTensor.from_row_lengths(values, lengths)


def sentence_dataset(preprocessor: TaggingPreprocessor, sentences: Sequence[TaggedSentence],
                     tags: Sequence[str], scheme: str) -> tf.data.Dataset:
    """One `(features, tag_ids)` element a sentence: `features` the preprocessor's three id tensors
    `(words,)`, `(words, chars)`, `(words,)`; `tag_ids` the model's tag ids `(words,)`; cached."""
    index = {tag: i for i, tag in enumerate(tags)}
    tag_ids = []
    for sentence in sentences:
        try:
            tag_ids.append([index[tag] for tag in training_tag_sequence(sentence.tags, scheme)])
        except KeyError as error:
            raise ValueError(f"{sentence.where}: tag {error.args[0]!r} is not one of the model's tags "
                             f"{list(tags)[1:]}.") from None
    tokens = _ragged([sentence.tokens for sentence in sentences], tf.string)
    dataset = tf.data.Dataset.from_tensor_slices((tokens, _ragged(tag_ids, tf.int32)))
    return dataset.map(lambda words, ids: (preprocessor(words), ids), num_parallel_calls=tf.data.AUTOTUNE).cache()


def _bucket(batch_size: int, boundaries: list[int]) -> Callable[[tf.data.Dataset], tf.data.Dataset]:
    def bucket(dataset: tf.data.Dataset) -> tf.data.Dataset:
        return dataset.bucket_by_sequence_length(
            element_length_func=lambda features, tag_ids: tf.shape(tag_ids)[0],
            bucket_boundaries=boundaries, bucket_batch_sizes=[batch_size] * (len(boundaries) + 1))
    return bucket


def length_order(sentences: Sequence[TaggedSentence]) -> list[int]:
    """Sentence indices by length (stable): batches of similar lengths, little padding, a fixed order."""
    return sorted(range(len(sentences)), key=lambda i: len(sentences[i]))


@dataclasses.dataclass
class PreparedTaggingData:
    """Batches for `fit`, the preprocessor, the model's tags and the validation sentences to score."""

    train: tf.data.Dataset
    validation: tf.data.Dataset
    train_batches: int
    validation_batches: int
    fresh_train: Callable[[], tf.data.Dataset]
    preprocessor: TaggingPreprocessor
    tags: list[str]  # the model's tag ids, "[PAD]" first, in the training scheme
    tag_scheme: str  # that scheme: "IOB2", "IOBES" or "plain"
    corpus: TaggedCorpus
    validation_order: list[int]  # the validation batches hold the sentences in this order
    train_tokens: int

    @property
    def validation_sentences(self) -> list[TaggedSentence]:
        return self.corpus.validation

    def figures(self) -> dict:
        return {"train_sentences": len(self.corpus.train), "train_tokens": self.train_tokens,
                "validation_sentences": len(self.corpus.validation),
                "validation_tokens": sum(len(s) for s in self.corpus.validation),
                "word_vocabulary_size": self.preprocessor.word_vocabulary_size,
                "char_vocabulary_size": self.preprocessor.char_vocabulary_size, "tags": len(self.tags) - 1,
                "validation_source": self.corpus.validation_source,
                "long_sentences_split": sum(read.long_split for read in self.corpus.reads),
                "long_sentences_dropped": sum(read.long_dropped for read in self.corpus.reads),
                "reads": [read.describe() for read in self.corpus.reads]}


def prepare_tagging_data(config: TaggingConfig, preprocessor: TaggingPreprocessor | None = None,
                         tags: Sequence[str] | None = None) -> PreparedTaggingData:
    """Reads the corpus, adapts (or reuses) the vocabularies on training sentences only, and batches."""
    corpus = load_corpus(config)
    scheme = training_scheme(config)
    if preprocessor is None:
        preprocessor = make_preprocessor(config)
        preprocessor.adapt(sentence.tokens for sentence in corpus.train)
    tags = list(tags) if tags is not None else tagger_tags(tag_vocabulary(corpus.train + corpus.validation, scheme))
    batch = config.optimization.batch_size
    train_lengths = np.array([len(s) for s in corpus.train])
    boundaries, train_batches = pair_length_boundaries(train_lengths, batch)
    train_ids = sentence_dataset(preprocessor, corpus.train, tags, scheme)
    fresh_train = shuffled_batches(train_ids, len(corpus.train), train_batches, _bucket(batch, boundaries),
                                   shuffle_seed=config.optimization.seed)
    order = length_order(corpus.validation)
    validation = sentence_dataset(preprocessor, [corpus.validation[i] for i in order], tags, scheme)
    validation = validation.padded_batch(batch).prefetch(tf.data.AUTOTUNE)
    return PreparedTaggingData(
        train=fresh_train(), validation=validation, train_batches=train_batches,
        validation_batches=-(-len(order) // batch), fresh_train=fresh_train, preprocessor=preprocessor, tags=tags,
        tag_scheme=scheme, corpus=corpus, validation_order=order, train_tokens=int(train_lengths.sum()),
    )


def prepare_tagging_run_data(config: TaggingConfig, run_dir: str) -> PreparedTaggingData:
    """`prepare_tagging_data` for a run folder: its saved vocabularies and tags are reused, else made and saved."""
    paths = {key: os.path.join(run_dir, TAGGING_RUN_FILES[key]) for key in ("vocabulary", "tags")}
    saved = all(os.path.exists(path) for path in paths.values())
    preprocessor = tags = None
    if saved:
        preprocessor = make_preprocessor(config, paths["vocabulary"])
        with open(paths["tags"], encoding="utf-8") as f:
            tags = json.load(f)
    data = prepare_tagging_data(config, preprocessor, tags)
    if not saved:
        data.preprocessor.save_vocabulary(paths["vocabulary"])
        write_text_atomic(paths["tags"], json.dumps(data.tags) + "\n")
    return data


def compile_tagger(model: keras.Model, config: TaggingConfig, total_steps: int) -> keras.Model:
    """Adam (clipped, optionally decayed) on the potentials' loss: the CRF's negative log-likelihood, or
    the token cross-entropy of the softmax head."""
    optimization = config.optimization
    learning_rate = learning_rate_schedule(optimization.learning_rate, optimization.lr_schedule, total_steps)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=optimization.clipnorm),
                  loss={"potentials": tagger_loss(model)})
    return model


def build_compiled_tagger(config: TaggingConfig, data: PreparedTaggingData, steps_per_epoch: int | None = None
                          ) -> keras.Model:
    network = dataclasses.asdict(config.network)
    model = build_tagger(data.preprocessor.word_vocabulary_size, data.preprocessor.char_vocabulary_size, data.tags,
                         tag_scheme=data.tag_scheme, casing_vocabulary_size=len(CASINGS),
                         seed=config.optimization.seed, **network)
    return compile_tagger(model, config, config.optimization.epochs * (steps_per_epoch or data.train_batches))


def predict_tag_ids(model: keras.Model, batches: tf.data.Dataset) -> list[np.ndarray]:
    """Each sentence's predicted tag ids (padding cut off), in the batches' order."""
    rows = []
    infer = traced_inference(model)
    for features, *_ in batches:
        tags = infer(features)["tags"].numpy()
        lengths = np.count_nonzero(features["word_ids"].numpy(), axis=1)
        rows.extend(tags[i, :n] for i, n in enumerate(lengths))
    return rows


def predict_validation_tags(model: keras.Model, data: PreparedTaggingData) -> list[list[str]]:
    """IOB2 tags (or plain labels) for the validation sentences, in corpus order."""
    names = output_names(data.tags, data.tag_scheme)
    tags: list = [None] * len(data.validation_order)
    for index, ids in zip(data.validation_order, predict_tag_ids(model, data.validation)):
        tags[index] = [names[i] for i in ids]
    return tags


def validation_scores(model: keras.Model, config: TaggingConfig, data: PreparedTaggingData,
                      limit: int | None = None) -> dict:
    """`val_f1`, `val_precision`, `val_recall`: entities of the validation sentences (CoNLL conlleval; plain
    labels: tokens), of the first `limit` of them in corpus order when given."""
    gold = [s.tags for s in data.validation_sentences][:limit]
    report = tag_report(gold, predict_validation_tags(model, data)[:limit], data.tag_scheme)
    return {"val_f1": report["f1"], "val_precision": report["precision"], "val_recall": report["recall"]}


def score_tagger(model: keras.Model, config: TaggingConfig, data: PreparedTaggingData) -> tuple[dict, dict]:
    """The best epoch's validation report: entity P/R/F1, per type (plain labels: per label), token
    accuracy and counts."""
    predicted = predict_validation_tags(model, data)
    report = tag_report([s.tags for s in data.validation_sentences], predicted, data.tag_scheme)
    figures = {"val_f1": report["f1"], "val_precision": report["precision"], "val_recall": report["recall"],
               "val_macro_f1": report["macro_f1"], "val_token_accuracy": report["token_accuracy"],
               "val_per_type": report["per_type"], "val_entity_counts": report["counts"]}
    return figures, {"validation_tags": predicted}


@dataclasses.dataclass
class TaggingResult:
    model: keras.Model
    preprocessor: TaggingPreprocessor
    tags: list[str]
    config: TaggingConfig
    metrics: dict
    run_dir: str
    validation_tags: list[list[str]] | None = None


def make_result(model, config, data: PreparedTaggingData, metrics, run_dir, outputs) -> TaggingResult:
    return TaggingResult(model, data.preprocessor, data.tags, config, metrics, run_dir, outputs.get("validation_tags"))


def load_finished_tagger(config: TaggingConfig, run_dir: str) -> TaggingResult:
    paths = {key: os.path.join(run_dir, name) for key, name in TAGGING_RUN_FILES.items()}
    with open(paths["metrics"], encoding="utf-8") as f:
        metrics = json.load(f)
    with open(paths["tags"], encoding="utf-8") as f:
        tags = json.load(f)
    model = keras.saving.load_model(paths["model"], compile=False)
    return TaggingResult(model, make_preprocessor(config, paths["vocabulary"]), tags, config, metrics, run_dir)
