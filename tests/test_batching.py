import numpy as np
import tensorflow as tf

from keras_rnn.data.batching import bucket_by_length, length_boundaries, padding_fraction


def sequences(lengths):
    ids = [np.arange(1, n + 1, dtype=np.int64) for n in lengths]
    return tf.data.Dataset.from_generator(
        lambda: ((x, np.int64(len(x))) for x in ids),
        output_signature=(tf.TensorSpec([None], tf.int64), tf.TensorSpec([], tf.int64)),
    )


def test_length_boundaries_increase_and_stay_below_max():
    bounds = length_boundaries(400)
    assert bounds[0] == 16 and bounds[-1] < 400
    assert all(a < b for a, b in zip(bounds, bounds[1:]))


def test_buckets_group_similar_lengths_with_right_padding():
    lengths = [3, 100, 4, 90, 5, 95, 2, 99]
    batches = list(bucket_by_length(sequences(lengths), batch_size=4, max_length=100, boundaries=[10]))
    widths = sorted(int(ids.shape[1]) for ids, _ in batches)
    assert widths == [5, 100]
    for ids, true_lengths in batches:
        for row, n in zip(ids.numpy(), true_lengths.numpy()):
            assert list(row[:n]) == list(range(1, n + 1))  # content first, padding after
            assert not row[n:].any()


def test_bucketing_pads_less_than_padding_to_the_longest():
    rng = np.random.default_rng(0)
    lengths = list(rng.integers(1, 400, size=300))
    bucketed = padding_fraction(bucket_by_length(sequences(lengths), 16, 400))
    padded = padding_fraction(sequences(lengths).padded_batch(16))
    assert bucketed < padded / 3
