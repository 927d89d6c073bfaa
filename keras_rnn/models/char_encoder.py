"""Character-level word features for taggers: each word's spelling encoded into one vector.

A named-entity tagger sees many names only once or never; their spelling (capitals, suffixes such as
"-ez" or "-ski", digits, hyphens) still says much. `CharacterPreprocessor` turns tokens into character
ids, and `CharacterWordEncoder` reads each word's characters, with a CNN and a max over the word
(Ma & Hovy 2016; Chiu & Nichols 2016) or a bidirectional LSTM / GRU (Lample et al. 2016), into a
`(batch, words, output_dim)` tensor, to concatenate with the word embeddings.

Padding, on both levels: character id 0 pads a word, and an all-zero word pads a sentence (the
preprocessor maps the empty token `""` to one). Padding characters never change a word's vector, and
a word of no characters encodes to zeros (either encoder).

Masks: the character-level mask stays inside the encoder. Its output carries a word-level Keras mask
`(batch, words)`, True for words of at least one character. A tagger masks its sentences by word ids
and concatenates this output with `Embedding(mask_zero=True)(word_ids)`; from the same tokens the two
masks agree (a non-empty token has a character, and `""` pads both); they must, since Keras 3
`Concatenate` ORs its inputs' masks (a position is real when any input says so). The
word mask is there because Keras 3 `Concatenate` drops the mask at run time when one input has none
(the word embedding's mask would not reach the tagger's RNN). A tagger may still pass
`mask=word_ids != 0` to its RNN explicitly, as `RecurrentLanguageModel` does.

Example:
>>> pre = CharacterPreprocessor(max_word_length=6)
>>> pre.adapt(["Gomez", "Lopez", "went", "home"])
>>> ids = pre(tf.constant([["Perez", "went", ""], ["Hernandez", "", ""]]))
>>> ids.shape  # (batch, words, chars): "Hernandez" cut to 6 characters
TensorShape([2, 3, 6])
>>> encoder = CharacterWordEncoder(pre.vocabulary_size, char_embedding_dim=8, filters=16)
>>> encoder(ids).shape
TensorShape([2, 3, 16])

Reference:
    Lample, Ballesteros, Subramanian, Kawakami, Dyer. Neural Architectures for Named Entity
    Recognition. NAACL 2016.
    Ma, Hovy. End-to-end Sequence Labeling via Bi-directional LSTM-CNNs-CRF. ACL 2016.
    Chiu, Nichols. Named Entity Recognition with Bidirectional LSTM-CNNs. TACL 2016.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_rnn.models.rnn_stack import rnn_layer
from keras_rnn.validation import validate_choice, validate_fraction, validate_positive_int

ENCODERS = ("cnn", "bilstm", "bigru")
CNN_ACTIVATIONS = ("tanh", "relu")
OOV_TOKEN = "[UNK]"
PAD_ID, OOV_ID = 0, 1


def _at_least_one_column(ids: tf.Tensor) -> tf.Tensor:
    """Pads the last axis to length 1 if it is 0: a convolution or an RNN over zero steps fails."""
    missing = tf.maximum(1 - tf.shape(ids)[-1], 0)
    rank = tf.rank(ids)
    paddings = tf.concat([tf.zeros([rank - 1, 2], tf.int32), [[0, missing]]], axis=0)
    return tf.pad(ids, paddings)


@keras.saving.register_keras_serializable(package="keras_rnn")
class CharacterWordEncoder(keras.layers.Layer):
    """One vector per word from its characters: an embedding, then a masked CNN + max or a BiRNN.

    `"cnn"`: a `Conv1D` (padding `"same"`) over the character embeddings, then a max over the word's
    real characters. Padding embeddings are zeroed before the convolution, so the characters at a word's
    edge see exactly the zeros of `"same"` padding however much padding follows, and padding positions
    never enter the max (even when every real activation is negative). `"bilstm"` / `"bigru"`: a
    bidirectional RNN (`rnn_stack.rnn_layer`) over the characters, masked, whose final outputs of the
    two directions (forward after the last character, backward after the first) are concatenated.

    Only the words that have characters are encoded (gathered from the `(batch * words, chars)`
    reshape and scattered back), so padding positions cost nothing and give zeros with either encoder,
    and on a GPU the RNN never sees a row with no real step (which would leave the cuDNN kernel).
    Characters must be right-padded (as `CharacterPreprocessor` gives them): cuDNN needs it.

    The output carries the word mask `char_ids.any(-1)`, `(batch, words)`: see the module docstring.

    Args:
        char_vocabulary_size: character ids, padding and OOV included
            (`CharacterPreprocessor.vocabulary_size`).
        char_embedding_dim: size of the character embeddings. Defaults to `25`.
        encoder: `"cnn"`, `"bilstm"` or `"bigru"`. Defaults to `"cnn"`.
        filters: CNN filters, the output size of `"cnn"`. Defaults to `30`.
        kernel_size: CNN window, in characters. Defaults to `3`.
        activation: CNN activation, `"tanh"` or `"relu"`. Defaults to `"tanh"`.
        units: RNN units per direction; the output size of `"bilstm"` / `"bigru"` is `2 * units`.
            Defaults to `25`.
        dropout: dropout rate on the character embeddings. Defaults to `0.0`.
        **kwargs: `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        char_ids: int `(batch, words, chars)`, 0 for padding; batch, words and chars may be unknown.
        training: whether dropout applies.

    Returns:
        `(batch, words, output_dim)` floats, zeros for words of no characters, with the mask of words
        that have characters.

    Example:
    >>> encoder = CharacterWordEncoder(10, char_embedding_dim=4, encoder="bilstm", units=3)
    >>> ids = np.array([[[2, 3, 4, 0], [5, 0, 0, 0], [0, 0, 0, 0]]])
    >>> features = encoder(ids)
    >>> (features.shape, encoder.output_dim, bool(np.all(features[0, 2] == 0)))
    (TensorShape([1, 3, 6]), 6, True)

    Reference:
        Lample et al. Neural Architectures for Named Entity Recognition. NAACL 2016.
        Ma, Hovy. End-to-end Sequence Labeling via Bi-directional LSTM-CNNs-CRF. ACL 2016.
    """

    def __init__(
        self,
        char_vocabulary_size: int,
        char_embedding_dim: int = 25,
        encoder: str = "cnn",
        filters: int = 30,
        kernel_size: int = 3,
        activation: str = "tanh",
        units: int = 25,
        dropout: float = 0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.char_vocabulary_size = validate_positive_int("char_vocabulary_size", char_vocabulary_size)
        self.char_embedding_dim = validate_positive_int("char_embedding_dim", char_embedding_dim)
        self.encoder = validate_choice("encoder", encoder, ENCODERS)
        self.filters = validate_positive_int("filters", filters)
        self.kernel_size = validate_positive_int("kernel_size", kernel_size)
        self.activation = validate_choice("activation", activation, CNN_ACTIVATIONS)
        self.units = validate_positive_int("units", units)
        self.dropout = validate_fraction("dropout", dropout)
        self.embedding = keras.layers.Embedding(char_vocabulary_size, char_embedding_dim, mask_zero=True,
                                                name="char_embedding")
        self.drop_embeddings = keras.layers.Dropout(self.dropout, name="char_embedding_dropout")
        if encoder == "cnn":
            self.conv = keras.layers.Conv1D(filters, kernel_size, padding="same", activation=activation,
                                            name="char_conv")
        else:
            cell = "lstm" if encoder == "bilstm" else "gru"
            self.rnn = rnn_layer(cell, units, bidirectional=True, return_sequences=False, name=f"char_{cell}")

    @property
    def output_dim(self) -> int:
        """Features per word: `filters` for `"cnn"`, `2 * units` for the bidirectional RNNs."""
        return self.filters if self.encoder == "cnn" else 2 * self.units

    def build(self, char_ids_shape):
        # Sublayers built here so the weights exist before a first call (set_weights, ExportArchive).
        self.embedding.build((None, None))
        embedded = (None, None, self.char_embedding_dim)
        if self.encoder == "cnn":
            self.conv.build(embedded)
        else:
            self.rnn.build(embedded)
        self.built = True

    def call(self, char_ids, training=None):
        char_ids = tf.cast(char_ids, tf.int32)
        leading = tf.shape(char_ids)[:-1]
        flat = _at_least_one_column(tf.reshape(char_ids, [-1, tf.shape(char_ids)[-1]]))  # (batch*words, chars)
        real = tf.where(tf.reduce_any(tf.not_equal(flat, PAD_ID), axis=-1))  # (real words, 1)
        # One dummy word (a single OOV character) keeps the batch non-empty (Conv1D fails on zero rows);
        # its vector is dropped.
        dummy = OOV_ID * tf.cast(tf.equal(tf.range(tf.shape(flat)[1]), 0), tf.int32)[None]
        words = self._encode(tf.concat([tf.gather_nd(flat, real), dummy], axis=0), training)[:-1]
        features = tf.scatter_nd(real, words, tf.stack([tf.shape(flat, out_type=tf.int64)[0], self.output_dim]))
        return tf.reshape(features, tf.concat([leading, [self.output_dim]], axis=0))

    def _encode(self, flat, training):
        """`(words, chars)` ids, every word with a character → `(words, output_dim)`."""
        mask = tf.not_equal(flat, PAD_ID)
        x = self.drop_embeddings(self.embedding(flat), training=training)
        # Padding embeddings are zeroed: a padded word then looks like an unpadded one to "same" padding.
        # (The product is also a new tensor, without the embedding's Keras mask.)
        x = x * tf.cast(mask[..., None], x.dtype)
        if self.encoder == "cnn":
            h = self.conv(x)
            lowest = tf.fill(tf.shape(h), tf.constant(h.dtype.min, h.dtype))
            # Padding can never win the max, even when every real activation is negative.
            return tf.reduce_max(tf.where(mask[..., None], h, lowest), axis=1)
        return self.rnn(x, mask=mask, training=training)

    def compute_output_shape(self, char_ids_shape):
        return tuple(char_ids_shape[:-1]) + (self.output_dim,)

    def compute_mask(self, char_ids, mask=None):
        # The word mask, so that Concatenate with a masked word embedding keeps one (module docstring).
        # keras.ops: Keras also calls this on symbolic inputs while building a functional model.
        return ops.any(ops.not_equal(char_ids, PAD_ID), axis=-1)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            char_vocabulary_size=self.char_vocabulary_size, char_embedding_dim=self.char_embedding_dim,
            encoder=self.encoder, filters=self.filters, kernel_size=self.kernel_size,
            activation=self.activation, units=self.units, dropout=self.dropout,
        )
        return config


def _valid_utf8(tokens: tf.Tensor) -> tf.Tensor:
    """Replaces invalid UTF-8 by U+FFFD, so that splitting and cutting never fail on any bytes."""
    return tf.strings.unicode_transcode(tokens, "UTF-8", "UTF-8", errors="replace", replacement_char=0xFFFD)


def _strings(values: Any) -> Iterable[str]:
    """Every string in nested lists / arrays of `str` or `bytes` (invalid UTF-8 replaced)."""
    if isinstance(values, bytes):
        yield values.decode("utf-8", errors="replace")
    elif isinstance(values, str):
        yield values
    elif isinstance(values, np.ndarray) and values.ndim == 0:
        yield from _strings(values.item())
    else:
        for value in values:
            yield from _strings(value)


def _character_list(vocabulary: Sequence[str]) -> list[str]:
    """`vocabulary` as the characters of ids 2, 3, ...: checked, with a leading `["", "[UNK]"]` dropped."""
    vocabulary = list(vocabulary)
    # get_vocabulary() starts with padding and OOV; neither can be a character, so dropping is unambiguous.
    if vocabulary[:2] == ["", OOV_TOKEN]:
        vocabulary = vocabulary[2:]
    seen = set()
    for char in vocabulary:
        if not isinstance(char, str) or len(char) != 1:
            raise ValueError(f"Received an invalid value for argument `vocabulary`: entry {char!r}. Expected "
                             "single characters (one Unicode code point each).")
        if char in seen:
            raise ValueError(f"Received an invalid value for argument `vocabulary`: {char!r} appears twice. "
                             "Characters must be unique.")
        seen.add(char)
    return vocabulary


@keras.saving.register_keras_serializable(package="keras_rnn")
class CharacterPreprocessor(keras.layers.Layer):
    """Maps tokens to character ids `(..., chars)`: Unicode code points looked up in a vocabulary.

    Tokens are taken as given (no lower-casing: capitals matter for names). Invalid UTF-8 becomes
    U+FFFD first, so any bytes give ids and nothing fails. A token longer than `max_word_length`
    characters keeps its first `max_word_length` (prefixes and capitals survive; long suffixes are
    lost, a fair price for a bounded cost per word, even for a 10,000-character token). Id 0 pads, id 1
    is any character out of the vocabulary; the empty token `""` is a padding word, all zeros. Only
    `""` is padding: a token of spaces is a word of space characters.

    Pure TensorFlow (a `StringLookup` table), so it runs inside `tf.data.Dataset.map` and inside a
    SavedModel signature.

    Args:
        max_word_length: characters kept per token. Defaults to `20`.
        max_tokens: vocabulary size, padding and OOV included, or `None` for every character seen in
            `adapt`. Defaults to `None`.
        vocabulary: the characters of ids 2, 3, ... (`get_vocabulary()`'s full list, starting
            `["", "[UNK]"]`, is accepted too), or `None` to `adapt`. Defaults to `None`.
        **kwargs: `keras.layers.Layer` arguments.

    Call arguments:
        tokens: string tensor of any rank, usually `(batch, words)` padded with `""`.

    Returns:
        int32 `tokens.shape + (chars,)`, right-padded with 0, where `chars` is the longest (cut) token,
        at least 1.

    Example:
    >>> pre = CharacterPreprocessor(max_word_length=3, vocabulary=["a", "b", "c"])
    >>> pre(tf.constant([["abc", "cab!"], ["b", ""]])).numpy().tolist()  # "!" is OOV; "cab!" is cut
    [[[2, 3, 4], [4, 2, 3]], [[3, 0, 0], [0, 0, 0]]]
    """

    def __init__(
        self,
        max_word_length: int = 20,
        max_tokens: int | None = None,
        vocabulary: Sequence[str] | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.max_word_length = validate_positive_int("max_word_length", max_word_length)
        if max_tokens is not None and (validate_positive_int("max_tokens", max_tokens) < 3):
            raise ValueError(f"Received an invalid value for argument `max_tokens`: {max_tokens!r}. Expected None "
                             "or at least 3 (padding, out-of-vocabulary and one character).")
        self.max_tokens = max_tokens
        if vocabulary is not None:
            vocabulary = _character_list(vocabulary)
            if max_tokens is not None and len(vocabulary) + 2 > max_tokens:
                raise ValueError(f"Received a `vocabulary` of {len(vocabulary)} characters, more than "
                                 f"`max_tokens={max_tokens}` allows (it counts padding and OOV too).")
        self.lookup = keras.layers.StringLookup(vocabulary=vocabulary, mask_token="", oov_token=OOV_TOKEN,
                                                num_oov_indices=1, name="characters")

    def build(self, input_shape=None):
        # The lookup table exists from __init__; nothing depends on the input shape.
        self.built = True

    def adapt(self, tokens: Any) -> None:
        """Builds the vocabulary from training tokens: characters by frequency (ties by code point).

        Args:
            tokens: strings (`str` or UTF-8 `bytes`), nested lists or arrays of them (sentences), or a
                `tf.data.Dataset` of string tensors. Padding tokens `""` add nothing.
        """
        if isinstance(tokens, tf.data.Dataset):
            tokens = tokens.as_numpy_iterator()
        counts: collections.Counter = collections.Counter()
        for token in _strings(tokens):
            counts.update(token)
        # A fixed order for one corpus: the same training tokens always give the same ids.
        ranked = sorted(counts, key=lambda char: (-counts[char], char))
        if self.max_tokens is not None:
            ranked = ranked[: self.max_tokens - 2]
        self.lookup.set_vocabulary(ranked)

    def get_vocabulary(self) -> list[str]:
        """Every character by id: padding `""`, `"[UNK]"`, then the learned characters."""
        return [str(char) for char in self.lookup.get_vocabulary()]

    @property
    def vocabulary_size(self) -> int:
        """Number of ids, padding and OOV included: `CharacterWordEncoder`'s `char_vocabulary_size`."""
        return len(self.get_vocabulary())

    def call(self, tokens):
        tokens = _valid_utf8(tf.convert_to_tensor(tokens, tf.string))
        # Cut before splitting, so a huge token costs no more than a short one past this point.
        tokens = tf.strings.substr(tokens, 0, self.max_word_length, unit="UTF8_CHAR")
        # Split the flat tokens and reshape: a ragged split of a batch of 0 rows loses its other
        # dimensions in `to_tensor` ((0, T) tokens would give (0, 0, chars)).
        flat = tf.strings.unicode_split(tf.reshape(tokens, [-1]), "UTF-8")
        ids = _at_least_one_column(tf.cast(self.lookup(flat), tf.int32).to_tensor(default_value=PAD_ID))
        return tf.reshape(ids, tf.concat([tf.shape(tokens), tf.shape(ids)[-1:]], axis=0))

    def compute_output_spec(self, tokens):
        return keras.KerasTensor(tuple(tokens.shape) + (None,), dtype="int32")

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(max_word_length=self.max_word_length, max_tokens=self.max_tokens,
                      vocabulary=self.get_vocabulary()[2:] if self.vocabulary_size > 2 else None)
        return config
