"""The sentiment task's configuration: its data, text, network parts over the shared ones."""

from __future__ import annotations

import dataclasses

from keras_rnn.core.config import DataConfig, OptimizationConfig, TaskConfig
from keras_rnn.data.text import TRUNCATING
from keras_rnn.models.classifier import POOLINGS
from keras_rnn.models.rnn_stack import CELLS
from keras_rnn.search_space import boolean, choice, float_range, int_range
from keras_rnn.validation import validate_choice, validate_fraction, validate_positive_int


@dataclasses.dataclass
class ClassificationData(DataConfig):
    """`DataConfig` and the columns of a labelled corpus: the text, the label, the class names."""

    text_column: str | None = None
    label_column: str = "label"
    class_names: list[str] | None = None


@dataclasses.dataclass
class ClassificationText:
    """The vocabulary size and how long texts are cut (`"pre"` keeps the end of a review)."""

    max_tokens: int = 20000
    max_length: int | None = 500
    truncating: str = "pre"

    def __post_init__(self):
        validate_positive_int("max_tokens", self.max_tokens)
        if self.max_length is not None:
            validate_positive_int("max_length", self.max_length)
        validate_choice("truncating", self.truncating, TRUNCATING)


@dataclasses.dataclass
class ClassifierNetwork:
    """The `build_sentiment_model` arguments: embeddings, the RNN stack, pooling and the n-gram bag."""

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

    def __post_init__(self):
        for name in ("units", "num_layers", "embedding_dim"):
            validate_positive_int(name, getattr(self, name))
        validate_choice("cell", self.cell, CELLS)
        validate_choice("pooling", self.pooling, POOLINGS)
        validate_fraction("dropout", self.dropout)
        validate_fraction("embedding_dropout", self.embedding_dropout)


class SentimentConfig(TaskConfig):
    """Everything that defines a sentiment run: data, text, network and optimisation.

    The defaults are the project's IMDB configuration (README, "Benchmark"): a bidirectional GRU over
    the last 500 tokens with masked max+mean pooling, plus a bag of hashed unigrams and bigrams whose
    logits add to the GRU's, 3 epochs of Adam with a linearly decaying learning rate. `keras-rnn train
    sentiment` flags map one-to-one onto the fields.

    Example:
    >>> config = SentimentConfig(corpus="../shared/data/aclImdb_train.tar.xz", cell="lstm", epochs=2)
    >>> config.network.cell, config.optimization.epochs, config.data.validation_fraction
    ('lstm', 2, 0.2)
    """

    data: ClassificationData
    text: ClassificationText
    network: ClassifierNetwork
    optimization: OptimizationConfig

    task = "sentiment"
    parts = {"data": ClassificationData, "text": ClassificationText, "network": ClassifierNetwork,
             "optimization": OptimizationConfig}
    defaults = {"corpus": "imdb_reviews", "validation_fraction": 0.2, "batch_size": 64, "epochs": 3, "patience": 2}
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
