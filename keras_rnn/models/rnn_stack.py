"""The recurrent stack the models are built on: cell choice, depth, direction and dropout.

`rnn_layer` makes one SimpleRNN / LSTM / GRU layer, optionally wrapped in `Bidirectional`;
`rnn_stack` makes `num_layers` of them, named `{name_prefix}_{i}` (wrapped:
`bidirectional_{name_prefix}_{i}`, around `forward_…` / `backward_…` copies), in creation order.
Both return plain Keras layers and create nothing else, so the classifier and the seq2seq encoder
and decoder, built on them, kept their layer names (in saved configs and weight paths), their
creation order and so, under `keras.utils.set_random_seed`, their initial weights.

cuDNN: on a GPU, Keras runs LSTM and GRU through the fused cuDNN kernel only with their default
`activation="tanh"`, `recurrent_activation="sigmoid"`, `recurrent_dropout=0`, `unroll=False`,
`use_bias=True` and, for GRU, `reset_after=True`; a mask must be right padding (contiguous `True`
then `False`: Keras fails otherwise), and a batch holding a row with no real step falls back to the
standard kernel. Input `dropout` does not disqualify it. The builders here leave all of these (and
`use_cudnn="auto"`) at their defaults, so only `recurrent_dropout > 0` gives up the kernel. SimpleRNN
has no cuDNN kernel.
"""

from __future__ import annotations

import keras

from keras_rnn.validation import validate_choice, validate_fraction, validate_positive_int

CELLS = {"simple_rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}


def state_count(cell: str) -> int:
    """Final states per direction of a `cell` layer: 2 for LSTM (`h`, `c`), else 1 (`h`).

    Example:
    >>> [state_count(cell) for cell in CELLS]
    [1, 2, 1]
    """
    return 2 if validate_choice("cell", cell, CELLS) == "lstm" else 1


def _cell_kwargs(dropout: float, recurrent_dropout: float) -> dict:
    # Only the rates that differ from Keras's defaults are passed, so a layer gets exactly the
    # arguments (and config) it got before these builders existed.
    kwargs = {}
    if validate_fraction("dropout", dropout):
        kwargs["dropout"] = dropout
    if validate_fraction("recurrent_dropout", recurrent_dropout):
        kwargs["recurrent_dropout"] = recurrent_dropout
    return kwargs


def rnn_layer(
    cell: str,
    units: int,
    *,
    bidirectional: bool = False,
    return_sequences: bool = True,
    return_state: bool = False,
    dropout: float = 0.0,
    recurrent_dropout: float = 0.0,
    stateful: bool = False,
    name: str | None = None,
    dtype=None,
) -> keras.layers.Layer:
    """One recurrent layer: `CELLS[cell](units, ...)`, wrapped in `Bidirectional` if asked.

    Args:
        cell: `"simple_rnn"`, `"lstm"` or `"gru"`.
        units: units per direction.
        bidirectional: read the sequence both ways and concatenate the two outputs. Defaults to
            `False`.
        return_sequences: output every step `(batch, time, units * directions)` rather than the
            last one `(batch, units * directions)`. Defaults to `True`.
        return_state: also return the final states: `[output, *states]`, with `state_count(cell)`
            states of `(batch, units)` per direction (forward ones first). Defaults to `False`.
        dropout: the layer's own input dropout rate (keeps cuDNN). Defaults to `0.0`.
        recurrent_dropout: dropout rate on the recurrent state (no cuDNN when > 0). Defaults to
            `0.0`.
        stateful: carry the final states of a batch over as the initial states of the next (a static
            batch size; `reset_state()` between passes). Defaults to `False`.
        name: the recurrent layer's name; the wrapper is `bidirectional_{name}`. Defaults to
            Keras's automatic names.
        dtype: the layers' dtype policy (a layer that owns them passes its own, so that a reloaded model
            computes in the precision it was trained in). Defaults to Keras's global policy.

    Returns:
        An unbuilt `keras.layers.SimpleRNN`, `LSTM` or `GRU`, or a `keras.layers.Bidirectional`
        around one.

    Example:
    >>> layer = rnn_layer("lstm", 4, bidirectional=True, return_state=True, name="lstm_0")
    >>> output, *states = layer(np.ones((2, 5, 3)))
    >>> (layer.name, output.shape, [tuple(s.shape) for s in states])
    ('bidirectional_lstm_0', TensorShape([2, 5, 8]), [(2, 4), (2, 4), (2, 4), (2, 4)])
    """
    validate_choice("cell", cell, CELLS)
    validate_positive_int("units", units)
    kwargs = _cell_kwargs(dropout, recurrent_dropout)
    if stateful:
        kwargs["stateful"] = True
    if dtype is not None:
        kwargs["dtype"] = dtype
    layer = CELLS[cell](units, return_sequences=return_sequences, return_state=return_state, name=name, **kwargs)
    if bidirectional:
        return keras.layers.Bidirectional(layer, name=None if name is None else f"bidirectional_{name}",
                                          **({"dtype": dtype} if dtype is not None else {}))
    return layer


def rnn_stack(
    cell: str,
    units: int,
    num_layers: int = 1,
    *,
    bidirectional: bool = False,
    return_sequences: bool = True,
    return_state: bool = False,
    dropout: float = 0.0,
    recurrent_dropout: float = 0.0,
    stateful: bool = False,
    name_prefix: str | None = None,
    dtype=None,
) -> list[keras.layers.Layer]:
    """`num_layers` stacked `rnn_layer`s, bottom first, named `{name_prefix}_{i}`.

    Every layer but the top one returns sequences (the next layer reads them); `return_sequences`
    is the top layer's choice. `return_state` applies to every layer, so each one's final states can
    be read (a layer then returns `[output, *states]`: take `[0]` to feed the next one). The caller
    applies the layers in order, with any dropout between them it wants (none is created here).

    Args:
        cell, units, bidirectional, return_state, dropout, recurrent_dropout, stateful: as for
            `rnn_layer`, for every layer.
        num_layers: depth. Defaults to `1`.
        return_sequences: whether the top layer outputs every step. Defaults to `True`.
        name_prefix: layer `i` is `{name_prefix}_{i}` (`bidirectional_{name_prefix}_{i}` when
            wrapped). Defaults to `cell`.
        dtype: as for `rnn_layer`.

    Returns:
        The list of `num_layers` unbuilt layers.

    Example:
    >>> layers = rnn_stack("gru", 4, num_layers=2, bidirectional=True, return_sequences=False)
    >>> x = np.ones((2, 5, 3))
    >>> for layer in layers:
    ...     x = layer(x)
    >>> ([layer.name for layer in layers], x.shape)
    (['bidirectional_gru_0', 'bidirectional_gru_1'], TensorShape([2, 8]))
    """
    validate_choice("cell", cell, CELLS)
    validate_positive_int("units", units)
    validate_positive_int("num_layers", num_layers)
    validate_fraction("dropout", dropout)
    validate_fraction("recurrent_dropout", recurrent_dropout)
    prefix = cell if name_prefix is None else name_prefix
    return [
        rnn_layer(
            cell, units, bidirectional=bidirectional, return_sequences=return_sequences or i < num_layers - 1,
            return_state=return_state, dropout=dropout, recurrent_dropout=recurrent_dropout, stateful=stateful,
            name=f"{prefix}_{i}", dtype=dtype,
        )
        for i in range(num_layers)
    ]
