"""The forecasting task's export and serving: the layer its SavedModel traces (a window of past values →
the forecast of the horizon) and the predictor that runs an export.

`serving_default(inputs: float32 (batch, input_length, channels))`: the last `input_length` steps of every
input column, in the series' units and the training run's column order (the targets, then the features;
the manifest lists them). Returns `forecast` `(batch, horizon, targets)` in the series' units (the median
when the model forecasts quantiles) and, for a quantile model, `quantiles` `(batch, horizon, targets,
len(quantiles))`, sorted along the last axis. A window of another length or width, or holding NaN or
infinity, is refused with an error that says so (an `InvalidArgumentError` naming the expected shape),
never answered with a forecast; a model trained with `missing="mask"` reads NaN as a gap (infinity is
still refused). Calendar columns (`calendar` in the configuration) are input columns like the others: the
manifest names them, `ForecastPredictor.forecast_csv` computes them from the file's times.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from keras_rnn.data.timeseries import Normalizer
from keras_rnn.export import read_manifest, write_export
from keras_rnn.tasks.forecasting.config import ForecastingConfig, quantile_list
from keras_rnn.tasks.forecasting.pipeline import input_matrix, read_series


@keras.saving.register_keras_serializable(package="keras_rnn")
class ForecasterServer(keras.layers.Layer):
    """Raw-unit windows → forecasts, checks, normalisation and all, as one layer the export traces whole.

    Args:
        model: the forecaster (`build_forecaster`), fed normalised windows.
        normalizer: the training part's statistics of every input column (targets first).
        input_length, targets: the window length and the number of target columns.
        quantiles: the model's quantiles, or `()` for point forecasts.
        residual: the network forecasts changes from each target's last observed value in the window.
        mask: the network reads gaps (NaN) as in `pipeline.network_inputs`.
    """

    def __init__(self, model: keras.Model, normalizer: Normalizer, input_length: int, targets: int,
                 quantiles: tuple[float, ...] = (), residual: bool = True, mask: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.model = model
        self.input_length, self.targets, self.quantiles = int(input_length), int(targets), tuple(quantiles)
        self.residual, self.mask = bool(residual), bool(mask)
        self.channels = int(normalizer.mean.size)
        self._mean = tf.constant(normalizer.mean, tf.float32)
        self._std = tf.constant(normalizer.std, tf.float32)

    def call(self, inputs):
        inputs = tf.convert_to_tensor(inputs, tf.float32)
        checks = [
            tf.debugging.assert_equal(
                tf.shape(inputs)[1:], tf.constant([self.input_length, self.channels]),
                message=f"inputs must be (batch, {self.input_length}, {self.channels}): the last input_length="
                        f"{self.input_length} steps of the {self.channels} input columns listed in the manifest"),
            tf.debugging.assert_equal(
                tf.reduce_any(tf.math.is_inf(inputs)), False, message="inputs hold infinity")
            if self.mask else tf.debugging.assert_all_finite(
                inputs, message="inputs hold NaN or infinity: fill the missing values of the window first (this "
                                "model was not trained with missing='mask')"),
        ]
        with tf.control_dependencies(checks):
            scaled = (inputs - self._mean) / self._std
            if self.mask:
                gaps = tf.math.is_nan(scaled)
                scaled = tf.concat([tf.where(gaps, tf.zeros_like(scaled), scaled), tf.cast(gaps, tf.float32)], -1)
            outputs = self.model({"inputs": scaled}, training=False)
        # The network forecasts from each target's last observed value (residual) or from the training mean.
        mean = self._mean[: self.targets]
        base = self._last_observed(inputs[:, :, : self.targets], mean) if self.residual else mean[None, None, :]
        std = self._std[: self.targets]
        if not self.quantiles:
            return {"forecast": outputs * std + base}
        quantiles = tf.sort(outputs, axis=-1) * std[:, None] + base[..., None]
        return {"forecast": quantiles[..., self.quantiles.index(0.5)], "quantiles": quantiles}

    @staticmethod
    def _last_observed(values, fallback):
        """`(batch, 1, targets)`: each column's last non-NaN value in the window, `fallback` where none."""
        observed = tf.logical_not(tf.math.is_nan(values))
        from_end = tf.argmax(tf.cast(tf.reverse(observed, [1]), tf.int32), axis=1, output_type=tf.int32)
        last = tf.gather(tf.transpose(values, [0, 2, 1]), tf.shape(values)[1] - 1 - from_end, batch_dims=2)
        return tf.where(tf.reduce_any(observed, axis=1), last, fallback)[:, None, :]


def export_forecaster(path: str, model: keras.Model, normalizer: Normalizer, config: ForecastingConfig,
                      targets: list[str], features: list[str], *, overwrite: bool = False,
                      metrics: dict | None = None) -> str:
    """Writes a forecasting SavedModel (see the module docstring); the write is atomic.

    Raises:
        FileExistsError: `path` exists and `overwrite` is False.
    """
    quantiles = quantile_list(config.network.quantiles)
    length = config.windows.input_length
    server = ForecasterServer(model, normalizer, length, len(targets), quantiles, config.windows.residual,
                              mask=config.data.missing == "mask")
    server(tf.zeros([1, length, normalizer.mean.size]))  # builds the layer: ExportArchive tracks built layers
    archive = keras.export.ExportArchive()
    archive.track(server)

    @tf.function(input_signature=[tf.TensorSpec([None, None, None], tf.float32, name="inputs")])
    def serve(inputs):
        return server(inputs)

    archive.add_endpoint("serving_default", serve)
    outputs = {"forecast": f"float32 (batch, {config.windows.horizon}, {len(targets)}), the series' units"}
    if quantiles:
        outputs["quantiles"] = f"float32 (batch, {config.windows.horizon}, {len(targets)}, {len(quantiles)}), sorted"
    manifest = {
        "task": "forecasting", "targets": targets, "features": features, "input_columns": targets + features,
        "input_length": length, "horizon": config.windows.horizon, "quantiles": list(quantiles),
        "accepts_missing_values": config.data.missing == "mask",
        "normalizer": normalizer.to_dict(),
        "config": config.to_dict(), "validation_metrics": metrics or {},
        "signature": {"inputs": {"inputs": f"float32 (batch, {length}, {len(targets) + len(features)})"},
                      "outputs": outputs},
    }

    return write_export(path, archive, model, {}, manifest, overwrite)


class ForecastPredictor:
    """Forecasts with an exported forecasting SavedModel.

    Example:
    ```python
    predictor = ForecastPredictor("saved_models/temperatures")
    predictor.forecast(windows)                 # (N, input_length, columns) → {"forecast": (N, H, T), ...}
    predictor.forecast_csv("recent.csv")        # the next horizon after the file's last row
    ```
    """

    def __init__(self, path: str):
        self.manifest = read_manifest(path)
        if self.manifest.get("task") != "forecasting":
            raise ValueError(f"{path!r} holds a {self.manifest.get('task')} model, not a forecasting one.")
        self._loaded = tf.saved_model.load(path)
        self._serve = self._loaded.signatures["serving_default"]

    def forecast(self, windows: np.ndarray) -> dict[str, np.ndarray]:
        """`windows` `(N, input_length, input columns)` in the series' units → `forecast` (and `quantiles`)."""
        return {k: v.numpy() for k, v in self._serve(inputs=tf.constant(np.asarray(windows, np.float32))).items()}

    def forecast_csv(self, path: str) -> list[dict]:
        """The horizon after the last row of a CSV holding the training run's columns: one row a future step,
        `{"time", <target>: value, <target>_q<q>: value, ...}` (times continue the file's step)."""
        series = read_series(ForecastingConfig.from_dict(self.manifest["config"]), path)
        length = self.manifest["input_length"]
        if len(series) < length:
            raise ValueError(f"{path}: {len(series):,} rows, fewer than the input_length={length} the model reads.")
        outputs = self.forecast(input_matrix(series)[None, -length:])
        rows = []
        for h in range(self.manifest["horizon"]):
            time = series.times[-1] + (h + 1) * series.step if series.step is not None else h + 1
            row = {"time": str(time)}
            for t, name in enumerate(self.manifest["targets"]):
                row[name] = float(outputs["forecast"][0, h, t])
                for q, quantile in enumerate(self.manifest["quantiles"]):
                    row[f"{name}_q{quantile:g}"] = float(outputs["quantiles"][0, h, t, q])
            rows.append(row)
        return rows
