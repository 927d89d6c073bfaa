import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_rnn.decoding import BeamSearch, GreedySearch
from keras_rnn.losses import MaskedSequenceCrossentropy
from keras_rnn.metrics import MaskedPerplexity, MaskedTokenAccuracy
from keras_rnn.models.seq2seq import (
    Seq2SeqDecoder,
    Seq2SeqEncoder,
    build_seq2seq_model,
    build_translation_model,
    decode_ids,
)

SMALL = dict(embedding_dim=8, encoder_units=6, decoder_units=10, attention_units=5, dropout=0.0)
VARIANTS = [
    dict(cell="gru", attention="luong"),
    dict(cell="lstm", attention="bahdanau"),
    dict(cell="gru", attention="none", tie_embeddings=False),
    dict(cell="lstm", attention="luong", luong_score="dot", decoder_units=12, bidirectional=True),
    dict(cell="simple_rnn", attention="bahdanau", encoder_layers=2, decoder_layers=2, bidirectional=False),
]


def model_for(variant, source_vocab=30, target_vocab=25):
    keras.utils.set_random_seed(3)
    return build_translation_model(source_vocab, target_vocab, **{**SMALL, **variant})


SOURCE = np.array([[4, 5, 6, 7], [8, 9, 0, 0]], np.int32)
DECODER_IN = np.array([[2, 11, 12, 13, 14], [2, 15, 16, 0, 0]], np.int32)


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: "-".join(str(x) for x in v.values()))
def test_step_by_step_decoding_reproduces_teacher_forced_logits(variant):
    """The one-step path used for decoding must compute exactly what training computed."""
    model = model_for(variant)
    encoder, decoder = model.get_layer("encoder"), model.get_layer("decoder")
    expected = model({"source_ids": SOURCE, "decoder_input_ids": DECODER_IN}).numpy()
    memory, mask, summary = encoder(SOURCE)
    states = decoder.initial_state(summary)
    for t in range(DECODER_IN.shape[1]):
        logits, states, alignment = decoder.step(tf.constant(DECODER_IN[:, t]), states, memory, mask)
        np.testing.assert_allclose(logits.numpy()[0], expected[0, t], atol=1e-4)
        if t < 3:  # row 1 is padding after step 2 in training (its state stops), compare real steps only
            np.testing.assert_allclose(logits.numpy()[1], expected[1, t], atol=1e-4)
        if variant["attention"] != "none":
            assert alignment.shape == (2, 4)
            np.testing.assert_allclose(alignment.numpy()[1, 2:], 0.0)  # padding gets no attention


@pytest.mark.parametrize("variant", VARIANTS[:3], ids=lambda v: "-".join(str(x) for x in v.values()))
def test_source_padding_does_not_change_logits(variant):
    model = model_for(variant)
    short = model({"source_ids": SOURCE[1:, :2], "decoder_input_ids": DECODER_IN[1:, :3]}).numpy()
    padded = model({"source_ids": SOURCE[1:], "decoder_input_ids": DECODER_IN[1:, :3]}).numpy()
    np.testing.assert_allclose(short, padded, atol=1e-5)


def test_keras_file_round_trip_keeps_predictions(tmp_path):
    model = model_for(dict(cell="gru", attention="bahdanau"))
    inputs = {"source_ids": SOURCE, "decoder_input_ids": DECODER_IN}
    path = str(tmp_path / "m.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    np.testing.assert_allclose(restored(inputs).numpy(), model(inputs).numpy(), atol=1e-6)
    assert restored.get_layer("decoder").get_config() == model.get_layer("decoder").get_config()


def test_tied_embeddings_share_the_matrix():
    tied = model_for(dict(tie_embeddings=True))
    untied = model_for(dict(tie_embeddings=False))
    assert tied.count_params() < untied.count_params()
    assert not any("output/kernel" in w.path for w in tied.weights)


def test_bad_arguments_name_the_value_and_the_choices():
    with pytest.raises(ValueError, match="attention.*'transformer'"):
        build_seq2seq_model(10, 10, attention="transformer")
    with pytest.raises(ValueError, match="luong_score='dot'.*decoder_units"):
        build_seq2seq_model(10, 10, attention="luong", luong_score="dot", encoder_units=4, decoder_units=6)
    with pytest.raises(ValueError, match="cell"):
        Seq2SeqEncoder(10, cell="transformer")
    with pytest.raises(ValueError, match="vocabulary_size"):
        Seq2SeqDecoder(0)


def test_beam_width_one_equals_greedy_on_a_model():
    model = model_for(dict(cell="gru", attention="luong"))
    encoder, decoder = model.get_layer("encoder"), model.get_layer("decoder")
    greedy = decode_ids(encoder, decoder, SOURCE, start_id=2, end_id=3, strategy=GreedySearch())
    beam = decode_ids(encoder, decoder, SOURCE, start_id=2, end_id=3, strategy=BeamSearch(1))
    np.testing.assert_array_equal(greedy.ids.numpy(), beam.ids.numpy())
    np.testing.assert_allclose(greedy.log_probs.numpy(), beam.log_probs.numpy(), atol=1e-5)


def test_decoding_never_emits_padding_or_start_and_respects_max_length():
    model = model_for(dict(cell="gru", attention="luong"))
    encoder, decoder = model.get_layer("encoder"), model.get_layer("decoder")
    for strategy in (GreedySearch(), BeamSearch(3)):
        result = decode_ids(encoder, decoder, SOURCE, start_id=2, end_id=3, strategy=strategy,
                            max_length_ratio=1.0, max_length_offset=2)
        ids, lengths = result.ids.numpy(), result.lengths.numpy()
        assert ids.shape[1] <= 4 + 2
        for row, length in zip(ids, lengths):
            assert 0 not in row[:length] and 2 not in row[:length]


def test_decode_ids_traces_in_tf_function_with_unknown_shapes():
    model = model_for(dict(cell="lstm", attention="bahdanau"))
    encoder, decoder = model.get_layer("encoder"), model.get_layer("decoder")

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32)])
    def run(source):
        return decode_ids(encoder, decoder, source, start_id=2, end_id=3, strategy=BeamSearch(2)).ids

    assert run(tf.constant(SOURCE)).shape[0] == 2
    assert run(tf.constant(SOURCE[:1, :1])).shape[0] == 1


def test_masked_loss_ignores_padding_and_smoothing_raises_it():
    logits = np.random.default_rng(0).normal(size=(2, 3, 7)).astype("float32")
    labels = np.array([[1, 2, 0], [3, 0, 0]])
    plain = float(MaskedSequenceCrossentropy()(labels, logits))
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected = -np.mean([log_p[0, 0, 1], log_p[0, 1, 2], log_p[1, 0, 3]])
    assert plain == pytest.approx(expected, rel=1e-5)
    changed = logits.copy()
    changed[:, 2] += 100.0  # padded positions
    assert float(MaskedSequenceCrossentropy()(labels, changed)) == pytest.approx(plain, rel=1e-5)
    smoothed = float(MaskedSequenceCrossentropy(0.1)(labels, logits))
    uniform = -np.mean([log_p[0, 0].mean(), log_p[0, 1].mean(), log_p[1, 0].mean()])
    assert smoothed == pytest.approx(0.9 * expected + 0.1 * uniform, rel=1e-5)
    with pytest.raises(ValueError, match="label_smoothing"):
        MaskedSequenceCrossentropy(1.0)


def test_token_accuracy_and_perplexity_skip_padding():
    labels = np.array([[1, 2, 0]])
    logits = np.full((1, 3, 3), -5.0, "float32")
    logits[0, 0, 1] = logits[0, 1, 0] = logits[0, 2, 0] = 5.0
    accuracy, perplexity = MaskedTokenAccuracy(), MaskedPerplexity()
    accuracy.update_state(labels, logits)
    perplexity.update_state(labels, logits)
    assert float(accuracy.result()) == 0.5
    log_p = logits[0] - np.log(np.exp(logits[0]).sum(-1, keepdims=True))
    assert float(perplexity.result()) == pytest.approx(np.exp(-(log_p[0, 1] + log_p[1, 2]) / 2), rel=1e-4)


# --- GPU paths: cuDNN eligibility and mixed precision ------------------------------------------------

def seq2seq_recurrent_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """Every recurrent layer of a seq2seq model's encoder and decoder (both directions of a bidirectional)."""
    found = []
    for rnn in model.get_layer("encoder").rnns + model.get_layer("decoder").rnns:
        found += [rnn.forward_layer, rnn.backward_layer] if isinstance(rnn, keras.layers.Bidirectional) else [rnn]
    return found


@pytest.mark.parametrize("cell", ["gru", "lstm"])
@pytest.mark.parametrize("builder", ["translation", "summarization"])
def test_every_seq2seq_rnn_stays_cudnn_eligible(cell, builder):
    """Keras runs a GRU / LSTM on the cuDNN kernel only with these settings (and right padding, which the
    batching gives); anything else falls back to the step-by-step loop, several times slower on a GPU."""
    from keras_rnn.models.seq2seq import build_summarization_model

    options = {**SMALL, "cell": cell, "encoder_layers": 2, "decoder_layers": 2, "bidirectional": True,
               "dropout": 0.3}
    model = (build_translation_model(30, 25, **options) if builder == "translation"
             else build_summarization_model(30, **options))
    layers = seq2seq_recurrent_layers(model)
    assert len(layers) == 6  # 2 bidirectional encoder layers, 2 decoder layers
    for layer in layers:
        config = layer.get_config()
        assert config["activation"] == "tanh" and config["recurrent_activation"] == "sigmoid"
        assert config["recurrent_dropout"] == 0 and config["unroll"] is False and config["use_bias"] is True
        assert config.get("use_cudnn", "auto") in ("auto", True)
        if cell == "gru":
            assert config["reset_after"] is True


@pytest.mark.parametrize("variant", [dict(attention="luong"), dict(attention="bahdanau"),
                                     dict(attention="bahdanau", copy=True, coverage=True)],
                         ids=["luong", "bahdanau", "copy-coverage"])
def test_mixed_float16_masks_stay_finite_even_for_an_all_padding_source(variant):
    """Masked scores are set to the dtype's lowest value: a float16 -1e9 is -inf, and a source row with no
    real token then gave NaN attention weights."""
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        keras.utils.set_random_seed(3)
        model = build_seq2seq_model(30, 25, **{**SMALL, **variant})
        source = np.array([[4, 5, 6, 7], [0, 0, 0, 0]], np.int32)
        inputs = {"source_ids": source, "decoder_input_ids": DECODER_IN}
        if variant.get("copy"):
            inputs["source_extended_ids"] = source  # no out-of-vocabulary source word
        outputs = model(inputs).numpy()
        assert model.get_layer("encoder").compute_dtype == "float16"
        assert np.isfinite(outputs).all()
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("attention", ["luong", "bahdanau"])
def test_a_mixed_precision_model_reloads_in_its_own_precision(tmp_path, attention):
    """Sublayers take their owner's dtype policy: loaded under another global policy, they used to compute
    in that one (a bfloat16-trained model decoded in float32 gave other outputs after reloading)."""
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = build_translation_model(30, 25, **{**SMALL, "attention": attention})
        inputs = {"source_ids": SOURCE, "decoder_input_ids": DECODER_IN}
        expected = model(inputs).numpy()
        model.save(str(tmp_path / "m.keras"))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    again = keras.saving.load_model(str(tmp_path / "m.keras"))
    policies = {layer.dtype_policy.name for layer in again._flatten_layers(include_self=False)
                if not isinstance(layer, keras.layers.InputLayer)}
    assert policies == {"mixed_bfloat16"}
    np.testing.assert_array_equal(again(inputs).numpy(), expected)
    alignment = again.get_layer("decoder").attention_layer(tf.ones((2, 10)), tf.ones((2, 4, 12)))[1]
    assert alignment.dtype == tf.float32  # attention weights in float32 whatever the compute dtype


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
def test_one_pass_token_crossentropy_equals_the_smoothed_sparse_crossentropy(smoothing):
    """The loss's single log-normaliser pass against its definition: the cross-entropy against the
    smoothed target distribution `(1 - ε) one_hot + ε / V`, from Keras's categorical cross-entropy."""
    from keras_rnn.losses import token_crossentropy

    rng = np.random.default_rng(4)
    logits = (rng.normal(size=(3, 5, 40)) * 4).astype("float32")
    labels = rng.integers(1, 40, (3, 5))
    target = (1 - smoothing) * np.eye(40)[labels] + smoothing / 40
    expected = keras.losses.categorical_crossentropy(target, logits, from_logits=True)
    np.testing.assert_allclose(token_crossentropy(labels, logits, smoothing), expected, rtol=1e-5, atol=1e-5)
