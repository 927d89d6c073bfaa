"""Character-level word features: padding invariance, the masked max, the preprocessor on hostile input,
saving and export, and learning a spelling rule that carries to unseen words."""

import random

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import run_with_tensorflow_alone
from keras_rnn.models.char_encoder import CharacterPreprocessor, CharacterWordEncoder

ENCODERS = ("cnn", "bilstm", "bigru")
WORDS = ["Gomez", "Lopez", "went", "to", "Madrid", "yesterday", "with", "Anna", "!"]


def preprocessor(**kwargs):
    pre = CharacterPreprocessor(**kwargs)
    pre.adapt(WORDS)
    return pre


def encoder(kind, vocabulary_size=40, seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    layer = CharacterWordEncoder(vocabulary_size, char_embedding_dim=6, encoder=kind, filters=7, units=5, **kwargs)
    layer.build((None, None, None))
    return layer


# ---------------------------------------------------------------------------------------------------------
# The encoder


@pytest.mark.parametrize("kind", ENCODERS)
def test_shapes_with_ragged_words_and_sentences_and_zero_padding_words(kind):
    pre = preprocessor()
    ids = pre(tf.constant([["Gomez", "went", "to", "Madrid"], ["Anna", "!", "", ""], ["", "", "", ""]]))
    assert ids.shape == (3, 4, 6) and ids.dtype == tf.int32
    layer = encoder(kind, pre.vocabulary_size)
    features = layer(ids).numpy()
    assert features.shape == (3, 4, layer.output_dim) == (3, 4, 7 if kind == "cnn" else 10)
    real = ids.numpy().any(axis=-1)
    # Padding words (every encoder, by design) are exactly zero; real words are not.
    assert not features[~real].any()
    assert np.abs(features[real]).sum(axis=-1).min() > 0
    np.testing.assert_array_equal(layer.compute_mask(ids), real)


@pytest.mark.parametrize("kind", ENCODERS)
def test_padding_characters_never_change_a_word(kind):
    words = [[2, 3, 4, 5, 6], [7, 8], [9], [3, 3, 3, 2]]  # the first fills all 5 columns

    def padded(width, sentence_length):
        ids = np.zeros((1, sentence_length, width), "int32")
        for i, word in enumerate(words):
            ids[0, i, :len(word)] = word
        return ids

    layer = encoder(kind, seed=1)
    short = layer(padded(5, 4)).numpy()
    long = layer(padded(12, 7)).numpy()
    np.testing.assert_allclose(long[:, :4], short, rtol=1e-5, atol=1e-6)
    assert not long[:, 4:].any()
    # A word alone gives the same vector as inside a sentence (no leak between words).
    alone = layer(np.array([[[7, 8, 0]]], "int32")).numpy()
    np.testing.assert_allclose(alone[0, 0], short[0, 1], rtol=1e-5, atol=1e-6)


def test_cnn_max_ignores_padding_even_when_every_real_activation_is_negative():
    layer = CharacterWordEncoder(5, char_embedding_dim=2, filters=1, kernel_size=1)
    layer.build((None, None, None))
    # Every character embeds to [1, 1], the kernel sums them negatively, the bias is 0: a real character
    # gives tanh(-2) < 0 while a (zeroed) padding position would give tanh(0) = 0 and win an unmasked max.
    layer.embedding.embeddings.assign(np.ones((5, 2), "float32"))
    layer.conv.kernel.assign(-np.ones((1, 2, 1), "float32"))
    layer.conv.bias.assign(np.zeros((1,), "float32"))
    features = layer(np.array([[[1, 2, 0, 0, 0, 0], [3, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]], "int32")).numpy()
    np.testing.assert_allclose(features[0, :2, 0], [np.tanh(-2.0)] * 2, rtol=1e-6)
    assert features[0, 2, 0] == 0.0


@pytest.mark.parametrize("kind", ENCODERS)
def test_traces_with_unknown_batch_words_and_chars(kind):
    layer = encoder(kind, seed=2)
    traced = tf.function(layer, input_signature=[tf.TensorSpec((None, None, None), tf.int32)])
    for shape in [(2, 3, 4), (1, 1, 9), (3, 0, 2), (2, 2, 0)]:
        ids = np.random.default_rng(0).integers(0, 40, size=shape).astype("int32")
        out = traced(tf.constant(ids)).numpy()
        assert out.shape == shape[:2] + (layer.output_dim,)
        np.testing.assert_allclose(out, layer(ids).numpy(), rtol=1e-5, atol=1e-6)


def test_word_embedding_mask_survives_concatenation():
    word_ids = keras.Input((None,), dtype="int32", name="word_ids")
    char_ids = keras.Input((None, None), dtype="int32", name="char_ids")
    words = keras.layers.Embedding(10, 4, mask_zero=True)(word_ids)
    chars = CharacterWordEncoder(10, char_embedding_dim=3, filters=5)(char_ids)
    merged = keras.layers.Concatenate()([words, chars])
    # The tagger's RNN reads the merged features with the word-id mask: the last word is padding.
    model = keras.Model([word_ids, char_ids], keras.layers.GRU(3, return_sequences=True)(merged))
    out = model([np.array([[1, 2, 0]]), np.array([[[1, 2], [3, 0], [0, 0]]])]).numpy()
    np.testing.assert_allclose(out[0, 2], out[0, 1])  # a masked step repeats the previous output
    assert not np.allclose(out[0, 1], out[0, 0])
    assert merged.shape == (None, None, 9)


# ---------------------------------------------------------------------------------------------------------
# The preprocessor


def test_preprocessor_exact_ids_oov_padding_and_cut():
    pre = CharacterPreprocessor(max_word_length=4)
    pre.adapt([["abca", "b"], ["cb", ""]])  # b:3, then a:2 and c:2 (ties by code point)
    assert pre.get_vocabulary() == ["", "[UNK]", "b", "a", "c"]
    ids = pre(tf.constant([["cab", "abcabc", "x"], ["", "ba", ""]])).numpy()
    assert ids.tolist() == [[[4, 3, 2, 0], [3, 2, 4, 3], [1, 0, 0, 0]],
                            [[0, 0, 0, 0], [2, 3, 0, 0], [0, 0, 0, 0]]]
    # Capped vocabulary: the most frequent characters stay.
    capped = CharacterPreprocessor(max_tokens=3)
    capped.adapt(["aab", "c"])
    assert capped.get_vocabulary() == ["", "[UNK]", "a"]
    assert pre(tf.constant([["", ""]])).shape == (1, 2, 1)  # never zero characters wide


def test_preprocessor_never_fails_on_hostile_tokens():
    pre = preprocessor(max_word_length=8)
    hostile = [b"", b" ", b"\t\n", b"\xff\xfe", b"ab\xffcd", "🙂👍🏽".encode(), ("x" * 10_000).encode(), b"\x00"]
    ids = pre(tf.constant([hostile])).numpy()
    assert ids.shape == (1, len(hostile), 8)
    assert not ids[0, 0].any()  # "" is padding
    assert ids[0, 1].tolist() == [1] + [0] * 7  # a space is an (OOV) character, not padding
    assert (ids[0, 3, :2] == 1).all() and not ids[0, 3, 2:].any()  # two replaced bytes, two U+FFFD
    assert (ids[0, 5] > 0).sum() == 3  # three code points
    assert (ids[0, 6] == 1).all()  # cut to 8
    features = encoder("cnn", pre.vocabulary_size)(ids)
    assert np.isfinite(features.numpy()).all()


def test_preprocessor_runs_inside_tf_data_map():
    pre = preprocessor(max_word_length=5)
    sentences = tf.ragged.constant([["Gomez", "went"], ["Anna", "to", "Madrid", "yesterday"]])
    dataset = tf.data.Dataset.from_tensor_slices(sentences).map(pre).padded_batch(2)
    (batch,) = list(dataset.as_numpy_iterator())
    expected = pre(tf.constant([["Gomez", "went", "", ""], ["Anna", "to", "Madrid", "yesterday"]])).numpy()
    np.testing.assert_array_equal(batch, expected)
    # adapt also takes a dataset of token tensors.
    from_dataset = CharacterPreprocessor()
    from_dataset.adapt(tf.data.Dataset.from_tensor_slices(sentences.to_tensor()))
    assert from_dataset.get_vocabulary() == preprocessor_vocabulary(["Gomez", "went", "Anna", "to", "Madrid",
                                                                     "yesterday"])


def preprocessor_vocabulary(words):
    pre = CharacterPreprocessor()
    pre.adapt(words)
    return pre.get_vocabulary()


# ---------------------------------------------------------------------------------------------------------
# Configs, .keras files and SavedModels


def test_config_round_trips():
    layer = CharacterWordEncoder(30, char_embedding_dim=7, encoder="bigru", filters=9, kernel_size=5,
                                 activation="relu", units=4, dropout=0.25, name="chars")
    config = layer.get_config()
    assert {k: config[k] for k in ("char_vocabulary_size", "char_embedding_dim", "encoder", "filters",
                                   "kernel_size", "activation", "units", "dropout")} == dict(
        char_vocabulary_size=30, char_embedding_dim=7, encoder="bigru", filters=9, kernel_size=5,
        activation="relu", units=4, dropout=0.25)
    assert CharacterWordEncoder.from_config(config).get_config() == config

    pre = preprocessor(max_word_length=7, max_tokens=12)
    config = pre.get_config()
    assert config["vocabulary"] == pre.get_vocabulary()[2:] and len(pre.get_vocabulary()) == 12
    restored = CharacterPreprocessor.from_config(config)
    assert restored.get_config() == config
    tokens = tf.constant([["Gomez", "Żółw", ""]])
    np.testing.assert_array_equal(restored(tokens), pre(tokens))
    # The full get_vocabulary() list is accepted as `vocabulary` too.
    again = CharacterPreprocessor(max_word_length=7, vocabulary=pre.get_vocabulary())
    assert again.get_vocabulary() == pre.get_vocabulary()
    assert CharacterPreprocessor().get_config()["vocabulary"] is None


def tagger_features():
    """String tokens (batch, words) → preprocessor → CNN and BiLSTM features → Dense, one model."""
    keras.utils.set_random_seed(3)
    pre = preprocessor(max_word_length=6, name="characters")
    tokens = keras.Input((None,), dtype="string", name="tokens")
    ids = pre(tokens)
    cnn = CharacterWordEncoder(pre.vocabulary_size, char_embedding_dim=4, filters=5, name="cnn")(ids)
    lstm = CharacterWordEncoder(pre.vocabulary_size, char_embedding_dim=4, encoder="bilstm", units=3,
                                name="bilstm")(ids)
    outputs = keras.layers.Dense(3, name="scores")(keras.layers.Concatenate()([cnn, lstm]))
    return keras.Model(tokens, outputs)


def test_keras_file_and_savedmodel_give_identical_outputs(tmp_path):
    model = tagger_features()
    tokens = tf.constant([["Gomez", "went", "to", "Zürich"], ["Anna", "", "", ""], ["Pérez", "\xff!", "🙂", ""]])
    expected = model(tokens).numpy()
    assert expected.shape == (3, 4, 3)

    model.save(tmp_path / "features.keras")
    loaded = keras.models.load_model(tmp_path / "features.keras")
    np.testing.assert_array_equal(loaded(tokens).numpy(), expected)
    assert loaded.get_layer("characters").get_vocabulary() == model.get_layer("characters").get_vocabulary()

    # Preprocessor outside: an int-id model saves and loads alike.
    ids = keras.Input((None, None), dtype="int32")
    outside = keras.Model(ids, keras.layers.Dense(2)(CharacterWordEncoder(20, encoder="bigru", units=3)(ids)))
    char_ids = np.array([[[2, 3, 0], [4, 0, 0]], [[5, 6, 7], [0, 0, 0]]], "int32")
    outside.save(tmp_path / "outside.keras")
    np.testing.assert_array_equal(keras.models.load_model(tmp_path / "outside.keras")(char_ids), outside(char_ids))

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", lambda tokens: model(tokens, training=False),
                         input_signature=[tf.TensorSpec((None, None), tf.string, name="tokens")])
    archive.write_out(str(tmp_path / "export"), verbose=False)
    script = (
        "import json, sys, tensorflow as tf\n"
        f"loaded = tf.saved_model.load({str(tmp_path / 'export')!r})\n"
        "tokens = tf.constant([['Gomez', 'went', 'to', 'Zürich'], ['Anna', '', '', ''],\n"
        "                      ['Pérez', b'\\xff!', '🙂', '']])\n"
        "print(json.dumps({'scores': loaded.serve(tokens).numpy().tolist(),\n"
        "                  'empty': loaded.serve(tf.zeros([2, 0], tf.string)).shape.as_list(),\n"
        "                  'imported': sorted(m for m in sys.modules if m.startswith('keras'))}))\n"
    )
    served = run_with_tensorflow_alone(script)
    assert not [m for m in served["imported"] if m.startswith("keras_rnn")]
    np.testing.assert_allclose(served["scores"], expected, rtol=1e-5, atol=1e-6)
    assert served["empty"] == [2, 0, 3]


# ---------------------------------------------------------------------------------------------------------
# Learning


def spelling_words(rng, n, exclude=()):
    """Unique words, half ending in "ez"; the others end in any other two letters (often "e" or "z")."""
    letters = "abdeiklmnorstuz"
    words, labels = [], []
    seen = set(exclude)
    while len(words) < n:
        stem = "".join(rng.choice(letters) for _ in range(rng.randint(2, 6)))
        positive = len(words) % 2 == 0
        ending = "ez" if positive else rng.choice(["e" + c for c in letters if c != "z"] + [c + "z" for c in letters
                                                                                           if c != "e"])
        word = stem.capitalize() + ending
        if word in seen or "ez" in word[:-2]:
            continue
        seen.add(word)
        words.append(word)
        labels.append(float(positive))
    return words, np.array(labels, "float32")


def test_learns_a_spelling_rule_that_carries_to_unseen_words():
    rng = random.Random(0)
    train_words, train_labels = spelling_words(rng, 640)
    test_words, test_labels = spelling_words(rng, 200, exclude=train_words)
    assert not set(test_words) & set(train_words)
    pre = CharacterPreprocessor(max_word_length=10)
    pre.adapt(train_words)

    def sentences(words, labels):  # four words a sentence, as a tagger sees them
        return pre(tf.constant(np.array(words).reshape(-1, 4))), labels.reshape(-1, 4)

    keras.utils.set_random_seed(0)
    ids = keras.Input((None, None), dtype="int32")
    features = CharacterWordEncoder(pre.vocabulary_size, char_embedding_dim=8, filters=16)(ids)
    model = keras.Model(ids, keras.layers.Dense(1, activation="sigmoid")(features))
    model.compile(keras.optimizers.Adam(0.02), "binary_crossentropy", metrics=["binary_accuracy"])
    x, y = sentences(train_words, train_labels)
    model.fit(x, y[..., None], epochs=15, batch_size=16, verbose=0)
    x_test, y_test = sentences(test_words, test_labels)
    predicted = model.predict(x_test, verbose=0)[..., 0] > 0.5
    assert (predicted == (y_test > 0.5)).mean() >= 0.95


# ---------------------------------------------------------------------------------------------------------
# Bad arguments


@pytest.mark.parametrize("kwargs, message", [
    (dict(char_vocabulary_size=0), r"argument `char_vocabulary_size`: 0\. Expected a positive integer"),
    (dict(encoder="transformer"), r"argument `encoder`: 'transformer'\. Accepted values: 'cnn', 'bilstm', 'bigru'"),
    (dict(filters=2.5), r"argument `filters`: 2\.5\. Expected a positive integer"),
    (dict(kernel_size=True), r"argument `kernel_size`: True\. Expected a positive integer"),
    (dict(activation="sigmoid"), r"argument `activation`: 'sigmoid'\. Accepted values: 'tanh', 'relu'"),
    (dict(units=-1), r"argument `units`: -1\. Expected a positive integer"),
    (dict(dropout=1.0), r"argument `dropout`: 1\.0\. Expected a number in \[0, 1\)"),
])
def test_encoder_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CharacterWordEncoder(**{"char_vocabulary_size": 10, **kwargs})


@pytest.mark.parametrize("kwargs, message", [
    (dict(max_word_length=0), r"argument `max_word_length`: 0\. Expected a positive integer"),
    (dict(max_tokens=2), r"argument `max_tokens`: 2\. Expected None or at least 3"),
    (dict(vocabulary=["a", "bc"]), r"argument `vocabulary`: entry 'bc'\. Expected single characters"),
    (dict(vocabulary=["a", "b", "a"]), r"argument `vocabulary`: 'a' appears twice"),
    (dict(vocabulary=["a", "b"], max_tokens=3), r"`vocabulary` of 2 characters, more than `max_tokens=3`"),
])
def test_preprocessor_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CharacterPreprocessor(**kwargs)
