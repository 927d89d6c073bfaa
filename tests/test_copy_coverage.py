"""The pointer-generator copy mechanism and coverage on the shared seq2seq core."""

import numpy as np
import pytest
import tensorflow as tf

import keras
from keras_rnn.decoding import BeamSearch
from keras_rnn.losses import MaskedSequenceCrossentropy
from keras_rnn.models.seq2seq import (
    Seq2SeqDecoder,
    build_seq2seq_model,
    build_summarization_model,
    decode_ids,
    extended_source_ids,
    extended_target_ids,
)

V, UNK, START, END = 30, 1, 2, 3


def small_model(attention="bahdanau", copy=True, coverage=True, **kwargs):
    return build_summarization_model(V, copy=copy, coverage=coverage, attention=attention, embedding_dim=8,
                                     encoder_units=6, decoder_units=10, attention_units=7, dropout=0.0, **kwargs)


@pytest.mark.parametrize("attention", ["bahdanau", "luong"])
def test_teacher_forced_call_equals_step_by_step_decoding_and_coverage_loss(attention):
    """The training graph (coverage as a scan over target steps, copy mixed over the extended vocabulary)
    and the decoding step compute the same distributions; the coverage loss is sum_i min(a_t, c_t) per
    real target step, averaged."""
    keras.utils.set_random_seed(3)
    model = small_model(attention)
    encoder, decoder = model.get_layer("encoder"), model.get_layer("decoder")
    # The coverage weights start at zero, where coverage changes no score: give them values, so that a
    # wrong coverage in either path would show.
    kernel = decoder.attention_layer.coverage_kernel
    kernel.assign(np.random.default_rng(3).normal(0, 2.0, kernel.shape).astype("float32"))
    source = tf.constant([[5, 1, 7, 1, 9], [6, 8, 1, 0, 0]])
    tokens = tf.constant([["a", "x", "b", "y", "c"], ["d", "e", "z", "", ""]])
    extended = extended_source_ids(source, tokens, V)
    decoder_input = tf.constant([[START, 31, 4, 9], [START, 32, 5, 0]])  # 31, 32: copied source words
    log_probs = model({"source_ids": source, "decoder_input_ids": decoder_input, "source_extended_ids": extended})
    assert log_probs.shape == (2, 4, V + 5)
    np.testing.assert_allclose(tf.reduce_sum(tf.exp(log_probs), -1).numpy(), 1.0, rtol=1e-4)

    memory, mask, summary = encoder(source)
    states, coverage, overlaps = decoder.initial_state(summary), tf.zeros([2, 5]), []
    keys = decoder.attention_keys(memory)
    for t in range(4):
        step_log_probs, states, alignment = decoder.step(decoder_input[:, t], states, memory, mask, keys,
                                                         coverage=coverage, source_extended_ids=extended)
        real_rows = decoder_input.numpy()[:, t] != 0  # a padded input step is masked in training
        np.testing.assert_allclose(step_log_probs.numpy()[real_rows], log_probs[:, t].numpy()[real_rows], atol=1e-4)
        overlaps.append(tf.reduce_sum(tf.minimum(alignment, coverage), -1).numpy())
        coverage += alignment
    real = (decoder_input.numpy() != 0).astype("float32")
    expected = (np.stack(overlaps, 1) * real).sum() / real.sum()
    np.testing.assert_allclose(float(model.losses[0]), expected, rtol=1e-4)
    assert expected > 0


def test_copied_words_are_extended_ids_and_mass_goes_to_every_occurrence():
    keras.utils.set_random_seed(0)
    model = small_model(coverage=False)
    source = tf.constant([[1, 5, 1, 1]])
    tokens = tf.constant([["zorg", "a", "kip", "zorg"]])
    extended = extended_source_ids(source, tokens, V)
    assert extended.numpy().tolist() == [[V + 0, 5, V + 2, V + 0]]
    log_probs = model({"source_ids": source, "decoder_input_ids": tf.constant([[START]]),
                       "source_extended_ids": extended})[0, 0].numpy()
    # Slots of in-vocabulary or repeated positions (V+1, V+3) get nothing; the vocabulary's [UNK] keeps
    # only its generated share.
    assert log_probs[V + 1] < -15 and log_probs[V + 3] < -15
    assert log_probs[V + 0] > -15 and log_probs[V + 2] > -15


def copy_task(n, seed, vocabulary=V):
    """Each source: 5..10 frequent words with one name in it that is outside the vocabulary (a new name
    every example); the target is that name."""
    rng = np.random.default_rng(seed)
    ids, tokens, names = np.zeros((n, 10), np.int32), np.full((n, 10), "", object), []
    for i in range(n):
        length = rng.integers(5, 11)
        words = rng.integers(4, vocabulary, length)
        position = rng.integers(0, length)
        row = [f"w{w}" for w in words]
        row[position] = names.append(f"name{rng.integers(10**6)}") or names[-1]
        ids[i, :length], tokens[i, :length] = np.where(np.arange(length) == position, UNK, words), row
    tokens = tf.constant(tokens.astype(str))
    extended = extended_source_ids(tf.constant(ids), tokens, vocabulary)
    target_tokens = tf.constant([[name, "[END]"] for name in names])
    labels = extended_target_ids(tf.fill([n, 2], UNK) * tf.constant([1, 0]) + tf.constant([0, END]),
                                 target_tokens, extended, tokens, vocabulary).numpy()
    return ids, tokens.numpy().astype(str), names, extended.numpy(), labels


def test_copy_learns_to_write_unseen_names_and_the_plain_model_cannot():
    keras.utils.set_random_seed(0)
    ids, _, _, extended, labels = copy_task(1200, seed=0)
    assert (labels[:, 0] >= V).all() and (labels[:, 1] == END).all()
    test_ids, test_tokens, test_names, test_extended, _ = copy_task(100, seed=1)
    exact = {}
    for copy in (True, False):
        model = build_seq2seq_model(V, V, copy=copy, attention="bahdanau", embedding_dim=16, encoder_units=16,
                                    decoder_units=32, attention_units=16, dropout=0.0)
        model.compile(keras.optimizers.Adam(1e-2), MaskedSequenceCrossentropy())
        targets = labels if copy else np.where(labels >= V, UNK, labels)  # the plain model can only say [UNK]
        inputs = {"source_ids": ids, "decoder_input_ids": np.stack([np.full(len(ids), START), targets[:, 0]], 1)}
        if copy:
            inputs["source_extended_ids"] = extended
        model.fit(inputs, targets, batch_size=64, epochs=4, verbose=0)
        result = decode_ids(model.get_layer("encoder"), model.get_layer("decoder"), tf.constant(test_ids),
                            start_id=START, end_id=END, strategy=BeamSearch(3),
                            source_extended_ids=tf.constant(test_extended) if copy else None)
        first = result.ids.numpy()[:, 0]
        written = [test_tokens[row][token - V] if token >= V else None for row, token in enumerate(first)]
        exact[copy] = np.mean([w == name for w, name in zip(written, test_names)])
    assert exact[True] >= 0.95 and exact[False] == 0.0


def test_copy_and_coverage_need_attention_and_extended_ids():
    with pytest.raises(ValueError, match="attention='none'"):
        Seq2SeqDecoder(V, attention="none", copy=True)
    with pytest.raises(ValueError, match="attention='none'"):
        build_seq2seq_model(V, V, attention="none", coverage=True)
    with pytest.raises(ValueError, match="`coverage_loss_weight`: -1"):
        Seq2SeqDecoder(V, coverage=True, coverage_loss_weight=-1)
    model = small_model()
    with pytest.raises(ValueError, match="source_extended_ids"):
        decode_ids(model.get_layer("encoder"), model.get_layer("decoder"), tf.constant([[5, 6]]),
                   start_id=START, end_id=END)


def test_copy_coverage_model_round_trips_through_a_keras_file(tmp_path):
    keras.utils.set_random_seed(1)
    model = small_model()
    inputs = {"source_ids": np.array([[5, 1, 7]]), "decoder_input_ids": np.array([[START, 30]]),
              "source_extended_ids": np.array([[5, 30, 7]])}
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded(inputs).numpy(), model(inputs).numpy(), atol=1e-5)
    assert loaded.get_layer("decoder").copy and loaded.get_layer("decoder").coverage
