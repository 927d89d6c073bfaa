"""Masked pooling of an RNN's sequence output over time."""

from __future__ import annotations

import keras
from keras import ops

from keras_rnn.models.masking import lowest_value
from keras_rnn.validation import validate_choice

POOLING_MODES = ("max", "mean", "max_mean", "sum")


@keras.saving.register_keras_serializable(package="keras_rnn")
class MaskedSequencePooling(keras.layers.Layer):
    """Pools `(batch, time, features)` over time, ignoring masked (padding) steps.

    `keras.layers.GlobalMaxPooling1D` takes no mask in Keras 3, so a max over right-padded sequences
    would read padding steps; here a padded step can never win the max nor enter the mean.

    Args:
        mode: `"max"`, `"mean"`, `"max_mean"` (the two concatenated) or `"sum"`. Defaults to `"max"`.

    Call arguments:
        inputs: float tensor `(batch, time, features)`.
        mask: optional bool tensor `(batch, time)`; `True` marks real steps.

    Returns:
        `(batch, features)`, or `(batch, 2 * features)` for `"max_mean"`. A fully masked row pools to 0.

    Example:
    >>> x = np.array([[[1.0], [5.0], [9.0]]], "float32")
    >>> MaskedSequencePooling("max")(x, mask=np.array([[True, True, False]])).numpy()
    array([[5.]], dtype=float32)
    """

    def __init__(self, mode: str = "max", **kwargs):
        super().__init__(**kwargs)
        self.mode = validate_choice("mode", mode, POOLING_MODES)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            mask = ops.ones(ops.shape(inputs)[:2], dtype="bool")
        weights = ops.cast(ops.expand_dims(mask, -1), inputs.dtype)
        pooled = []
        if self.mode in ("max", "max_mean"):
            lowest = ops.full_like(inputs, lowest_value(inputs.dtype))
            maximum = ops.max(ops.where(ops.expand_dims(mask, -1), inputs, lowest), axis=1)
            has_steps = ops.max(weights, axis=1)
            pooled.append(maximum * has_steps)
        if self.mode in ("mean", "max_mean"):
            count = ops.maximum(ops.sum(weights, axis=1), 1.0)
            pooled.append(ops.sum(inputs * weights, axis=1) / count)
        if self.mode == "sum":
            pooled.append(ops.sum(inputs * weights, axis=1))
        return pooled[0] if len(pooled) == 1 else ops.concatenate(pooled, axis=-1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        features = input_shape[-1] * (2 if self.mode == "max_mean" else 1)
        return (input_shape[0], features)

    def get_config(self):
        config = super().get_config()
        config.update(mode=self.mode)
        return config
