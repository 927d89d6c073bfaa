"""The sentiment task's configuration: its data, text, network parts over the shared ones."""

from __future__ import annotations

import dataclasses

from keras_rnn.core.config import DataConfig, OptimizationConfig, TaskConfig
from keras_rnn.core.pretrained import ENCODER_FIELDS
from keras_rnn.optimizers import validate_decay
from keras_rnn.data.text import STANDARDIZATIONS, TRUNCATING
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
    """The vocabulary size, how long texts are cut (`"pre"` keeps the end of a review) and how text is
    standardized into words (`keras_rnn.data.text.TextPreprocessor`; a pretrained encoder sets it to
    its language model's)."""

    max_tokens: int = 20000
    max_length: int | None = 500
    truncating: str = "pre"
    standardization: str = "lower_strip_html"

    def __post_init__(self):
        validate_positive_int("max_tokens", self.max_tokens)
        if self.max_length is not None:
            validate_positive_int("max_length", self.max_length)
        validate_choice("truncating", self.truncating, TRUNCATING)
        validate_choice("standardization", self.standardization, STANDARDIZATIONS)


@dataclasses.dataclass
class ClassifierNetwork:
    """The `build_sentiment_model` arguments: embeddings, the RNN stack, pooling and the n-gram bag, and
    optionally a trained word-level `language_model` run whose embedding and RNN stack initialise the
    classifier's (`pretrained_encoder`: its folder; its vocabulary, cell, units, layers and embedding
    size replace the configuration's, and the stack reads one way, as the language model did)."""

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
    pretrained_encoder: str | None = None

    def __post_init__(self):
        for name in ("units", "num_layers", "embedding_dim"):
            validate_positive_int(name, getattr(self, name))
        validate_choice("cell", self.cell, CELLS)
        validate_choice("pooling", self.pooling, POOLINGS)
        validate_fraction("dropout", self.dropout)
        validate_fraction("embedding_dropout", self.embedding_dropout)


@dataclasses.dataclass
class FineTuningOptimization(OptimizationConfig):
    """`OptimizationConfig` and the fine-tuning tricks of Howard & Ruder (2018), for a pretrained encoder
    (they work without one too): `discriminative_decay`, each layer group below the head (the RNN
    layers from the top down, then the embedding) learns that many times slower than the one above
    (1.0: one learning rate; they use 2.6); `gradual_unfreezing`, the first epoch trains the head alone
    and every later epoch unfreezes one more group, from the top down. The slanted-triangular schedule is
    `lr_schedule="slanted_triangular"`. `keras_rnn.optimizers` holds both."""

    discriminative_decay: float = 1.0
    gradual_unfreezing: bool = False

    def __post_init__(self):
        super().__post_init__()
        validate_decay("discriminative_decay", self.discriminative_decay)


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
    optimization: FineTuningOptimization

    def determined_fields(self) -> tuple[str, ...]:
        """With a pretrained encoder, the fields it sets (`keras_rnn.core.pretrained.ENCODER_FIELDS`)."""
        return ENCODER_FIELDS if self.network.pretrained_encoder is not None else ()

    task = "sentiment"
    parts = {"data": ClassificationData, "text": ClassificationText, "network": ClassifierNetwork,
             "optimization": FineTuningOptimization}
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
