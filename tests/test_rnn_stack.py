"""The shared recurrent-stack builder (`keras_rnn.models.rnn_stack`) and the models built on it."""

import ast
import pathlib
import re

import keras
import numpy as np
import pytest

from keras_rnn.models import classifier, rnn_stack as rnn_stack_module, seq2seq
from keras_rnn.models.classifier import build_sentiment_model
from keras_rnn.models.rnn_stack import CELLS, rnn_layer, rnn_stack, state_count
from keras_rnn.models.seq2seq import Seq2SeqDecoder, Seq2SeqEncoder, build_translation_model

X = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
MODELS = pathlib.Path(__file__).resolve().parent.parent / "keras_rnn" / "models"
RNN_TYPES = (keras.layers.RNN, keras.layers.Bidirectional)


def run(layers, x=X):
    """Applies the stack in order; a layer with states feeds only its output to the next one."""
    outputs = None
    for layer in layers:
        outputs = layer(x)
        x = outputs[0] if isinstance(outputs, (list, tuple)) else outputs
    return outputs


@pytest.fixture
def made_layers(monkeypatch):
    """Every layer `rnn_layer` makes while the test runs, in order (the real layers, unchanged)."""
    made = []
    real = rnn_stack_module.rnn_layer

    def spy(*args, **kwargs):
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(rnn_stack_module, "rnn_layer", spy)
    return made


@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 3])
@pytest.mark.parametrize("return_sequences", [True, False])
def test_stack_output_shapes(cell, bidirectional, num_layers, return_sequences):
    layers = rnn_stack(cell, 4, num_layers, bidirectional=bidirectional, return_sequences=return_sequences)
    assert len(layers) == num_layers
    assert all(isinstance(layer, keras.layers.Bidirectional) == bidirectional for layer in layers)
    inner = [layer.forward_layer if bidirectional else layer for layer in layers]
    assert all(type(layer) is CELLS[cell] for layer in inner)
    # Only the top layer may drop the time axis: the others feed the next layer.
    assert [layer.return_sequences for layer in inner] == [True] * (num_layers - 1) + [return_sequences]
    width = 8 if bidirectional else 4
    assert tuple(run(layers).shape) == ((2, 5, width) if return_sequences else (2, width))


@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize("bidirectional", [False, True])
def test_return_state_shapes(cell, bidirectional):
    layers = rnn_stack(cell, 4, 2, bidirectional=bidirectional, return_state=True, return_sequences=False)
    directions = 2 if bidirectional else 1
    assert state_count(cell) == (2 if cell == "lstm" else 1)
    x = X
    for layer in layers:  # every layer returns its states
        output, *states = layer(x)
        assert len(states) == state_count(cell) * directions
        assert all(tuple(state.shape) == (2, 4) for state in states)
        x = output
    assert tuple(output.shape) == (2, 4 * directions)
    if cell != "lstm":  # the final `h` is the last output (forward first, then backward)
        np.testing.assert_allclose(np.concatenate([s.numpy() for s in states], -1), output.numpy(), atol=1e-6)


def test_single_layer_and_its_names():
    layer = rnn_layer("gru", 3, name="gru_7")
    assert type(layer) is keras.layers.GRU and layer.name == "gru_7" and layer.return_sequences
    assert not layer.return_state and tuple(layer(X).shape) == (2, 5, 3)
    wrapped = rnn_layer("lstm", 3, bidirectional=True, return_sequences=False, name="lstm_0")
    assert wrapped.name == "bidirectional_lstm_0"
    assert (wrapped.forward_layer.name, wrapped.backward_layer.name) == ("forward_lstm_0", "backward_lstm_0")
    assert tuple(wrapped(X).shape) == (2, 6)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_stack_layer_names_are_stable(bidirectional):
    """Saved weights are found by these names: changing them orphans every saved run."""
    layers = rnn_stack("lstm", 3, 3, bidirectional=bidirectional)
    assert [layer.name for layer in layers] == [f"{'bidirectional_' * bidirectional}lstm_{i}" for i in range(3)]
    named = rnn_stack("gru", 3, 2, name_prefix="tagger_rnn")
    assert [layer.name for layer in named] == ["tagger_rnn_0", "tagger_rnn_1"]


def old_stack(cell, units, num_layers, bidirectional, return_sequences, return_state):
    """What the classifier and the seq2seq encoder built inline before the builder existed."""
    layers = []
    for i in range(num_layers):
        kwargs = dict(return_sequences=return_sequences or i < num_layers - 1, name=f"{cell}_{i}")
        if return_state:
            kwargs["return_state"] = True
        layer = CELLS[cell](units, **kwargs)
        layers.append(keras.layers.Bidirectional(layer, name=f"bidirectional_{cell}_{i}") if bidirectional else layer)
    return layers


@pytest.mark.parametrize("cell, bidirectional, return_sequences, return_state",
                         [("gru", True, True, False), ("lstm", False, False, False), ("simple_rnn", True, False, False),
                          ("lstm", True, True, True), ("gru", False, True, True)])
def test_builder_reproduces_the_old_layers_and_seeded_weights(cell, bidirectional, return_sequences, return_state):
    stacks = []
    for build in (old_stack, lambda *args: rnn_stack(*args[:3], bidirectional=args[3], return_sequences=args[4],
                                                     return_state=args[5])):
        keras.utils.set_random_seed(0)
        layers = build(cell, 4, 2, bidirectional, return_sequences, return_state)
        stacks.append((layers, run(layers)))
    (old, old_out), (new, new_out) = stacks
    assert [layer.get_config() for layer in new] == [layer.get_config() for layer in old]
    assert [w.path for layer in new for w in layer.weights] == [w.path for layer in old for w in layer.weights]
    old_weights, new_weights = ([w.numpy() for layer in stack for w in layer.weights] for stack in (old, new))
    assert all(np.array_equal(a, b) for a, b in zip(old_weights, new_weights, strict=True))
    old_out, new_out = (o if isinstance(o, (list, tuple)) else [o] for o in (old_out, new_out))
    assert all(np.array_equal(a.numpy(), b.numpy()) for a, b in zip(old_out, new_out))


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_defaults_stay_cudnn_eligible_and_rates_reach_the_cell(cell):
    plain = rnn_layer(cell, 4, name="r").get_config()
    assert plain == CELLS[cell](4, return_sequences=True, name="r").get_config()  # no argument beyond these
    assert plain["activation"] == "tanh" and plain["use_bias"] is True and plain["unroll"] is False
    assert plain["dropout"] == 0 and plain["recurrent_dropout"] == 0
    if cell != "simple_rnn":
        assert plain["recurrent_activation"] == "sigmoid"
    if cell == "gru":
        assert plain["reset_after"] is True
    for layer in rnn_stack(cell, 4, 2, bidirectional=True, dropout=0.25, recurrent_dropout=0.1):
        config = layer.forward_layer.get_config()
        assert (config["dropout"], config["recurrent_dropout"]) == (0.25, 0.1)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: rnn_stack("rnn", 4, 2), "`cell`: 'rnn'. Accepted values: 'simple_rnn', 'lstm', 'gru'."),
        (lambda: rnn_layer("LSTM", 4), "`cell`: 'LSTM'. Accepted values: 'simple_rnn', 'lstm', 'gru'."),
        (lambda: state_count("transformer"), "`cell`: 'transformer'. Accepted values: 'simple_rnn', 'lstm', 'gru'."),
        (lambda: rnn_stack("gru", 0), "`units`: 0. Expected a positive integer."),
        (lambda: rnn_stack("gru", 4, 0), "`num_layers`: 0. Expected a positive integer."),
        (lambda: rnn_stack("gru", 4, 2.0), "`num_layers`: 2.0. Expected a positive integer."),
        (lambda: rnn_layer("gru", 4, dropout=1.0), "`dropout`: 1.0. Expected a number in [0, 1)."),
        (lambda: rnn_stack("gru", 4, recurrent_dropout=-0.1),
         "`recurrent_dropout`: -0.1. Expected a number in [0, 1)."),
    ],
)
def test_invalid_arguments_name_the_value_and_what_is_accepted(call, message):
    with pytest.raises(ValueError, match="^Received an invalid value for argument " + re.escape(message) + "$"):
        call()


def test_classifier_re_exports_the_cells():
    assert classifier.CELLS is CELLS and seq2seq.CELLS is CELLS
    assert list(CELLS) == ["simple_rnn", "lstm", "gru"]
    assert CELLS == {"simple_rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}


@pytest.mark.parametrize("pooling, bidirectional", [("max_mean", True), ("last", False)])
def test_classifier_builds_its_recurrent_layers_with_the_builder(made_layers, pooling, bidirectional):
    model = build_sentiment_model(vocab_size=30, cell="gru", units=4, embedding_dim=4, num_layers=2,
                                  bidirectional=bidirectional, pooling=pooling)
    recurrent = [layer for layer in model.layers if isinstance(layer, RNN_TYPES)]
    assert len(made_layers) == 2 and all(a is b for a, b in zip(recurrent, made_layers, strict=True))
    assert [layer.name for layer in model.layers] == (
        ["token_ids", "embedding"] + [f"{'bidirectional_' * bidirectional}gru_{i}" for i in range(2)]
        + ([] if pooling == "last" else ["max_mean_pooling"]) + ["dropout", "output"]
    )


def test_seq2seq_encoder_and_decoder_build_their_rnns_with_the_builder(made_layers):
    encoder = Seq2SeqEncoder(50, embedding_dim=8, units=4, num_layers=2, cell="lstm")
    assert all(a is b for a, b in zip(encoder.rnns, made_layers, strict=True))
    assert [rnn.name for rnn in encoder.rnns] == ["bidirectional_lstm_0", "bidirectional_lstm_1"]
    assert all(rnn.forward_layer.return_state and rnn.forward_layer.return_sequences for rnn in encoder.rnns)
    decoder = Seq2SeqDecoder(40, embedding_dim=8, units=6, num_layers=2, cell="lstm")
    assert all(a is b for a, b in zip(decoder.rnns, made_layers[2:], strict=True))
    assert [rnn.name for rnn in decoder.rnns] == ["lstm_0", "lstm_1"]
    assert all(type(rnn) is keras.layers.LSTM and rnn.return_state for rnn in decoder.rnns)
    memory, mask, summary = encoder(np.array([[5, 6, 0]]))
    assert (tuple(memory.shape), tuple(summary.shape)) == ((1, 3, 8), (1, encoder.summary_dim)) == ((1, 3, 8), (1, 16))


def test_translation_model_weight_paths_are_stable():
    model = build_translation_model(30, 25, cell="gru", embedding_dim=8, encoder_units=4, decoder_units=6,
                                    encoder_layers=2, decoder_layers=2)
    paths = {w.path for w in model.weights}
    for i in range(2):
        for direction in ("forward", "backward"):
            for weight in ("kernel", "recurrent_kernel", "bias"):
                assert f"encoder/bidirectional_gru_{i}/{direction}_gru_{i}/gru_cell/{weight}" in paths
        assert f"decoder/gru_{i}/gru_cell/kernel" in paths


def test_seq2seq_no_longer_imports_the_classifier():
    tree = ast.parse((MODELS / "seq2seq.py").read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert "keras_rnn.models.rnn_stack" in imported
    assert not any("classifier" in module for module in imported), imported
