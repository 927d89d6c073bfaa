"""Forecast baselines (numpy): the figures a recurrent forecaster must beat, from the windows it sees.

A recurrent forecaster earns its cost only if it forecasts better than simple rules do. Each baseline
here forecasts the next `horizon` steps from exactly the input windows the RNN is given, shaped
`(windows, input_length, channels)`, and returns `(windows, horizon, len(targets))` like the RNN's head,
so `keras_rnn.forecasting_metrics.forecast_report` scores all of them with one code path. `targets` names
the input channels forecast, as `keras_rnn.data.timeseries.make_windows` does (its inputs hold the columns
of `values` first, so a target's column index is its input channel): an int for one, a sequence for
several, in the order of the forecast's last axis. Other channels (other series, covariates) are ignored:
each baseline forecasts a target from its own past only.

No peeking: `predict` is given the input windows and nothing else, and forecasts each window from that
window alone (every operation is along its own row), so no forecast can read a value after its window's
end, not even through a later window of the same batch. What is learnt (`Mean`, `LinearAutoregressive`) is
learnt by `fit(train_values)` from the training part of the series only; `fit` is a no-op for the others.

- `Persistence`: the last observed value, repeated over the horizon.
- `SeasonalNaive(season)`: the value one season before each target step; past one season ahead, the last
  season of the window repeats. `SeasonalNaive(1)` gives the forecasts of `Persistence`.
- `Mean`: the mean of each target over the training series.
- `LinearAutoregressive(order)`: one linear map, fitted by (lightly ridge-regularised) least squares on the
  training series, from a target's last `order` values to its next `horizon` values, with an intercept
  (direct multi-output forecasting, one map per target channel).

The windows come from `keras_rnn.data.timeseries.make_windows`, the same cut the task trains on.

Values are taken as they are (float64): give the baselines the same units the metrics score in (undo
any normalisation), and fill masked inputs first, since a NaN an input forecast reads gives a NaN
forecast (which `forecast_report` refuses at an observed point).

Example:

>>> import numpy as np
>>> from keras_rnn.data.timeseries import make_windows
>>> from keras_rnn.models.forecast_baselines import Persistence, SeasonalNaive
>>> series = np.array([1.0, 5.0, 2.0, 6.0, 3.0, 7.0, 4.0, 8.0])
>>> windows = make_windows(series, input_length=4, horizon=2)
>>> inputs = windows.inputs
>>> inputs.shape, windows.targets.shape
((3, 4, 1), (3, 2, 1))
>>> Persistence(horizon=2).predict(inputs)[0, :, 0]                # last value 6, twice
array([6., 6.])
>>> SeasonalNaive(season=2, horizon=2).predict(inputs)[0, :, 0]    # the season before: 2, 6
array([2., 6.])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from keras_rnn.validation import validate_choice, validate_positive_int

__all__ = [
    "BASELINES",
    "ForecastBaseline",
    "LinearAutoregressive",
    "Mean",
    "Persistence",
    "SeasonalNaive",
    "baseline_forecasts",
    "build_baseline",
]

ArrayLike = np.ndarray | Sequence[Any]


def _validate_targets(targets: int | Sequence[int]) -> tuple[int, ...]:
    """`targets` as a tuple of distinct channel indices >= 0."""
    def is_index(t) -> bool:
        return not isinstance(t, bool) and isinstance(t, (int, np.integer)) and t >= 0

    values = [targets] if isinstance(targets, (int, np.integer)) and not isinstance(targets, bool) else targets
    valid = isinstance(values, (Sequence, np.ndarray)) and not isinstance(values, (str, bytes))
    if not (valid and len(values) and all(is_index(t) for t in values) and len(set(values)) == len(values)):
        raise ValueError(f"Received an invalid value for argument `targets`: {targets!r}. Expected a channel index "
                         ">= 0, or a non-empty sequence of distinct ones: the input channels to forecast, as "
                         "`targets` of keras_rnn.data.timeseries.make_windows.")
    return tuple(int(t) for t in values)


def _as_series(train_values: ArrayLike, targets: tuple[int, ...], name: str = "train_values") -> np.ndarray:
    """`(time,)` or `(time, channels)` → float64 `(time, len(targets))`: the target channels only."""
    try:
        series = np.asarray(train_values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"`{name}` must be an array of numbers, got {type(train_values).__name__}: {error}") from None
    if series.ndim == 1:
        series = series[:, None]
    if series.ndim != 2 or series.shape[0] == 0:
        raise ValueError(f"{name} has shape {series.shape}; expected a non-empty (time,) or (time, channels) "
                         "array (the columns the windows are cut from).")
    if series.shape[1] <= max(targets):
        raise ValueError(f"{name} has shape {series.shape}: {series.shape[1]} channels, but targets={list(targets)}; "
                         f"expected (time, channels) with more than {max(targets)} channels (the columns the "
                         "windows are cut from).")
    return series[:, list(targets)]


class ForecastBaseline:
    """What every baseline shares: the horizon and target count, `fit` (a no-op here) and `predict`, which
    checks the windows and forecasts each from its own target channels alone.

    Args:
        horizon: steps to forecast, >= 1.
        targets: the input channel forecast (an index), or a sequence of them: the forecast's last axis
            follows their order. Defaults to 0.

    Subclasses implement `_forecast(history)`: `history` is `(windows, input_length, len(targets))` float64
    (the target channels only), the result `(windows, horizon, len(targets))`.
    """

    name = "baseline"

    def __init__(self, horizon: int, targets: int | Sequence[int] = 0) -> None:
        self.horizon = validate_positive_int("horizon", horizon)
        self.targets = _validate_targets(targets)

    @property
    def label(self) -> str:
        """The name to report it under, with its parameter (e.g. `seasonal_naive(24)`)."""
        return self.name

    @property
    def min_input_length(self) -> int:
        """The fewest input steps a window must have for this baseline."""
        return 1

    def fit(self, train_values: ArrayLike) -> ForecastBaseline:
        """Learns nothing (the rule needs no training); returns self."""
        return self

    def _check_inputs(self, inputs: ArrayLike) -> np.ndarray:
        try:
            windows = np.asarray(inputs, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise ValueError(f"inputs must be an array of numbers, got {type(inputs).__name__}: {error}") from None
        if windows.ndim != 3 or windows.shape[0] == 0:
            raise ValueError(f"inputs has shape {windows.shape}; expected (windows, input_length, channels) with "
                             "at least one window (add a last axis of 1 for a single series).")
        if windows.shape[2] <= max(self.targets):
            raise ValueError(f"inputs has shape {windows.shape}: {windows.shape[2]} channels, but "
                             f"targets={list(self.targets)}; expected (windows, input_length, channels) with more "
                             f"than {max(self.targets)} channels.")
        if windows.shape[1] < self.min_input_length:
            raise ValueError(self._too_short(windows.shape[1]))
        return windows[:, :, list(self.targets)]

    def _too_short(self, input_length: int) -> str:
        return (f"{self.label} needs input windows of at least {self.min_input_length} steps, got "
                f"input_length={input_length}.")

    def predict(self, inputs: ArrayLike) -> np.ndarray:
        """Forecasts of the `horizon` steps after each input window.

        Args:
            inputs: `(windows, input_length, channels)`.

        Returns:
            A float64 array `(windows, horizon, len(targets))`.

        Raises:
            ValueError: inputs not 3-D or empty, without a channel of `targets`, or windows shorter than
                the baseline needs (`min_input_length`, named with the window length); `fit` not called
                for a baseline that learns.
        """
        return self._forecast(self._check_inputs(inputs))

    def _forecast(self, history: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(horizon={self.horizon}, targets={list(self.targets)})"


class SeasonalNaive(ForecastBaseline):
    """The value one season before each target step: step `h` (1-based) after a window is forecast by the
    window's value at `h - season * ceil(h / season)` steps from its end, so past one season ahead the
    window's last season repeats.

    Args:
        season: the seasonal period in steps, 1 <= season <= input_length (checked in `predict`).
        horizon, targets: as for `ForecastBaseline`.

    Example:
    >>> window = np.array([[[1.0], [2.0], [3.0], [4.0], [5.0]]])          # one window, 5 steps, 1 target
    >>> SeasonalNaive(season=3, horizon=5).predict(window)[0, :, 0]       # last season 3, 4, 5 repeated
    array([3., 4., 5., 3., 4.])
    """

    name = "seasonal_naive"

    def __init__(self, season: int, horizon: int, targets: int | Sequence[int] = 0) -> None:
        super().__init__(horizon, targets)
        self.season = validate_positive_int("season", season)

    @property
    def label(self) -> str:
        return f"{self.name}({self.season})"

    @property
    def min_input_length(self) -> int:
        return self.season

    def _too_short(self, input_length: int) -> str:
        return (f"season={self.season} is longer than the input windows (input_length={input_length}): the "
                "seasonal naive forecast reads the window's last season, so it needs season <= input_length.")

    def _forecast(self, history: np.ndarray) -> np.ndarray:
        steps = np.arange(self.horizon)
        # Index in the window of the value one season (or a whole number of seasons) before each step.
        source = history.shape[1] - self.season + steps % self.season
        return history[:, source, :]

    def __repr__(self) -> str:
        return f"SeasonalNaive(season={self.season}, horizon={self.horizon}, targets={list(self.targets)})"


class Persistence(ForecastBaseline):
    """The last observed value of each target, repeated over the horizon (what `SeasonalNaive(1)` gives too).

    Args:
        horizon, targets: as for `ForecastBaseline`.

    Example:
    >>> Persistence(horizon=3).predict(np.array([[[1.0], [2.0]]]))[0, :, 0]
    array([2., 2., 2.])
    """

    name = "persistence"

    def _forecast(self, history: np.ndarray) -> np.ndarray:
        return np.repeat(history[:, -1:, :], self.horizon, axis=1)


class Mean(ForecastBaseline):
    """The mean of each target over the training series (NaN left out), for every window and step.

    Args:
        horizon, targets: as for `ForecastBaseline`.

    Attributes:
        means: after `fit`, `(len(targets),)`.

    Example:
    >>> baseline = Mean(horizon=2).fit([1.0, 2.0, np.nan, 6.0])
    >>> baseline.predict(np.zeros((1, 3, 1)))[0, :, 0]
    array([3., 3.])
    """

    name = "mean"

    def __init__(self, horizon: int, targets: int | Sequence[int] = 0) -> None:
        super().__init__(horizon, targets)
        self.means: np.ndarray | None = None

    def fit(self, train_values: ArrayLike) -> Mean:
        """Stores the mean of each target channel of the training series; returns self.

        Args:
            train_values: the training rows of the series the windows are cut from, `(time,)` or
                `(time, channels)`; the channels `targets` are read.

        Raises:
            ValueError: a bad shape (named), or a target channel with no observed value.
        """
        series = _as_series(train_values, self.targets)
        observed = ~np.isnan(series)
        for channel in np.flatnonzero(~observed.any(axis=0)):
            raise ValueError(f"train_values target channel {self.targets[channel]} is all NaN: no mean to forecast "
                             "with.")
        self.means = np.where(observed, series, 0.0).sum(axis=0) / observed.sum(axis=0)
        return self

    def _forecast(self, history: np.ndarray) -> np.ndarray:
        if self.means is None:
            raise ValueError("Mean.predict called before fit: call fit(train_values) first.")
        return np.broadcast_to(self.means, (history.shape[0], self.horizon, len(self.targets))).copy()


class LinearAutoregressive(ForecastBaseline):
    """Direct multi-output linear autoregression: for each target channel, one linear map with an intercept
    from its last `order` values to its next `horizon` values, `ŷ[t+h] = b[h] + Σ_l W[l, h] y[t-order+1+l]`,
    fitted by least squares on every window of the training series (windows with a NaN are dropped).

    The ridge penalty `λ ‖W‖²` (the intercept is not penalised) is only there to keep the fit defined when
    the lagged values are collinear (a noiseless periodic series, an order longer than its period): `λ` is
    `ridge` times the mean diagonal of the centred `XᵀX`, so it is scale-free, and the default `1e-6` moves
    the coefficients of a well-posed fit by about a millionth of their size.

    Args:
        order: how many past values of the target the map reads, >= 1 and <= input_length (checked in
            `predict`).
        horizon, targets: as for `ForecastBaseline`.
        ridge: the relative ridge penalty, >= 0. Defaults to `1e-6`.

    Attributes:
        coefficients: after `fit`, `(order, horizon, len(targets))`: `coefficients[l, h, c]` weighs the value
            `order - l` steps back (oldest first) in the forecast `h + 1` steps ahead of target `c`.
        intercept: after `fit`, `(horizon, len(targets))`.

    Example:
    >>> baseline = LinearAutoregressive(order=1, horizon=2).fit(np.arange(10.0))   # y[t+h] = y[t] + h
    >>> baseline.predict(np.array([[[20.0]]]))[0, :, 0].round(4)
    array([21., 22.])
    >>> baseline.coefficients[:, :, 0].round(4), baseline.intercept[:, 0].round(4)
    (array([[1., 1.]]), array([1., 2.]))
    """

    name = "linear_autoregressive"

    def __init__(self, order: int, horizon: int, targets: int | Sequence[int] = 0, ridge: float = 1e-6) -> None:
        super().__init__(horizon, targets)
        self.order = validate_positive_int("order", order)
        if isinstance(ridge, bool) or not isinstance(ridge, (int, float)) or not ridge >= 0 or ridge == float("inf"):
            raise ValueError(f"Received an invalid value for argument `ridge`: {ridge!r}. Expected a finite number "
                             ">= 0 (the penalty relative to the mean variance of the lagged values).")
        self.ridge = float(ridge)
        self.coefficients: np.ndarray | None = None
        self.intercept: np.ndarray | None = None

    @property
    def label(self) -> str:
        return f"{self.name}({self.order})"

    @property
    def min_input_length(self) -> int:
        return self.order

    def _too_short(self, input_length: int) -> str:
        return (f"order={self.order} is longer than the input windows (input_length={input_length}): the linear "
                "autoregression reads the window's last `order` values, so it needs order <= input_length.")

    def fit(self, train_values: ArrayLike) -> LinearAutoregressive:
        """Fits one map per target channel on every complete window of the training series; returns self.

        Args:
            train_values: the training rows of the series the windows are cut from, `(time,)` or
                `(time, channels)`; the channels `targets` are read, each on its own.

        Raises:
            ValueError: a bad shape (named), or a target channel with fewer than `order + 1` complete
                windows of `order + horizon` steps (the count and the length needed named).
        """
        series = _as_series(train_values, self.targets)
        span = self.order + self.horizon
        coefficients = np.zeros((self.order, self.horizon, len(self.targets)))
        intercept = np.zeros((self.horizon, len(self.targets)))
        for channel in range(len(self.targets)):
            rows = (np.lib.stride_tricks.sliding_window_view(series[:, channel], span)
                    if series.shape[0] >= span else np.zeros((0, span)))
            rows = rows[~np.isnan(rows).any(axis=1)]
            if rows.shape[0] < self.order + 1:
                raise ValueError(
                    f"train_values target channel {self.targets[channel]} gives {rows.shape[0]} complete windows of order + "
                    f"horizon = {span} steps; LinearAutoregressive(order={self.order}) needs at least order + 1 = "
                    f"{self.order + 1} (a series of at least {2 * self.order + self.horizon} observed steps).")
            x, y = rows[:, :self.order], rows[:, self.order:]
            x_mean, y_mean = x.mean(axis=0), y.mean(axis=0)
            xc, yc = x - x_mean, y - y_mean
            # Ridge as least squares on rows augmented with sqrt(λ) I: no XᵀX, whose condition number
            # is the square of X's.
            penalty = self.ridge * float((xc ** 2).sum()) / self.order
            if penalty > 0:
                xc = np.vstack([xc, np.sqrt(penalty) * np.eye(self.order)])
                yc = np.vstack([yc, np.zeros((self.order, self.horizon))])
            weights = np.linalg.lstsq(xc, yc, rcond=None)[0]
            coefficients[:, :, channel] = weights
            intercept[:, channel] = y_mean - x_mean @ weights
        self.coefficients, self.intercept = coefficients, intercept
        return self

    def _forecast(self, history: np.ndarray) -> np.ndarray:
        if self.coefficients is None:
            raise ValueError("LinearAutoregressive.predict called before fit: call fit(train_values) first.")
        lags = history[:, history.shape[1] - self.order:, :]
        return np.einsum("nlc,lhc->nhc", lags, self.coefficients) + self.intercept

    def __repr__(self) -> str:
        return (f"LinearAutoregressive(order={self.order}, horizon={self.horizon}, targets={list(self.targets)}, "
                f"ridge={self.ridge})")


BASELINES: dict[str, type[ForecastBaseline]] = {
    "persistence": Persistence,
    "seasonal_naive": SeasonalNaive,
    "mean": Mean,
    "linear_autoregressive": LinearAutoregressive,
}


def build_baseline(name: str, horizon: int, targets: int | Sequence[int] = 0, **options: Any) -> ForecastBaseline:
    """The baseline registered as `name` in `BASELINES`, with its own options (`season=`, `order=`, `ridge=`).

    Example:
    >>> build_baseline("seasonal_naive", horizon=24, season=24).label
    'seasonal_naive(24)'
    """
    validate_choice("name", name, BASELINES)
    try:
        return BASELINES[name](horizon=horizon, targets=targets, **options)
    except TypeError as error:
        raise ValueError(f"Invalid options {sorted(options)} for baseline {name!r}: {error}") from None


def baseline_forecasts(train_values: ArrayLike, inputs: ArrayLike, horizon: int, *,
                       targets: int | Sequence[int] = 0, season: int = 1, order: int | None = None,
                       ridge: float = 1e-6) -> dict[str, np.ndarray]:
    """Fits every baseline on the training series and forecasts `inputs`: label → `(windows, horizon,
    len(targets))`, ready for `forecast_report` beside the RNN's forecasts of the same windows.

    The baselines are persistence, the seasonal naive forecast (only when `season > 1`: with season 1 it is
    persistence), the training mean and the linear autoregression of `order` (by default the whole input
    window, the context the RNN reads).

    Args:
        train_values: the training rows of the series the windows are cut from, `(time,)` or
            `(time, channels)`.
        inputs: the windows to forecast, `(windows, input_length, channels)`.
        horizon, targets: as for `ForecastBaseline`.
        season: the seasonal period, 1 <= season <= input_length. Defaults to 1.
        order: the autoregression's order, <= input_length. Defaults to input_length.
        ridge: the autoregression's relative ridge penalty. Defaults to `1e-6`.

    Example:
    >>> from keras_rnn.data.timeseries import make_windows
    >>> inputs = make_windows(np.arange(8.0), input_length=3, horizon=1).inputs
    >>> sorted(baseline_forecasts(np.arange(20.0), inputs, horizon=1, season=2))
    ['linear_autoregressive(3)', 'mean', 'persistence', 'seasonal_naive(2)']
    """
    windows = np.asarray(inputs)
    if windows.ndim != 3:
        raise ValueError(f"inputs has shape {windows.shape}; expected (windows, input_length, channels).")
    baselines: list[ForecastBaseline] = [Persistence(horizon, targets)]
    if validate_positive_int("season", season) > 1:
        baselines.append(SeasonalNaive(season, horizon, targets))
    baselines += [Mean(horizon, targets),
                  LinearAutoregressive(windows.shape[1] if order is None else order, horizon, targets, ridge)]
    return {baseline.label: baseline.fit(train_values).predict(windows) for baseline in baselines}
