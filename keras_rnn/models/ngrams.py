"""Hashed n-grams of token ids: the bag-of-n-grams side of a wide-and-deep text classifier."""

from __future__ import annotations

import keras
from keras import ops

from keras_rnn.validation import validate_positive_int

# Odd multipliers so that (a, b) and (b, a) hash apart; one per n-gram order.
_MULTIPLIER = 1_000_003


@keras.saving.register_keras_serializable(package="keras_rnn")
class HashedNgrams(keras.layers.Layer):
    """Maps right-padded token ids to hashed ids of every 1..`order`-gram, 0 where it touches padding.

    An n-gram starting at step t covers ids[t : t + n]; it is kept only if all its ids are non-zero
    and hashed into `[1, num_bins)`, so 0 stays the padding id and an `Embedding(mask_zero=True)`
    over the result masks it. Bag-of-bigram features are what linear sentiment models (NBSVM, fastText)
    win with; computed from the ids in the graph, they need no second input or vocabulary.

    Args:
        order: longest n-gram. Defaults to `2` (unigrams and bigrams).
        num_bins: hash space size, padding bin included. Defaults to `2**20`.

    Call arguments:
        ids: int tensor `(batch, time)`, 0 = padding.

    Returns:
        int64 tensor `(batch, time * order)`.

    Example:
    >>> HashedNgrams(order=2, num_bins=100)(np.array([[3, 4, 0]])).shape
    TensorShape([1, 6])
    """

    def __init__(self, order: int = 2, num_bins: int = 2**20, **kwargs):
        super().__init__(**kwargs)
        self.order = validate_positive_int("order", order)
        self.num_bins = validate_positive_int("num_bins", num_bins)
        if num_bins < 2:
            raise ValueError(f"Received an invalid value for argument `num_bins`: {num_bins}. Expected >= 2.")

    def call(self, ids):
        ids = ops.cast(ids, "int64")
        hashed, valid, grams = ids, ids > 0, []
        for n in range(1, self.order + 1):
            if n > 1:
                following = ops.pad(ids[:, n - 1 :], [[0, 0], [0, n - 1]])
                hashed = hashed * _MULTIPLIER + following  # int64 wrap-around is fine for a hash
                valid = ops.logical_and(valid, following > 0)
            bins = ops.mod(hashed * (2 * n + 1), self.num_bins - 1) + 1
            grams.append(ops.where(valid, bins, ops.zeros_like(bins)))
        return ops.concatenate(grams, axis=1)

    def compute_output_shape(self, input_shape):
        time = None if input_shape[1] is None else input_shape[1] * self.order
        return (input_shape[0], time)

    def get_config(self):
        config = super().get_config()
        config.update(order=self.order, num_bins=self.num_bins)
        return config
