"""Strings in, strings out: the seq2seq task layer that translation and summarization serve and evaluate.

`Seq2SeqGenerator` chains the source preprocessor, the encoder and decoder of a trained seq2seq model,
`decode_ids` with a fixed strategy, and the target vocabulary, so one traced `call` does everything
the SavedModel needs: it is what `keras_rnn.export` saves and what evaluation runs.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_rnn.data.text import TextPreprocessor, detokenize
from keras_rnn.decoding import BeamSearch, GreedySearch
from keras_rnn.models.seq2seq import Seq2SeqDecoder, Seq2SeqEncoder, decode_ids, extended_source_ids
from keras_rnn.validation import validate_positive_int

START_TOKEN, END_TOKEN = "[START]", "[END]"
OOV_ID = 1


@keras.saving.register_keras_serializable(package="keras_rnn")
class Seq2SeqGenerator(keras.layers.Layer):
    """Raw source strings → generated strings, with the attention behind each output token.

    Output `[UNK]` tokens are replaced by the source token they attend to most (Luong et al., 2015,
    "Addressing the rare word problem"), so names and numbers outside the vocabulary are copied. A
    source with no tokens (empty or whitespace-only text) gives an empty output.

    Args:
        source_preprocessor: the training source `TextPreprocessor`, used as it is: it cuts sources where
            training cut them (its `max_length`).
        target_preprocessor: the target `TextPreprocessor` (its vocabulary holds `[START]`, `[END]`).
        encoder, decoder: the trained `Seq2SeqEncoder` and `Seq2SeqDecoder`.
        beam_width: `1` for greedy search, more for beam search. Defaults to `5`.
        length_penalty: GNMT α for beam search. Defaults to `0.6`.
        max_length_ratio, max_length_offset: at most `ratio * source tokens + offset` output tokens.
        replace_unknown: copy attended source tokens in place of `[UNK]`. Defaults to `True`.
        min_length: the end token is forbidden before this many output tokens. Defaults to `0`.
        no_repeat_ngram_size: when > 0, outputs never repeat an n-gram of this length. Defaults to `0`.

    With a copy decoder (`Seq2SeqDecoder(copy=True)`) the source's out-of-vocabulary tokens are given
    extended ids, and output extended ids become the source tokens they stand for.

    Call arguments:
        text: string tensor `(batch,)`.

    Returns:
        A dict: `text` (generated strings), `tokens` (`(batch, time)` output tokens, `""` after the end),
        `source_tokens` (`(batch, source_len)`, `""` padded) and `attention` (`(batch, time, source_len)`,
        zeros without attention).
    """

    def __init__(
        self,
        source_preprocessor: TextPreprocessor,
        target_preprocessor: TextPreprocessor,
        encoder: Seq2SeqEncoder,
        decoder: Seq2SeqDecoder,
        beam_width: int = 5,
        length_penalty: float = 0.6,
        max_length_ratio: float = 1.5,
        max_length_offset: int = 10,
        replace_unknown: bool = True,
        min_length: int = 0,
        no_repeat_ngram_size: int = 0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.beam_width = validate_positive_int("beam_width", beam_width)
        self.length_penalty = float(length_penalty)
        self.max_length_ratio = float(max_length_ratio)
        self.max_length_offset = int(max_length_offset)
        self.replace_unknown = bool(replace_unknown)
        self.min_length = int(min_length)
        self.no_repeat_ngram_size = int(no_repeat_ngram_size)
        self.source_preprocessor = source_preprocessor
        self.target_preprocessor = target_preprocessor
        self.encoder, self.decoder = encoder, decoder
        vocabulary = target_preprocessor.get_vocabulary()
        self.start_id, self.end_id = vocabulary.index(START_TOKEN), vocabulary.index(END_TOKEN)
        # Padding, [START] and [END] print as nothing.
        printable = [""] + vocabulary[1:]
        printable[self.start_id] = printable[self.end_id] = ""
        self.target_tokens = tf.constant(printable)

    def build(self, input_shape=None):
        # Everything with weights (the encoder and decoder) comes in trained; nothing to create here.
        self.built = True

    @property
    def strategy(self):
        if self.beam_width == 1:
            return GreedySearch()
        return BeamSearch(self.beam_width, self.length_penalty)

    def call(self, text):
        text = tf.reshape(tf.convert_to_tensor(text, tf.string), [-1])
        source_tokens, source_ids = self.source_preprocessor.tokens_and_ids(text)
        source_ids = tf.cast(TextPreprocessor.pad(source_ids), tf.int32)
        batch, source_width = tf.shape(source_ids)[0], tf.shape(source_ids)[1]
        dense_source = source_tokens.to_tensor("", shape=tf.stack([tf.cast(batch, tf.int64), tf.cast(source_width, tf.int64)]))
        vocabulary_size = self.decoder.vocabulary_size
        extended = extended_source_ids(source_ids, dense_source, vocabulary_size, OOV_ID) if self.decoder.copy else None
        result = decode_ids(
            self.encoder, self.decoder, source_ids, start_id=self.start_id, end_id=self.end_id,
            strategy=self.strategy, max_length_ratio=self.max_length_ratio,
            max_length_offset=self.max_length_offset, min_length=self.min_length, source_extended_ids=extended,
            no_repeat_ngram_size=self.no_repeat_ngram_size,
        )
        ids = result.ids
        steps = tf.shape(ids)[1]
        if result.attention is None:
            attention = tf.zeros([batch, steps, source_width])
        else:
            attention = tf.cast(result.attention, tf.float32)
        tokens = tf.gather(self.target_tokens, tf.minimum(ids, vocabulary_size - 1))
        if self.decoder.copy:  # extended ids are copied source tokens: id - vocabulary_size is the position
            copied = tf.gather(dense_source, tf.maximum(ids - vocabulary_size, 0), batch_dims=1)
            tokens = tf.where(ids >= vocabulary_size, copied, tokens)
        if self.replace_unknown and result.attention is not None:
            attended = tf.gather(dense_source, tf.argmax(attention, axis=-1, output_type=tf.int32), batch_dims=1)
            tokens = tf.where(tf.equal(ids, OOV_ID), attended, tokens)
        tokens = tf.where(tf.sequence_mask(result.lengths, steps), tokens, "")
        generated = detokenize(tf.strings.reduce_join(tokens, axis=1, separator=" "))
        has_source = source_tokens.row_lengths() > 0
        generated = tf.where(has_source, generated, "")
        return {"text": generated, "tokens": tokens, "source_tokens": dense_source, "attention": attention}

    def get_config(self):
        config = super().get_config()
        config.update(
            source_preprocessor=keras.saving.serialize_keras_object(self.source_preprocessor),
            target_preprocessor=keras.saving.serialize_keras_object(self.target_preprocessor),
            encoder=keras.saving.serialize_keras_object(self.encoder),
            decoder=keras.saving.serialize_keras_object(self.decoder),
            beam_width=self.beam_width, length_penalty=self.length_penalty,
            max_length_ratio=self.max_length_ratio, max_length_offset=self.max_length_offset,
            replace_unknown=self.replace_unknown,
            min_length=self.min_length, no_repeat_ngram_size=self.no_repeat_ngram_size,
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config.pop("max_source_length", None)  # generators saved before sources were cut by their preprocessor
        for key in ("source_preprocessor", "target_preprocessor", "encoder", "decoder"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)
