"""Losses for token sequences: cross-entropy over real tokens only, with optional label smoothing."""

from __future__ import annotations

import keras
from keras import ops

from keras_rnn.validation import validate_fraction


def token_crossentropy(y_true, logits, label_smoothing: float = 0.0):
    """Per-position cross-entropy of integer targets under logits, float32, with label smoothing ε:
    `logsumexp(z) - (1 - ε) z_y - ε mean(z)` (the cross-entropy against `(1 - ε) one_hot + ε / V`).

    One pass over the vocabulary axis for the log-normaliser, where the fused sparse cross-entropy op
    also computes its gradient (wasted in a metric), and smoothing would take another logsumexp: at a
    6,000-word vocabulary the logits are the biggest tensor of a seq2seq step.

    Example:
    >>> round(float(token_crossentropy(np.array([1]), np.log(np.array([[0.25, 0.75]], "float32")))[0]), 4)
    0.2877
    """
    logits = ops.cast(logits, "float32")
    log_normalizer = ops.logsumexp(logits, axis=-1)
    target = ops.squeeze(ops.take_along_axis(logits, ops.expand_dims(ops.cast(y_true, "int32"), -1), axis=-1), -1)
    if not label_smoothing:
        return log_normalizer - target
    return log_normalizer - (1.0 - label_smoothing) * target - label_smoothing * ops.mean(logits, axis=-1)


def _over_real_positions(losses, y_true):
    """Per-position `losses` zeroed at padding (target 0) and rescaled: Keras averages what a loss returns
    over every position, and this makes that the mean over real tokens, whatever the batch's padding."""
    mask = ops.cast(ops.not_equal(ops.cast(y_true, "int32"), 0), "float32")
    positions = ops.cast(ops.size(mask), "float32")
    return losses * mask * positions / ops.maximum(ops.sum(mask), 1.0)


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
        return _over_real_positions(token_crossentropy(y_true, y_pred, self.label_smoothing), y_true)

    def get_config(self):
        config = super().get_config()
        config.update(label_smoothing=self.label_smoothing)
        return config


@keras.saving.register_keras_serializable(package="keras_rnn")
class MaskedMean(keras.losses.Loss):
    """The mean of per-position losses the model computed itself (`y_pred`, e.g. a sampled softmax's)
    over the positions whose target is not padding (id 0), scaled as `MaskedSequenceCrossentropy` is.

    Example:
    >>> round(float(MaskedMean()(np.array([[4, 0]]), np.array([[0.5, 9.0]], "float32"))), 4)
    0.5
    """

    def __init__(self, name: str = "masked_mean", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        return _over_real_positions(ops.cast(y_pred, "float32"), y_true)


@keras.saving.register_keras_serializable(package="keras_rnn")
class PinballLoss(keras.losses.Loss):
    """Quantile (pinball) loss of multi-step quantile forecasts, for quantile regression heads.

    For each quantile `q` the loss of a forecast `ŷ_q` is `max(q (y - ŷ_q), (q - 1) (y - ŷ_q))` (Koenker &
    Bassett, 1978): under-forecasts cost `q` per unit, over-forecasts `1 - q`, so its minimiser is the `q`
    quantile of `y`. It is averaged over the quantiles here, then by Keras over the batch, steps and
    targets; for quantile 0.5 alone it is half the mean absolute error. It matches
    `keras_rnn.forecasting_metrics.pinball_loss` (which also skips NaN targets).

    Shapes: `y_true` is `(batch, horizon, targets)` and `y_pred` `(batch, horizon, targets, len(quantiles))`,
    the quantile axis last, in the order of `quantiles`. A single series keeps a `targets` axis of 1.
    Both ranks and every dimension known when the loss is traced are checked.

    Targets must hold no NaN: a NaN target makes the loss (and the gradients) NaN. Fill or drop masked
    points before training, or replace them by any finite value and give them `sample_weight` 0 (weights
    shaped like `y_true`; a `(batch,)` vector weighs whole windows in `fit` but does not broadcast when the
    loss is called directly).

    Quantile crossing: nothing here keeps `ŷ_0.1 <= ŷ_0.5 <= ŷ_0.9`, and on inputs unlike the training data
    a trained model can cross them. Sort the quantile axis (`np.sort(y_pred, axis=-1)`, or `ops.sort` in the
    graph) once, where the forecasting task turns model outputs into forecasts: its predict / evaluate path
    and its export signature, so every consumer sees sorted quantiles. Not in the loss (sorting there would
    send each quantile's gradient to whichever output happens to rank there) and not in the metrics, which
    score what the model outputs (`interval_coverage` refuses crossed bounds).

    Args:
        quantiles: the quantiles, strictly increasing numbers in (0, 1), e.g. `(0.1, 0.5, 0.9)`.

    Reference:
        Koenker, R. & Bassett, G. (1978). Regression quantiles. Econometrica 46(1), 33-50.

    Example:
    >>> loss = PinballLoss(quantiles=[0.1, 0.5, 0.9])
    >>> y_true = np.array([[[2.0]]])                # batch 1, horizon 1, target 1
    >>> y_pred = np.array([[[[1.0, 2.0, 4.0]]]])    # its 0.1, 0.5 and 0.9 quantile forecasts
    >>> round(float(loss(y_true, y_pred)), 4)       # (0.1 * 1 + 0 + 0.1 * 2) / 3
    0.1
    """

    def __init__(self, quantiles: list[float] | tuple[float, ...], name: str = "pinball_loss", **kwargs):
        from keras_rnn.forecasting_metrics import validate_quantiles

        super().__init__(name=name, **kwargs)
        self.quantiles = validate_quantiles(quantiles)

    def _check_shapes(self, true_shape, pred_shape) -> None:
        true_shape, pred_shape = tuple(true_shape), tuple(pred_shape)
        expected = (f"expected y_true (batch, horizon, targets) and y_pred (batch, horizon, targets, "
                    f"{len(self.quantiles)}): one last entry per quantile of {list(self.quantiles)}")
        fits = len(true_shape) == 3 and len(pred_shape) == 4 and pred_shape[-1] in (None, len(self.quantiles))
        fits = fits and all(a is None or b is None or a == b for a, b in zip(true_shape, pred_shape[:-1]))
        if not fits:
            raise ValueError(f"PinballLoss got y_true of shape {true_shape} and y_pred of shape {pred_shape}; "
                             f"{expected}.")

    def call(self, y_true, y_pred):
        self._check_shapes(y_true.shape, y_pred.shape)
        y_pred = ops.cast(y_pred, "float32")
        quantiles = ops.convert_to_tensor(self.quantiles, dtype="float32")
        error = ops.expand_dims(ops.cast(y_true, "float32"), -1) - y_pred  # > 0: the quantile is too low
        return ops.mean(ops.maximum(quantiles * error, (quantiles - 1.0) * error), axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update(quantiles=list(self.quantiles))
        return config
