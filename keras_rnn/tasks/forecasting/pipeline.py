"""The forecasting task's pipeline: a CSV series → chronological train / validation / test parts →
normalised windows (`prepare`), the compiled forecaster (`build`), validation MAE / RMSE / MASE in the
series' units every epoch (`validation_scores`) and, after training, a report beside the baselines
(`score`).

Parts: the last `test_fraction` of the points is the test part, never read by training nor by any choice
(epochs, hyper-parameters); validation is the `validation_fraction` just before it. A training window lies
wholly in the training part; a validation window's targets lie in the validation part and its inputs may
reach back into the end of the training part (what a forecaster standing at that time would have seen).
Every input column (targets, then features, then calendar columns) is normalised with the mean and
standard deviation of the training part only; forecasts are turned back into the series' units before
any figure is computed.

Missing values (`missing="mask"`): the network reads a gap as the training mean plus a 0/1 column per input
column marking it (`network_inputs`); a residual forecast starts from each target's last observed value
in the window (`target_base`); the baselines read the window with gaps carried forward (`fill_gaps`).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from keras_rnn.core.fit import learning_rate_schedule, traced_inference
from keras_rnn.core.runs import RUN_FILES
from keras_rnn.data.timeseries import (
    ChronologicalSplit, Normalizer, Series, Windows, calendar_feature_names, calendar_features, chronological_split,
    default_calendar_kinds, make_windows, read_series_csv,
)
from keras_rnn.files import write_text_atomic
from keras_rnn.forecasting_metrics import forecast_report
from keras_rnn.losses import PinballLoss
from keras_rnn.models.forecast_baselines import baseline_forecasts
from keras_rnn.models.forecaster import build_forecaster, point_forecast
from keras_rnn.tasks.forecasting.config import ForecastingConfig, calendar_list, column_list, quantile_list

FORECASTING_RUN_FILES = {**RUN_FILES, "normalizer": "normalizer.json"}
# The seasonal period of the usual steps, in steps (MASE's scale and the seasonal-naive baseline).
SEASONS = {np.timedelta64(1, "M"): 12, np.timedelta64(1, "D"): 7, np.timedelta64(1, "h"): 24}


def season_of(series: Series, config: ForecastingConfig) -> int:
    """The configuration's season, or the one of the series' step (12 monthly, 7 daily, 24 hourly, else 1),
    at most the input window (the seasonal-naive forecast reads it from the window)."""
    season = config.windows.season
    if not season:
        step = series.step
        season = next((period for unit, period in SEASONS.items()
                       if step is not None and step.dtype.str[-3:] == unit.dtype.str[-3:] and step == unit), 1)
    if season > config.windows.input_length:
        raise ValueError(f"season {season} is longer than input_length {config.windows.input_length}: the seasonal "
                         "naive forecast reads one season back from the window. Use a longer --input-length or "
                         "give --season.")
    return season


def read_series(config: ForecastingConfig, path: str | None = None) -> Series:
    """The configuration's series (or the file `path` read the same way), with its calendar columns added
    as features."""
    source = config.data
    path = path or source.corpus
    if not path:
        raise ValueError("No series given: pass --corpus FILE.csv (a CSV with a header, a time column and one or "
                         "more value columns).")
    series = read_series_csv(path, time_columns=column_list(source.time_columns),
                             target_columns=column_list(source.target_columns),
                             feature_columns=column_list(source.feature_columns), missing=source.missing)
    kinds = calendar_list(source.calendar)
    return with_calendar(series, default_calendar_kinds(series.step) if kinds is None else kinds)


def with_calendar(series: Series, kinds: tuple[str, ...]) -> Series:
    """`series` with the sin/cos columns of the calendar `kinds` appended to its features."""
    if not kinds:
        return series
    names = calendar_feature_names(kinds)
    taken = sorted(set(names) & set(series.target_columns + series.feature_columns))
    if taken:
        raise ValueError(f"{series.source}: column(s) {taken} clash with the calendar features' names; rename them "
                         "or leave out --calendar.")
    columns = calendar_features(series.times, kinds)
    features = columns if series.features is None else np.concatenate([series.features, columns], axis=1)
    return dataclasses.replace(series, features=features, feature_columns=list(series.feature_columns) + names)


def input_matrix(series: Series) -> np.ndarray:
    """`(T, targets + features)`: every input column, targets first."""
    return series.values if series.features is None else np.concatenate([series.values, series.features], axis=1)


def split_series(series: Series, config: ForecastingConfig) -> ChronologicalSplit:
    """The chronological parts: training must hold one whole window (input_length + horizon points); the
    validation and test parts at least one horizon (their windows' inputs reach back into the part before)."""
    windows = config.windows
    split = chronological_split(len(series), test_fraction=config.data.test_fraction,
                                validation_fraction=config.data.validation_fraction)
    needed = {"train": windows.input_length + windows.horizon, "validation": windows.horizon, "test": windows.horizon}
    short = {name: length for name, length in split.lengths.items()
             if length < needed[name] and (length or name == "train" or name == "validation")}
    if short:
        parts = ", ".join(f"{name} {length:,} (needs {needed[name]:,})" for name, length in short.items())
        raise ValueError(f"{config.data.corpus}: {len(series):,} points split into parts too short: {parts}; "
                         f"training needs one window of input_length {windows.input_length} + horizon "
                         f"{windows.horizon} points, validation and test one horizon. Use a shorter --input-length "
                         "or --horizon, or other --validation-fraction / --test-fraction.")
    return split


def part_windows(matrix: np.ndarray, targets: int, config: ForecastingConfig, part: slice, *,
                 reach_back: bool) -> Windows:
    """The windows whose targets lie in `part`; with `reach_back`, inputs may start before it."""
    windows = config.windows
    start = max(part.start - windows.input_length, 0) if reach_back else part.start
    return make_windows(matrix, input_length=windows.input_length, horizon=windows.horizon, start=start,
                        stop=part.stop, targets=list(range(targets)), stride=windows.stride if not reach_back else 1,
                        drop_missing="targets" if config.data.missing == "mask" else True)


@dataclasses.dataclass
class PreparedForecastingData:
    """Window batches for `fit`, the series, its parts, the normaliser, and the raw-unit validation windows."""

    train: tf.data.Dataset
    validation: tf.data.Dataset
    train_batches: int
    validation_batches: int
    fresh_train: Callable[[], tf.data.Dataset]
    series: Series
    split: ChronologicalSplit
    normalizer: Normalizer
    season: int
    quantiles: tuple[float, ...]
    validation_windows: Windows  # in the series' units
    train_windows: int
    dropped: dict[str, int]

    @property
    def targets(self) -> int:
        return len(self.series.target_columns)

    @property
    def mask(self) -> bool:
        return self.series.missing == "mask"

    @property
    def input_width(self) -> int:
        """The network's input channels: every input column, and a gap marker for each with `mask`."""
        return self.validation_windows.inputs.shape[-1] * (2 if self.mask else 1)

    @property
    def train_values(self) -> np.ndarray:
        """The training part of the target columns, in the series' units."""
        return self.series.values[self.split.train]

    def figures(self) -> dict:
        return {"series": self.series.describe(), "points": len(self.series), "parts": self.split.lengths,
                "train_windows": self.train_windows, "validation_windows": len(self.validation_windows),
                "windows_dropped_for_missing_values": self.dropped, "season": self.season,
                "targets": list(self.series.target_columns), "features": list(self.series.feature_columns)}


def fill_gaps(inputs: np.ndarray, fill: np.ndarray) -> np.ndarray:
    """Windows `(N, L, C)` with each NaN replaced by the last value before it in its window, and by `fill`
    (one value per column) where the window has none before it.

    Example:
    >>> fill_gaps(np.array([[[np.nan], [2.0], [np.nan]]]), np.array([9.0]))[0, :, 0].tolist()
    [9.0, 2.0, 2.0]
    """
    gaps = np.isnan(inputs)
    if not gaps.any():
        return inputs
    steps = np.where(gaps, 0, np.arange(inputs.shape[1])[None, :, None])
    carried = np.take_along_axis(inputs, np.maximum.accumulate(steps, axis=1), axis=1)
    return np.where(np.isnan(carried), fill, carried)


def network_inputs(inputs: np.ndarray, normalizer: Normalizer, mask: bool) -> np.ndarray:
    """What the network reads of raw-unit windows: every column standardised; with `mask`, a gap reads as 0
    (the training mean) and a 0/1 column per input column, after them, marks the gaps."""
    scaled = normalizer.transform(inputs).astype("float32")
    if not mask:
        return scaled
    gaps = np.isnan(scaled)
    return np.concatenate([np.where(gaps, 0.0, scaled), gaps], axis=-1).astype("float32")


def target_base(windows: Windows, normalizer: Normalizer, targets: int, residual: bool) -> np.ndarray:
    """What the network's (standardised) targets are measured from, `(N, 1, T)` in the series' units: each
    window's last observed value of every target (`residual`; the training mean for a target the window
    never observed), or the training mean."""
    if residual:
        return fill_gaps(windows.inputs[:, :, :targets].astype(np.float64), normalizer.mean[:targets])[:, -1:]
    return np.broadcast_to(normalizer.mean[:targets], (len(windows.inputs), 1, targets))


def _dataset(windows: Windows, normalizer: Normalizer, targets: int, residual: bool, mask: bool) -> tf.data.Dataset:
    """`({"inputs"}, targets)` pairs: inputs as `network_inputs`, targets as (value - base) / std."""
    inputs = network_inputs(windows.inputs, normalizer, mask)
    base = target_base(windows, normalizer, targets, residual)
    scaled_targets = ((windows.targets - base) / normalizer.std[:targets]).astype("float32")
    return tf.data.Dataset.from_tensor_slices(({"inputs": inputs}, scaled_targets))


def prepare_forecasting_data(config: ForecastingConfig, normalizer: Normalizer | None = None
                             ) -> PreparedForecastingData:
    """Reads the series, splits it, fits (or reuses) the normaliser on the training part, cuts the windows."""
    series = read_series(config)
    split = split_series(series, config)
    matrix = input_matrix(series)
    if normalizer is None:
        normalizer = Normalizer.fit(matrix, rows=split.train,
                                    names=list(series.target_columns) + list(series.feature_columns))
    targets = len(series.target_columns)
    train_windows = part_windows(matrix, targets, config, split.train, reach_back=False)
    validation_windows = part_windows(matrix, targets, config, split.validation, reach_back=True)
    for name, windows in (("training", train_windows), ("validation", validation_windows)):
        if not len(windows):
            raise ValueError(f"The {name} part of {config.data.corpus!r} yields no window of input_length "
                             f"{config.windows.input_length} + horizon {config.windows.horizon} without a missing "
                             f"value ({windows.dropped:,} dropped). Shorten the window, or fill missing values "
                             "with --missing interpolate.")
    batch = config.optimization.batch_size
    residual, mask = config.windows.residual, config.data.missing == "mask"
    train = _dataset(train_windows, normalizer, targets, residual, mask).cache()
    seed = config.optimization.seed

    def fresh_train() -> tf.data.Dataset:
        return (train.shuffle(len(train_windows), seed=seed, reshuffle_each_iteration=True).batch(batch)
                .prefetch(tf.data.AUTOTUNE))

    return PreparedForecastingData(
        train=fresh_train(),
        validation=_dataset(validation_windows, normalizer, targets, residual, mask).batch(batch).cache(),
        train_batches=-(-len(train_windows) // batch), validation_batches=-(-len(validation_windows) // batch),
        fresh_train=fresh_train, series=series, split=split, normalizer=normalizer, season=season_of(series, config),
        quantiles=quantile_list(config.network.quantiles), validation_windows=validation_windows,
        train_windows=len(train_windows),
        dropped={"train": train_windows.dropped, "validation": validation_windows.dropped},
    )


def prepare_forecasting_run_data(config: ForecastingConfig, run_dir: str) -> PreparedForecastingData:
    """`prepare_forecasting_data` for a run folder: its saved normaliser is reused, else fitted and saved."""
    path = os.path.join(run_dir, FORECASTING_RUN_FILES["normalizer"])
    normalizer = None
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            normalizer = Normalizer.from_dict(json.load(f))
    data = prepare_forecasting_data(config, normalizer)
    if normalizer is None:
        write_text_atomic(path, json.dumps(data.normalizer.to_dict()) + "\n")
    return data


def forecaster_loss(quantiles: tuple[float, ...]) -> keras.losses.Loss:
    """The pinball loss of the quantiles, or the mean squared error of point forecasts."""
    return PinballLoss(list(quantiles)) if quantiles else keras.losses.MeanSquaredError()


def build_compiled_forecaster(config: ForecastingConfig, data: PreparedForecastingData,
                              steps_per_epoch: int | None = None) -> keras.Model:
    network, windows, optimization = config.network, config.windows, config.optimization
    model = build_forecaster(
        windows.input_length, data.input_width, windows.horizon, data.targets,
        cell=network.cell, units=network.units, num_layers=network.num_layers, bidirectional=network.bidirectional,
        dropout=network.dropout, decoder=network.decoder, quantiles=data.quantiles or None,
    )
    total = optimization.epochs * (steps_per_epoch or data.train_batches)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate_schedule(optimization.learning_rate,
                                                                         optimization.lr_schedule, total),
                                                  clipnorm=optimization.clipnorm),
                  loss=forecaster_loss(data.quantiles))
    return model


def forecast_windows(model: keras.Model, windows: Windows, normalizer: Normalizer, targets: int,
                     quantiles: tuple[float, ...], residual: bool, mask: bool = False, batch_size: int = 256
                     ) -> np.ndarray:
    """Forecasts of `windows` in the series' units: `(N, H, T)`, or `(N, H, T, Q)` with the quantiles sorted."""
    infer = traced_inference(model)
    inputs = network_inputs(windows.inputs, normalizer, mask)
    outputs = np.concatenate([infer({"inputs": tf.constant(inputs[i:i + batch_size])}).numpy()
                              for i in range(0, len(inputs), batch_size)])
    base, std = target_base(windows, normalizer, targets, residual), normalizer.std[:targets]
    if quantiles:
        return np.sort(outputs, axis=-1) * std[:, None] + base[..., None]
    return outputs * std + base


def validation_scores(model: keras.Model, config: ForecastingConfig, data: PreparedForecastingData,
                      limit: int | None = None) -> dict:
    """`val_mae`, `val_rmse`, `val_mase` of the (median) forecasts, in the series' units."""
    windows = data.validation_windows.head(limit)
    forecasts = forecast_windows(model, windows, data.normalizer, data.targets, data.quantiles,
                                 config.windows.residual, data.mask)
    report = forecast_report(windows.targets, {"rnn": forecasts}, data.train_values, data.season,
                             quantiles=data.quantiles or None)
    figures = report["models"]["rnn"]
    return {"val_mae": figures["mae"], "val_rmse": figures["rmse"], "val_mase": figures["mase"]}


def window_baselines(train_matrix: np.ndarray, windows: Windows, horizon: int, targets: int, season: int
                     ) -> dict[str, np.ndarray]:
    """`baseline_forecasts` of `windows`, the baselines fitted on the training part's input columns; a gap in
    a window is carried forward from the value before it (the training mean where there is none)."""
    inputs = fill_gaps(windows.inputs.astype(np.float64), np.nanmean(train_matrix, axis=0))
    return baseline_forecasts(train_matrix, inputs, horizon, targets=list(range(targets)), season=season)


def score_forecaster(model: keras.Model, config: ForecastingConfig, data: PreparedForecastingData
                     ) -> tuple[dict, dict]:
    """The best epoch's validation report beside the baselines (persistence, seasonal naive, mean, linear
    autoregression, fitted on the training part), with interval coverage for quantile forecasts."""
    windows = data.validation_windows
    forecasts = forecast_windows(model, windows, data.normalizer, data.targets, data.quantiles,
                                 config.windows.residual, data.mask)
    predictions = {"rnn": forecasts, **window_baselines(input_matrix(data.series)[data.split.train], windows,
                                                        config.windows.horizon, data.targets, data.season)}
    report = forecast_report(windows.targets, predictions, data.train_values, data.season,
                             quantiles=data.quantiles or None)
    rnn = report["models"]["rnn"]
    figures = {"val_mae": rnn["mae"], "val_rmse": rnn["rmse"], "val_mase": rnn["mase"], "val_report": report}
    return figures, {"validation_forecasts": point_forecast(forecasts, data.quantiles or None)}


def score_export_part(export: str, config: ForecastingConfig, part: str, *, limit: int | None = None) -> dict:
    """`forecast_report` of an export's forecasts of one part of its series (`"validation"` or `"test"`; the
    first `limit` windows when given) beside the baselines fitted on the training part, through the export
    alone."""
    from keras_rnn.tasks.forecasting.serving import ForecastPredictor

    series = read_series(config)
    split = split_series(series, config)
    matrix, targets = input_matrix(series), len(series.target_columns)
    windows = part_windows(matrix, targets, config, getattr(split, part), reach_back=True).head(limit)
    outputs = ForecastPredictor(export).forecast(windows.inputs)
    season = season_of(series, config)
    predictions = {"rnn": outputs.get("quantiles", outputs["forecast"]),
                   **window_baselines(matrix[split.train], windows, config.windows.horizon, targets, season)}
    return forecast_report(windows.targets, predictions, series.values[split.train], season,
                           quantiles=quantile_list(config.network.quantiles) or None)


@dataclasses.dataclass
class ForecastingResult:
    model: keras.Model
    normalizer: Normalizer
    config: ForecastingConfig
    metrics: dict
    run_dir: str
    targets: list[str]
    features: list[str]


def make_result(model, config, data: PreparedForecastingData, metrics, run_dir, outputs) -> ForecastingResult:
    return ForecastingResult(model, data.normalizer, config, metrics, run_dir, list(data.series.target_columns),
                             list(data.series.feature_columns))


def load_finished_forecaster(config: ForecastingConfig, run_dir: str) -> ForecastingResult:
    paths = {key: os.path.join(run_dir, name) for key, name in FORECASTING_RUN_FILES.items()}
    with open(paths["metrics"], encoding="utf-8") as f:
        metrics = json.load(f)
    with open(paths["normalizer"], encoding="utf-8") as f:
        normalizer = Normalizer.from_dict(json.load(f))
    model = keras.saving.load_model(paths["model"], compile=False)
    names = list(normalizer.names or [])
    targets = len(metrics.get("targets", [])) or model.output_shape[2]
    return ForecastingResult(model, normalizer, config, metrics, run_dir, names[:targets], names[targets:])
