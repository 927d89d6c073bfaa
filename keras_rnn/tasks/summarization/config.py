"""The summarization task's configuration: its data, text and network parts over the shared ones."""

from __future__ import annotations

import dataclasses

from keras_rnn.core.config import DataConfig, DecodingConfig, TaskConfig, check_non_negative
from keras_rnn.core.seq2seq import Seq2SeqNetwork, Seq2SeqOptimization
from keras_rnn.search_space import boolean, choice, float_range, int_range
from keras_rnn.validation import validate_positive_int


@dataclasses.dataclass
class SummarizationCorpus(DataConfig):
    """`DataConfig` and the features that hold documents and summaries (default: the corpus's own)."""

    document_feature: str | None = None
    summary_feature: str | None = None


@dataclasses.dataclass
class SummarizationText:
    """One vocabulary for documents and summaries; documents are cut to `max_source_length` tokens,
    summaries (and outputs) to `max_summary_length`."""

    max_tokens: int = 10000
    max_source_length: int = 400
    max_summary_length: int = 16
    lowercase: bool = True
    fold_accents: bool = False

    def __post_init__(self):
        for name in ("max_tokens", "max_source_length", "max_summary_length"):
            validate_positive_int(name, getattr(self, name))


@dataclasses.dataclass
class SummarizationNetwork(Seq2SeqNetwork):
    """`Seq2SeqNetwork` and the pointer-generator copy switch and coverage (both need attention)."""

    copy: bool = True
    coverage: bool = True
    coverage_loss_weight: float = 1.0

    def __post_init__(self):
        super().__post_init__()
        if (self.copy or self.coverage) and self.attention == "none":
            raise ValueError(f"copy={self.copy} and coverage={self.coverage} need attention; got attention='none'.")
        check_non_negative("coverage_loss_weight", self.coverage_loss_weight)


class SummarizationConfig(TaskConfig):
    """Everything that defines a summarization run: corpus, tokenization (one vocabulary for documents
    and summaries), network (attention seq2seq, optionally with copy and coverage), optimisation and the
    decoding used for evaluation and export.

    Outputs are at most `max_summary_length` tokens, whatever the document's length.

    Example:
    >>> config = SummarizationConfig(corpus="../shared/data/aeslc_train_dev.tar.xz", copy=False, coverage=False)
    >>> config.network.copy, config.text.max_summary_length, config.decoding.beam_width
    (False, 16, 4)
    """

    data: SummarizationCorpus
    text: SummarizationText
    network: SummarizationNetwork
    optimization: Seq2SeqOptimization
    decoding: DecodingConfig

    task = "summarization"
    parts = {"data": SummarizationCorpus, "text": SummarizationText, "network": SummarizationNetwork,
             "optimization": Seq2SeqOptimization, "decoding": DecodingConfig}
    defaults = {
        "corpus": "aeslc", "validation_fraction": 0.05,
        "embedding_dim": 128, "encoder_units": 128, "decoder_units": 256, "attention": "bahdanau", "dropout": 0.2,
        "batch_size": 32, "epochs": 6, "patience": 3, "label_smoothing": 0.0,
        # Chosen on half of AESLC dev, confirmed on the other half (README, "Summarization benchmark"): subject
        # lines are short and beam search without a strong length normalisation makes them shorter still.
        "beam_width": 4, "length_penalty": 1.5, "min_length": 1, "no_repeat_ngram_size": 2,
    }
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

    def validate(self) -> None:
        if self.decoding.min_length > self.text.max_summary_length:
            raise ValueError(f"min_length={self.decoding.min_length} is longer than max_summary_length="
                             f"{self.text.max_summary_length}.")
