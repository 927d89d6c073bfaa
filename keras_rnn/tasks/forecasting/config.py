"""The forecasting task's configuration: its data, window, network parts over the shared ones."""

from __future__ import annotations

import dataclasses

from keras_rnn.core.config import DataConfig, OptimizationConfig, TaskConfig
from keras_rnn.data.timeseries import CALENDAR_KINDS, MISSING_POLICIES
from keras_rnn.models.rnn_stack import CELLS
from keras_rnn.search_space import choice, float_range, int_range
from keras_rnn.validation import validate_choice, validate_fraction, validate_positive_int

DECODERS = ("direct", "seq2seq")


def column_list(value: str | None) -> list[str] | None:
    """A comma-separated list of column names (`"year,month,day,hour"`), or None.

    Example:
    >>> column_list("year, month,day"), column_list(None)
    (['year', 'month', 'day'], None)
    """
    if value is None:
        return None
    names = [name.strip() for name in value.split(",")]
    if not all(names):
        raise ValueError(f"Received an invalid list of columns: {value!r}. Expected names separated by commas.")
    return names


def quantile_list(value: str) -> tuple[float, ...]:
    """`"0.1,0.5,0.9"` → `(0.1, 0.5, 0.9)`; `""` → `()` (point forecasts).

    Example:
    >>> quantile_list("0.1,0.5,0.9"), quantile_list("")
    ((0.1, 0.5, 0.9), ())
    """
    if not value.strip():
        return ()
    try:
        quantiles = tuple(float(part) for part in value.split(","))
    except ValueError:
        raise ValueError(f"Received an invalid value for argument `quantiles`: {value!r}. Expected numbers in "
                         "(0, 1) separated by commas, with 0.5 among them (e.g. '0.1,0.5,0.9'), or '' for point "
                         "forecasts.") from None
    if (any(not 0 < q < 1 for q in quantiles) or 0.5 not in quantiles or len(set(quantiles)) != len(quantiles)
            or list(quantiles) != sorted(quantiles)):
        raise ValueError(f"Received an invalid value for argument `quantiles`: {value!r}. Expected distinct "
                         "increasing numbers in (0, 1) with 0.5 among them (the point forecast), e.g. "
                         "'0.1,0.5,0.9', or '' for point forecasts.")
    return quantiles


def calendar_list(value: str) -> tuple[str, ...] | None:
    """`"month,hour"` → `("month", "hour")`; `""` → `()` (no calendar features); `"auto"` → None (the kinds
    of the series' step, `data.timeseries.default_calendar_kinds`).

    Example:
    >>> calendar_list("month, hour"), calendar_list(""), calendar_list("auto")
    (('month', 'hour'), (), None)
    """
    if value.strip() == "auto":
        return None
    kinds = tuple(kind.strip() for kind in value.split(",") if kind.strip())
    bad = [kind for kind in kinds if kind not in CALENDAR_KINDS]
    if bad or len(set(kinds)) != len(kinds):
        raise ValueError(f"Received an invalid value for argument `calendar`: {value!r}. Expected 'auto' (from the "
                         f"series' step), '' (none) or distinct kinds separated by commas among: "
                         f"{', '.join(CALENDAR_KINDS)}.")
    return kinds


@dataclasses.dataclass
class ForecastingData(DataConfig):
    """`DataConfig` and how a CSV series is read: the time column(s) (one, or several calendar columns
    such as `year,month,day,hour`), the columns to forecast and the extra input columns (comma-separated;
    default: every numeric column is a target), what to do with missing values, the calendar features
    added as input columns (`calendar`: `"month,day_of_week,hour"`-style kinds, `"auto"` for those of the
    series' step, `""` for none; each kind a sin and a cos column computed from the time column), and the
    share of the series, at its end, held out as the test part (never used for any choice). Validation is
    always the stretch just before the test part (`validation_fraction` of the points).

    `missing="mask"` keeps gaps as gaps: the network reads each input column filled with its training mean
    plus one 0/1 column per input column saying where a value was missing, windows whose targets hold a
    gap are left out (counted), and the export accepts NaN in a window (not infinity)."""

    time_columns: str | None = None
    target_columns: str | None = None
    feature_columns: str | None = None
    missing: str = "interpolate"
    calendar: str = ""
    test_fraction: float = 0.2

    def __post_init__(self):
        super().__post_init__()
        validate_choice("missing", self.missing, MISSING_POLICIES)
        calendar_list(self.calendar)
        validate_fraction("test_fraction", self.test_fraction)
        if self.validation_split != "chronological":
            raise ValueError(f"Received an invalid value for argument `validation_split`: {self.validation_split!r}. "
                             "A forecasting validation part is always the stretch before the test part: "
                             "'chronological'.")
        for name in ("time_columns", "target_columns", "feature_columns"):
            column_list(getattr(self, name))


@dataclasses.dataclass
class ForecastingWindows:
    """What one example is: `input_length` past steps in, the next `horizon` steps out; windows start every
    `stride` steps. `season` is the seasonal-naive baseline's period and MASE's scale (0: from the series'
    step: 12 for monthly, 7 for daily, 24 for hourly data, else 1). With `residual` the network forecasts
    each step's change from the window's last value (in training-part standard deviations) rather than
    the value: a level or trend outside the training range then needs no extrapolation by the network."""

    input_length: int = 48
    horizon: int = 1
    stride: int = 1
    season: int = 0
    residual: bool = True

    def __post_init__(self):
        for name in ("input_length", "horizon", "stride"):
            validate_positive_int(name, getattr(self, name))
        if isinstance(self.season, bool) or not isinstance(self.season, int) or self.season < 0:
            raise ValueError(f"Received an invalid value for argument `season`: {self.season!r}. Expected an integer "
                             ">= 0 (0: from the series' step).")


@dataclasses.dataclass
class ForecastingNetwork:
    """The `build_forecaster` arguments: the RNN, the decoder (`"direct"`: every step of the horizon from
    the last state at once; `"seq2seq"`: a decoder RNN steps through the horizon) and the quantiles
    (comma-separated, 0.5 among them; `""`: point forecasts trained on the mean squared error)."""

    cell: str = "lstm"
    units: int = 64
    num_layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0
    decoder: str = "direct"
    quantiles: str = "0.1,0.5,0.9"

    def __post_init__(self):
        validate_choice("cell", self.cell, CELLS)
        validate_choice("decoder", self.decoder, DECODERS)
        for name in ("units", "num_layers"):
            validate_positive_int(name, getattr(self, name))
        validate_fraction("dropout", self.dropout)
        quantile_list(self.quantiles)


class ForecastingConfig(TaskConfig):
    """Everything that defines a forecasting run: series, windows, network, optimisation.

    Example:
    >>> config = ForecastingConfig(corpus="temperatures.csv", horizon=7, input_length=60)
    >>> config.windows.horizon, config.network.quantiles, config.data.validation_split
    (7, '0.1,0.5,0.9', 'chronological')
    """

    data: ForecastingData
    windows: ForecastingWindows
    network: ForecastingNetwork
    optimization: OptimizationConfig

    task = "forecasting"
    parts = {"data": ForecastingData, "windows": ForecastingWindows, "network": ForecastingNetwork,
             "optimization": OptimizationConfig}
    defaults = {"validation_fraction": 0.1, "validation_split": "chronological", "batch_size": 64, "epochs": 30,
                "patience": 5, "learning_rate": 1e-3, "clipnorm": 1.0}
    search_space = {
        "cell": choice("simple_rnn", "lstm", "gru"),
        "units": choice(32, 64, 128),
        "num_layers": int_range(1, 2),
        "input_length": choice(24, 48, 96),
        "dropout": float_range(0.0, 0.3, step=0.1),
        "decoder": choice("direct", "seq2seq"),
        "learning_rate": float_range(3e-4, 3e-3, sampling="log"),
    }
