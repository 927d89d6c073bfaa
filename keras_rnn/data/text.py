"""Text → token ids: standardization, the vocabulary and truncation, in the TensorFlow graph.

The same `TextPreprocessor` runs in the `tf.data` pipeline during training and inside the exported
SavedModel, so serving sees exactly the tokens training saw.
"""

from __future__ import annotations

import functools
import os
import unicodedata
from collections.abc import Sequence

import keras
import tensorflow as tf

from keras_rnn.files import write_text_atomic
from keras_rnn.validation import validate_choice, validate_positive_int

TRUNCATING = ("pre", "post")


def _valid_utf8(text: tf.Tensor) -> tf.Tensor:
    """Replaces invalid UTF-8 by U+FFFD, so every later op sees valid text and never fails."""
    return tf.strings.unicode_transcode(text, "UTF-8", "UTF-8", errors="replace", replacement_char=0xFFFD)


@keras.saving.register_keras_serializable(package="keras_rnn")
def standardize_text(text: tf.Tensor) -> tf.Tensor:
    """Lower-cases, drops HTML tags and splits punctuation off words; never fails on any bytes.

    Invalid UTF-8 is replaced by U+FFFD first, so every later op sees valid text. `\\p{L}\\p{N}` rather
    than `\\w`, because RE2's `\\w` is ASCII-only and would split "café" or "Straße".

    Example:
    >>> standardize_text(tf.constant(["Great<br />film, 10/10!"])).numpy()[0].decode().split()
    ['great', 'film', ',', '10', '/', '10', '!']
    """
    text = tf.strings.lower(_valid_utf8(text), encoding="utf-8")
    text = tf.strings.regex_replace(text, r"<[^>]*>", " ")
    return tf.strings.regex_replace(text, r"([^\p{L}\p{N}\s'])", r" \1 ")


@functools.lru_cache(maxsize=2)
def _character_table(fold_accents: bool) -> dict[str, str]:
    """Per-character NFKC (and, to fold accents, NFKD without combining marks) for every code point it
    changes: ligatures, full-width forms, non-breaking spaces, and "é" → "e" when folding."""
    table = {}
    for code in range(0x80, 0x30000):
        char = chr(code)
        # Only characters with a decomposition change under NFKC/NFKD; combining marks are dropped when folding.
        if not unicodedata.decomposition(char) and not (fold_accents and unicodedata.combining(char)):
            continue
        mapped = unicodedata.normalize("NFKC", char)
        if fold_accents:
            mapped = "".join(c for c in unicodedata.normalize("NFKD", mapped) if not unicodedata.combining(c))
        if mapped != char:
            table[char] = mapped
    return table


class SentenceStandardizer:
    """Standardization for translation and summarization: keeps case, normalizes Unicode per character
    (NFKC, optionally folding accents), and splits punctuation into tokens so that `detokenize` can
    join it back. Intra-word apostrophes become their own token (`"woman's"` → `"woman 's"`).

    Built from its options alone (a lookup table made here), so a saved preprocessor rebuilds it.

    Example:
    >>> SentenceStandardizer(fold_accents=True)(tf.constant(["Ein Café, bitte!"])).numpy()[0].decode()
    'Ein Cafe ,  bitte ! '
    """

    def __init__(self, lowercase: bool = False, fold_accents: bool = False):
        self.lowercase, self.fold_accents = lowercase, fold_accents
        table = _character_table(fold_accents)
        # Unchanged characters are not in the table; U+FFFF marks them (and maps to itself anyway).
        self.table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(list(table), list(table.values())), default_value="\uffff"
        )

    def normalize(self, text: tf.Tensor) -> tf.Tensor:
        def mapped(chars):
            found = self.table.lookup(chars)
            return tf.where(found == "\uffff", chars, found)

        chars = tf.strings.unicode_split(_valid_utf8(text), "UTF-8")
        return tf.strings.reduce_join(tf.ragged.map_flat_values(mapped, chars), axis=-1)

    def __call__(self, text: tf.Tensor) -> tf.Tensor:
        text = self.normalize(text)
        if self.lowercase:
            text = tf.strings.lower(text, encoding="utf-8")
        text = tf.strings.regex_replace(text, r"(\p{L})'(\p{L})", r"\1 '\2")
        return tf.strings.regex_replace(text, r"([^\p{L}\p{N}\s'])", r" \1 ")


def detokenize(text: tf.Tensor) -> tf.Tensor:
    """Joins space-separated tokens back into text: no space before closing punctuation, after opening
    punctuation, around hyphens, or before an apostrophe suffix. The inverse of `SentenceStandardizer`'s
    splitting for ordinary sentences.

    Example:
    >>> detokenize(tf.constant(["A woman 's t - shirt ( red ) , ¿ no ?"])).numpy()[0].decode()
    "A woman's t-shirt (red), ¿no?"
    """
    text = tf.strings.regex_replace(text, r"\s+", " ")
    text = tf.strings.regex_replace(text, r" ([.,!?;:%)\]}…])", r"\1")
    text = tf.strings.regex_replace(text, r"([(\[{¿¡]) ", r"\1")
    text = tf.strings.regex_replace(text, r"(\p{L}|\p{N}) - (\p{L}|\p{N})", r"\1-\2")
    text = tf.strings.regex_replace(text, r" '(\p{L})", r"'\1")
    return tf.strings.strip(text)


STANDARDIZATIONS = ("lower_strip_html", "cased", "lower")


@keras.saving.register_keras_serializable(package="keras_rnn")
class TextPreprocessor(keras.layers.Layer):
    """Maps a batch of raw strings to ragged token ids, truncated to `max_length`.

    Id 0 is padding and id 1 the out-of-vocabulary token, as in `keras.layers.TextVectorization`;
    `reserved_tokens` (e.g. `[START]`, `[END]`) take the next ids, in order. `pad` turns the ragged ids
    into a right-padded dense batch, never narrower than one step so that an RNN never sees a
    zero-length sequence (an empty string maps to one padding step, fully masked).

    Args:
        max_tokens: vocabulary size, padding, OOV and reserved tokens included. Defaults to `20000`.
        max_length: keep at most this many tokens per text, or `None` for all. Defaults to `400`.
        truncating: `"post"` drops tokens from the end, `"pre"` from the start (as in
            `keras.utils.pad_sequences`). Defaults to `"post"`.
        vocabulary: optional list of tokens (reserved ones first) or path of a one-token-a-line file;
            else call `adapt`.
        standardization: `"lower_strip_html"` (`standardize_text`: for classification), `"cased"` or
            `"lower"` (`SentenceStandardizer`: Unicode-normalized sentences whose punctuation
            `detokenize` can join back, for text generation). Defaults to `"lower_strip_html"`.
        fold_accents: with `"cased"` / `"lower"`, also map "é" to "e". Defaults to `False`.
        reserved_tokens: tokens that never occur in text and get ids 2, 3, ... Defaults to none.

    Call arguments:
        texts: string tensor of shape `(batch,)`.

    Returns:
        `tf.RaggedTensor` of int64 ids, shape `(batch, None)`.

    Example:
    >>> pre = TextPreprocessor(max_tokens=10, max_length=3)
    >>> pre.adapt(tf.data.Dataset.from_tensor_slices(["a b c d", "a b"]))
    >>> pre.pad(pre(tf.constant(["a b c d", ""]))).shape
    TensorShape([2, 3])
    """

    def __init__(
        self,
        max_tokens: int = 20000,
        max_length: int | None = 400,
        truncating: str = "post",
        vocabulary: Sequence[str] | str | None = None,
        standardization: str = "lower_strip_html",
        fold_accents: bool = False,
        reserved_tokens: Sequence[str] = (),
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.max_tokens = validate_positive_int("max_tokens", max_tokens)
        self.max_length = None if max_length is None else validate_positive_int("max_length", max_length)
        self.truncating = validate_choice("truncating", truncating, TRUNCATING)
        self.standardization = validate_choice("standardization", standardization, STANDARDIZATIONS)
        self.fold_accents = bool(fold_accents)
        self.reserved_tokens = [str(token) for token in reserved_tokens]
        if len(self.reserved_tokens) + 3 > self.max_tokens:
            raise ValueError(
                f"Received an invalid value for argument `max_tokens`: {max_tokens!r}. Expected room for "
                f"padding, OOV, the reserved tokens {self.reserved_tokens} and at least one word."
            )
        if standardization == "lower_strip_html":
            self._standardize = standardize_text
        else:
            self._standardize = SentenceStandardizer(standardization == "lower", self.fold_accents)
            # An attribute of the layer, so that SavedModel export tracks the lookup table.
            self.normalization_table = self._standardize.table
        self.vectorizer = keras.layers.TextVectorization(
            max_tokens=max_tokens,
            standardize=None,
            split="whitespace",
            ragged=True,
            vocabulary=vocabulary,
            name="vectorizer",
        )

    def standardize(self, texts: tf.Tensor) -> tf.Tensor:
        """Raw strings → space-separated tokens, as the vocabulary sees them."""
        return self._standardize(texts)

    def adapt(self, texts: tf.data.Dataset, batch_size: int = 1024) -> None:
        """Builds the vocabulary from a dataset of strings (the training split only)."""
        self.vectorizer.adapt(texts.batch(batch_size).map(self.standardize, num_parallel_calls=tf.data.AUTOTUNE))
        if self.reserved_tokens:
            learned = [t for t in self.get_vocabulary()[2:] if t not in self.reserved_tokens]
            words = self.reserved_tokens + learned[: self.max_tokens - 2 - len(self.reserved_tokens)]
            self.vectorizer.set_vocabulary(words)

    def token_id(self, token: str) -> int:
        """The id of a vocabulary token, e.g. a reserved one; raises `KeyError` if absent."""
        vocabulary = self.get_vocabulary()
        if token not in vocabulary:
            raise KeyError(f"Token {token!r} is not in the vocabulary (reserved tokens: {self.reserved_tokens}).")
        return vocabulary.index(token)

    def _truncate(self, ragged):
        if self.max_length is None:
            return ragged
        if self.truncating == "post":
            return ragged[:, : self.max_length]
        return ragged[:, -self.max_length :]

    def tokens(self, texts: tf.Tensor) -> tf.RaggedTensor:
        """The token strings behind `call`'s ids (same split and truncation), `(batch, None)`."""
        return self._truncate(tf.strings.split(self.standardize(texts)))

    def call(self, texts):
        return self._truncate(self.vectorizer(self.standardize(texts)))

    def tokens_and_ids(self, texts: tf.Tensor) -> tuple[tf.RaggedTensor, tf.RaggedTensor]:
        """`tokens(texts)` and `call(texts)` from one standardization, aligned token for token."""
        standardized = self.standardize(texts)
        return self._truncate(tf.strings.split(standardized)), self._truncate(self.vectorizer(standardized))

    @staticmethod
    def pad(ids: tf.RaggedTensor) -> tf.Tensor:
        """Right-pads ragged ids with 0 into a dense `(batch, max(1, longest))` tensor."""
        width = tf.maximum(tf.cast(ids.bounding_shape(axis=1), tf.int64), 1)
        return ids.to_tensor(default_value=0, shape=tf.stack([ids.nrows(), width]))

    @property
    def vocabulary_size(self) -> int:
        return self.vectorizer.vocabulary_size()

    def get_vocabulary(self) -> list[str]:
        return [str(token) for token in self.vectorizer.get_vocabulary()]

    def save_vocabulary(self, path: str) -> None:
        """Writes one token a line (padding and OOV excluded: `TextVectorization` adds them back;
        reserved tokens included, first)."""
        write_text_atomic(path, "".join(token + "\n" for token in self.get_vocabulary()[2:]))

    @classmethod
    def from_vocabulary_file(cls, path: str, **config) -> "TextPreprocessor":
        if not os.path.isfile(path):
            raise FileNotFoundError(f"Vocabulary file not found: {path!r}.")
        with open(path, encoding="utf-8") as f:
            tokens = [line.rstrip("\n") for line in f]
        return cls(vocabulary=tokens, **config)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            max_tokens=self.max_tokens,
            max_length=self.max_length,
            truncating=self.truncating,
            standardization=self.standardization,
            fold_accents=self.fold_accents,
            reserved_tokens=self.reserved_tokens,
            vocabulary=[str(t) for t in self.get_vocabulary()[2:]] or None,
        )
        return config
