"""A recurrent language model: Embedding → stacked SimpleRNN / LSTM / GRU → logits over the vocabulary.

One layer serves training (every position's next-token logits), evaluation over a long stream (states
carried from window to window) and generation (one step at a time through
`keras_rnn.decoding.dynamic_decode`): `call(ids, initial_state=..., return_state=True)` takes and returns
the states of every recurrent layer as one flat list.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops
from keras.src.backend.common.masking import set_keras_mask

from keras_rnn.losses import token_crossentropy
from keras_rnn.models.rnn_stack import CELLS, rnn_stack, state_count
from keras_rnn.validation import validate_choice, validate_count, validate_fraction, validate_positive_int


@keras.saving.register_keras_serializable(package="keras_rnn")
class RecurrentLanguageModel(keras.layers.Layer):
    """Next-token logits `(batch, time, vocabulary_size)` for token ids `(batch, time)`.

    Id 0 is padding: its embedding is masked, so the recurrent layers keep their state over padded
    steps (a right-padded prompt ends in the state after its last real token). The logits carry no
    Keras mask: the loss skips padding by its targets (`MaskedSequenceCrossentropy`), so a padded batch
    is not rescaled twice.

    Args:
        vocabulary_size: output classes, padding included.
        cell: `"simple_rnn"`, `"lstm"` or `"gru"`. Defaults to `"gru"`.
        units: units of every recurrent layer. Defaults to `512`.
        num_layers: stacked recurrent layers. Defaults to `1`.
        embedding_dim: token embedding size. Defaults to `128`.
        dropout: dropout on every recurrent layer's output (Zaremba et al. 2014). Defaults to `0.0`.
        embedding_dropout: drops whole token embeddings (the same for every unit). Defaults to `0.0`.
        tie_embeddings: the output layer reuses the input embeddings (transposed; Press & Wolf 2017),
            after a projection to `embedding_dim` when `units` differs. Defaults to `False`.
        stateful: carry states from batch to batch (batch `i` of a pass continues batch `i - 1`, row by
            row); needs a static batch size. Defaults to `False`.
        sampled_softmax: `0` for the full softmax everywhere; else, in training with `targets`, the
            cross-entropy is estimated from the target and this many sampled words (Jean et al., 2015;
            `tf.nn.sampled_softmax_loss`, words drawn by a Zipf law over ids, which the vocabulary sorts
            by frequency), so a step costs a small fraction of a large vocabulary's output layer.
            Evaluation and generation always use the full softmax. Defaults to `0`.

    Call arguments:
        ids: int `(batch, time)`.
        initial_state: flat list of `(batch, units)` states, bottom layer first (LSTM: `h, c`), or
            `None` for zeros (stateful: the carried ones).
        return_state: also return the final states, as `initial_state` takes them.
        targets: optional int `(batch, time)` next tokens: the call then returns the cross-entropy of
            each position, float32 `(batch, time)`, in place of the logits (sampled in training when
            `sampled_softmax`, exact otherwise).

    Example:
    >>> lm = RecurrentLanguageModel(50, cell="lstm", units=8, num_layers=2, embedding_dim=4)
    >>> logits, states = lm(np.ones((3, 7), "int32"), return_state=True)
    >>> tuple(logits.shape), [tuple(s.shape) for s in states]
    ((3, 7, 50), [(3, 8), (3, 8), (3, 8), (3, 8)])
    """

    def __init__(
        self,
        vocabulary_size: int,
        cell: str = "gru",
        units: int = 512,
        num_layers: int = 1,
        embedding_dim: int = 128,
        dropout: float = 0.0,
        embedding_dropout: float = 0.0,
        tie_embeddings: bool = False,
        stateful: bool = False,
        sampled_softmax: int = 0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocabulary_size = validate_positive_int("vocabulary_size", vocabulary_size)
        self.cell = validate_choice("cell", cell, CELLS)
        self.units = validate_positive_int("units", units)
        self.num_layers = validate_positive_int("num_layers", num_layers)
        self.embedding_dim = validate_positive_int("embedding_dim", embedding_dim)
        self.dropout = validate_fraction("dropout", dropout)
        self.embedding_dropout = validate_fraction("embedding_dropout", embedding_dropout)
        self.tie_embeddings = bool(tie_embeddings)
        self.stateful = bool(stateful)
        validate_count("sampled_softmax", sampled_softmax, "the full softmax")
        if sampled_softmax >= vocabulary_size:
            raise ValueError(f"Received an invalid value for argument `sampled_softmax`: {sampled_softmax!r}. "
                             f"Expected fewer sampled words than the vocabulary's {vocabulary_size}.")
        self.sampled_softmax = sampled_softmax
        self.embedding = keras.layers.Embedding(vocabulary_size, embedding_dim, mask_zero=True, name="embedding")
        self.drop_embeddings = keras.layers.Dropout(self.embedding_dropout, noise_shape=(None, None, 1),
                                                    name="embedding_dropout")
        self.rnn_layers = rnn_stack(cell, units, num_layers, return_state=True, stateful=stateful, name_prefix=cell)
        self.drop_outputs = [keras.layers.Dropout(self.dropout, name=f"dropout_{i}") for i in range(num_layers)]
        self.projection = None
        if self.tie_embeddings:
            if units != embedding_dim:
                self.projection = keras.layers.Dense(embedding_dim, name="projection")
        else:
            self.output_layer = keras.layers.Dense(vocabulary_size, name="logits")

    @property
    def states_per_layer(self) -> int:
        return state_count(self.cell)

    def build(self, ids_shape):
        batch = ids_shape[0]
        self.embedding.build(ids_shape)
        features = (batch, None, self.embedding_dim)
        for layer in self.rnn_layers:
            layer.build(features)
            features = (batch, None, self.units)
        if self.tie_embeddings:
            if self.projection is not None:
                self.projection.build(features)
            self.output_bias = self.add_weight(shape=(self.vocabulary_size,), initializer="zeros", name="output_bias")
        else:
            self.output_layer.build(features)
        self.built = True

    def initial_state(self, batch_size) -> list[tf.Tensor]:
        """Zero states for `batch_size` rows, as `call` takes them."""
        zeros = ops.zeros((batch_size, self.units), dtype=self.compute_dtype)
        return [zeros] * (self.num_layers * self.states_per_layer)

    def reset_state(self) -> None:
        """Zeroes the states a stateful model carries from batch to batch (nothing to do when stateless)."""
        if self.stateful:
            for layer in self.rnn_layers:
                layer.reset_state()

    def call(self, ids, initial_state=None, return_state=False, targets=None, training=None):
        x = self.embedding(ids)
        mask = ops.not_equal(ids, 0)
        x = self.drop_embeddings(x, training=training)
        per_layer = self.states_per_layer
        states = []
        for i, (layer, drop) in enumerate(zip(self.rnn_layers, self.drop_outputs)):
            given = None if initial_state is None else list(initial_state[i * per_layer:(i + 1) * per_layer])
            x, *final = layer(x, initial_state=given, mask=mask, training=training)
            states.extend(final)
            x = drop(x, training=training)
        if self.projection is not None:
            x = self.projection(x)
        if targets is not None:
            outputs = self._token_losses(x, targets, training)
        else:
            outputs = self._logits(x)
            # The inner layers pass the embedding's mask along; the logits must not carry it, or Keras
            # would rescale a padded batch's loss once more after MaskedSequenceCrossentropy has (see
            # the docstring).
            set_keras_mask(outputs, None)
        return (outputs, states) if return_state else outputs

    def _output_weights(self):
        """The output layer as `(vocabulary_size, features)` weights and `(vocabulary_size,)` biases."""
        if self.tie_embeddings:
            return self.embedding.embeddings, self.output_bias
        return ops.transpose(self.output_layer.kernel), self.output_layer.bias

    def _logits(self, features):
        if not self.tie_embeddings:
            return self.output_layer(features)
        weights, bias = self._output_weights()
        return ops.matmul(features, ops.transpose(ops.cast(weights, features.dtype))) + ops.cast(bias, features.dtype)

    def _token_losses(self, features, targets, training):
        targets = ops.cast(targets, "int32")
        if not (training and self.sampled_softmax):
            return token_crossentropy(targets, self._logits(features))
        weights, bias = self._output_weights()
        shape = ops.shape(targets)
        losses = tf.nn.sampled_softmax_loss(
            weights=ops.cast(weights, "float32"), biases=ops.cast(bias, "float32"),
            labels=ops.cast(ops.reshape(targets, (-1, 1)), "int64"),
            inputs=ops.cast(ops.reshape(features, (-1, features.shape[-1])), "float32"),
            num_sampled=self.sampled_softmax, num_classes=self.vocabulary_size, remove_accidental_hits=True)
        return ops.reshape(losses, shape)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            vocabulary_size=self.vocabulary_size, cell=self.cell, units=self.units, num_layers=self.num_layers,
            embedding_dim=self.embedding_dim, dropout=self.dropout, embedding_dropout=self.embedding_dropout,
            tie_embeddings=self.tie_embeddings, stateful=self.stateful, sampled_softmax=self.sampled_softmax,
        )
        return config


def build_language_model(
    vocabulary_size: int,
    *,
    batch_size: int | None = None,
    name: str = "language_model",
    **network,
) -> keras.Model:
    """A functional `keras.Model`: ids `(batch, time)` → logits, around one `RecurrentLanguageModel`; with
    `sampled_softmax`, `{"ids", "targets"}` → the cross-entropy of each position (sampled in training,
    exact in evaluation), for a loss that averages it (`keras_rnn.losses.MaskedMean`).

    Args:
        vocabulary_size: output classes, padding included.
        batch_size: the static batch size a stateful model needs (`None` otherwise).
        **network: the `RecurrentLanguageModel` arguments (`cell`, `units`, ...).

    Example:
    >>> model = build_language_model(30, units=16, embedding_dim=8, tie_embeddings=True)
    >>> model(np.ones((2, 5), "int32")).shape
    TensorShape([2, 5, 30])
    """
    if network.get("stateful") and batch_size is None:
        raise ValueError("A stateful language model needs a static `batch_size` (its states are one row per lane).")
    batch = batch_size if network.get("stateful") else None
    ids = keras.Input(shape=(None,), batch_size=batch, dtype="int32", name="ids")
    layer = RecurrentLanguageModel(vocabulary_size, name="recurrent_language_model", **network)
    if not network.get("sampled_softmax"):
        return keras.Model(ids, layer(ids), name=name)
    # Sampled training needs the targets inside the network: ids and targets in, each position's loss out.
    targets = keras.Input(shape=(None,), batch_size=batch, dtype="int32", name="targets")
    return keras.Model({"ids": ids, "targets": targets}, layer(ids, targets=targets), name=name)


def language_model_layer(model: keras.Model) -> RecurrentLanguageModel:
    """The `RecurrentLanguageModel` inside a training model, as a stateless copy (any batch size)."""
    layer = next(layer for layer in model.layers if isinstance(layer, RecurrentLanguageModel))
    return stateless_copy(layer) if layer.stateful else layer


def stateless_copy(language_model: RecurrentLanguageModel) -> RecurrentLanguageModel:
    """The same network with the same weights, not stateful (any batch size): what evaluation over
    explicit states, generation and export run."""
    config = {**language_model.get_config(), "stateful": False}
    copy = RecurrentLanguageModel.from_config(config)
    copy.build((None, None))
    copy.set_weights(language_model.get_weights())
    return copy
