"""The forecasting task's export and serving: the layer its SavedModel traces (a window of past values →
the forecast of the horizon) and the predictor that runs an export.

`serving_default(inputs: float32 (batch, input_length, channels))`: the last `input_length` steps of every
input column, in the series' units and the training run's column order (the targets, then the features;
the manifest lists them). Returns `forecast` `(batch, horizon, targets)` in the series' units (the median
when the model forecasts quantiles) and, for a quantile model, `quantiles` `(batch, horizon, targets,
len(quantiles))`, sorted along the last axis. A window of another length or width, or holding NaN or
infinity, is refused with an error that says so (an `InvalidArgumentError` naming the expected shape),
never answered with a forecast.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from keras_rnn.data.timeseries import Normalizer, read_series_csv
from keras_rnn.export import read_manifest, write_export
from keras_rnn.tasks.forecasting.config import ForecastingConfig, column_list, quantile_list
from keras_rnn.tasks.forecasting.pipeline import input_matrix


@keras.saving.register_keras_serializable(package="keras_rnn")
class ForecasterServer(keras.layers.Layer):
    """Raw-unit windows → forecasts, checks, normalisation and all, as one layer the export traces whole.

    Args:
        model: the forecaster (`build_forecaster`), fed normalised windows.
        normalizer: the training part's statistics of every input column (targets first).
        input_length, targets: the window length and the number of target columns.
        quantiles: the model's quantiles, or `()` for point forecasts.
    """

    def __init__(self, model: keras.Model, normalizer: Normalizer, input_length: int, targets: int,
                 quantiles: tuple[float, ...] = (), residual: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.model = model
        self.input_length, self.targets, self.quantiles = int(input_length), int(targets), tuple(quantiles)
        self.residual = bool(residual)
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
            tf.debugging.assert_all_finite(
                inputs, message="inputs hold NaN or infinity: fill the missing values of the window first"),
        ]
        with tf.control_dependencies(checks):
            outputs = self.model({"inputs": (inputs - self._mean) / self._std}, training=False)
        # The network forecasts from the window's last values (residual) or from the training mean.
        base = inputs[:, -1:, : self.targets] if self.residual else self._mean[: self.targets][None, None, :]
        std = self._std[: self.targets]
        if not self.quantiles:
            return {"forecast": outputs * std + base}
        quantiles = tf.sort(outputs, axis=-1) * std[:, None] + base[..., None]
        return {"forecast": quantiles[..., self.quantiles.index(0.5)], "quantiles": quantiles}


def export_forecaster(path: str, model: keras.Model, normalizer: Normalizer, config: ForecastingConfig,
                      targets: list[str], features: list[str], *, overwrite: bool = False,
                      metrics: dict | None = None) -> str:
    """Writes a forecasting SavedModel (see the module docstring); the write is atomic.

    Raises:
        FileExistsError: `path` exists and `overwrite` is False.
    """
    quantiles = quantile_list(config.network.quantiles)
    length = config.windows.input_length
    server = ForecasterServer(model, normalizer, length, len(targets), quantiles, config.windows.residual)
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
        config = ForecastingConfig.from_dict(self.manifest["config"])
        series = read_series_csv(path, time_columns=column_list(config.data.time_columns),
                                 target_columns=self.manifest["targets"],
                                 feature_columns=self.manifest["features"] or None, missing=config.data.missing)
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
