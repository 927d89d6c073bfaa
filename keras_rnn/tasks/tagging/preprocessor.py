"""The tagging task's preprocessor: tokens (as given) → word ids, character ids and a casing class.

A tagger trained from scratch sees most names rarely; three views of each token share the work:
- **word ids**: the token normalised (lower-cased, every decimal digit written `0`, both optional) and
  looked up in the training vocabulary, so "Monday", "MONDAY" and "monday" share one vector and dates
  and scores share a few;
- **character ids** (`models.char_encoder.CharacterPreprocessor`): the spelling as written, capitals
  included, for the character encoder;
- **a casing class**, which normalisation erases and which says much about names: padding, lower,
  UPPER, Title, mIxed, digits only, some digits, other (punctuation).

Text in the export is split into tokens by `tokenize` (pure TensorFlow, with character offsets), close
to CoNLL-2003's tokenisation: words (with inner hyphens), "U.S."-style initials, "'s", numbers with
their separators, and each other symbol on its own.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence

import keras
import tensorflow as tf

from keras_rnn.files import write_text_atomic
from keras_rnn.models.char_encoder import CharacterPreprocessor, _valid_utf8
from keras_rnn.validation import validate_positive_int

OOV_TOKEN = "[UNK]"
PAD_ID, OOV_ID = 0, 1
# Casing classes, by id (0 pads). Checked in this order: the first that matches is the class.
CASINGS = ("[PAD]", "lower", "upper", "title", "mixed", "numeric", "has_digit", "other")
_CASING_PATTERNS = (
    ("numeric", r"\p{Nd}+"),
    ("has_digit", r".*\p{Nd}.*"),
    ("lower", r"[\p{Ll}\p{Lo}\p{M}'’.\-]*\p{Ll}[\p{Ll}\p{Lo}\p{M}'’.\-]*"),
    ("upper", r"[\p{Lu}\p{M}'’.\-&]*\p{Lu}[\p{Lu}\p{M}'’.\-&]*"),
    ("title", r"\p{Lu}[^\p{Lu}]*\p{Ll}[^\p{Lu}]*"),
    ("mixed", r".*\pL.*"),
)
# CoNLL-like tokens: initials ("U.S."), "'s" on its own, words with inner hyphens, numbers with inner
# separators ("1,000", "3.5", "1-0"), then any other single character that is not a space (Unicode's
# separators included) nor a control character: those only separate tokens.
TOKEN_PATTERN = (r"(?:\pL\.){2,}|'[sS]\b|[\pL\pM\pN]+(?:[\-–][\pL\pM\pN]+)*(?:[.,:/][\pN]+)*"
                 r"|[^\s\p{Z}\p{Cc}]")


def casing_ids(tokens: tf.Tensor) -> tf.Tensor:
    """The casing class of each token (`CASINGS`), int32 of the tokens' shape; `""` is padding (0).

    Example:
    >>> casing_ids(tf.constant(["Yoda", "toy", "NASA", "1996", "B-52", "iPod", ",", ""])).numpy().tolist()
    [3, 1, 2, 5, 6, 4, 7, 0]
    """
    tokens = tf.convert_to_tensor(tokens, tf.string)
    ids = tf.fill(tf.shape(tokens), CASINGS.index("other"))
    for name, pattern in reversed(_CASING_PATTERNS):
        ids = tf.where(tf.strings.regex_full_match(tokens, pattern), CASINGS.index(name), ids)
    return tf.where(tokens == "", PAD_ID, ids)


def tokenize(texts: tf.Tensor) -> tuple[tf.RaggedTensor, tf.RaggedTensor, tf.RaggedTensor]:
    """Splits texts into CoNLL-like tokens: `(tokens, starts, ends)`, each ragged `(batch, None)`, the
    offsets in Unicode characters (`text[start:end]` in Python is the token). Invalid UTF-8 is read as
    Python's `bytes.decode("utf-8", errors="replace")` reads it (U+FFFD for each bad sequence) first.

    Example:
    >>> tokens, starts, ends = tokenize(tf.constant(["Bob got a toy Yoda.", "U.S. troops' 1,000 km"]))
    >>> [[t.decode() for t in row] for row in tokens.to_list()]
    [['Bob', 'got', 'a', 'toy', 'Yoda', '.'], ['U.S.', 'troops', "'", '1,000', 'km']]
    >>> starts.to_list()[0], ends.to_list()[0]
    ([0, 4, 8, 10, 14, 18], [3, 7, 9, 13, 18, 19])
    """
    texts = _valid_utf8(tf.convert_to_tensor(texts, tf.string))
    # Wrap every token in \x01 marks: splitting on them gives gap, token, gap, token, ..., gap, so the
    # pieces' lengths give the offsets. A \x01 in the text becomes a space (same length, never a token).
    texts = tf.strings.regex_replace(texts, "\x01", " ")
    marked = tf.strings.regex_replace(texts, f"({TOKEN_PATTERN})", "\x01\\1\x01")
    pieces = tf.strings.split(marked, "\x01")
    lengths = tf.strings.length(pieces, unit="UTF8_CHAR")
    ends_all = tf.math.cumsum(lengths, axis=1)
    tokens = pieces[:, 1::2]
    ends = ends_all[:, 1::2]
    starts = ends - lengths[:, 1::2]
    return tokens, starts, ends


@keras.saving.register_keras_serializable(package="keras_rnn")
class TaggingPreprocessor(keras.layers.Layer):
    """Tokens → `{"word_ids", "char_ids", "casing_ids"}`, for `models.tagger.build_tagger`.

    Args:
        max_word_tokens: word vocabulary size, padding and OOV included (`None`: every word kept).
        min_word_count: training occurrences a word needs for its own id (rarer ones are OOV).
        lowercase: lower-case words before lookup (characters keep their case).
        normalize_digits: write every decimal digit `0` before lookup.
        max_word_length: characters kept per token for the character encoder.
        word_vocabulary, char_vocabulary: saved vocabularies (ids 2, 3, ...), or `None` to `adapt`.

    Call arguments:
        tokens: string `(batch, words)`, padded with `""`.

    Returns:
        `word_ids` int32 `(batch, words)`, `casing_ids` int32 `(batch, words)`, both 0 at padding, and
        `char_ids` int32 `(batch, words, chars)`.

    Example:
    >>> pre = TaggingPreprocessor()
    >>> pre.adapt([["Bob", "got", "a", "toy", "Yoda"], ["Bob", "won", "in", "1996"]])
    >>> ids = pre(tf.constant([["BOB", "got", "R2-D2", "in", "2001", ""]]))
    >>> ids["word_ids"].numpy().tolist(), ids["casing_ids"].numpy().tolist()
    ([[2, 3, 1, 8, 9, 0]], [[2, 1, 6, 1, 5, 0]])
    """

    def __init__(
        self,
        max_word_tokens: int | None = None,
        min_word_count: int = 1,
        lowercase: bool = True,
        normalize_digits: bool = True,
        max_word_length: int = 20,
        word_vocabulary: Sequence[str] | None = None,
        char_vocabulary: Sequence[str] | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if max_word_tokens is not None and validate_positive_int("max_word_tokens", max_word_tokens) < 3:
            raise ValueError(f"Received an invalid value for argument `max_word_tokens`: {max_word_tokens!r}. "
                             "Expected None or at least 3 (padding, out-of-vocabulary and one word).")
        self.max_word_tokens = max_word_tokens
        self.min_word_count = validate_positive_int("min_word_count", min_word_count)
        self.lowercase = bool(lowercase)
        self.normalize_digits = bool(normalize_digits)
        words = list(word_vocabulary) if word_vocabulary is not None else None
        if words is not None and words[:2] == ["", OOV_TOKEN]:
            words = words[2:]
        self.words = keras.layers.StringLookup(vocabulary=words, mask_token="", oov_token=OOV_TOKEN,
                                               num_oov_indices=1, name="words")
        self.characters = CharacterPreprocessor(max_word_length=max_word_length, vocabulary=char_vocabulary,
                                                name="characters")

    @property
    def max_word_length(self) -> int:
        return self.characters.max_word_length

    def build(self, input_shape=None):
        self.built = True

    def normalize(self, tokens: tf.Tensor) -> tf.Tensor:
        """Tokens as the word vocabulary holds them."""
        tokens = _valid_utf8(tf.convert_to_tensor(tokens, tf.string))
        if self.lowercase:
            tokens = tf.strings.lower(tokens, encoding="utf-8")
        if self.normalize_digits:
            tokens = tf.strings.regex_replace(tokens, r"\p{Nd}", "0")
        return tokens

    def adapt(self, sentences: Iterable[Sequence[str]]) -> None:
        """Builds both vocabularies from training sentences (lists of tokens): words by frequency (ties in
        first-seen order), at least `min_word_count` occurrences, at most `max_word_tokens` ids."""
        sentences = [list(sentence) for sentence in sentences]
        flat = [token for sentence in sentences for token in sentence if token]
        counts: Counter = Counter()
        batch = 10_000
        for start in range(0, len(flat), batch):
            normalized = self.normalize(tf.constant(flat[start:start + batch], tf.string)).numpy()
            counts.update(token.decode("utf-8") for token in normalized)
        ranked = [word for word, count in counts.most_common() if count >= self.min_word_count and word]
        if self.max_word_tokens is not None:
            ranked = ranked[: self.max_word_tokens - 2]
        if not ranked:
            raise ValueError("No word to build a vocabulary from: the training sentences hold no token seen "
                             f"at least min_word_count={self.min_word_count} times.")
        self.words.set_vocabulary(ranked)
        self.characters.adapt(flat)

    @property
    def word_vocabulary_size(self) -> int:
        return self.words.vocabulary_size()

    @property
    def char_vocabulary_size(self) -> int:
        return self.characters.vocabulary_size

    def call(self, tokens):
        tokens = _valid_utf8(tf.convert_to_tensor(tokens, tf.string))
        word_ids = tf.cast(self.words(self.normalize(tokens)), tf.int32)
        return {"word_ids": word_ids, "char_ids": self.characters(tokens), "casing_ids": casing_ids(tokens)}

    def compute_output_spec(self, tokens):
        shape = tuple(tokens.shape)
        return {"word_ids": keras.KerasTensor(shape, dtype="int32"),
                "char_ids": keras.KerasTensor(shape + (None,), dtype="int32"),
                "casing_ids": keras.KerasTensor(shape, dtype="int32")}

    def vocabularies(self) -> dict:
        """`{"words": [...], "characters": [...]}`, each without padding and OOV (ids 2, 3, ...)."""
        return {"words": [str(w) for w in self.words.get_vocabulary()[2:]],
                "characters": self.characters.get_vocabulary()[2:]}

    def save_vocabulary(self, path: str) -> None:
        """Writes both vocabularies as one JSON object (`from_vocabulary_file` reads it back)."""
        write_text_atomic(path, json.dumps(self.vocabularies(), ensure_ascii=False) + "\n")

    @classmethod
    def from_vocabulary_file(cls, path: str, **config) -> "TaggingPreprocessor":
        with open(path, encoding="utf-8") as f:
            saved = json.load(f)
        return cls(word_vocabulary=saved["words"], char_vocabulary=saved["characters"], **config)

    def get_config(self) -> dict:
        config = super().get_config()
        vocabularies = self.vocabularies()
        config.update(max_word_tokens=self.max_word_tokens, min_word_count=self.min_word_count,
                      lowercase=self.lowercase, normalize_digits=self.normalize_digits,
                      max_word_length=self.max_word_length, word_vocabulary=vocabularies["words"] or None,
                      char_vocabulary=vocabularies["characters"] or None)
        return config
