"""The tagging task's configuration: its data, text, network parts over the shared ones."""

from __future__ import annotations

import dataclasses

from keras_rnn.core.config import DataConfig, OptimizationConfig, TaskConfig
from keras_rnn.data.tagging import LONG_SENTENCES, READ_SCHEMES
from keras_rnn.models.char_encoder import ENCODERS
from keras_rnn.models.rnn_stack import CELLS
from keras_rnn.models.tagger import HEADS
from keras_rnn.search_space import choice, float_range, int_range
from keras_rnn.validation import validate_choice, validate_fraction, validate_positive_int

TRAINING_SCHEMES = ("IOB2", "IOBES")


@dataclasses.dataclass
class TaggingData(DataConfig):
    """`DataConfig` and how a tagging corpus is read: the CoNLL columns of tokens and tags, the tag
    scheme of the source (`"auto"`: detected per file; `"plain"`: labels that are not entity chunks, such
    as part-of-speech tags, kept as they are), and the longest sentence accepted (`long_sentences`:
    `"raise"` names the file and line of a longer one, `"split"` cuts it, `"drop"` leaves it out, counted)."""

    token_column: int = 0
    tag_column: int = -1
    scheme: str = "auto"
    max_length: int = 256
    long_sentences: str = "raise"

    def __post_init__(self):
        super().__post_init__()
        validate_choice("scheme", self.scheme, READ_SCHEMES)
        validate_positive_int("max_length", self.max_length)
        validate_choice("long_sentences", self.long_sentences, LONG_SENTENCES)
        for name in ("token_column", "tag_column"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"Received an invalid value for argument `{name}`: {value!r}. Expected a column "
                                 "index (0 is the first column, -1 the last).")


@dataclasses.dataclass
class TaggingText:
    """How tokens become ids: word normalisation and vocabulary, characters kept per word, and the tag
    scheme the model is trained on (IOBES marks entity ends too; outputs are IOB2 either way; plain labels
    are trained as they are, whatever this says)."""

    lowercase: bool = True
    normalize_digits: bool = True
    max_word_tokens: int = 50_000
    min_word_count: int = 1
    max_word_length: int = 20
    tag_scheme: str = "IOBES"

    def __post_init__(self):
        for name in ("max_word_tokens", "min_word_count", "max_word_length"):
            validate_positive_int(name, getattr(self, name))
        if self.max_word_tokens < 3:
            raise ValueError(f"Received an invalid value for argument `max_word_tokens`: {self.max_word_tokens!r}. "
                             "Expected at least 3 (padding, out-of-vocabulary and one word).")
        validate_choice("tag_scheme", self.tag_scheme, TRAINING_SCHEMES)


@dataclasses.dataclass
class TaggingNetwork:
    """The `build_tagger` arguments: the output head, word, character and casing features, the BiRNN."""

    head: str = "crf"
    word_embedding_dim: int = 100
    word_dropout: float = 0.05
    char_encoder: str = "cnn"
    char_embedding_dim: int = 30
    char_filters: int = 50
    char_units: int = 25
    casing_dim: int = 8
    cell: str = "lstm"
    units: int = 200
    num_layers: int = 1
    dropout: float = 0.5

    def __post_init__(self):
        validate_choice("head", self.head, HEADS)
        validate_choice("char_encoder", self.char_encoder, ENCODERS)
        validate_choice("cell", self.cell, CELLS)
        for name in ("word_embedding_dim", "char_embedding_dim", "char_filters", "char_units", "units", "num_layers"):
            validate_positive_int(name, getattr(self, name))
        if isinstance(self.casing_dim, bool) or not isinstance(self.casing_dim, int) or self.casing_dim < 0:
            raise ValueError(f"Received an invalid value for argument `casing_dim`: {self.casing_dim!r}. Expected "
                             "an integer >= 0 (0: no casing feature).")
        validate_fraction("word_dropout", self.word_dropout)
        validate_fraction("dropout", self.dropout)
        if self.word_dropout >= 1 or self.dropout >= 1:
            raise ValueError("Received an invalid value for argument `word_dropout` or `dropout`: "
                             f"{self.word_dropout!r}, {self.dropout!r}. Expected numbers in [0, 1).")


class TaggingConfig(TaskConfig):
    """Everything that defines a tagging run: corpus, tokens and tags, network, optimisation.

    The defaults are the CoNLL-2003 configuration of the README's benchmark: a BiLSTM-CRF with a
    character CNN and casing features, trained from scratch. `head="softmax"` is the baseline.

    Example:
    >>> config = TaggingConfig(corpus="../shared/data/conll2003", head="softmax")
    >>> config.network.head, config.text.tag_scheme, config.optimization.batch_size
    ('softmax', 'IOBES', 32)
    """

    data: TaggingData
    text: TaggingText
    network: TaggingNetwork
    optimization: OptimizationConfig

    task = "tagging"
    parts = {"data": TaggingData, "text": TaggingText, "network": TaggingNetwork, "optimization": OptimizationConfig}
    defaults = {"corpus": "conll2003", "validation_fraction": 0.1, "batch_size": 32, "epochs": 30, "patience": 5,
                "learning_rate": 2e-3, "clipnorm": 5.0}
    search_space = {
        "head": choice("crf", "softmax"),
        "cell": choice("lstm", "gru"),
        "units": choice(64, 128, 200, 256),
        "num_layers": int_range(1, 2),
        "char_encoder": choice("cnn", "bilstm"),
        "dropout": float_range(0.2, 0.6, step=0.1),
        "word_dropout": float_range(0.0, 0.2, step=0.05),
        "learning_rate": float_range(5e-4, 5e-3, sampling="log"),
    }
