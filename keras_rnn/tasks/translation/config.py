"""The translation task's configuration: its data and text parts over the shared ones, and the seq2seq
network, optimisation and decoding parts."""

from __future__ import annotations

import dataclasses

from keras_rnn.core.config import DataConfig, DecodingConfig, TaskConfig, check_non_negative, check_positive
from keras_rnn.core.seq2seq import Seq2SeqNetwork, Seq2SeqOptimization
from keras_rnn.models.seq2seq import ATTENTIONS
from keras_rnn.search_space import boolean, choice, float_range, int_range
from keras_rnn.validation import validate_positive_int


@dataclasses.dataclass
class ParallelData(DataConfig):
    """`DataConfig` and which sides of a parallel corpus are source and target (TFDS language codes or
    TSV columns)."""

    source: str | None = None
    target: str | None = None
    tsv_columns: list[str] | None = None


@dataclasses.dataclass
class TranslationText:
    """A vocabulary per side, and lengths: the source preprocessor cuts sources to `max_source_length`
    tokens, in training and in translation (evaluation, export) alike; training pairs longer than
    `max_length` tokens on either side after that are skipped."""

    source_max_tokens: int = 10000
    target_max_tokens: int = 6000
    max_length: int = 60
    max_source_length: int = 200
    lowercase: bool = False
    fold_accents: bool = False

    def __post_init__(self):
        for name in ("source_max_tokens", "target_max_tokens", "max_length", "max_source_length"):
            validate_positive_int(name, getattr(self, name))


@dataclasses.dataclass
class TranslationDecoding(DecodingConfig):
    """`DecodingConfig` and the output limit: at most `max_length_ratio × source tokens +
    max_length_offset` tokens."""

    max_length_ratio: float = 1.5
    max_length_offset: int = 10

    def __post_init__(self):
        super().__post_init__()
        check_positive("max_length_ratio", self.max_length_ratio)
        check_non_negative("max_length_offset", self.max_length_offset)


class TranslationConfig(TaskConfig):
    """Everything that defines a translation run: corpus and direction, tokenization, network,
    optimisation and the decoding used for evaluation and export.

    The defaults are the project's Multi30k configuration (README, "Translation benchmark"). `keras-rnn
    train translation` flags map one-to-one onto the fields.

    Example:
    >>> config = TranslationConfig(corpus="../shared/data/multi30k", source="de", target="en", beam_width=1)
    >>> config.data.source, config.network.attention, config.decoding.beam_width
    ('de', 'luong', 1)
    """

    data: ParallelData
    text: TranslationText
    network: Seq2SeqNetwork
    optimization: Seq2SeqOptimization
    decoding: TranslationDecoding

    task = "translation"
    parts = {"data": ParallelData, "text": TranslationText, "network": Seq2SeqNetwork,
             "optimization": Seq2SeqOptimization, "decoding": TranslationDecoding}
    defaults = {"corpus": "ted_hrlr_translate/pt_to_en", "validation_fraction": 0.05, "batch_size": 64,
                "epochs": 11, "patience": 3, "label_smoothing": 0.1,
                # bfloat16 where the CPU computes it natively: 2.2× the float32 training step (issue 18)
                "precision": "auto"}
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
