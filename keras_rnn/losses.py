"""Losses for token sequences: cross-entropy over real tokens only, with optional label smoothing."""

from __future__ import annotations

import keras
from keras import ops

from keras_rnn.validation import validate_fraction


@keras.saving.register_keras_serializable(package="keras_rnn")
class MaskedSequenceCrossentropy(keras.losses.Loss):
    """Mean token cross-entropy from logits over the positions whose target is not padding (id 0).

    With `label_smoothing=ε` the target distribution is `(1 - ε) · one_hot + ε / vocabulary_size`
    (Szegedy et al., 2016), which for seq2seq models usually improves BLEU.

    Args:
        label_smoothing: ε in [0, 1). Defaults to `0.0`.

    Example:
    >>> loss = MaskedSequenceCrossentropy()
    >>> logits = np.log(np.array([[[0.5, 0.5], [0.9, 0.1]]], "float32"))
    >>> round(float(loss(np.array([[1, 0]]), logits)), 4)  # the padded step counts for nothing
    0.6931
    """

    def __init__(self, label_smoothing: float = 0.0, name: str = "masked_sequence_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.label_smoothing = validate_fraction("label_smoothing", label_smoothing)
        if self.label_smoothing >= 1:
            raise ValueError(f"Received an invalid value for argument `label_smoothing`: {label_smoothing!r}. "
                             "Expected a number in [0, 1).")

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, "int32")
        y_pred = ops.cast(y_pred, "float32")
        nll = ops.sparse_categorical_crossentropy(y_true, y_pred, from_logits=True)
        if self.label_smoothing:
            # -mean_v log p_v = logsumexp(logits) - mean(logits)
            uniform = ops.logsumexp(y_pred, axis=-1) - ops.mean(y_pred, axis=-1)
            nll = (1.0 - self.label_smoothing) * nll + self.label_smoothing * uniform
        mask = ops.cast(ops.not_equal(y_true, 0), "float32")
        # Keras averages the returned values over every position; rescaling makes that the mean over
        # real tokens, whatever the padding of the batch.
        positions = ops.cast(ops.size(mask), "float32")
        return nll * mask * positions / ops.maximum(ops.sum(mask), 1.0)

    def get_config(self):
        config = super().get_config()
        config.update(label_smoothing=self.label_smoothing)
        return config
