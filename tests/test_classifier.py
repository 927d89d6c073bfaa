import json
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_rnn.models.classifier import CELLS, article_example_model, build_sentiment_model
from keras_rnn.models.pooling import MaskedSequencePooling

SMALL = dict(vocab_size=30, units=4, embedding_dim=4)
IDS = np.array([[5, 7, 9, 0, 0], [3, 0, 0, 0, 0]], dtype="int64")


@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("pooling", ["last", "max", "mean", "max_mean"])
@pytest.mark.parametrize("ngram_order", [0, 2])
def test_padding_never_changes_a_prediction(cell, bidirectional, pooling, ngram_order):
    model = build_sentiment_model(cell=cell, bidirectional=bidirectional, pooling=pooling, num_layers=2,
                                  ngram_order=ngram_order, ngram_bins=64, **SMALL)
    short = model(IDS[:, :3]).numpy()
    long = model(np.pad(IDS, [(0, 0), (0, 20)])).numpy()
    np.testing.assert_allclose(short, long, rtol=1e-5, atol=1e-6)
    assert short.shape == (2, 1)


@pytest.mark.parametrize("api", ["functional", "sequential"])
def test_apis_build_the_same_network(api):
    model = build_sentiment_model(num_classes=3, api=api, **SMALL)
    assert isinstance(model, keras.Sequential) == (api == "sequential")
    assert model(IDS).shape == (2, 3)
    reference = build_sentiment_model(num_classes=3, **SMALL)
    assert [w.shape for w in model.weights] == [w.shape for w in reference.weights]


@pytest.mark.parametrize("api, ngram_order", [("functional", 0), ("sequential", 0), ("functional", 3)])
def test_keras_file_round_trip(api, ngram_order, tmp_path):
    model = build_sentiment_model(api=api, embedding_dropout=0.1, ngram_order=ngram_order, ngram_bins=97, **SMALL)
    path = str(tmp_path / "m.keras")
    model.save(path)
    again = keras.saving.load_model(path)
    np.testing.assert_allclose(again(IDS).numpy(), model(IDS).numpy(), rtol=1e-6)
    assert json.dumps(again.get_config(), default=list) == json.dumps(model.get_config(), default=list)


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_recurrent_layers_stay_cudnn_eligible(cell):
    model = build_sentiment_model(cell=cell, num_layers=2, bidirectional=True, **SMALL)
    recurrent = [layer.forward_layer if isinstance(layer, keras.layers.Bidirectional) else layer
                 for layer in model.layers if isinstance(layer, (keras.layers.RNN, keras.layers.Bidirectional))]
    assert len(recurrent) == 2
    for layer in recurrent:
        config = layer.get_config()
        assert config["activation"] == "tanh"
        assert config["recurrent_dropout"] == 0 and config["unroll"] is False and config["use_bias"] is True
        if cell != "simple_rnn":
            assert config["recurrent_activation"] == "sigmoid"
        if cell == "gru":
            assert config["reset_after"] is True


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"cell": "rnn"}, "`cell`: 'rnn'. Accepted values: 'simple_rnn', 'lstm', 'gru'"),
        ({"units": 0}, "`units`: 0. Expected a positive integer"),
        ({"num_layers": -1}, "`num_layers`: -1"),
        ({"pooling": "min"}, "`pooling`: 'min'. Accepted values: 'last', 'max', 'mean', 'max_mean'"),
        ({"api": "subclass"}, "`api`: 'subclass'. Accepted values: 'functional', 'sequential'"),
        ({"dropout": 1.5}, "`dropout`: 1.5"),
        ({"num_classes": 1}, "`num_classes`: 1. Expected >= 2"),
        ({"ngram_order": -1}, "`ngram_order`: -1. Expected 0 (no n-gram bag) or a positive integer"),
        ({"ngram_order": 2, "api": "sequential"}, "a Sequential model cannot hold; use api='functional'"),
    ],
)
def test_invalid_arguments_name_the_accepted_values(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        build_sentiment_model(**{**SMALL, **kwargs})


def test_masked_pooling_golden_values():
    x = np.arange(12, dtype="float32").reshape(1, 4, 3) - 6.0  # rows: [-6..-4], [-3..-1], [0..2], [3..5]
    mask = np.array([[True, True, False, False]])
    np.testing.assert_allclose(MaskedSequencePooling("max")(x, mask=mask), [[-3, -2, -1]])
    np.testing.assert_allclose(MaskedSequencePooling("mean")(x, mask=mask), [[-4.5, -3.5, -2.5]])
    np.testing.assert_allclose(MaskedSequencePooling("max_mean")(x, mask=mask), [[-3, -2, -1, -4.5, -3.5, -2.5]])
    np.testing.assert_allclose(MaskedSequencePooling("sum")(x, mask=mask), [[-9, -7, -5]])
    np.testing.assert_allclose(MaskedSequencePooling("max")(x, mask=np.zeros((1, 4), bool)), [[0, 0, 0]])
    layer = MaskedSequencePooling.from_config(MaskedSequencePooling("mean").get_config())
    assert layer.mode == "mean"


def test_article_example_model_learns_with_validation_split():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.integers(3, 50, size=(400, 10))
    y = (x == 3).any(axis=1) | (x == 4).any(axis=1)  # class 1 iff token 3 or 4 occurs
    x[y, rng.integers(0, 10, size=int(y.sum()))] = 3
    model = article_example_model(vocab_size=50, num_classes=2, max_length=10)
    assert [type(layer).__name__ for layer in model.layers] == ["Embedding", "SimpleRNN", "Dense"]
    assert model.layers[1].activation.__name__ == "tanh" and model.layers[2].activation.__name__ == "softmax"
    assert model.loss == "categorical_crossentropy"
    history = model.fit(x, keras.utils.to_categorical(y, 2), epochs=15, batch_size=16, validation_split=0.1, verbose=0)
    assert history.history["val_accuracy"][-1] >= 0.9


def test_hashed_ngrams_golden_and_padding():
    from keras_rnn.models.ngrams import HashedNgrams

    layer = HashedNgrams(order=2, num_bins=1000)
    grams = layer(np.array([[3, 4, 5, 0]])).numpy()[0]
    unigrams, bigrams = grams[:4], grams[4:]
    assert list(unigrams[3:]) == [0] and list(bigrams[2:]) == [0, 0]  # nothing touching padding
    assert np.all((grams[:3] >= 1) & (grams[:3] < 1000)) and np.all(bigrams[:2] >= 1)
    # the same n-gram hashes alike wherever it occurs; order matters
    other = layer(np.array([[9, 3, 4, 0]])).numpy()[0]
    assert other[4 + 1] == bigrams[0] and layer(np.array([[4, 3]])).numpy()[0][2] != bigrams[0]
    assert HashedNgrams.from_config(layer.get_config()).num_bins == 1000


def test_ngram_bag_lets_the_model_fit_a_bigram_rule():
    """Class 1 iff the bigram (5, 6) occurs: a unigram bag cannot tell, the n-gram path can."""
    keras.utils.set_random_seed(1)
    rng = np.random.default_rng(1)
    x = rng.integers(5, 8, size=(600, 6))
    y = ((x[:, :-1] == 5) & (x[:, 1:] == 6)).any(axis=1).astype("float32")
    model = build_sentiment_model(vocab_size=10, units=2, embedding_dim=2, ngram_order=2, ngram_bins=4096,
                                  cell="simple_rnn", bidirectional=False, dropout=0.0)
    model.compile(keras.optimizers.Adam(0.05), "binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=30, batch_size=32, verbose=0)
    assert history.history["accuracy"][-1] > 0.95


def test_max_pooling_in_float16_gives_zeros_not_nan_for_a_row_without_steps():
    """The masked positions get float16's lowest value (a -1e9 fill is -inf there, and -inf * 0 is NaN)."""
    inputs = tf.constant(np.arange(12).reshape(2, 3, 2), tf.float16)
    mask = tf.constant([[True, True, False], [False, False, False]])
    pooled = MaskedSequencePooling("max_mean", dtype="float16")(inputs, mask=mask).numpy()
    assert pooled.dtype == np.float16 and np.isfinite(pooled).all()
    np.testing.assert_array_equal(pooled, [[2, 3, 1, 2], [0, 0, 0, 0]])
