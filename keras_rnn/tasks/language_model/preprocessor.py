"""Text ↔ token ids for language models, on either granularity, in the TensorFlow graph.

Characters: every Unicode character (newlines and spaces included) is a token, looked up in a
`keras.layers.StringLookup`. Words: the project's `TextPreprocessor` with the sentence standardization
that `detokenize` can join back. Both reserve id 0 for padding, 1 for out-of-vocabulary and 2 for
`[END]`, the token that ends every document in the training stream (so a model learns where texts
stop, and generation stops there).
"""

from __future__ import annotations

import collections
import json
from collections.abc import Iterable, Sequence

import keras
import numpy as np
import tensorflow as tf

from keras_rnn.data.text import TextPreprocessor, _valid_utf8, detokenize
from keras_rnn.files import write_text_atomic
from keras_rnn.validation import validate_choice, validate_positive_int

END_TOKEN = "[END]"
OOV_TOKEN = "[UNK]"
PAD_ID, OOV_ID, END_ID = 0, 1, 2
GRANULARITIES = ("char", "word")


@keras.saving.register_keras_serializable(package="keras_rnn")
class LanguageModelPreprocessor(keras.layers.Layer):
    """Maps raw strings to ragged token ids and ids back to text.

    Args:
        granularity: `"char"` (every Unicode character a token) or `"word"`. Defaults to `"char"`.
        max_tokens: vocabulary size, padding, OOV and `[END]` included. Defaults to `256`.
        lowercase: lower-case text first. Defaults to `False`.
        vocabulary: the tokens after padding and OOV (`[END]` first), or `None` to `adapt`.

    Example:
    >>> pre = LanguageModelPreprocessor("char", max_tokens=8)
    >>> pre.adapt(["abba", "cab"])
    >>> pre(tf.constant(["abc", "z"])).to_list()  # z is out of vocabulary
    [[3, 4, 5], [1]]
    >>> pre.detokenize(tf.constant([[3, 4, 2, 5]])).numpy().tolist()  # stops at [END]
    [b'ab']
    """

    def __init__(
        self,
        granularity: str = "char",
        max_tokens: int = 256,
        lowercase: bool = False,
        vocabulary: Sequence[str] | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.granularity = validate_choice("granularity", granularity, GRANULARITIES)
        self.max_tokens = validate_positive_int("max_tokens", max_tokens)
        if max_tokens < 4:
            raise ValueError(f"Received an invalid value for argument `max_tokens`: {max_tokens!r}. Expected at least 4 "
                             "(padding, out-of-vocabulary, [END] and one token).")
        self.lowercase = bool(lowercase)
        if vocabulary is not None:
            vocabulary = [str(token) for token in vocabulary]
            if not vocabulary or vocabulary[0] != END_TOKEN:
                raise ValueError(f"A language-model vocabulary starts with {END_TOKEN!r}; got {vocabulary[:3]!r}.")
        if granularity == "word":
            self.words = TextPreprocessor(
                max_tokens=max_tokens, max_length=None, vocabulary=vocabulary,
                standardization="lower" if lowercase else "cased", reserved_tokens=[END_TOKEN], name="words")
        else:
            self.lookup = keras.layers.StringLookup(
                vocabulary=vocabulary, mask_token="", oov_token=OOV_TOKEN, num_oov_indices=1, name="characters")
        # ids → tokens for both granularities (a table, so that detokenizing traces into an export).
        self.inverse = keras.layers.StringLookup(
            vocabulary=vocabulary, mask_token="", oov_token=OOV_TOKEN, num_oov_indices=1, invert=True,
            name="inverse_tokens")

    def build(self, input_shape=None):
        # The lookup tables exist from __init__; nothing depends on the input shape.
        self.built = True

    # --- Vocabulary -----------------------------------------------------------------------------------

    def adapt(self, texts: Iterable[str] | tf.data.Dataset) -> None:
        """Builds the vocabulary from training texts: the `max_tokens - 3` most frequent tokens."""
        if self.granularity == "word":
            dataset = texts if isinstance(texts, tf.data.Dataset) else tf.data.Dataset.from_tensor_slices(list(texts))
            self.words.adapt(dataset)
            self.inverse.set_vocabulary(self.get_vocabulary()[2:])
            return
        counts: collections.Counter = collections.Counter()
        if isinstance(texts, tf.data.Dataset):
            texts = (t.decode("utf-8", errors="replace") for t in texts.as_numpy_iterator())
        for text in texts:
            counts.update(text.lower() if self.lowercase else text)
        # Most frequent first, ties by code point, so the same corpus always gives the same ids.
        ranked = sorted(counts, key=lambda char: (-counts[char], char))
        vocabulary = [END_TOKEN] + ranked[: self.max_tokens - 3]
        self.lookup.set_vocabulary(vocabulary)
        self.inverse.set_vocabulary(vocabulary)

    def get_vocabulary(self) -> list[str]:
        """Every token by id: padding (`""`), `[UNK]`, `[END]`, then the learned ones."""
        if self.granularity == "word":
            return ["", OOV_TOKEN] + self.words.get_vocabulary()[2:]
        return [str(token) for token in self.lookup.get_vocabulary()]

    @property
    def vocabulary_size(self) -> int:
        return len(self.get_vocabulary())

    def save_vocabulary(self, path: str) -> None:
        """Writes the tokens after padding and OOV as a JSON list (a character vocabulary holds newlines)."""
        write_text_atomic(path, json.dumps(self.get_vocabulary()[2:], ensure_ascii=False) + "\n")

    @classmethod
    def from_vocabulary_file(cls, path: str, **config) -> "LanguageModelPreprocessor":
        with open(path, encoding="utf-8") as f:
            return cls(vocabulary=json.load(f), **config)

    # --- Text → ids → text --------------------------------------------------------------------------------

    def tokens(self, texts: tf.Tensor) -> tf.RaggedTensor:
        """The token strings of each text, `(batch, None)`."""
        texts = _valid_utf8(tf.convert_to_tensor(texts, tf.string))
        if self.granularity == "word":
            return self.words.tokens(texts)
        if self.lowercase:
            texts = tf.strings.lower(texts, encoding="utf-8")
        return tf.strings.unicode_split(texts, "UTF-8")

    def call(self, texts):
        texts = tf.convert_to_tensor(texts, tf.string)
        if self.granularity == "word":
            return self.words(_valid_utf8(texts))
        return tf.cast(self.lookup(self.tokens(texts)), tf.int32)

    def detokenize(self, ids: tf.Tensor) -> tf.Tensor:
        """`(batch, time)` ids → one string a row, up to the first `[END]`; padding dropped."""
        ids = tf.cast(ids, tf.int32)
        # Everything from the first [END] on is cut off.
        before_end = tf.equal(tf.cumsum(tf.cast(tf.equal(ids, END_ID), tf.int32), axis=1), 0)
        keep = tf.logical_and(before_end, tf.not_equal(ids, PAD_ID))
        tokens = self.inverse(tf.cast(tf.ragged.boolean_mask(ids, keep), tf.int64))
        if self.granularity == "word":
            return detokenize(tf.strings.reduce_join(tokens, axis=1, separator=" "))
        return tf.strings.reduce_join(tokens, axis=1)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(granularity=self.granularity, max_tokens=self.max_tokens, lowercase=self.lowercase,
                      vocabulary=self.get_vocabulary()[2:] if self.vocabulary_size > 2 else None)
        return config


def token_stream(preprocessor: LanguageModelPreprocessor, documents: Sequence[str], batch_size: int = 256) -> np.ndarray:
    """Every document's ids followed by `[END]`, concatenated: the one stream a language model reads.

    Example:
    >>> pre = LanguageModelPreprocessor("char", vocabulary=["[END]", "a", "b"])
    >>> token_stream(pre, ["ab", "b"]).tolist()
    [3, 4, 2, 4, 2]
    """
    parts = []
    for start in range(0, len(documents), batch_size):
        ids = preprocessor(tf.constant(list(documents[start:start + batch_size])))
        ends = tf.fill([ids.nrows(), 1], tf.constant(END_ID, ids.dtype))
        parts.append(tf.concat([ids, tf.RaggedTensor.from_tensor(ends)], axis=1).flat_values.numpy())
    return np.concatenate(parts).astype(np.int32) if parts else np.zeros([0], np.int32)
