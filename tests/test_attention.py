import keras
import numpy as np
import pytest

from keras_rnn.models.attention import BahdanauAttention, LuongAttention


def memory_and_mask():
    memory = np.arange(2 * 4 * 3, dtype="float32").reshape(2, 4, 3) / 10.0
    mask = np.array([[True, True, True, False], [True, False, False, False]])
    return memory, mask


@pytest.mark.parametrize("layer", [BahdanauAttention(8), LuongAttention("general"), LuongAttention("dot")])
def test_weights_ignore_padding_and_sum_to_one(layer):
    memory, mask = memory_and_mask()
    query = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
    context, alignment = layer(query, memory, mask)
    alignment = alignment.numpy()
    assert alignment.shape == (2, 5, 4) and context.shape == (2, 5, 3)
    np.testing.assert_allclose(alignment.sum(-1), 1.0, rtol=1e-5)
    assert np.all(alignment[0, :, 3] == 0) and np.all(alignment[1, :, 1:] == 0)
    np.testing.assert_allclose(context.numpy()[1], np.repeat(memory[1, :1], 5, axis=0), rtol=1e-6)
    # changing a padded memory step changes nothing
    changed = memory.copy()
    changed[0, 3] = 100.0
    np.testing.assert_allclose(layer(query, changed, mask)[0].numpy(), context.numpy(), rtol=1e-6)


def test_dot_scores_golden_values():
    memory = np.array([[[1.0, 0.0], [0.0, 1.0]]], "float32")
    query = np.array([[np.log(3.0), 0.0]], "float32")  # scores [ln 3, 0] → weights [.75, .25]
    context, alignment = LuongAttention("dot")(query, memory)
    np.testing.assert_allclose(alignment.numpy(), [[0.75, 0.25]], rtol=1e-6)
    np.testing.assert_allclose(context.numpy(), [[0.75, 0.25]], rtol=1e-6)


def test_bahdanau_golden_value_with_constant_weights():
    layer = BahdanauAttention(2)
    query, memory = np.array([[1.0]], "float32"), np.array([[[1.0], [2.0]]], "float32")
    layer(query, memory)
    layer.query_dense.kernel.assign([[1.0, 0.0]])
    layer.key_dense.kernel.assign([[0.0, 1.0]])
    layer.key_dense.bias.assign([0.0, 0.0])
    layer.score_dense.kernel.assign([[1.0], [1.0]])
    scores = np.tanh(1.0) + np.tanh(np.array([1.0, 2.0]))  # v·tanh(Wq q + Wk k) per source step
    expected = np.exp(scores) / np.exp(scores).sum()
    np.testing.assert_allclose(layer(query, memory)[1].numpy(), [expected], rtol=1e-5)


def test_fully_masked_source_gives_zero_context():
    memory, _ = memory_and_mask()
    context, alignment = BahdanauAttention(4)(np.ones((2, 3), "float32"), memory, np.zeros((2, 4), bool))
    assert not context.numpy().any() and not alignment.numpy().any()


def test_errors_and_config_round_trip():
    with pytest.raises(ValueError, match="`score_mode`: 'concat'. Accepted values: 'dot', 'general'"):
        LuongAttention("concat")
    with pytest.raises(ValueError, match="needs queries and memory of one size; got query size 2 and memory size 3"):
        LuongAttention("dot")(np.ones((1, 2), "float32"), np.ones((1, 4, 3), "float32"))
    for layer in (BahdanauAttention(5), LuongAttention("dot")):
        again = layer.__class__.from_config(layer.get_config())
        assert again.get_config() == layer.get_config()


def test_bahdanau_trains_inside_a_functional_model():
    keras.utils.set_random_seed(0)
    query, memory = keras.Input((None, 4)), keras.Input((None, 4))
    context, _ = BahdanauAttention(4)(query, memory)
    model = keras.Model([query, memory], keras.layers.Dense(1)(context))
    model.compile("adam", "mse")
    rng = np.random.default_rng(0)
    q, m = rng.normal(size=(64, 2, 4)), rng.normal(size=(64, 3, 4))
    loss = model.fit([q, m], m[:, :2, :1], epochs=3, verbose=0).history["loss"]
    assert loss[-1] < loss[0]
