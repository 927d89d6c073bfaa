"""A recurrent forecaster: input windows of a series → the next `horizon` steps of its target columns, as
point forecasts or as quantiles (prediction intervals).

Two decoders over one RNN stack (`rnn_stack`: SimpleRNN / LSTM / GRU, optionally bidirectional):

    "direct"  (many-to-one for horizon 1, many-to-many at once otherwise)

        inputs (batch, time, channels) ─► RNN × n ─► last output ─┬─► Dense(H·T·Q) ─► (b, H, T[, Q])
        future_features (batch, H, F) ─► Flatten ─────────────────┘  (when F > 0)

    "seq2seq"  (encoder-decoder, the horizon decoded step by step)

        inputs (batch, time, channels) ─► encoder RNN × n ─► final states of each layer
                                                               │ (bidirectional: [fwd; bwd] ─► Dense(units))
        [future_features[h]; step_embedding[h]], h < H ─► decoder RNN × n (initial states ↑) ─► Dense(T·Q)
                                                                               ─► (batch, H, T[, Q])

The seq2seq decoder is never fed target values (no teacher forcing, no autoregressive feedback of its own
forecasts): each step reads only what is known in advance for it, the future features of that step (calendar
features) and a learnt embedding of the step index, so it works with no future features too. Training and
inference then run the very same graph, every step in one call of the fused RNN, and the model cannot suffer
exposure bias (at inference a teacher-forced decoder would read its own errors where it trained on truth).
The decoder is unidirectional, so its output at step `h` depends on the future features of steps `<= h` only.

Quantile forecasts (`quantiles=(0.1, 0.5, 0.9)`) add a last axis, in the order of `quantiles`, trained with
`keras_rnn.losses.PinballLoss`. The network returns them unsorted, as the loss needs them; `SortedQuantiles`
sorts them where forecasts leave the model (predict, export), and `point_forecast` takes the median.

Dropout (`dropout`) is applied by `keras.layers.Dropout` to the output of every recurrent layer, never inside
the cells: no recurrent dropout keeps LSTM / GRU on the cuDNN kernel, and no input dropout keeps the raw series
whole (Keras's RNN input dropout draws one mask per window, which for a single series blanks its whole input).

Reference:
    Sutskever, Vinyals, Le. Sequence to Sequence Learning with Neural Networks. NeurIPS 2014.
    Wen, Torkkola, Narayanaswamy, Madeka. A Multi-Horizon Quantile Recurrent Forecaster. 2017.
    Taieb, Atiya. A Bias and Variance Analysis for Multistep-Ahead Time Series Forecasting. 2016.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

from keras_rnn.forecasting_metrics import validate_quantiles
from keras_rnn.models.rnn_stack import CELLS, rnn_stack, state_count
from keras_rnn.validation import (
    validate_choice,
    validate_fraction,
    validate_positive_int,
)

DECODERS = ("direct", "seq2seq")
# The step embedding starts wider than Keras's default ±0.05, so the decoder's steps differ from the first
# update on (the same reasoning as seq2seq.DEFAULT_EMBEDDINGS_INITIALIZER).
STEP_EMBEDDINGS_INITIALIZER = {"class_name": "RandomUniform", "config": {"minval": -0.5, "maxval": 0.5}}

__all__ = ["DECODERS", "HorizonEmbedding", "SortedQuantiles", "build_forecaster", "point_forecast"]


@keras.saving.register_keras_serializable(package="keras_rnn")
class HorizonEmbedding(keras.layers.Layer):
    """A learnt vector per forecast step, the same for every row: the seq2seq decoder's input telling it
    which step of the horizon it is at.

    Args:
        horizon: forecast steps, >= 1.
        output_dim: size of each step's vector, >= 1.
        embeddings_initializer: Defaults to `STEP_EMBEDDINGS_INITIALIZER` (uniform in ±0.5).

    Call arguments:
        reference: any tensor whose first axis is the batch (the input windows).

    Returns:
        `(batch, horizon, output_dim)`.

    Example:
    >>> steps = HorizonEmbedding(3, 4)
    >>> out = steps(np.zeros((2, 7, 1)))
    >>> tuple(out.shape), bool(np.array_equal(out[0], out[1]))
    ((2, 3, 4), True)
    """

    def __init__(self, horizon: int, output_dim: int, embeddings_initializer: Any = None, **kwargs):
        super().__init__(**kwargs)
        self.horizon = validate_positive_int("horizon", horizon)
        self.output_dim = validate_positive_int("output_dim", output_dim)
        self.embeddings_initializer = keras.initializers.get(
            STEP_EMBEDDINGS_INITIALIZER if embeddings_initializer is None else embeddings_initializer)
        self.embeddings = self.add_weight(shape=(horizon, output_dim), initializer=self.embeddings_initializer,
                                          name="embeddings")
        self.built = True

    def call(self, reference):
        batch = ops.shape(reference)[0]
        embeddings = ops.cast(self.embeddings, self.compute_dtype)
        return ops.broadcast_to(embeddings[None], (batch, self.horizon, self.output_dim))

    def compute_output_shape(self, reference_shape):
        return (reference_shape[0], self.horizon, self.output_dim)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(horizon=self.horizon, output_dim=self.output_dim,
                      embeddings_initializer=keras.initializers.serialize(self.embeddings_initializer))
        return config


@keras.saving.register_keras_serializable(package="keras_rnn")
class SortedQuantiles(keras.layers.Layer):
    """Sorts quantile forecasts along the last axis, so that no quantile crosses another (`ŷ_0.1 <= ŷ_0.5 <=
    ŷ_0.9`). For inference and export only: the loss must see the raw outputs (see `PinballLoss`).

    Call arguments:
        quantile_forecasts: `(..., len(quantiles))`.

    Returns:
        The same shape, ascending along the last axis.

    Example:
    >>> SortedQuantiles()(np.array([[[[1.0, 0.5, 2.0]]]])).numpy().tolist()   # 0.5 and 1.0 had crossed
    [[[[0.5, 1.0, 2.0]]]]
    """

    def call(self, quantile_forecasts):
        return ops.sort(quantile_forecasts, axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape


def point_forecast(outputs, quantiles: Sequence[float] | None):
    """The point forecast of a forecaster's outputs: the outputs themselves for a point model
    (`quantiles=None`), else the median, the entry of quantile 0.5 along the last axis.

    Sort quantile outputs first (`SortedQuantiles`) to take the median of crossed quantiles.

    Args:
        outputs: `(batch, horizon, targets)`, or `(batch, horizon, targets, len(quantiles))`; a numpy array or
            a tensor.
        quantiles: the model's quantiles, which must hold 0.5, or `None` for a point model.

    Returns:
        `(batch, horizon, targets)`, of the type of `outputs`.

    Raises:
        ValueError: bad quantiles, no 0.5 among them, or a last axis of `outputs` that is not one entry per
            quantile (all named).

    Example:
    >>> outputs = np.array([[[[1.0, 2.0, 4.0]]]])
    >>> point_forecast(outputs, [0.1, 0.5, 0.9]).tolist()
    [[[2.0]]]
    """
    if quantiles is None:
        return outputs
    quantiles = validate_quantiles(quantiles)
    if 0.5 not in quantiles:
        raise ValueError(f"Received quantiles {list(quantiles)}: a point forecast is the median, so 0.5 must be "
                         "one of them (e.g. (0.1, 0.5, 0.9)).")
    shape = tuple(outputs.shape)
    if len(shape) < 2 or shape[-1] != len(quantiles):
        raise ValueError(f"Received outputs of shape {shape} for quantiles {list(quantiles)}; expected "
                         f"(batch, horizon, targets, {len(quantiles)}): one last entry per quantile.")
    return outputs[..., quantiles.index(0.5)]


def _validate_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"Received an invalid value for argument `{name}`: {value!r}. Expected True or False.")
    return value


def _validate_non_negative_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"Received an invalid value for argument `{name}`: {value!r}. Expected an integer >= 0.")
    return value


def build_forecaster(
    input_length: int | None,
    channels: int,
    horizon: int,
    targets: int,
    *,
    cell: str = "lstm",
    units: int = 64,
    num_layers: int = 1,
    bidirectional: bool = False,
    dropout: float = 0.0,
    decoder: str = "direct",
    quantiles: Sequence[float] | None = None,
    future_features: int = 0,
    name: str | None = None,
) -> keras.Model:
    """The forecaster as a functional model (see the module docstring).

    Args:
        input_length: steps per input window, or `None` for windows of any length.
        channels: input channels per step (`make_windows`: the target columns, then the feature columns).
        horizon: steps forecast, >= 1 (1: many-to-one).
        targets: series forecast per step, >= 1.
        cell: `"simple_rnn"`, `"lstm"` or `"gru"`. Defaults to `"lstm"`.
        units: units per direction of every recurrent layer (encoder and decoder). Defaults to `64`.
        num_layers: recurrent layers of the stack (and, for seq2seq, of the decoder, layer `i` starting from
            the encoder layer `i`'s final states). Defaults to `1`.
        bidirectional: read the window both ways (the encoder only; the seq2seq decoder is always forward,
            its initial states a Dense(units, tanh) projection of both directions' states). Defaults to
            `False`.
        dropout: rate of the Dropout on every recurrent layer's output, in [0, 1). Defaults to `0.0`.
        decoder: `"direct"` (Dense of the last output to every step at once) or `"seq2seq"` (a decoder RNN
            over the horizon). Defaults to `"direct"`.
        quantiles: strictly increasing numbers in (0, 1) to forecast quantiles of, e.g. `(0.1, 0.5, 0.9)`;
            `None` for point forecasts. Defaults to `None`.
        future_features: features known in advance for every forecast step (calendar features), >= 0. The
            seq2seq decoder reads step `h`'s at step `h`; the direct head reads all of them. Defaults to `0`.
        name: the model's name. Defaults to `"forecaster_{decoder}"`.

    Returns:
        An uncompiled `keras.Model` from `{"inputs": (batch, input_length, channels)}` (plus
        `"future_features": (batch, horizon, future_features)` when `future_features > 0`) to float32
        `(batch, horizon, targets)`, or `(batch, horizon, targets, len(quantiles))` unsorted quantiles.

    Raises:
        ValueError: a bad argument, naming the value received and what is accepted.

    Example:
    >>> model = build_forecaster(None, 3, 4, 2, cell="gru", units=8, decoder="seq2seq",
    ...                          quantiles=(0.1, 0.5, 0.9), future_features=2)
    >>> outputs = model({"inputs": np.zeros((5, 12, 3)), "future_features": np.zeros((5, 4, 2))})
    >>> tuple(outputs.shape), tuple(point_forecast(SortedQuantiles()(outputs), (0.1, 0.5, 0.9)).shape)
    ((5, 4, 2, 3), (5, 4, 2))
    """
    if input_length is not None:
        validate_positive_int("input_length", input_length)
    validate_positive_int("channels", channels)
    validate_positive_int("horizon", horizon)
    validate_positive_int("targets", targets)
    validate_choice("cell", cell, CELLS)
    validate_positive_int("units", units)
    validate_positive_int("num_layers", num_layers)
    _validate_bool("bidirectional", bidirectional)
    validate_fraction("dropout", dropout)
    validate_choice("decoder", decoder, DECODERS)
    if quantiles is not None:
        quantiles = validate_quantiles(quantiles)
    _validate_non_negative_int("future_features", future_features)
    if name is not None and not isinstance(name, str):
        raise ValueError(f"Received an invalid value for argument `name`: {name!r}. Expected a string or None.")

    window = keras.Input((input_length, channels), name="inputs")
    inputs = {"inputs": window}
    future = None
    if future_features:
        future = keras.Input((horizon, future_features), name="future_features")
        inputs["future_features"] = future
    per_step = (targets,) if quantiles is None else (targets, len(quantiles))
    size = targets * (1 if quantiles is None else len(quantiles))

    def drop(x, label):
        return keras.layers.Dropout(dropout, name=f"{label}_dropout")(x) if dropout else x

    if decoder == "direct":
        x = window
        for i, layer in enumerate(rnn_stack(cell, units, num_layers, bidirectional=bidirectional,
                                            return_sequences=False, name_prefix="encoder")):
            x = drop(layer(x), f"encoder_{i}")
        if future is not None:
            x = keras.layers.Concatenate(name="summary_and_future")(
                [x, keras.layers.Flatten(name="future_flat")(future)])
        x = keras.layers.Dense(horizon * size, name="head", dtype="float32")(x)
    else:
        per_layer = state_count(cell)
        x, states = window, []
        for i, layer in enumerate(rnn_stack(cell, units, num_layers, bidirectional=bidirectional,
                                            return_sequences=False, return_state=True, name_prefix="encoder")):
            x, *final = layer(x)
            x = drop(x, f"encoder_{i}") if i < num_layers - 1 else x  # the top layer's output is unused
            if bidirectional:  # [fwd h, (fwd c,) bwd h, (bwd c)] → one state per kind, of decoder size
                final = [keras.layers.Dense(units, activation="tanh", name=f"bridge_{i}_{j}")(
                    keras.layers.Concatenate(name=f"encoder_{i}_state_{j}")([final[j], final[per_layer + j]]))
                    for j in range(per_layer)]
            states.append(final)
        steps = HorizonEmbedding(horizon, units, name="step_embedding")(window)
        x = steps if future is None else keras.layers.Concatenate(name="decoder_inputs")([future, steps])
        for i, layer in enumerate(rnn_stack(cell, units, num_layers, name_prefix="decoder")):
            x = drop(layer(x, initial_state=states[i]), f"decoder_{i}")
        x = keras.layers.Dense(size, name="head", dtype="float32")(x)
    outputs = keras.layers.Reshape((horizon, *per_step), name="forecast", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=name or f"forecaster_{decoder}")
