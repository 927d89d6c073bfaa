"""The language-model task's configuration: its data, text, network and generation parts over the shared ones."""

from __future__ import annotations

import dataclasses

from keras_rnn.core.config import DataConfig, OptimizationConfig, TaskConfig
from keras_rnn.decoding import RandomSampling
from keras_rnn.models.rnn_stack import CELLS
from keras_rnn.search_space import boolean, choice, float_range, int_range
from keras_rnn.tasks.language_model.data import DOCUMENT_UNITS
from keras_rnn.tasks.language_model.preprocessor import GRANULARITIES
from keras_rnn.validation import validate_choice, validate_count, validate_fraction, validate_positive_int



@dataclasses.dataclass
class LanguageModelData(DataConfig):
    """`DataConfig` and how a local plain-text corpus splits into documents (`"file"`: a file is one
    document; `"line"`: every non-empty line is one), and the TFDS feature holding the text."""

    document_unit: str = "file"
    text_feature: str | None = None

    def __post_init__(self):
        super().__post_init__()
        validate_choice("document_unit", self.document_unit, DOCUMENT_UNITS)


@dataclasses.dataclass
class LanguageModelText:
    """Tokens (every Unicode character, or the project's words), the vocabulary size and the length of
    the windows that backpropagation through time runs over."""

    granularity: str = "char"
    max_tokens: int = 256
    lowercase: bool = False
    sequence_length: int = 100

    def __post_init__(self):
        validate_choice("granularity", self.granularity, GRANULARITIES)
        validate_positive_int("max_tokens", self.max_tokens)
        if self.max_tokens < 4:
            raise ValueError(f"Received an invalid value for argument `max_tokens`: {self.max_tokens!r}. Expected at "
                             "least 4 (padding, out-of-vocabulary, [END] and one token).")
        validate_positive_int("sequence_length", self.sequence_length)


@dataclasses.dataclass
class LanguageModelNetwork:
    """The `RecurrentLanguageModel` arguments: embeddings, the RNN stack, dropout, tying, statefulness and
    the sampled softmax of training (`sampled_softmax` words a step; 0: the full softmax)."""

    cell: str = "gru"
    units: int = 512
    num_layers: int = 1
    embedding_dim: int = 128
    dropout: float = 0.2
    embedding_dropout: float = 0.0
    tie_embeddings: bool = False
    stateful: bool = False
    sampled_softmax: int = 0

    def __post_init__(self):
        validate_count("sampled_softmax", self.sampled_softmax, "the full softmax")
        for name in ("units", "num_layers", "embedding_dim"):
            validate_positive_int(name, getattr(self, name))
        validate_choice("cell", self.cell, CELLS)
        validate_fraction("dropout", self.dropout)
        validate_fraction("embedding_dropout", self.embedding_dropout)


@dataclasses.dataclass
class GenerationConfig:
    """How the export samples by default (every signature input but the prompt can override it): length,
    temperature, top-k, nucleus (top-p), beam width (1: sample; more: beam search) and the seed."""

    max_new_tokens: int = 200
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    beam_width: int = 1
    generation_seed: int = 0
    suggestions: int = 3  # next words (or characters) the export's `next_words` returns

    def __post_init__(self):
        validate_positive_int("max_new_tokens", self.max_new_tokens)
        RandomSampling(self.temperature, self.top_k, top_p=self.top_p)  # checks the three, as sampling does
        validate_positive_int("beam_width", self.beam_width)
        validate_positive_int("suggestions", self.suggestions)


class LanguageModelConfig(TaskConfig):
    """Everything that defines a language-model run: corpus, tokens, network, optimisation and generation.

    The defaults are the character-level Tiny Shakespeare configuration of the README's benchmark. Word
    level: `granularity="word"` with a larger `max_tokens` (e.g. 20000) and shorter windows.

    Example:
    >>> config = LanguageModelConfig(granularity="word", max_tokens=20000, sequence_length=35)
    >>> config.text.granularity, config.network.cell, config.generation.temperature
    ('word', 'gru', 1.0)
    """

    data: LanguageModelData
    text: LanguageModelText
    network: LanguageModelNetwork
    optimization: OptimizationConfig
    generation: GenerationConfig

    task = "language_model"
    parts = {"data": LanguageModelData, "text": LanguageModelText, "network": LanguageModelNetwork,
             "optimization": OptimizationConfig, "generation": GenerationConfig}
    defaults = {"corpus": "tiny_shakespeare", "validation_fraction": 0.05, "validation_split": "chronological",
                "batch_size": 64, "epochs": 10, "patience": 3, "learning_rate": 2e-3, "clipnorm": 1.0}
    search_space = {
        "cell": choice("simple_rnn", "lstm", "gru"),
        "units": choice(128, 256, 512),
        "num_layers": int_range(1, 2),
        "embedding_dim": choice(64, 128, 256),
        "dropout": float_range(0.0, 0.5, step=0.1),
        "tie_embeddings": boolean(),
        "learning_rate": float_range(3e-4, 1e-2, sampling="log"),
    }
