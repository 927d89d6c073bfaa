"""Task configurations: one small dataclass per task, saved as JSON beside each run and model."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from keras_rnn.core.fit import LR_SCHEDULES
from keras_rnn.data.text import TRUNCATING
from keras_rnn.files import write_text_atomic
from keras_rnn.models.attention import LUONG_SCORES
from keras_rnn.models.classifier import CELLS, POOLINGS
from keras_rnn.models.seq2seq import ATTENTIONS
from keras_rnn.search_space import boolean, choice, float_range, int_range
from keras_rnn.validation import validate_choice, validate_fraction, validate_positive_int



class _JsonConfig:
    """JSON save/load shared by the task configurations."""

    def to_json(self) -> str:
        """The fields, and the task they configure (so a run folder says which task it holds)."""
        return json.dumps({"task": self.task, **dataclasses.asdict(self)}, indent=2, sort_keys=True)

    def save(self, path: str) -> None:
        write_text_atomic(path, self.to_json() + "\n")

    @classmethod
    def from_dict(cls, values: dict[str, Any]):
        values = dict(values)
        task = values.pop("task", cls.task)
        if task != cls.task:
            raise ValueError(f"This is a {task} configuration, not a {cls.task} one.")
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"Unknown {cls.task} configuration keys {unknown}; accepted keys: {sorted(known)}.")
        return cls(**values)

    @classmethod
    def load(cls, path: str):
        with open(path, encoding="utf-8") as f:
            return cls.from_dict(json.load(f))


def _validate_seq2seq_network_and_training(config) -> None:
    """The checks translation and summarization configurations share."""
    validate_choice("cell", config.cell, CELLS)
    validate_choice("attention", config.attention, ATTENTIONS)
    validate_choice("luong_score", config.luong_score, LUONG_SCORES)
    validate_choice("lr_schedule", config.lr_schedule, LR_SCHEDULES)
    validate_fraction("dropout", config.dropout)
    validate_fraction("label_smoothing", config.label_smoothing)
    _check_positive_learning_rate(config.learning_rate)


def _check_positive_learning_rate(value) -> None:
    if not value > 0:
        raise ValueError(f"Received an invalid value for argument `learning_rate`: {value!r}. "
                         "Expected a positive number.")


@dataclasses.dataclass
class SentimentConfig(_JsonConfig):
    """Everything that defines a sentiment run: data, preprocessing, network and training.

    The defaults are the project's IMDB configuration (README, "Benchmark"): a bidirectional GRU over
    the last 500 tokens with masked max+mean pooling, plus a bag of hashed unigrams and bigrams whose
    logits add to the GRU's, 3 epochs of Adam with a linearly decaying learning rate. `keras-rnn train
    sentiment` flags map one-to-one onto these fields.
    """

    # Data
    corpus: str = "imdb_reviews"
    train_split: str = "train"
    validation_corpus: str | None = None
    text_column: str | None = None
    label_column: str = "label"
    class_names: list[str] | None = None
    data_dir: str | None = None
    download_and_prepare_kwargs: dict | None = None
    manual_dir: str | None = None  # files TFDS would download, given by hand (tfds.download.DownloadConfig)
    validation_fraction: float = 0.2
    # Preprocessing
    max_tokens: int = 20000
    max_length: int | None = 500
    truncating: str = "pre"
    # Network
    cell: str = "gru"
    units: int = 64
    num_layers: int = 1
    bidirectional: bool = True
    embedding_dim: int = 128
    embedding_dropout: float = 0.3
    dropout: float = 0.4
    pooling: str = "max_mean"
    ngram_order: int = 2
    ngram_bins: int = 2**20
    # Training
    batch_size: int = 64
    epochs: int = 3
    learning_rate: float = 2e-3
    lr_schedule: str = "linear_decay"
    clipnorm: float | None = 1.0
    patience: int = 2
    seed: int = 1337

    task = "sentiment"
    # What `keras-rnn tune sentiment` varies by default (the other fields stay as configured).
    search_space = {
        "cell": choice("simple_rnn", "lstm", "gru"),
        "units": choice(32, 64, 128),
        "num_layers": int_range(1, 2),
        "bidirectional": boolean(),
        "embedding_dim": choice(64, 128, 256),
        "embedding_dropout": float_range(0.0, 0.5, step=0.1),
        "dropout": float_range(0.0, 0.5, step=0.1),
        "pooling": choice(*POOLINGS),
        "learning_rate": float_range(3e-4, 1e-2, sampling="log"),
    }

    def __post_init__(self):
        validate_fraction("validation_fraction", self.validation_fraction, allow_zero=False)
        for name in ("max_tokens", "units", "num_layers", "embedding_dim", "batch_size", "epochs", "patience"):
            validate_positive_int(name, getattr(self, name))
        if self.max_length is not None:
            validate_positive_int("max_length", self.max_length)
        validate_choice("truncating", self.truncating, TRUNCATING)
        validate_choice("cell", self.cell, CELLS)
        validate_choice("pooling", self.pooling, POOLINGS)
        validate_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        validate_fraction("dropout", self.dropout)
        validate_fraction("embedding_dropout", self.embedding_dropout)
        _check_positive_learning_rate(self.learning_rate)

    def model_kwargs(self) -> dict[str, Any]:
        """The `build_sentiment_model` arguments this configuration fixes."""
        return {name: getattr(self, name) for name in
                ("cell", "units", "num_layers", "bidirectional", "embedding_dim", "embedding_dropout",
                 "dropout", "pooling", "ngram_order", "ngram_bins")}


@dataclasses.dataclass
class TranslationConfig(_JsonConfig):
    """Everything that defines a translation run: corpus and direction, tokenization, network, training
    and the decoding used for evaluation and export.

    The defaults are the project's Multi30k configuration (README, "Benchmark"). `keras-rnn train
    translation` flags map one-to-one onto these fields.
    """

    # Data
    corpus: str = "ted_hrlr_translate/pt_to_en"
    source: str | None = None
    target: str | None = None
    train_split: str = "train"
    validation_corpus: str | None = None
    validation_fraction: float = 0.05
    tsv_columns: list[str] | None = None
    data_dir: str | None = None
    download_and_prepare_kwargs: dict | None = None
    manual_dir: str | None = None  # files TFDS would download, given by hand (tfds.download.DownloadConfig)
    # Tokenization
    source_max_tokens: int = 10000
    target_max_tokens: int = 6000
    max_length: int = 60  # training pairs longer than this on either side are skipped
    max_source_length: int = 200  # translation and evaluation cut longer sources to this many tokens
    lowercase: bool = False
    fold_accents: bool = False
    # Network
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
    # Training
    batch_size: int = 64
    epochs: int = 11
    learning_rate: float = 2e-3
    lr_schedule: str = "linear_decay"
    clipnorm: float | None = 1.0
    label_smoothing: float = 0.1
    patience: int = 3
    seed: int = 1337
    # Decoding (evaluation and export)
    beam_width: int = 5
    length_penalty: float = 0.6
    max_length_ratio: float = 1.5
    max_length_offset: int = 10

    task = "translation"
    # What `keras-rnn tune translation` varies by default; `beam_width` only matters (and is only
    # searched) when the objective is decoded (val_bleu, val_chrf).
    search_space = {
        "cell": choice("simple_rnn", "lstm", "gru"),
        "embedding_dim": choice(128, 256),
        "encoder_units": choice(128, 256, 512),
        "encoder_layers": int_range(1, 2),
        "bidirectional": boolean(),
        "decoder_units": choice(256, 512),
        "decoder_layers": int_range(1, 2),
        "attention": choice(*ATTENTIONS),
        "dropout": float_range(0.0, 0.5, step=0.1),
        "learning_rate": float_range(3e-4, 1e-2, sampling="log"),
        "beam_width": choice(1, 3, 5),
    }

    def __post_init__(self):
        validate_fraction("validation_fraction", self.validation_fraction, allow_zero=False)
        for name in ("source_max_tokens", "target_max_tokens", "max_length", "max_source_length", "embedding_dim",
                     "encoder_units",
                     "encoder_layers", "decoder_units", "decoder_layers", "attention_units", "batch_size",
                     "epochs", "patience", "beam_width"):
            validate_positive_int(name, getattr(self, name))
        _validate_seq2seq_network_and_training(self)
        if not self.max_length_ratio > 0 or self.max_length_offset < 0:
            raise ValueError(
                f"max_length_ratio must be > 0 and max_length_offset >= 0; got {self.max_length_ratio!r} and "
                f"{self.max_length_offset!r}."
            )
        if self.length_penalty < 0:
            raise ValueError(f"Received an invalid value for argument `length_penalty`: {self.length_penalty!r}. "
                             "Expected a number >= 0.")

    def model_kwargs(self) -> dict[str, Any]:
        """The `build_translation_model` arguments this configuration fixes."""
        return {name: getattr(self, name) for name in
                ("cell", "embedding_dim", "encoder_units", "encoder_layers", "bidirectional", "decoder_units",
                 "decoder_layers", "attention", "luong_score", "attention_units", "dropout", "tie_embeddings")}


@dataclasses.dataclass
class SummarizationConfig(_JsonConfig):
    """Everything that defines a summarization run: corpus, tokenization (one vocabulary for documents
    and summaries), network (attention seq2seq, optionally with copy and coverage), training and the
    decoding used for evaluation and export.

    Outputs are at most `max_summary_length` tokens, whatever the document's length.
    """

    # Data
    corpus: str = "aeslc"
    document_feature: str | None = None
    summary_feature: str | None = None
    train_split: str = "train"
    validation_corpus: str | None = None
    validation_fraction: float = 0.05
    data_dir: str | None = None
    download_and_prepare_kwargs: dict | None = None
    manual_dir: str | None = None  # files TFDS would download, given by hand (tfds.download.DownloadConfig)
    # Tokenization
    max_tokens: int = 10000
    max_source_length: int = 400
    max_summary_length: int = 16
    lowercase: bool = True
    fold_accents: bool = False
    # Network
    cell: str = "gru"
    embedding_dim: int = 128
    encoder_units: int = 128
    encoder_layers: int = 1
    bidirectional: bool = True
    decoder_units: int = 256
    decoder_layers: int = 1
    attention: str = "bahdanau"
    luong_score: str = "general"
    attention_units: int = 256
    dropout: float = 0.2
    tie_embeddings: bool = True
    copy: bool = True
    coverage: bool = True
    coverage_loss_weight: float = 1.0
    # Training
    batch_size: int = 32
    epochs: int = 6
    learning_rate: float = 2e-3
    lr_schedule: str = "linear_decay"
    clipnorm: float | None = 1.0
    label_smoothing: float = 0.0
    patience: int = 3
    seed: int = 1337
    # Decoding (evaluation and export)
    # Chosen on half of AESLC dev, confirmed on the other half (README, "Summarization benchmark"): subject
    # lines are short and beam search without a strong length normalisation makes them shorter still.
    beam_width: int = 4
    length_penalty: float = 1.5
    min_length: int = 1
    no_repeat_ngram_size: int = 2

    task = "summarization"
    # What `keras-rnn tune summarization` varies by default. `copy` is not searched: it changes the
    # data (extended ids), which a search prepares once; copy and coverage need attention.
    search_space = {
        "cell": choice("simple_rnn", "lstm", "gru"),
        "embedding_dim": choice(64, 128, 256),
        "encoder_units": choice(64, 128, 256),
        "encoder_layers": int_range(1, 2),
        "bidirectional": boolean(),
        "decoder_units": choice(128, 256, 512),
        "attention": choice("bahdanau", "luong"),
        "coverage": boolean(),
        "dropout": float_range(0.0, 0.5, step=0.1),
        "learning_rate": float_range(3e-4, 1e-2, sampling="log"),
        "beam_width": choice(1, 2, 4),
    }

    def __post_init__(self):
        validate_fraction("validation_fraction", self.validation_fraction, allow_zero=False)
        for name in ("max_tokens", "max_source_length", "max_summary_length", "embedding_dim", "encoder_units",
                     "encoder_layers", "decoder_units", "decoder_layers", "attention_units", "batch_size",
                     "epochs", "patience", "beam_width"):
            validate_positive_int(name, getattr(self, name))
        _validate_seq2seq_network_and_training(self)
        if (self.copy or self.coverage) and self.attention == "none":
            raise ValueError(f"copy={self.copy} and coverage={self.coverage} need attention; got attention='none'.")
        for name in ("length_penalty", "coverage_loss_weight", "min_length", "no_repeat_ngram_size"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"Received an invalid value for argument `{name}`: {getattr(self, name)!r}. "
                                 "Expected a number >= 0.")
        if self.min_length > self.max_summary_length:
            raise ValueError(f"min_length={self.min_length} is longer than max_summary_length="
                             f"{self.max_summary_length}.")

    # Decoding length does not grow with the document: at most max_summary_length tokens and [END].
    max_length_ratio = 0.0

    @property
    def max_length_offset(self) -> int:
        return self.max_summary_length + 1

    def model_kwargs(self) -> dict[str, Any]:
        """The `build_summarization_model` arguments this configuration fixes."""
        return {name: getattr(self, name) for name in
                ("cell", "embedding_dim", "encoder_units", "encoder_layers", "bidirectional", "decoder_units",
                 "decoder_layers", "attention", "luong_score", "attention_units", "dropout", "tie_embeddings",
                 "copy", "coverage", "coverage_loss_weight")}
