"""Forecast errors: the figures a recurrent forecaster and its baselines are compared with, by one code path.

Every metric takes forecasts of the next `horizon` steps of one or more target series, shaped
`(windows, horizon, targets)`, or `(windows, horizon)` for a single target; the truth and the forecast
must have the same shape (quantile forecasts add a last axis, one entry per quantile). Numbers are
computed in float64 and in the units they are given in: undo any normalisation of the model's outputs
before scoring, and give `train_values` (the MASE scale) in the same units as `y_true`.

Masked points: a NaN in `y_true` (a missing observation, or padding at the end of a series) is left out
of every metric, and `forecast_report` counts them. Forecasts are never masked: a non-finite forecast at
an observed point is an error naming where it is, since skipping it would flatter the model that made it.

- `mae`, `rmse`: mean absolute / root mean squared error over every observed point (all windows, steps and
  targets pooled, so with several targets they mix the targets' units; MASE does not).
- `mase`: MAE scaled, target by target, by the in-sample MAE of the one-step seasonal naive forecast on
  the training series, `mean_t |y_t - y_{t-season}|` (Hyndman & Koehler, 2006); `season=1` gives the
  naive (persistence) scaling. Below 1: better than that naive forecast did in-sample.
- `pinball_loss`: the quantile (pinball) loss, mean over points and quantiles; for quantile 0.5 it is half
  the MAE.
- `interval_coverage`: fraction of observed points inside `[lower, upper]`.
- `error_by_horizon`: MAE per step ahead.
- `forecast_report` / `format_forecast_report`: all of these for several models at once, as a JSON-ready
  dict and as a fixed-width table with the best MASE marked.

Reference:
    Hyndman, R. J. & Koehler, A. B. (2006). Another look at measures of forecast accuracy.
    International Journal of Forecasting 22(4), 679-688.

Example:
```python
report = forecast_report(y_true, {"gru": rnn_forecasts, **baseline_forecasts}, train_values, season=24)
print(format_forecast_report(report))
```
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from keras_rnn.validation import validate_positive_int

__all__ = [
    "error_by_horizon",
    "forecast_report",
    "format_forecast_report",
    "interval_coverage",
    "mae",
    "mase",
    "mase_scale",
    "pinball_loss",
    "rmse",
    "validate_quantiles",
]

ArrayLike = np.ndarray | Sequence[Any]

_FORECAST_SHAPE = "(windows, horizon, targets), or (windows, horizon) for one target"


def validate_quantiles(quantiles: Sequence[float]) -> tuple[float, ...]:
    """Returns `quantiles` as a tuple of floats if it is a non-empty, strictly increasing sequence of numbers
    in (0, 1), else raises `ValueError` saying what was received and what is accepted.

    Example:
    >>> validate_quantiles([0.1, 0.5, 0.9])
    (0.1, 0.5, 0.9)
    """
    accepted = "Expected a non-empty, strictly increasing sequence of numbers in (0, 1), e.g. (0.1, 0.5, 0.9)."
    if isinstance(quantiles, (str, bytes)) or not isinstance(quantiles, (Sequence, np.ndarray)):
        raise ValueError(f"Received an invalid value for argument `quantiles`: {quantiles!r}. {accepted}")
    values = list(quantiles)
    if not values or any(isinstance(q, bool) or not isinstance(q, (int, float, np.integer, np.floating))
                         or not 0 < q < 1 for q in values):
        raise ValueError(f"Received an invalid value for argument `quantiles`: {quantiles!r}. {accepted}")
    if any(b <= a for a, b in itertools.pairwise(values)):
        raise ValueError(f"Received an invalid value for argument `quantiles`: {quantiles!r}: not strictly "
                         f"increasing. {accepted}")
    return tuple(float(q) for q in values)


def _as_float_array(name: str, value: ArrayLike) -> np.ndarray:
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"`{name}` must be an array of numbers, got {type(value).__name__}: {error}") from None


def _check_truth(y_true: ArrayLike) -> np.ndarray:
    """y_true as a float64 (windows, horizon, targets) array, with at least one observed point."""
    truth = _as_float_array("y_true", y_true)
    if truth.ndim not in (2, 3) or truth.size == 0:
        raise ValueError(f"y_true has shape {truth.shape}; expected a non-empty array shaped {_FORECAST_SHAPE}.")
    if np.isinf(truth).any():
        first = tuple(int(i) for i in np.argwhere(np.isinf(truth))[0])
        raise ValueError(f"y_true is infinite at index {first}; it must hold finite values, or NaN for a masked "
                         "point.")
    if np.isnan(truth).all():
        raise ValueError(f"y_true holds no observed value: all {truth.size} points are NaN (masked), so there is "
                         "nothing to score.")
    return truth if truth.ndim == 3 else truth[..., None]


def _check_forecast(truth: np.ndarray, original_shape: tuple, name: str, value: ArrayLike,
                    extra: tuple = ()) -> np.ndarray:
    """A forecast of `truth` (its shape plus `extra` axes), finite at every observed point."""
    forecast = _as_float_array(name, value)
    expected = original_shape + extra
    if forecast.shape != expected:
        what = " plus a last axis of one entry per quantile" if extra else ""
        raise ValueError(f"y_true has shape {original_shape} but {name} has shape {forecast.shape}; expected "
                         f"{expected}: the shape of y_true{what} ({_FORECAST_SHAPE}).")
    if len(original_shape) == 2:
        forecast = forecast.reshape(truth.shape + extra)
    observed = ~np.isnan(truth)
    bad = ~np.isfinite(forecast) & observed.reshape(observed.shape + (1,) * len(extra))
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name} is not finite at {int(bad.sum())} observed points, the first at index {first} "
                         f"(window, step, target{', quantile' if extra else ''}): {float(forecast[first])}. Forecasts "
                         "must be finite wherever y_true is observed; only y_true may hold NaN (masked points).")
    return forecast


def _scale_for(train_values: ArrayLike, season: int, targets: int) -> np.ndarray:
    """`mase_scale`, checked to have one entry per target of the forecasts."""
    scale = mase_scale(train_values, season)
    if scale.size != targets:
        raise ValueError(f"train_values has shape {np.shape(train_values)}: {scale.size} series, but the forecasts "
                         f"have {targets} targets; expected (time, {targets}), the training part of the target "
                         "series only, in the order of the forecasts' last axis (or (time,) for one target).")
    return scale


def _pair(y_true: ArrayLike, y_pred: ArrayLike, name: str = "y_pred") -> tuple[np.ndarray, np.ndarray]:
    original = np.shape(y_true)
    truth = _check_truth(y_true)
    return truth, _check_forecast(truth, tuple(original), name, y_pred)


def _mean_observed(values: np.ndarray, observed: np.ndarray, axis=None) -> np.ndarray:
    """Mean of `values` over observed points along `axis`; NaN where no point is observed."""
    total = np.where(observed, values, 0.0).sum(axis=axis)
    count = observed.sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def mae(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean absolute error over every observed (non-NaN) point of `y_true`.

    Args:
        y_true: the truth, `(windows, horizon, targets)` or `(windows, horizon)`; NaN marks a masked point.
        y_pred: the forecast, the same shape, finite wherever `y_true` is observed.

    Returns:
        A float, in the units of `y_true`.

    Raises:
        ValueError: the shapes differ (both named), `y_true` is not 2-D or 3-D, is all NaN or holds an
            infinity, or `y_pred` is not finite at an observed point (its index named).

    Example:
    >>> mae([[1.0, 2.0, np.nan]], [[2.0, 0.0, 5.0]])  # (1 + 2) / 2: the masked point is left out
    1.5
    """
    truth, forecast = _pair(y_true, y_pred)
    observed = ~np.isnan(truth)
    return float(_mean_observed(np.abs(truth - forecast), observed))


def rmse(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Root mean squared error over every observed (non-NaN) point of `y_true`.

    Args and Raises: as for `mae`.

    Example:
    >>> rmse([[1.0, 2.0, np.nan]], [[2.0, 0.0, 5.0]])  # sqrt((1 + 4) / 2)
    1.5811388300841898
    """
    truth, forecast = _pair(y_true, y_pred)
    observed = ~np.isnan(truth)
    return math.sqrt(float(_mean_observed((truth - forecast) ** 2, observed)))


def mase_scale(train_values: ArrayLike, season: int) -> np.ndarray:
    """The MASE denominator of each target: in-sample MAE of the one-step seasonal naive forecast,
    `mean_t |y_t - y_{t-season}|` over the training series (pairs with a NaN are left out).

    Args:
        train_values: the training part of the target series only, `(time,)` for one or `(time, targets)`
            (select the target columns: `values[train_rows][:, targets]`).
        season: the seasonal period in steps, >= 1 (1: the naive, persistence scaling).

    Returns:
        A float64 array `(targets,)`.

    Raises:
        ValueError: a bad `season` or shape, no more than `season` time steps, a target with no pair of
            observed values `season` apart, or a scale of 0 (a target whose training series repeats itself
            exactly with period `season`, e.g. a constant one).

    Example:
    >>> mase_scale([1.0, 3.0, 2.0, 6.0], season=1)  # (2 + 1 + 4) / 3
    array([2.33333333])
    >>> mase_scale([1.0, 3.0, 2.0, 6.0], season=2)  # (1 + 3) / 2
    array([2.])
    """
    validate_positive_int("season", season)
    train = _as_float_array("train_values", train_values)
    if train.ndim == 1:
        train = train[:, None]
    if train.ndim != 2 or train.shape[1] == 0:
        raise ValueError(f"train_values has shape {train.shape}; expected (time,) or (time, targets): the training "
                         "part of the target series.")
    if train.shape[0] <= season:
        raise ValueError(f"train_values has {train.shape[0]} time steps; the MASE scale with season={season} "
                         f"needs more than {season} (it averages |y_t - y_(t-{season})|).")
    differences = np.abs(train[season:] - train[:-season])
    observed = ~np.isnan(differences)
    scale = _mean_observed(differences, observed, axis=0)
    for channel, value in enumerate(scale):
        if np.isnan(value):
            raise ValueError(f"train_values target channel {channel} has no two observed values {season} steps "
                             f"apart, so its MASE scale (season={season}) is undefined.")
        if value == 0:
            raise ValueError(f"The MASE scale of target channel {channel} is 0: its training series equals itself "
                             f"{season} steps earlier everywhere (e.g. it is constant), so scaled errors are "
                             "undefined. Use MAE/RMSE for this target, or a season at which it varies.")
    return scale


def mase(y_true: ArrayLike, y_pred: ArrayLike, train_values: ArrayLike, season: int) -> float:
    """Mean absolute scaled error (Hyndman & Koehler, 2006): each absolute error divided by its target's
    `mase_scale` (the in-sample one-step seasonal naive MAE of the training series), averaged over every
    observed point of `y_true`.

    Args:
        y_true, y_pred: as for `mae`.
        train_values: the training part of the target series, `(time,)` for one target or `(time, targets)`,
            in the units of `y_true`.
        season: the seasonal period in steps, >= 1; 1 scales by the naive (persistence) forecast.

    Returns:
        A float: 1 means as accurate as the seasonal naive forecast was one step ahead in sample.

    Raises:
        ValueError: as for `mae` and `mase_scale`.

    Example:
    >>> train = [1.0, 3.0, 2.0, 6.0]                  # seasonal naive scale, season 2: (1 + 3) / 2 = 2
    >>> mase([[5.0, 9.0]], [[4.0, 6.0]], train, season=2)  # MAE (1 + 3) / 2 = 2, scaled by 2
    1.0
    """
    truth, forecast = _pair(y_true, y_pred)
    scale = _scale_for(train_values, season, truth.shape[2])
    observed = ~np.isnan(truth)
    return float(_mean_observed(np.abs(truth - forecast) / scale, observed))


def _pinball(truth: np.ndarray, forecast: np.ndarray, quantiles: tuple[float, ...]) -> np.ndarray:
    """Pinball loss per point, mean over quantiles: forecast has a last quantile axis."""
    q = np.asarray(quantiles)
    error = truth[..., None] - forecast  # > 0: the truth lies above the quantile forecast
    return np.maximum(q * error, (q - 1.0) * error).mean(axis=-1)


def pinball_loss(y_true: ArrayLike, y_quantile_pred: ArrayLike, quantiles: Sequence[float]) -> float:
    """The quantile (pinball) loss `max(q (y - ŷ_q), (q - 1) (y - ŷ_q))`, mean over observed points and
    quantiles. For quantile 0.5 it is half the absolute error.

    Args:
        y_true: as for `mae`.
        y_quantile_pred: `y_true`'s shape plus a last axis of `len(quantiles)`: `(windows, horizon, targets,
            quantiles)`.
        quantiles: strictly increasing numbers in (0, 1).

    Returns:
        A float, in the units of `y_true`.

    Raises:
        ValueError: bad quantiles, shapes that do not match (both named), or as for `mae`.

    Example:
    >>> y = [[[2.0]]]
    >>> round(pinball_loss(y, [[[[1.0, 4.0]]]], quantiles=[0.1, 0.9]), 4)  # (0.1 * 1 + 0.1 * 2) / 2
    0.15
    """
    quantiles = validate_quantiles(quantiles)
    original = tuple(np.shape(y_true))
    truth = _check_truth(y_true)
    forecast = _check_forecast(truth, original, "y_quantile_pred", y_quantile_pred, extra=(len(quantiles),))
    observed = ~np.isnan(truth)
    return float(_mean_observed(_pinball(truth, forecast, quantiles), observed))


def _coverage(truth: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> tuple[float, float]:
    observed = ~np.isnan(truth)
    crossed = observed & (lower > upper)
    if crossed.any():
        first = tuple(int(i) for i in np.argwhere(crossed)[0])
        raise ValueError(f"lower > upper at {int(crossed.sum())} observed points, the first at index {first} "
                         f"(window, step, target): lower {float(lower[first])}, upper {float(upper[first])}. Intervals "
                         "must have lower <= upper: sort quantile forecasts along their last axis when predicting.")
    inside = (lower <= truth) & (truth <= upper)
    return float(_mean_observed(inside, observed)), float(_mean_observed(upper - lower, observed))


def interval_coverage(y_true: ArrayLike, lower: ArrayLike, upper: ArrayLike) -> float:
    """Fraction of observed points of `y_true` inside `[lower, upper]` (bounds included).

    A `[q10, q90]` interval should cover about 0.8 of the points; compare with its width, since a wide
    enough interval covers everything.

    Args:
        y_true: as for `mae`.
        lower, upper: the interval bounds, each shaped like `y_true`, with `lower <= upper` at every
            observed point.

    Returns:
        A float in [0, 1].

    Raises:
        ValueError: shapes that differ (named), `lower > upper` somewhere (the first index named: quantile
            forecasts cross; sort them), or as for `mae`.

    Example:
    >>> interval_coverage([[1.0, 5.0, 3.0, np.nan]], [[0.0, 0.0, 3.0, 0.0]], [[2.0, 2.0, 4.0, 0.0]])
    0.6666666666666666
    """
    original = tuple(np.shape(y_true))
    truth = _check_truth(y_true)
    low = _check_forecast(truth, original, "lower", lower)
    high = _check_forecast(truth, original, "upper", upper)
    return _coverage(truth, low, high)[0]


def error_by_horizon(y_true: ArrayLike, y_pred: ArrayLike) -> np.ndarray:
    """MAE per step ahead: entry `h` is the mean absolute error of the forecasts `h + 1` steps ahead, over all
    windows and targets (NaN for a step with no observed point).

    Args and Raises: as for `mae`.

    Returns:
        A float64 array `(horizon,)`.

    Example:
    >>> y_true = [[1.0, 2.0, 3.0], [1.0, 2.0, np.nan]]
    >>> error_by_horizon(y_true, [[1.0, 3.0, 6.0], [1.0, 4.0, 0.0]])
    array([0. , 1.5, 3. ])
    """
    truth, forecast = _pair(y_true, y_pred)
    observed = ~np.isnan(truth)
    return _mean_observed(np.abs(truth - forecast), observed, axis=(0, 2))


def _json_floats(values: np.ndarray) -> list:
    return [None if np.isnan(v) else float(v) for v in values]


def _interval_pairs(quantiles: tuple[float, ...]) -> list[tuple[int, int]]:
    """Index pairs (i, j) of central intervals: quantiles[i] < 0.5 and quantiles[j] == 1 - quantiles[i]."""
    pairs = []
    for i, q in enumerate(quantiles):
        for j, other in enumerate(quantiles):
            if q < 0.5 and math.isclose(other, 1.0 - q, abs_tol=1e-9):
                pairs.append((i, j))
    return pairs


def forecast_report(
    y_true: ArrayLike, predictions: Mapping[str, ArrayLike], train_values: ArrayLike, season: int,
    quantiles: Sequence[float] | None = None,
) -> dict:
    """MAE, RMSE and MASE of several models' forecasts of the same windows, overall and per step ahead, and
    for quantile forecasts the pinball loss and the coverage of each central interval.

    Args:
        y_true: the truth, `(windows, horizon, targets)` or `(windows, horizon)`; NaN marks a masked point.
        predictions: model name → its forecasts, shaped like `y_true` (point forecasts) or, when `quantiles`
            is given, shaped like `y_true` plus a last axis of `len(quantiles)` (quantile forecasts: the
            0.5 quantile, which must then be among `quantiles`, is their point forecast). Rows are in this
            order in the table.
        train_values: the training part of the target series (for the MASE scale), `(time,)` for one target
            or `(time, targets)`, in the units of `y_true`.
        season: the seasonal period of the MASE scale, >= 1.
        quantiles: the quantiles of the quantile forecasts, strictly increasing in (0, 1). Defaults to
            `None` (point forecasts only).

    Returns:
        A JSON-ready dict: `windows`, `horizon`, `targets`, `season`, `points` (observed points scored),
        `masked` (NaN points of `y_true`), `points_by_horizon`, `mase_scale` (per target), `quantiles`
        (a list, or None), `models` (name → `mae`, `rmse`, `mase`, `by_horizon` (`mae`, `rmse`, `mase`:
        lists of `horizon` floats, None at a step with no observed point), `pinball` and `coverage`
        (None for point forecasts; for quantile forecasts the mean pinball loss and, for each pair of
        quantiles `q` and `1 - q`, `"q-(1-q)"` → `nominal`, `coverage`, `mean_width`)), and `best` (the
        model with the lowest MASE, the first listed on a tie).

    Raises:
        ValueError: no predictions, a model name that is not a non-empty string, a forecast shaped unlike
            `y_true` (both shapes named), quantile forecasts without `quantiles` or without 0.5 among
            them, crossing interval bounds, or as for `mase`.

    Example:
    >>> y_true = np.array([[[4.0], [5.0]], [[5.0], [np.nan]]])   # 2 windows, 2 steps, 1 target; 1 masked
    >>> train = np.arange(4.0)                                   # naive scale: 1
    >>> report = forecast_report(y_true, {"last": [[[3.0], [3.0]], [[4.0], [4.0]]],
    ...                                   "trend": [[[4.0], [5.0]], [[5.0], [6.0]]]}, train, season=1)
    >>> report["points"], report["masked"], report["best"]
    (3, 1, 'trend')
    >>> report["models"]["last"]["mase"], report["models"]["last"]["by_horizon"]["mae"]
    (1.3333333333333333, [1.0, 2.0])
    """
    validate_positive_int("season", season)
    original = tuple(np.shape(y_true))
    truth = _check_truth(y_true)
    if quantiles is not None:
        quantiles = validate_quantiles(quantiles)
    if not isinstance(predictions, Mapping) or not predictions:
        raise ValueError(f"predictions must be a non-empty dict of model name → forecasts, got {predictions!r:.80}.")
    windows, horizon, targets = truth.shape
    scale = _scale_for(train_values, season, targets)
    observed = ~np.isnan(truth)
    models = {}
    for name, values in predictions.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"Model names must be non-empty strings, got {name!r}.")
        shape = tuple(np.shape(values))
        quantile_forecast = len(shape) == len(original) + 1
        row: dict[str, Any] = {}
        if quantile_forecast:
            if quantiles is None:
                raise ValueError(f"Forecasts of {name!r} have shape {shape}, one axis more than y_true's {original}, "
                                 "but no quantiles were given; pass quantiles=... for quantile forecasts, or give "
                                 f"point forecasts shaped {original}.")
            median = [i for i, q in enumerate(quantiles) if math.isclose(q, 0.5)]
            if not median:
                raise ValueError(f"Forecasts of {name!r} are quantile forecasts but quantiles={list(quantiles)} "
                                 "holds no 0.5, the point forecast MAE, RMSE and MASE are computed from; add 0.5.")
            forecast_q = _check_forecast(truth, original, f"predictions[{name!r}]", values, extra=(len(quantiles),))
            forecast = forecast_q[..., median[0]]
            row["pinball"] = float(_mean_observed(_pinball(truth, forecast_q, quantiles), observed))
            coverage = {}
            for i, j in _interval_pairs(quantiles):
                covered, width = _coverage(truth, forecast_q[..., i], forecast_q[..., j])
                coverage[f"{quantiles[i]:g}-{quantiles[j]:g}"] = {
                    "nominal": round(quantiles[j] - quantiles[i], 12), "coverage": covered, "mean_width": width}
            row["coverage"] = coverage
        else:
            forecast = _check_forecast(truth, original, f"predictions[{name!r}]", values)
            row["pinball"] = None
            row["coverage"] = None
        absolute = np.abs(truth - forecast)
        squared = (truth - forecast) ** 2
        models[name] = {
            "mae": float(_mean_observed(absolute, observed)),
            "rmse": math.sqrt(float(_mean_observed(squared, observed))),
            "mase": float(_mean_observed(absolute / scale, observed)),
            "by_horizon": {
                "mae": _json_floats(_mean_observed(absolute, observed, axis=(0, 2))),
                "rmse": _json_floats(np.sqrt(_mean_observed(squared, observed, axis=(0, 2)))),
                "mase": _json_floats(_mean_observed(absolute / scale, observed, axis=(0, 2))),
            },
            **row,
        }
    best = min(models, key=lambda name: models[name]["mase"])  # min keeps the first of equals
    return {
        "windows": int(windows),
        "horizon": int(horizon),
        "targets": int(targets),
        "season": int(season),
        "points": int(observed.sum()),
        "masked": int(truth.size - observed.sum()),
        "points_by_horizon": [int(n) for n in observed.sum(axis=(0, 2))],
        "mase_scale": [float(s) for s in scale],
        "quantiles": None if quantiles is None else list(quantiles),
        "models": models,
        "best": best,
    }


def format_forecast_report(report: dict, *, digits: int = 3) -> str:
    """`forecast_report`'s dict as a fixed-width table: one row per model (MAE, RMSE, MASE, MASE one step
    ahead and at the last step, and for quantile forecasts the pinball loss and interval coverages), the
    model with the best MASE marked `*`.

    Example:
    >>> y_true = np.array([[[4.0], [5.0]], [[5.0], [np.nan]]])
    >>> report = forecast_report(y_true, {"last": [[[3.0], [3.0]], [[4.0], [4.0]]],
    ...                                   "trend": [[[4.0], [5.0]], [[5.0], [6.0]]]}, np.arange(4.0), season=1)
    >>> print(format_forecast_report(report))
    forecasts: 2 windows x 2 steps x 1 targets; 3 points scored, 1 masked (NaN); MASE season 1
      model        MAE     RMSE     MASE   MASE@1   MASE@2
      last       1.333    1.414    1.333    1.000    2.000
    * trend      0.000    0.000    0.000    0.000    0.000
    * best MASE
    """
    models = report["models"]
    width = max(len("model"), *(len(name) for name in models)) + 2
    intervals = sorted({key for row in models.values() for key in (row.get("coverage") or {})},
                       key=lambda key: float(key.split("-")[0]))
    quantile_rows = any(row.get("pinball") is not None for row in models.values())
    horizon = report["horizon"]
    columns = ["MAE", "RMSE", "MASE", "MASE@1"] + ([f"MASE@{horizon}"] if horizon > 1 else [])
    columns += (["pinball"] if quantile_rows else []) + [f"cov {key}" for key in intervals]
    cell = max(9, digits + 6, *(len(c) + 2 for c in columns))

    def number(value) -> str:
        return f"{'-':>{cell}}" if value is None else f"{value:>{cell}.{digits}f}"

    lines = [(f"forecasts: {report['windows']} windows x {horizon} steps x {report['targets']} targets; "
              f"{report['points']} points scored, {report['masked']} masked (NaN); MASE season {report['season']}"),
             f"  {'model':<{width}}" + "".join(f"{c:>{cell}}" for c in columns)]
    for name, row in models.items():
        by_step = row["by_horizon"]["mase"]
        values = [row["mae"], row["rmse"], row["mase"], by_step[0]] + ([by_step[-1]] if horizon > 1 else [])
        if quantile_rows:
            values.append(row.get("pinball"))
        values += [((row.get("coverage") or {}).get(key) or {}).get("coverage") for key in intervals]
        mark = "*" if name == report["best"] else " "
        lines.append(f"{mark} {name:<{width}}" + "".join(number(v) for v in values))
    lines.append("* best MASE")
    return "\n".join(lines)
