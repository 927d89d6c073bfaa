"""Text → token ids: standardization, the vocabulary and truncation, in the TensorFlow graph.

The same `TextPreprocessor` runs in the `tf.data` pipeline during training and inside the exported
SavedModel, so serving sees exactly the tokens training saw.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import keras
import tensorflow as tf

from keras_rnn.files import write_text_atomic
from keras_rnn.validation import validate_choice, validate_positive_int

TRUNCATING = ("pre", "post")


@keras.saving.register_keras_serializable(package="keras_rnn")
def standardize_text(text: tf.Tensor) -> tf.Tensor:
    """Lower-cases, drops HTML tags and splits punctuation off words; never fails on any bytes.

    Invalid UTF-8 is replaced by U+FFFD first, so every later op sees valid text. `\\p{L}\\p{N}` rather
    than `\\w`, because RE2's `\\w` is ASCII-only and would split "café" or "Straße".

    Example:
    >>> standardize_text(tf.constant(["Great<br />film, 10/10!"])).numpy()[0].decode().split()
    ['great', 'film', ',', '10', '/', '10', '!']
    """
    text = tf.strings.unicode_transcode(
        text, "UTF-8", "UTF-8", errors="replace", replacement_char=0xFFFD
    )
    text = tf.strings.lower(text, encoding="utf-8")
    text = tf.strings.regex_replace(text, r"<[^>]*>", " ")
    return tf.strings.regex_replace(text, r"([^\p{L}\p{N}\s'])", r" \1 ")


@keras.saving.register_keras_serializable(package="keras_rnn")
class TextPreprocessor(keras.layers.Layer):
    """Maps a batch of raw strings to ragged token ids, truncated to `max_length`.

    Id 0 is padding and id 1 the out-of-vocabulary token, as in `keras.layers.TextVectorization`.
    `pad` turns the ragged ids into a right-padded dense batch, never narrower than one step so that an
    RNN never sees a zero-length sequence (an empty string maps to one padding step, fully masked).

    Args:
        max_tokens: vocabulary size, padding and OOV included. Defaults to `20000`.
        max_length: keep at most this many tokens per text, or `None` for all. Defaults to `400`.
        truncating: `"post"` drops tokens from the end, `"pre"` from the start (as in
            `keras.utils.pad_sequences`). Defaults to `"post"`.
        vocabulary: optional list of tokens or path of a one-token-a-line file; else call `adapt`.

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
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.max_tokens = validate_positive_int("max_tokens", max_tokens)
        self.max_length = None if max_length is None else validate_positive_int("max_length", max_length)
        self.truncating = validate_choice("truncating", truncating, TRUNCATING)
        self.vectorizer = keras.layers.TextVectorization(
            max_tokens=max_tokens,
            standardize=standardize_text,
            split="whitespace",
            ragged=True,
            vocabulary=vocabulary,
            name="vectorizer",
        )

    def adapt(self, texts: tf.data.Dataset, batch_size: int = 1024) -> None:
        """Builds the vocabulary from a dataset of strings (the training split only)."""
        self.vectorizer.adapt(texts.batch(batch_size))

    def call(self, texts):
        ids = self.vectorizer(texts)
        if self.max_length is None:
            return ids
        if self.truncating == "post":
            return ids[:, : self.max_length]
        return ids[:, -self.max_length :]

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
        """Writes one token a line (padding and OOV excluded: `TextVectorization` adds them back)."""
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
            vocabulary=[str(t) for t in self.get_vocabulary()[2:]] or None,
        )
        return config
