"""The forecaster network (models/forecaster.py): shapes of every decoder / head / cell, any input length,
.keras round trips, cuDNN eligibility, learning against the persistence baseline, quantile calibration, the
seq2seq decoder's causality over the future features, and argument errors."""

from __future__ import annotations

import re

import keras
import numpy as np
import pytest

from keras_rnn.data.timeseries import make_windows
from keras_rnn.losses import PinballLoss
from keras_rnn.models.forecast_baselines import Persistence
from keras_rnn.models.forecaster import (
    DECODERS,
    HorizonEmbedding,
    SortedQuantiles,
    build_forecaster,
    point_forecast,
)
from keras_rnn.models.rnn_stack import CELLS

QUANTILES = (0.1, 0.5, 0.9)


def model_inputs(batch: int, length: int, channels: int, horizon: int, future_features: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    inputs = {"inputs": rng.normal(size=(batch, length, channels)).astype("float32")}
    if future_features:
        inputs["future_features"] = rng.normal(size=(batch, horizon, future_features)).astype("float32")
    return inputs


def recurrent_layers(model: keras.Model) -> list[keras.layers.Layer]:
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Bidirectional):
            found += [layer.forward_layer, layer.backward_layer]
        elif isinstance(layer, tuple(CELLS.values())):
            found.append(layer)
    return found


# --- Shapes ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("decoder", DECODERS)
@pytest.mark.parametrize("quantiles", [None, QUANTILES], ids=["point", "quantiles"])
@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize("channels, targets, future_features", [(1, 1, 0), (4, 2, 2)],
                         ids=["univariate", "multivariate"])
def test_output_shapes(decoder, quantiles, cell, channels, targets, future_features):
    model = build_forecaster(10, channels, 3, targets, cell=cell, units=4, decoder=decoder, quantiles=quantiles,
                             future_features=future_features)
    expected_inputs = {"inputs"} | ({"future_features"} if future_features else set())
    assert {tensor.name for tensor in model.inputs} == expected_inputs
    outputs = model(model_inputs(5, 10, channels, 3, future_features)).numpy()
    assert outputs.shape == ((5, 3, targets) if quantiles is None else (5, 3, targets, 3))
    assert outputs.dtype == np.float32 and np.isfinite(outputs).all()
    assert model.name == f"forecaster_{decoder}"


@pytest.mark.parametrize("decoder", DECODERS)
def test_horizon_one_is_many_to_one(decoder):
    model = build_forecaster(6, 3, 1, 2, cell="gru", units=4, decoder=decoder, quantiles=QUANTILES)
    outputs = model(model_inputs(7, 6, 3, 1, 0))
    assert tuple(outputs.shape) == (7, 1, 2, 3)
    assert point_forecast(outputs.numpy(), QUANTILES).shape == (7, 1, 2)


@pytest.mark.parametrize("decoder", DECODERS)
def test_input_length_none_accepts_windows_of_any_length(decoder):
    model = build_forecaster(None, 2, 4, 1, cell="lstm", units=4, decoder=decoder, future_features=1)
    assert {tensor.name: tuple(tensor.shape) for tensor in model.inputs} == {
        "inputs": (None, None, 2), "future_features": (None, 4, 1)}
    short, long = (model_inputs(3, length, 2, 4, 1) for length in (5, 9))
    assert tuple(model(short).shape) == tuple(model(long).shape) == (3, 4, 1)
    # The longer window is read to its end: its last steps matter.
    changed = {**long, "inputs": long["inputs"].copy()}
    changed["inputs"][:, -1] += 1.0
    assert not np.allclose(model(long).numpy(), model(changed).numpy())


def test_bidirectional_stacked_seq2seq_bridges_each_state_of_each_layer():
    model = build_forecaster(8, 3, 5, 2, cell="lstm", units=6, num_layers=2, bidirectional=True, dropout=0.2,
                             decoder="seq2seq")
    names = {layer.name for layer in model.layers}
    assert {"bridge_0_0", "bridge_0_1", "bridge_1_0", "bridge_1_1"} <= names
    assert {"bidirectional_encoder_0", "bidirectional_encoder_1", "decoder_0", "decoder_1"} <= names
    assert not any(isinstance(layer, keras.layers.Bidirectional) and "decoder" in layer.name
                   for layer in model.layers)
    assert model.get_layer("bridge_0_0").output.shape[-1] == 6  # [fwd; bwd] (12) projected to the decoder's 6
    outputs = model(model_inputs(4, 8, 3, 5, 0))
    assert tuple(outputs.shape) == (4, 5, 2)
    # The decoder reads the window only through the bridged states: the first input step reaches the forecast
    # (the backward direction's last state is where it matters most).
    base = model_inputs(4, 8, 3, 5, 0)
    changed = {"inputs": base["inputs"].copy()}
    changed["inputs"][:, 0] += 1.0
    assert not np.allclose(model(base).numpy(), model(changed).numpy())


@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize("decoder", DECODERS)
def test_every_recurrent_layer_stays_cudnn_eligible(cell, decoder):
    model = build_forecaster(8, 2, 3, 1, cell=cell, units=4, num_layers=2, bidirectional=True, dropout=0.3,
                             decoder=decoder, future_features=1)
    layers = recurrent_layers(model)
    assert len(layers) == (4 if decoder == "direct" else 6)  # 2 bidirectional (+ 2 decoder) layers
    for layer in layers:
        config = layer.get_config()
        assert config["activation"] == "tanh" and config["use_bias"] is True and config["unroll"] is False
        assert config["recurrent_dropout"] == 0 and config["dropout"] == 0  # dropout is between layers
        if cell != "simple_rnn":
            assert config["recurrent_activation"] == "sigmoid"
        if cell == "gru":
            assert config["reset_after"] is True
    assert sum(isinstance(layer, keras.layers.Dropout) for layer in model.layers) >= 2


# --- Serialization -----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "arguments",
    [
        dict(cell="gru", decoder="direct", quantiles=QUANTILES),
        dict(cell="lstm", decoder="direct", future_features=2, bidirectional=True),
        dict(cell="lstm", decoder="seq2seq", bidirectional=True, future_features=2),
        dict(cell="simple_rnn", decoder="seq2seq", quantiles=QUANTILES, num_layers=2, dropout=0.1),
    ],
    ids=["direct-quantiles", "direct-future-bidirectional", "seq2seq-future-bidirectional", "seq2seq-quantiles"],
)
def test_keras_file_round_trip_gives_identical_outputs(arguments, tmp_path):
    keras.utils.set_random_seed(1)
    model = build_forecaster(None, 3, 4, 2, units=5, **arguments)
    path = str(tmp_path / "forecaster.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    inputs = model_inputs(6, 7, 3, 4, arguments.get("future_features", 0), seed=3)
    np.testing.assert_array_equal(loaded(inputs).numpy(), model(inputs).numpy())
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]


def test_layers_round_trip_through_their_configs():
    steps = HorizonEmbedding(3, 2, embeddings_initializer="ones", name="steps")
    copy = HorizonEmbedding.from_config(steps.get_config())
    assert (copy.horizon, copy.output_dim, copy.name) == (3, 2, "steps")
    np.testing.assert_array_equal(copy(np.zeros((2, 5, 1))).numpy(), np.ones((2, 3, 2)))
    sorted_copy = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(SortedQuantiles()))
    assert isinstance(sorted_copy, SortedQuantiles)


# --- Quantile helpers --------------------------------------------------------------------------------

def test_sorted_quantiles_sorts_the_last_axis_only():
    crossed = np.array([[[[3.0, 1.0, 2.0], [0.0, -1.0, 5.0]]], [[[1.0, 2.0, 3.0], [9.0, 8.0, 7.0]]]], "float32")
    np.testing.assert_array_equal(SortedQuantiles()(crossed).numpy(),
                                  [[[[1.0, 2.0, 3.0], [-1.0, 0.0, 5.0]]], [[[1.0, 2.0, 3.0], [7.0, 8.0, 9.0]]]])


def test_point_forecast_takes_the_median_entry():
    outputs = np.arange(24, dtype="float32").reshape(2, 2, 2, 3)
    np.testing.assert_array_equal(point_forecast(outputs, QUANTILES), outputs[..., 1])
    np.testing.assert_array_equal(point_forecast(outputs[..., :2], (0.25, 0.5)), outputs[..., 1])
    np.testing.assert_array_equal(point_forecast(outputs, (0.5, 0.8, 0.95)), outputs[..., 0])
    point = outputs[..., 0]
    assert point_forecast(point, None) is point


def test_point_forecast_refuses_quantiles_without_the_median_or_a_wrong_last_axis():
    with pytest.raises(ValueError, match=re.escape("Received quantiles [0.1, 0.9]: a point forecast is the median")):
        point_forecast(np.zeros((1, 1, 1, 2)), (0.1, 0.9))
    with pytest.raises(ValueError, match=re.escape("Received outputs of shape (1, 1, 1, 2) for quantiles "
                                                   "[0.1, 0.5, 0.9]; expected (batch, horizon, targets, 3)")):
        point_forecast(np.zeros((1, 1, 1, 2)), QUANTILES)
    with pytest.raises(ValueError, match="not strictly increasing"):
        point_forecast(np.zeros((1, 1, 1, 2)), (0.5, 0.5))


# --- Causality of the seq2seq decoder -----------------------------------------------------------------

@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_seq2seq_step_h_reads_future_features_of_steps_up_to_h_only(cell):
    keras.utils.set_random_seed(2)
    horizon = 5
    model = build_forecaster(6, 2, horizon, 1, cell=cell, units=6, bidirectional=True, decoder="seq2seq",
                             future_features=3)
    base = model_inputs(4, 6, 2, horizon, 3, seed=5)
    reference = model(base).numpy()
    for h in range(horizon):
        changed = {**base, "future_features": base["future_features"].copy()}
        changed["future_features"][:, h] += 2.0  # step h's features: step h and every later step move
        outputs = model(changed).numpy()
        np.testing.assert_allclose(outputs[:, :h], reference[:, :h], rtol=0, atol=1e-6)
        assert (np.abs(outputs[:, h:] - reference[:, h:]).max(axis=(0, 2)) > 1e-4).all(), h


def test_direct_head_reads_every_future_step():
    keras.utils.set_random_seed(2)
    model = build_forecaster(6, 2, 3, 1, cell="gru", units=6, future_features=2)
    base = model_inputs(4, 6, 2, 3, 2, seed=5)
    changed = {**base, "future_features": base["future_features"].copy()}
    changed["future_features"][:, 2] += 2.0
    assert (np.abs(model(changed).numpy() - model(base).numpy()).max(axis=(0, 2)) > 1e-4).all()


# --- Learning ----------------------------------------------------------------------------------------

PERIOD, INPUT_LENGTH, HORIZON = 16, 24, 4


def sine_windows(values: np.ndarray, start: int, stop: int):
    return make_windows(values[:, None].astype("float32"), input_length=INPUT_LENGTH, horizon=HORIZON, start=start,
                        stop=stop)


def test_direct_gru_beats_persistence_on_a_sine_wave():
    keras.utils.set_random_seed(0)
    series = np.sin(2 * np.pi * np.arange(700) / PERIOD)
    train, test = sine_windows(series, 0, 500), sine_windows(series, 500, 700)
    model = build_forecaster(INPUT_LENGTH, 1, HORIZON, 1, cell="gru", units=16)
    model.compile(keras.optimizers.Adam(1e-2), "mse")
    model.fit({"inputs": train.inputs}, train.targets, epochs=6, batch_size=32, verbose=0)
    mae = np.abs(model.predict({"inputs": test.inputs}, verbose=0) - test.targets).mean()
    persistence = np.abs(Persistence(HORIZON).predict(test.inputs) - test.targets).mean()
    assert persistence > 0.5  # the baseline is poor on this wave: the margin below is a real one
    assert mae < 0.2 * persistence, (mae, persistence)


def test_seq2seq_without_future_features_beats_persistence_on_a_sine_wave():
    # The decoder's only inputs are then the step embeddings: what it forecasts comes from the encoder's states.
    keras.utils.set_random_seed(0)
    series = np.sin(2 * np.pi * np.arange(700) / PERIOD)
    train, test = sine_windows(series, 0, 500), sine_windows(series, 500, 700)
    model = build_forecaster(INPUT_LENGTH, 1, HORIZON, 1, cell="gru", units=16, decoder="seq2seq")
    model.compile(keras.optimizers.Adam(1e-2), "mse")
    model.fit({"inputs": train.inputs}, train.targets, epochs=6, batch_size=32, verbose=0)
    mae = np.abs(model.predict({"inputs": test.inputs}, verbose=0) - test.targets).mean()
    persistence = np.abs(Persistence(HORIZON).predict(test.inputs) - test.targets).mean()
    assert mae < 0.2 * persistence, (mae, persistence)


def test_seq2seq_learns_from_future_features():
    time = np.arange(700)
    series = np.sin(2 * np.pi * time / PERIOD) + 0.5 * np.sin(2 * np.pi * time / 7)
    # Known in advance: the phase of the slow cycle at each target step (as calendar features are); the fast
    # one must come from the window.
    phase = np.stack([np.sin(2 * np.pi * time / PERIOD), np.cos(2 * np.pi * time / PERIOD)], 1).astype("float32")
    train, test = sine_windows(series, 0, 500), sine_windows(series, 500, 700)
    persistence = np.abs(Persistence(HORIZON).predict(test.inputs) - test.targets).mean()

    def test_mae(future_features: int) -> float:
        def inputs(windows):
            given = {"inputs": windows.inputs}
            if future_features:
                given["future_features"] = phase[windows.starts[:, None] + INPUT_LENGTH + np.arange(HORIZON)]
            return given

        keras.utils.set_random_seed(0)
        model = build_forecaster(INPUT_LENGTH, 1, HORIZON, 1, cell="gru", units=16, decoder="seq2seq",
                                 future_features=future_features)
        model.compile(keras.optimizers.Adam(1e-2), "mse")
        model.fit(inputs(train), train.targets, epochs=8, batch_size=32, verbose=0)
        return np.abs(model.predict(inputs(test), verbose=0) - test.targets).mean()

    with_features, without = test_mae(2), test_mae(0)
    assert with_features < 0.15 * persistence, (with_features, persistence)
    assert with_features < 0.5 * without, (with_features, without)  # the decoder does read them


def test_quantile_forecasts_cover_gaussian_noise_and_widen_with_its_scale():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)

    def noise(n):  # each window's scale (0.5 or 2) shows in its inputs and sets its targets' spread
        scale = rng.choice([0.5, 2.0], size=n).astype("float32")
        inputs = (rng.normal(size=(n, 8, 1)) * scale[:, None, None]).astype("float32")
        targets = (rng.normal(size=(n, 2, 1)) * scale[:, None, None]).astype("float32")
        return inputs, targets, scale

    inputs, targets, _ = noise(2000)
    test_inputs, test_targets, test_scale = noise(1000)
    model = build_forecaster(8, 1, 2, 1, cell="gru", units=8, quantiles=QUANTILES)
    model.compile(keras.optimizers.Adam(1e-2), PinballLoss(QUANTILES))
    model.fit({"inputs": inputs}, targets, epochs=10, batch_size=64, verbose=0)
    forecasts = SortedQuantiles()(model.predict({"inputs": test_inputs}, verbose=0)).numpy()
    low, median, high = forecasts[..., 0], forecasts[..., 1], forecasts[..., 2]
    assert (low < median).all() and (median < high).all()  # strictly: a collapsed interval fails
    widths = {}
    for scale in (0.5, 2.0):
        rows = test_scale == scale
        truth = test_targets[rows]
        coverage = ((truth >= low[rows]) & (truth <= high[rows])).mean()
        assert 0.7 < coverage < 0.9, (scale, coverage)  # nominal 80%
        assert 0.4 < (truth < median[rows]).mean() < 0.6, scale
        widths[scale] = (high[rows] - low[rows]).mean()
        assert abs(widths[scale] - 2 * 1.2816 * scale) < 0.25 * 2 * 1.2816 * scale, (scale, widths[scale])
    assert widths[2.0] > 2.5 * widths[0.5]  # ideal 4


# --- Errors ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "arguments, message",
    [
        (dict(input_length=0), "`input_length`: 0. Expected a positive integer."),
        (dict(channels=0), "`channels`: 0. Expected a positive integer."),
        (dict(horizon=2.0), "`horizon`: 2.0. Expected a positive integer."),
        (dict(targets=-1), "`targets`: -1. Expected a positive integer."),
        (dict(cell="LSTM"), "`cell`: 'LSTM'. Accepted values: 'simple_rnn', 'lstm', 'gru'."),
        (dict(units=0), "`units`: 0. Expected a positive integer."),
        (dict(num_layers=True), "`num_layers`: True. Expected a positive integer."),
        (dict(bidirectional="yes"), "`bidirectional`: 'yes'. Expected True or False."),
        (dict(dropout=1.0), "`dropout`: 1.0. Expected a number in [0, 1)."),
        (dict(decoder="attention"), "`decoder`: 'attention'. Accepted values: 'direct', 'seq2seq'."),
        (dict(quantiles=(0.9, 0.1)), "`quantiles`: (0.9, 0.1): not strictly increasing."),
        (dict(quantiles=[0.5, 1.0]), "`quantiles`: [0.5, 1.0]. Expected a non-empty, strictly increasing"),
        (dict(quantiles=[]), "`quantiles`: []. Expected a non-empty"),
        (dict(future_features=-1), "`future_features`: -1. Expected an integer >= 0."),
        (dict(name=3), "`name`: 3. Expected a string or None."),
    ],
)
def test_invalid_arguments_name_the_value_and_what_is_accepted(arguments, message):
    given = {"input_length": 8, "channels": 2, "horizon": 3, "targets": 1, **arguments}
    with pytest.raises(ValueError, match="^Received an invalid value for argument " + re.escape(message)):
        build_forecaster(given.pop("input_length"), given.pop("channels"), given.pop("horizon"), given.pop("targets"),
                         **given)
