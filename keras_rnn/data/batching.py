"""Batching token-id sequences: length buckets with right padding.

Grouping reviews of similar length into a batch means a 40-token review is not padded to 400 steps:
the RNN computes on real tokens, and right padding keeps Keras's cuDNN GRU/LSTM kernels eligible on GPU.
"""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

from keras_rnn.validation import validate_positive_int


def length_boundaries(max_length: int, min_length: int = 16, growth: float = 1.25) -> list[int]:
    """Bucket upper bounds growing geometrically from `min_length` up to `max_length` (exclusive).

    Example:
    >>> length_boundaries(100, min_length=16, growth=1.5)
    [16, 24, 36, 54, 81]
    """
    validate_positive_int("max_length", max_length)
    bounds, bound = [], float(min_length)
    while int(bound) < max_length:
        if not bounds or int(bound) > bounds[-1]:
            bounds.append(int(bound))
        bound *= growth
    return bounds


def bucket_by_length(
    dataset: tf.data.Dataset,
    batch_size: int,
    max_length: int,
    *,
    boundaries: list[int] | None = None,
) -> tf.data.Dataset:
    """Batches `(ids, target)` elements of 1-D `ids` into right-padded batches of similar length.

    Args:
        dataset: elements `(ids, target)`, `ids` a 1-D int tensor of length >= 1.
        batch_size: examples per batch (the last batch of a bucket may be smaller).
        max_length: the longest `ids` can be; it bounds the last bucket.
        boundaries: bucket upper bounds; defaults to `length_boundaries(max_length)`.

    Returns:
        A dataset of `(ids, targets)` with `ids` of shape `(batch, longest_in_batch)`, padded with 0.
    """
    validate_positive_int("batch_size", batch_size)
    boundaries = boundaries if boundaries is not None else length_boundaries(max_length)
    return dataset.bucket_by_sequence_length(
        element_length_func=lambda ids, target: tf.shape(ids)[0],
        bucket_boundaries=boundaries,
        bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
        padding_values=(tf.constant(0, tf.int64), None),
    )


def padding_fraction(batches: tf.data.Dataset) -> float:
    """Fraction of positions in `(ids, target)` batches that are padding (id 0)."""
    total = padded = 0
    for ids, _ in batches:
        total += int(tf.size(ids))
        padded += int(tf.reduce_sum(tf.cast(ids == 0, tf.int64)))
    return padded / total if total else 0.0


def pair_length_boundaries(lengths: "np.ndarray", batch_size: int) -> tuple[list[int], int]:
    """Bucket bounds for pairs of longest side `lengths`, and the exact number of batches they give."""
    import numpy as np

    boundaries = length_boundaries(max(int(lengths.max(initial=1)), 2), min_length=8, growth=1.2)
    sizes = np.bincount(np.searchsorted(boundaries, lengths, side="right"), minlength=len(boundaries) + 1)
    return boundaries, int(sum(-(-int(n) // batch_size) for n in sizes))


def bucket_pairs_by_length(dataset: tf.data.Dataset, batch_size: int, boundaries: list[int]) -> tf.data.Dataset:
    """Batches `(source_ids, target_ids)` pairs of similar length into teacher-forcing batches.

    `target_ids` must hold `[START] ... [END]`. Returns `({"source_ids", "decoder_input_ids"}, labels)`:
    the decoder reads the target without its last token and learns to predict it shifted by one; all
    right-padded with 0. Elements `(source_ids, source_extended_ids, target_ids)` (a copy decoder's
    extended vocabulary) also give `"source_extended_ids"`.

    Example:
    >>> pairs = tf.data.Dataset.from_tensor_slices(([[5, 6]], [[2, 7, 3]]))
    >>> inputs, labels = next(iter(bucket_pairs_by_length(pairs, 4, [8])))
    >>> inputs["decoder_input_ids"].numpy().tolist(), labels.numpy().tolist()
    ([[2, 7]], [[7, 3]])
    """
    validate_positive_int("batch_size", batch_size)
    parts = len(dataset.element_spec)
    batches = dataset.bucket_by_sequence_length(
        element_length_func=lambda *element: tf.maximum(tf.shape(element[0])[0], tf.shape(element[-1])[0]),
        bucket_boundaries=boundaries,
        bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
        padding_values=tuple(tf.constant(0, tf.int32) for _ in range(parts)),
    )

    def teacher_forcing(*element):
        source, target = element[0], element[-1]
        inputs = {"source_ids": source, "decoder_input_ids": target[:, :-1]}
        if parts == 3:
            inputs["source_extended_ids"] = element[1]
        return inputs, target[:, 1:]

    return batches.map(teacher_forcing, num_parallel_calls=tf.data.AUTOTUNE)


def shuffled_batches(
    ids: tf.data.Dataset,
    count: int,
    batches: int,
    bucket: Callable[[tf.data.Dataset], tf.data.Dataset],
    shuffle_seed: int | None = None,
) -> Callable[[], tf.data.Dataset]:
    """A function that builds the batches of the `count` cached `ids`: shuffled from `shuffle_seed` (a new
    order on every pass, starting from the same first order each time the function is called; none when
    the seed is None), grouped by `bucket`, with the exact cardinality `batches`, prefetched."""

    def make() -> tf.data.Dataset:
        shuffled = ids
        if shuffle_seed is not None:
            shuffled = ids.shuffle(min(count, 200_000), seed=shuffle_seed, reshuffle_each_iteration=True)
        return bucket(shuffled).apply(tf.data.experimental.assert_cardinality(batches)).prefetch(tf.data.AUTOTUNE)

    return make

