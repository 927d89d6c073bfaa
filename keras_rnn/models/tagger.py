"""A sequence tagger (many-to-many): every token gets a tag, from its word, spelling and casing read
in context by a bidirectional RNN, with a softmax or a linear-chain CRF on top.

    word ids ──► TokenDropout ──► Embedding ─┐
    char ids ──► CharacterWordEncoder ───────┼─► Concatenate ─► Dropout ─► BiLSTM/BiGRU × n ─► Dropout
    casing ids ─► Embedding ─────────────────┘                                                  │
                               tags ◄── CRF (Viterbi) or argmax ◄── potentials ◄── Dense(num_tags)

The three inputs must pad the same positions (0 ids, no characters), as the preprocessor makes them:
Keras's `Concatenate` keeps a position when any input's mask does. Tag id 0 is padding (`"[PAD]"`,
never a target): the CRF's constraints keep it off real tokens and
`ArgmaxTags` never picks it, and both write it at padding positions. The model's outputs are
`{"potentials": (batch, time, num_tags), "tags": (batch, time) int32}`; only the potentials get a loss
(`tagger_loss`). Inputs are the `TaggingPreprocessor` outputs, so the model takes plain id tensors and
exports like any functional model.

Reference:
    Huang, Xu, Yu. Bidirectional LSTM-CRF Models for Sequence Tagging. 2015.
    Lample, Ballesteros, Subramanian, Kawakami, Dyer. Neural Architectures for Named Entity
    Recognition. NAACL 2016.
    Ma, Hovy. End-to-end Sequence Labeling via Bi-directional LSTM-CNNs-CRF. ACL 2016.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from keras_rnn.models.char_encoder import CharacterWordEncoder
from keras_rnn.models.crf import CRF, CRFNegativeLogLikelihood, iob_transition_constraints
from keras_rnn.models.rnn_stack import rnn_stack
from keras_rnn.validation import validate_choice, validate_fraction, validate_positive_int

HEADS = ("crf", "softmax")
PAD_TAG = "[PAD]"
TAG_SCHEMES = ("IOB2", "IOBES", "plain")  # plain: labels that are not entity chunks (part of speech)


@keras.saving.register_keras_serializable(package="keras_rnn")
class TokenDropout(keras.layers.Layer):
    """Replaces token ids by the out-of-vocabulary id with probability `rate`, in training only, so the
    network learns what to do with words it has no vector for (the names it will meet after training).
    Padding (id 0) is never replaced.

    Args:
        rate: probability of replacing a token, in [0, 1).
        oov_id: the id that replaces it. Defaults to `1`.
        seed: the random seed. Defaults to `None`.

    Example:
    >>> layer = TokenDropout(0.5, seed=0)
    >>> ids = np.array([[5, 6, 7, 8, 0, 0]])
    >>> layer(ids).numpy().tolist()  # inference: unchanged
    [[5, 6, 7, 8, 0, 0]]
    >>> dropped = layer(ids, training=True).numpy()
    >>> bool(set(dropped[0, :4]) <= {1, 5, 6, 7, 8}), dropped[0, 4:].tolist()
    (True, [0, 0])
    """

    def __init__(self, rate: float, oov_id: int = 1, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.rate = validate_fraction("rate", rate)
        if self.rate >= 1:
            raise ValueError(f"Received an invalid value for argument `rate`: {rate!r}. Expected a number in [0, 1).")
        self.oov_id = int(oov_id)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.built = True

    def call(self, ids, training=None):
        if not training or self.rate == 0:
            return ids
        drop = keras.random.uniform(ops.shape(ids), seed=self.seed_generator) < self.rate
        drop = ops.logical_and(drop, ops.not_equal(ids, 0))
        return ops.where(drop, ops.cast(self.oov_id, ids.dtype), ids)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(rate=self.rate, oov_id=self.oov_id, seed=self.seed)
        return config


@keras.saving.register_keras_serializable(package="keras_rnn")
class ArgmaxTags(keras.layers.Layer):
    """The softmax head's decoding: the best tag of each token on its own, never the padding tag 0,
    and 0 at masked positions.

    Example:
    >>> logits = np.array([[[9.0, 1.0, 2.0], [9.0, 3.0, 1.0]]])
    >>> ArgmaxTags()(logits, mask=np.array([[True, False]])).numpy().tolist()
    [[2, 0]]
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, potentials, mask=None):
        tags = ops.cast(ops.argmax(potentials[..., 1:], axis=-1) + 1, "int32")
        if mask is not None:
            tags = ops.where(mask, tags, 0)
        return tags

    def compute_output_spec(self, potentials, mask=None):
        return keras.KerasTensor(potentials.shape[:-1], dtype="int32")

    def compute_mask(self, potentials, mask=None):
        return mask


def build_tagger(
    word_vocabulary_size: int,
    char_vocabulary_size: int,
    tags: Sequence[str],
    *,
    head: str = "crf",
    tag_scheme: str = "IOB2",
    word_embedding_dim: int = 100,
    word_dropout: float = 0.05,
    char_encoder: str = "cnn",
    char_embedding_dim: int = 30,
    char_filters: int = 50,
    char_units: int = 25,
    casing_dim: int = 8,
    casing_vocabulary_size: int = 8,
    cell: str = "lstm",
    units: int = 200,
    num_layers: int = 1,
    dropout: float = 0.5,
    seed: int | None = None,
) -> keras.Model:
    """The tagger as a functional model (see the module docstring).

    Args:
        word_vocabulary_size, char_vocabulary_size: ids of each, padding and OOV included.
        tags: tag names by id, `"[PAD]"` first (`tagger_tags`).
        head: `"crf"` (Viterbi over learnt transitions, invalid `tag_scheme` moves forbidden) or
            `"softmax"` (each token on its own).
        tag_scheme: `"IOB2"`, `"IOBES"` or `"plain"`, the scheme of `tags`: the CRF forbids the moves the
            scheme does not allow (plain labels: any move, only `[PAD]` is kept off real tokens).
        word_embedding_dim: size of the word vectors (trained from scratch).
        word_dropout: `TokenDropout` rate on word ids in training.
        char_encoder, char_embedding_dim, char_filters, char_units: the `CharacterWordEncoder`.
        casing_dim: size of the casing-class vectors (0: no casing input is used).
        casing_vocabulary_size: casing classes, padding included (`len(TaggingPreprocessor.CASINGS)`).
        cell, units, num_layers: the bidirectional RNN stack (units per direction).
        dropout: on the concatenated token features and on the RNN outputs.
        seed: for `TokenDropout`.

    Returns:
        An uncompiled `keras.Model` from `{"word_ids", "char_ids", "casing_ids"}` to
        `{"potentials", "tags"}` (compile it with `compile_tagger`).

    Example:
    >>> model = build_tagger(50, 20, ["[PAD]", "O", "B-PER", "I-PER"], units=8, word_embedding_dim=8)
    >>> char_ids = np.array([[[5, 6, 0, 0], [7, 0, 0, 0], [0, 0, 0, 0]]])  # the third word is padding
    >>> outputs = model({"word_ids": np.array([[2, 3, 0]]), "char_ids": char_ids, "casing_ids": np.array([[1, 3, 0]])})
    >>> outputs["potentials"].shape, int(outputs["tags"][0, 2])
    (TensorShape([1, 3, 4]), 0)
    """
    validate_choice("head", head, HEADS)
    validate_positive_int("word_embedding_dim", word_embedding_dim)
    validate_fraction("dropout", dropout)
    if casing_dim < 0:
        raise ValueError(f"Received an invalid value for argument `casing_dim`: {casing_dim!r}. Expected >= 0.")
    tags = list(tags)
    if not tags or tags[0] != PAD_TAG:
        raise ValueError(f"Received tags {tags[:3]}...: tag id 0 must be {PAD_TAG!r} (padding). Use `tagger_tags`.")
    word_ids = keras.Input((None,), dtype="int32", name="word_ids")
    char_ids = keras.Input((None, None), dtype="int32", name="char_ids")
    casing_ids = keras.Input((None,), dtype="int32", name="casing_ids")
    dropped = TokenDropout(word_dropout, seed=seed, name="word_dropout")(word_ids) if word_dropout else word_ids
    features = [
        keras.layers.Embedding(word_vocabulary_size, word_embedding_dim, mask_zero=True,
                               name="word_embedding")(dropped),
        CharacterWordEncoder(char_vocabulary_size, char_embedding_dim, encoder=char_encoder, filters=char_filters,
                             units=char_units, name="char_encoder")(char_ids),
    ]
    if casing_dim:
        features.append(keras.layers.Embedding(casing_vocabulary_size, casing_dim, mask_zero=True,
                                               name="casing_embedding")(casing_ids))
    x = keras.layers.Concatenate(name="token_features")(features)
    x = keras.layers.Dropout(dropout, name="feature_dropout")(x)
    for layer in rnn_stack(cell, units, num_layers, bidirectional=True, name_prefix="tagger_rnn"):
        x = layer(x)
    x = keras.layers.Dropout(dropout, name="rnn_dropout")(x)
    potentials = keras.layers.Dense(len(tags), name="potentials", dtype="float32")(x)
    if head == "crf":
        decoded = CRF(len(tags), **tag_constraints(tags, tag_scheme), name="crf")(potentials)
    else:
        decoded = ArgmaxTags(name="argmax_tags")(potentials)
    # Every input is an input of the model, used or not, so one preprocessor feeds every variant.
    return keras.Model({"word_ids": word_ids, "char_ids": char_ids, "casing_ids": casing_ids},
                       {"potentials": potentials, "tags": decoded}, name=f"tagger_{head}")


def tag_constraints(tags: Sequence[str], scheme: str) -> dict[str, np.ndarray]:
    """The `CRF` arguments for `tags` (`"[PAD]"` first) in `scheme`: IOB2 / IOBES rules
    (`crf.iob_transition_constraints`), or for plain labels every move between real tags.

    Example:
    >>> tag_constraints(["[PAD]", "NN", "VB"], "plain")["allowed_starts"]
    array([False,  True,  True])
    """
    validate_choice("tag_scheme", scheme, TAG_SCHEMES)
    if scheme != "plain":
        return iob_transition_constraints(tags, scheme)
    real = np.array([tag != PAD_TAG for tag in tags])
    return {"allowed_transitions": real[:, None] & real[None, :], "allowed_starts": real.copy(),
            "allowed_ends": real.copy()}


def tagger_tags(tags: Sequence[str]) -> list[str]:
    """The model's tag ids: `"[PAD]"`, then `tags` (a corpus's `tag_vocabulary`, "O" first).

    Example:
    >>> tagger_tags(["O", "B-PER", "I-PER"])
    ['[PAD]', 'O', 'B-PER', 'I-PER']
    """
    return [PAD_TAG] + [tag for tag in tags if tag != PAD_TAG]


def tagger_loss(model: keras.Model) -> keras.losses.Loss:
    """The loss of a tagger's potentials: the CRF's negative log-likelihood, or the token cross-entropy
    (averaged over real tokens: Keras weights it by the potentials' mask)."""
    crf = next((layer for layer in model.layers if isinstance(layer, CRF)), None)
    if crf is not None:
        return CRFNegativeLogLikelihood(crf)
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True, name="token_crossentropy")


def tagger_head(model: keras.Model) -> str:
    return "crf" if any(isinstance(layer, CRF) for layer in model.layers) else "softmax"


__all__ = ["ArgmaxTags", "HEADS", "PAD_TAG", "TokenDropout", "build_tagger", "tagger_loss", "tagger_tags"]
