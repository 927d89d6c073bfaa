"""Time series in CSV files → aligned arrays, calendar features, chronological splits and windows.

The data layer of forecasting (issue 17): univariate and multivariate series, one step or several ahead,
split in time order so that nothing after a boundary is ever used before it.

Reading (`read_series_csv`): a CSV file with a header line (gzip accepted), one row per time, in time order.
- Times: one column of ISO dates or times (`1949-01` for a month, `1981-01-01`, `2010-01-01 13:00`), or
  several calendar columns combined (`year,month,day,hour` in the Beijing PM2.5 file), parsed to numpy
  `datetime64` in the finest unit given (months stay `datetime64[M]`). Unsorted or repeated times are
  errors naming the two lines. The step is the most common difference between consecutive times (in
  months or years when every time falls on a month or year start); other gaps are counted, not resampled.
- Targets: the series to forecast; by default every numeric column except the time columns and a
  row-number column (`No`, `index`, an empty name or `Unnamed: 0`). Columns that are not numeric (the wind
  direction `cbwd` of the PM2.5 file) are left out of the default and named in `Series.skipped_columns`.
- Features: extra inputs known up to the forecast time (past covariates), none by default.
- Missing values (`NA`, an empty field, `nan`, `NaN`, `?`): `missing="interpolate"` (linear in time;
  leading and trailing gaps take the nearest value; counted per column), `"drop"` or `"mask"` (kept as
  NaN and counted: the window builders drop windows holding one, or the model masks them), `"raise"`.

Then, for a model:
- `calendar_features`: sin/cos encodings of month, day of year, day of month, day of week, hour;
  `default_calendar_kinds` picks them from the step.
- `chronological_split`: train, validation and test ranges in time order, the test part last.
- `Normalizer`: per-column mean and standard deviation fitted on the training rows only.
- `make_windows` / `windows_dataset`: `(inputs, targets)` windows lying wholly inside one part, as numpy
  arrays or a seeded, shuffled, batched `tf.data.Dataset`.

Example:
```python
series = read_series_csv("../shared/data/time_series/pollution.csv", time_columns=["year", "month", "day", "hour"],
                         target_columns="pm2.5", feature_columns=["DEWP", "TEMP", "PRES", "Iws", "Is", "Ir"])
split = chronological_split(len(series), test_fraction=0.2, validation_fraction=0.1, min_length=24 + 6)
scale = Normalizer.fit(series.values, rows=split.train)
windows = make_windows(scale.transform(series.values), input_length=24, horizon=6,
                       start=split.train.start, stop=split.train.stop)   # inputs (N, 24, 1), targets (N, 6, 1)
```
"""

from __future__ import annotations

import csv
import dataclasses
import math
import os
import re
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from keras_rnn.data.parallel import _open_text
from keras_rnn.validation import validate_choice, validate_fraction, validate_positive_int

MISSING_POLICIES = ("interpolate", "drop", "mask", "raise")
MISSING_TOKENS = ("NA", "", "nan", "NaN", "?")  # compared after stripping spaces
INDEX_COLUMNS = ("no", "index", "", "unnamed: 0")  # row-number columns (lower-cased), never default targets
TIME_COMPONENTS = ("year", "month", "day", "hour", "minute", "second")  # calendar columns, coarsest first
COMPONENT_RANGES = {"month": (1, 12), "day": (1, 31), "hour": (0, 23), "minute": (0, 59), "second": (0, 59)}
COMPONENT_UNITS = {"year": "Y", "month": "M", "day": "D", "hour": "h", "minute": "m", "second": "s"}
CALENDAR_KINDS = ("month", "day_of_year", "day_of_month", "day_of_week", "hour")
ACCEPTED_TIMES = ("ISO dates or times such as '1949-01' (a month), '1981-01-01', '2010-01-01 13:00' or "
                  "'2010-01-01T13:00:00'")
_ISO_TIME = re.compile(r"\d{4}-\d{2}(-\d{2}([ T]\d{2}(:\d{2}(:\d{2}(\.\d{1,9})?)?)?)?)?")
_MISSING_WORDS = {"interpolate": "filled by linear interpolation", "drop": "kept as NaN, windows holding one dropped",
                  "mask": "kept as NaN, for a mask", "raise": "none allowed"}


@dataclasses.dataclass
class Series:
    """A series read from a file: times, target values, optional features, and what was done on the way.

    Attributes:
        times: `(T,)` `datetime64` (unit of the source: `[M]` for `1949-01`, `[D]` for dates, `[h]` for
            `year,month,day,hour` columns), strictly increasing.
        values: `(T, len(target_columns))` float32, the series to forecast (NaN where missing, unless
            interpolated).
        features: `(T, len(feature_columns))` float32 extra inputs, or None.
        target_columns, feature_columns, time_columns: the column names, in file order of choice.
        source: the file read.
        missing: the missing-value policy used (one of `MISSING_POLICIES`).
        filled: per target and feature column, how many values interpolation filled in (0 unless
            `missing="interpolate"`).
        missing_counts: per target and feature column, how many values the file lacked.
        skipped_columns: columns left out of the default targets, and why (`"row number"`, `"not numeric"`,
            `"no values"`).
        lines: `(T,)` the 1-based file line of each row (0 for a series not read from a file).
        step: the most common difference between consecutive times (`numpy.timedelta64`, in months or years
            when every time falls on a month or year start); None for a single row.
        irregular: how many consecutive differences are not `step` (gaps, or denser stretches).
    """

    times: np.ndarray
    values: np.ndarray
    features: np.ndarray | None = None
    target_columns: list[str] = dataclasses.field(default_factory=list)
    feature_columns: list[str] = dataclasses.field(default_factory=list)
    time_columns: list[str] = dataclasses.field(default_factory=list)
    source: str = "<memory>"
    missing: str = "interpolate"
    filled: dict[str, int] = dataclasses.field(default_factory=dict)
    missing_counts: dict[str, int] = dataclasses.field(default_factory=dict)
    skipped_columns: dict[str, str] = dataclasses.field(default_factory=dict)
    lines: np.ndarray | None = None
    step: np.timedelta64 | None = dataclasses.field(init=False)
    irregular: int = dataclasses.field(init=False)

    def __post_init__(self):
        if self.values.ndim != 2 or len(self.values) != len(self.times):
            raise ValueError(f"{self.source}: values of shape {self.values.shape} do not match {len(self.times)} "
                             "times; expected (times, targets).")
        if self.features is not None and (self.features.ndim != 2 or len(self.features) != len(self.times)):
            raise ValueError(f"{self.source}: features of shape {self.features.shape} do not match "
                             f"{len(self.times)} times; expected (times, features).")
        if self.lines is None:
            self.lines = np.zeros(len(self.times), np.int64)
        self.step, self.irregular = detect_step(self.times)

    def __len__(self) -> int:
        return len(self.times)

    def describe(self) -> str:
        """One line for a log: rows, span, step and irregular gaps, columns, missing values, columns left out."""
        parts = [f"{len(self):,} rows"]
        if len(self):
            parts.append(f"{self.times[0]} to {self.times[-1]}")
        if self.step is not None:
            gaps = f", {self.irregular:,} irregular gap{'s' if self.irregular != 1 else ''}" if self.irregular else ""
            parts.append(f"step {step_text(self.step)}{gaps}")
        text = f"{self.source}: {', '.join(parts)}; targets: {', '.join(self.target_columns)}"
        if self.feature_columns:
            text += f"; features: {', '.join(self.feature_columns)}"
        counts = {name: count for name, count in self.missing_counts.items() if count}
        if counts:
            listed = ", ".join(f"{name} {count:,}" for name, count in counts.items())
            text += f"; missing: {listed} ({_MISSING_WORDS[self.missing]})"
        if self.skipped_columns:
            text += "; left out: " + ", ".join(f"{name or repr(name)} ({why})"
                                               for name, why in self.skipped_columns.items())
        return text


# --- Reading ------------------------------------------------------------------------------------------


def read_series_csv(
    path: str | os.PathLike,
    *,
    time_columns: str | Sequence[str] | None = None,
    target_columns: str | Sequence[str] | None = None,
    feature_columns: str | Sequence[str] | None = None,
    missing: str = "interpolate",
) -> Series:
    """Reads a time series from a CSV file with a header line (`.gz` accepted); see the module docstring.

    Args:
        path: the file.
        time_columns: one column of ISO dates or times (`"Date"`, `"Month"`), or several: calendar columns
            named `year`, `month`, `day`, `hour`, `minute`, `second` (any case; `year` and each coarser one
            required) holding whole numbers, or other columns whose values joined by a space form an ISO
            time (`["Date", "Time"]`). Defaults to the first column, when every value of it is an ISO date or
            time; otherwise an error asks for the time column(s).
        target_columns: the series to forecast. Defaults to every column other than the time and feature
            columns whose values are all numbers or missing, except a row-number column (named `No`,
            `index`, `Unnamed: 0` or nothing, any case) and columns without any value.
        feature_columns: extra numeric inputs (past covariates). Defaults to none.
        missing: what to do with missing values (`NA`, empty, `nan`, `NaN`, `?`) in target and feature
            columns, one of `MISSING_POLICIES`. Defaults to "interpolate": linear in time, leading and
            trailing gaps take the nearest value, counted in `Series.filled`. "drop" and "mask" keep NaN
            (counted in `Series.missing_counts`); "raise" refuses the first one, naming its line and column.

    Returns:
        A `Series`: `values` `(T, targets)` and `features` `(T, features)` float32, `times` `(T,)` datetime64.

    Raises:
        ValueError: naming the file and, for a bad value, its line and column: an unknown column (listing the
            file's columns), a column given two roles, a time that cannot be read (saying what is accepted),
            times out of order or repeated (naming both lines), a value that is not a number in a target or
            feature column (listing the numeric columns), a missing value under `missing="raise"`, a column
            with no value at all to interpolate from.
        FileNotFoundError: no such file.

    Example:
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "passengers.csv")
    >>> with open(path, "w") as f:
    ...     _ = f.write("Month,Passengers\\n1949-01,112\\n1949-02,NA\\n1949-03,132\\n")
    >>> series = read_series_csv(path)
    >>> series.times.dtype, series.values[:, 0].tolist(), series.filled
    (dtype('<M8[M]'), [112.0, 122.0, 132.0], {'Passengers': 1})
    >>> print(series.describe())  # doctest: +ELLIPSIS
    /.../passengers.csv: 3 rows, 1949-01 to 1949-03, step 1 month; targets: Passengers; missing: Passengers 1 (...)
    """
    validate_choice("missing", missing, MISSING_POLICIES)
    path = os.fspath(path)
    header, rows, lines = _read_table(path)
    cells = {name: [row[j] for row in rows] for j, name in enumerate(header)}
    numbers: dict[str, tuple[np.ndarray, int | None]] = {}

    def parse(name):
        if name not in numbers:
            numbers[name] = _parse_numbers(cells[name])
        return numbers[name]

    times_named = _time_columns(path, header, cells, lines, time_columns)
    features = _column_names(path, "feature_columns", feature_columns, header) or []
    targets = _column_names(path, "target_columns", target_columns, header)
    _check_roles(path, {"time": times_named, "target": targets or [], "feature": features})
    times = _parse_times(path, times_named, cells, lines)
    _check_order(path, times, lines)

    skipped = {}
    if targets is None:
        targets = []
        for name in header:
            if name in times_named or name in features:
                continue
            if name.strip().lower() in INDEX_COLUMNS:
                skipped[name] = "row number"
            elif parse(name)[1] is not None:
                skipped[name] = "not numeric"
            elif np.isnan(parse(name)[0]).all():
                skipped[name] = "no values"
            else:
                targets.append(name)
        if not targets:
            raise ValueError(f"{path}: no numeric column to forecast besides the time column(s) {times_named}; "
                             f"its columns: {header}. Name the targets with target_columns (--target-column).")
    for name in targets + features:
        values, bad = parse(name)
        if bad is not None:
            numeric = [n for n in header if n not in times_named and parse(n)[1] is None]
            raise ValueError(
                f"{path}:{lines[bad]}: column {name!r} holds {cells[name][bad]!r}, which is not a number; accepted: "
                f"a finite number, or one of {list(MISSING_TOKENS)} for a missing value. The numeric columns of "
                f"this file: {numeric}. A categorical column (such as a wind direction) cannot be a target or "
                "feature as it is: leave it out, or one-hot encode it into numeric columns yourself.")

    chosen = targets + features
    missing_counts = {name: int(np.isnan(parse(name)[0]).sum()) for name in chosen}
    if missing == "raise" and any(missing_counts.values()):
        row, name = min((int(np.flatnonzero(np.isnan(parse(n)[0]))[0]), n) for n in chosen if missing_counts[n])
        raise ValueError(f"{path}:{lines[row]}: column {name!r} is missing a value ({cells[name][row]!r}); "
                         "missing='raise' accepts none: choose missing='interpolate', 'drop' or 'mask' to read it.")
    filled = {name: 0 for name in chosen}
    columns = {}
    for name in chosen:
        values = parse(name)[0]
        if missing_counts[name] == len(values):
            raise ValueError(f"{path}: column {name!r} has no value at all ({len(values):,} missing); a target or "
                             "feature column needs at least one number.")
        if missing == "interpolate" and missing_counts[name]:
            values = _interpolate(times, values)
            filled[name] = missing_counts[name]
        columns[name] = values
    return Series(
        times=times,
        values=np.stack([columns[name] for name in targets], axis=1).astype(np.float32),
        features=np.stack([columns[name] for name in features], axis=1).astype(np.float32) if features else None,
        target_columns=list(targets), feature_columns=list(features), time_columns=list(times_named), source=path,
        missing=missing, filled=filled, missing_counts=missing_counts, skipped_columns=skipped,
        lines=np.asarray(lines, np.int64))


def _read_table(path: str) -> tuple[list[str], list[list[str]], list[int]]:
    """The header, the data rows and each row's 1-based line. Blank lines are skipped."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No such file: {path!r}; expected a CSV file with a header line.")
    with _open_text(path) as f:
        reader = csv.reader(f)
        header = next(reader, None)
        while header is not None and not any(cell.strip() for cell in header):
            header = next(reader, None)
        if header is None:
            raise ValueError(f"{path} is empty; expected a CSV file with a header line, then one row per time.")
        header = [cell.strip() for cell in header]
        header[0] = header[0].lstrip("\ufeff")  # a byte-order mark left by spreadsheet programs
        repeated = sorted({name for name in header if header.count(name) > 1})
        if repeated:
            raise ValueError(f"{path}:{reader.line_num}: the header repeats column(s) {repeated}; every column "
                             "needs its own name.")
        rows, lines = [], []
        for row in reader:
            if len(row) <= 1 and not "".join(row).strip() and len(header) > 1:
                continue
            if len(row) != len(header):
                raise ValueError(f"{path}:{reader.line_num}: {len(row)} fields, but the header names {len(header)} "
                                 f"columns ({', '.join(header)}).")
            rows.append(row)
            lines.append(reader.line_num)
    if not rows:
        raise ValueError(f"{path} holds a header but no rows; expected one row per time.")
    return header, rows, lines


def _parse_numbers(cells: list[str]) -> tuple[np.ndarray, int | None]:
    """float64 values (NaN where missing) and the index of the first cell that is not a number (or None)."""
    out = np.empty(len(cells))
    for i, cell in enumerate(cells):
        text = cell.strip()
        if text in MISSING_TOKENS:
            out[i] = np.nan
            continue
        try:
            value = float(text)
        except ValueError:
            return out, i
        if math.isinf(value):
            return out, i
        out[i] = value
    return out, None


def _names(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _column_names(path: str, argument: str, value, header: list[str]) -> list[str] | None:
    if value is None:
        return None
    names = _names(value)
    unknown = [name for name in names if name not in header]
    if unknown:
        raise ValueError(f"{path}: unknown column(s) {unknown} in {argument}; the file has columns: {header}.")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"{path}: {argument} names {repeated} more than once.")
    return names


def _check_roles(path: str, roles: dict[str, list[str]]) -> None:
    seen = {}
    for role, names in roles.items():
        for name in names:
            if name in seen:
                raise ValueError(f"{path}: column {name!r} is given as both a {seen[name]} and a {role} column; "
                                 "each column has one role.")
            seen[name] = role


def _time_columns(path, header, cells, lines, time_columns) -> list[str]:
    if time_columns is not None:
        names = _column_names(path, "time_columns", time_columns, header)
        if not names:
            raise ValueError(f"{path}: time_columns is empty; name the time column(s) among {header}.")
        return names
    first = header[0]
    bad = next((i for i, cell in enumerate(cells[first]) if not _ISO_TIME.fullmatch(cell.strip())), None)
    if bad is None:
        return [first]
    components = [name for name in header if name.strip().lower() in TIME_COMPONENTS]
    hint = (f" This file has calendar columns {components}: pass time_columns={components!r} "
            f"(--time-column {','.join(components)})." if components else "")
    raise ValueError(
        f"{path}: the first column {first!r} does not hold times ({cells[first][bad]!r} on line {lines[bad]}); "
        f"accepted: {ACCEPTED_TIMES}. Name the time column with time_columns (--time-column), e.g. 'Date', or "
        f"several calendar columns named {', '.join(TIME_COMPONENTS)}.{hint} The file's columns: {header}.")


def _parse_times(path, names, cells, lines) -> np.ndarray:
    components = [name.strip().lower() for name in names]
    # A single column named like a calendar part may still hold ISO times ("Month": "1949-01").
    whole_numbers = all(cell.strip().isdigit() for name in names for cell in cells[name])
    if all(component in TIME_COMPONENTS for component in components) and (len(names) > 1 or whole_numbers):
        return _times_from_components(path, names, components, cells, lines)
    where = names[0] if len(names) == 1 else " + ".join(names)
    texts = [" ".join(cells[name][i].strip() for name in names) for i in range(len(lines))]
    times = []
    for text, line in zip(texts, lines):
        if text in MISSING_TOKENS:
            raise ValueError(f"{path}:{line}: column {where!r} has no time ({text!r}); every row needs one.")
        if not _ISO_TIME.fullmatch(text):
            raise ValueError(f"{path}:{line}: column {where!r} holds {text!r}, which is not a time; accepted: "
                             f"{ACCEPTED_TIMES} (or calendar columns year, month, day, hour, minute, second).")
        try:
            times.append(np.datetime64(text.replace(" ", "T")))
        except ValueError as error:
            raise ValueError(f"{path}:{line}: column {where!r} holds {text!r}, which is not a time: {error}.") from None
    return np.array(times)  # the finest unit among the values: datetime64[M] for months, [D] for dates


def _times_from_components(path, names, components, cells, lines) -> np.ndarray:
    if len(set(components)) != len(components):
        raise ValueError(f"{path}: time_columns {names} name a calendar part twice.")
    needed = TIME_COMPONENTS[: max(TIME_COMPONENTS.index(c) for c in components) + 1]
    if sorted(components, key=TIME_COMPONENTS.index) != list(needed):
        raise ValueError(f"{path}: time_columns {names} are calendar columns without "
                         f"{[c for c in needed if c not in components]}; calendar columns must run from year down "
                         f"without a gap ({', '.join(TIME_COMPONENTS)}).")
    parts = {}
    for name, component in zip(names, components):
        low, high = COMPONENT_RANGES.get(component, (1, None))
        accepted = f"a whole number from {low} to {high}" if high is not None else "a whole number (the year)"
        values = np.empty(len(lines), np.int64)
        for i, cell in enumerate(cells[name]):
            text = cell.strip()
            if not text.isdigit() or int(text) < low or (high is not None and int(text) > high):
                raise ValueError(f"{path}:{lines[i]}: column {name!r} ({component}) holds {cell!r}; accepted: "
                                 f"{accepted}.")
            values[i] = int(text)
        parts[component] = values
    times = (parts["year"] - 1970).astype("datetime64[Y]")
    for component in needed[1:]:
        unit = COMPONENT_UNITS[component]
        offset = parts[component] - (1 if component in ("month", "day") else 0)
        coarser = times
        times = times.astype(f"datetime64[{unit}]") + offset.astype(f"timedelta64[{unit}]")
        if component == "day":
            bad = np.flatnonzero(times.astype("datetime64[M]") != coarser)
            if bad.size:
                i = int(bad[0])
                raise ValueError(f"{path}:{lines[i]}: day {parts['day'][i]} does not exist in {coarser[i]}; accepted: "
                                 "a day of that month.")
    return times


def _check_order(path: str, times: np.ndarray, lines: Sequence[int]) -> None:
    differences = np.diff(times)
    bad = np.flatnonzero(differences <= np.timedelta64(0))
    if not bad.size:
        return
    i = int(bad[0])
    if differences[i] == np.timedelta64(0):
        raise ValueError(f"{path}: lines {lines[i]} and {lines[i + 1]} both hold the time {times[i]}; each time "
                         "must appear once (aggregate or remove the repeated rows).")
    raise ValueError(f"{path}: times out of order: line {lines[i + 1]} ({times[i + 1]}) comes after line {lines[i]} "
                     f"({times[i]}); rows must be in increasing time order (sort the file by time).")


def _interpolate(times: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Linear in time between known values; before the first and after the last, that value (np.interp)."""
    x = times.astype(np.int64).astype(np.float64)
    known = ~np.isnan(values)
    out = values.copy()
    out[~known] = np.interp(x[~known], x[known], values[known])
    return out


# --- Spacing and calendar -----------------------------------------------------------------------------


def detect_step(times: np.ndarray) -> tuple[np.timedelta64 | None, int]:
    """The most common difference between consecutive times, and how many differences are not it.

    The step is in months (or years) when every time falls on the first of a month (or of January) at
    midnight, whatever the unit of `times`, so that a monthly series is regular although months differ in
    days. Ties go to the smaller step. A single time has no step: `(None, 0)`.

    Example:
    >>> days = np.array(["1984-12-30", "1984-12-31", "1985-01-02"], dtype="datetime64[D]")
    >>> detect_step(days)
    (np.timedelta64(1,'D'), 1)
    >>> detect_step(np.array(["1949-01-01", "1949-02-01", "1949-03-01"], dtype="datetime64[D]"))
    (np.timedelta64(1,'M'), 0)
    """
    times = np.asarray(times)
    if times.size < 2:
        return None, 0
    differences = None
    for unit in ("Y", "M"):
        coarse = times.astype(f"datetime64[{unit}]")
        if np.array_equal(coarse.astype(times.dtype), times):
            differences = np.diff(coarse)
            break
    if differences is None:
        differences = np.diff(times)
    steps, counts = np.unique(differences, return_counts=True)
    step = steps[int(np.argmax(counts))]
    return step, int(np.sum(differences != step))


_STEP_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def step_text(step: np.timedelta64) -> str:
    """`"1 month"`, `"3 hours"`, `"1 day"` for a step of any numpy unit.

    >>> step_text(np.timedelta64(1, "M")), step_text(np.timedelta64(7200, "s")), step_text(np.timedelta64(2, "D"))
    ('1 month', '2 hours', '2 days')
    """
    unit = np.datetime_data(step.dtype)[0]
    count = int(step.astype(np.int64))
    if unit in ("Y", "M"):
        name = "year" if unit == "Y" else "month"
    else:
        seconds = step / np.timedelta64(1, "s")
        for name, size in _STEP_UNITS:
            if seconds % size == 0:
                count = int(seconds // size)
                break
        else:
            return str(step)
    return f"{count} {name}{'s' if count != 1 else ''}"


def default_calendar_kinds(step: np.timedelta64 | None) -> tuple[str, ...]:
    """Calendar features worth giving a model at this step: monthly → month; daily → day of week and day of
    year; hourly (or finer) → hour and day of week; weekly up to under a year → day of year; yearly, or no
    step, → none (nothing periodic left within the step).

    Example:
    >>> default_calendar_kinds(np.timedelta64(1, "M")), default_calendar_kinds(np.timedelta64(1, "h"))
    (('month',), ('hour', 'day_of_week'))
    >>> default_calendar_kinds(np.timedelta64(1, "D")), default_calendar_kinds(np.timedelta64(1, "Y"))
    (('day_of_week', 'day_of_year'), ())
    """
    if step is None:
        return ()
    unit = np.datetime_data(step.dtype)[0]
    if unit == "Y":
        return ()
    if unit == "M":
        return ("month",) if int(step.astype(np.int64)) < 12 else ()
    seconds = step / np.timedelta64(1, "s")
    if seconds < 86400:
        return "hour", "day_of_week"
    if seconds < 7 * 86400:
        return "day_of_week", "day_of_year"
    if seconds < 365 * 86400:
        return ("day_of_year",)
    return ()


def calendar_feature_names(kinds: Sequence[str]) -> list[str]:
    """The column names of `calendar_features(times, kinds)`: `<kind>_sin`, `<kind>_cos` for each kind.

    >>> calendar_feature_names(("month", "hour"))
    ['month_sin', 'month_cos', 'hour_sin', 'hour_cos']
    """
    return [f"{kind}_{f}" for kind in kinds for f in ("sin", "cos")]


def calendar_features(times: np.ndarray, kinds: Sequence[str] = ("month", "day_of_week", "hour")) -> np.ndarray:
    """Sin/cos encodings of where each time falls in calendar cycles, so that the end of a cycle is close
    to its start (December to January, Sunday to Monday, 23:00 to 00:00).

    Kinds (`CALENDAR_KINDS`), each a phase φ in [0, 1) encoded as `sin(2πφ), cos(2πφ)`:
    - `month`: (month - 1) / 12;
    - `day_of_year`: (day of the year - 1 + time of day) / days in that year (365 or 366);
    - `day_of_month`: (day - 1) / days in that month;
    - `day_of_week`: weekday / 7, Monday = 0;
    - `hour`: time of day / 24 hours (minutes and seconds included).

    Args:
        times: `(T,)` datetime64 of any unit.
        kinds: the cycles, in output order. Defaults to month, day of week, hour; see `default_calendar_kinds`.

    Returns:
        `(T, 2 * len(kinds))` float32: for each kind, its sin then its cos column (`calendar_feature_names`).

    Example:
    >>> months = np.array(["1949-01", "1949-07", "1949-12"], dtype="datetime64[M]")
    >>> calendar_features(months, ["month"]).astype(float).round(3).tolist()
    [[0.0, 1.0], [0.0, -1.0], [-0.5, 0.866]]
    """
    times = np.asarray(times)
    if not np.issubdtype(times.dtype, np.datetime64) or times.ndim != 1:
        raise ValueError(f"calendar_features expects a 1-D datetime64 array; got {times.dtype} of shape {times.shape}.")
    if np.isnat(times).any():
        raise ValueError(f"calendar_features: times hold NaT at position {int(np.flatnonzero(np.isnat(times))[0])}.")
    kinds = list(kinds)
    for kind in kinds:
        validate_choice("kinds", kind, CALENDAR_KINDS)
    repeated = sorted({kind for kind in kinds if kinds.count(kind) > 1})
    if repeated:
        raise ValueError(f"calendar_features: kinds {repeated} given more than once.")
    seconds = times.astype("datetime64[s]")
    days, months, years = (seconds.astype(f"datetime64[{u}]") for u in ("D", "M", "Y"))
    time_of_day = (seconds - days).astype(np.int64) / 86400.0
    month_days = (months + 1).astype("datetime64[D]") - months.astype("datetime64[D]")
    year_days = (years + 1).astype("datetime64[D]") - years.astype("datetime64[D]")
    phases = {
        "month": lambda: (months - years).astype(np.int64) / 12.0,
        "day_of_year": lambda: ((days - years.astype("datetime64[D]")).astype(np.int64) + time_of_day)
        / year_days.astype(np.int64),
        "day_of_month": lambda: (days - months.astype("datetime64[D]")).astype(np.int64) / month_days.astype(np.int64),
        # 1970-01-01 was a Thursday (3 with Monday = 0); numpy's % is non-negative before 1970 too
        "day_of_week": lambda: ((days.astype(np.int64) + 3) % 7) / 7.0,
        "hour": lambda: time_of_day,
    }
    columns = []
    for kind in kinds:
        angle = 2 * np.pi * phases[kind]()
        columns += [np.sin(angle), np.cos(angle)]
    if not columns:
        return np.zeros((len(times), 0), np.float32)
    return np.stack(columns, axis=1).astype(np.float32)


# --- Splits and scaling -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ChronologicalSplit:
    """Train, validation and test ranges of a series, in time order, together covering all `n` points.

    Attributes:
        n: the number of points split.
        train: `slice(0, validation.start)`.
        validation: just before the test part; empty (`slice(k, k)`) when `validation_fraction` is 0.
        test: the last points; never to be used for any choice (epochs, hyper-parameters).
    """

    n: int
    train: slice
    validation: slice
    test: slice

    @property
    def boundaries(self) -> tuple[int, int]:
        """`(validation start, test start)`: the two indices where one part ends and the next begins."""
        return self.validation.start, self.test.start

    @property
    def lengths(self) -> dict[str, int]:
        return {name: part.stop - part.start for name, part in self.parts().items()}

    def parts(self) -> dict[str, slice]:
        return {"train": self.train, "validation": self.validation, "test": self.test}

    def describe(self) -> str:
        """`train [0, 101) 101 points, validation [101, 115) 14, test [115, 144) 29`."""
        return ", ".join(f"{name} [{part.start}, {part.stop}) {part.stop - part.start:,}"
                         for name, part in self.parts().items())


def chronological_split(
    n: int, *, test_fraction: float = 0.2, validation_fraction: float = 0.1, min_length: int = 1
) -> ChronologicalSplit:
    """Splits `n` points in time order: train first, then validation, then test (the last points).

    Part lengths are `round(n * fraction)` for test and validation (fractions of all `n` points); train holds
    the rest. A fraction of 0 leaves that part empty; every other part must hold at least `min_length`
    points: pass one window plus the horizon (`input_length + horizon`) so that each part yields a window.

    Args:
        n: the number of points.
        test_fraction: fraction in [0, 1) of the points for the test part. Defaults to 0.2.
        validation_fraction: fraction in [0, 1) for the validation part, just before the test part.
            Defaults to 0.1.
        min_length: the fewest points a non-empty part (and train, always) may hold. Defaults to 1.

    Raises:
        ValueError: a fraction outside [0, 1) or fractions summing to 1 or more; a part shorter than
            `min_length` (naming every part's length).

    Example:
    >>> split = chronological_split(144, test_fraction=0.2, validation_fraction=0.1, min_length=13)
    >>> split.describe()
    'train [0, 101) 101, validation [101, 115) 14, test [115, 144) 29'
    >>> split.boundaries
    (101, 115)
    """
    validate_positive_int("n", n)
    validate_positive_int("min_length", min_length)
    test_fraction = validate_fraction("test_fraction", test_fraction)
    validation_fraction = validate_fraction("validation_fraction", validation_fraction)
    if test_fraction + validation_fraction >= 1:
        raise ValueError(f"test_fraction {test_fraction:g} + validation_fraction {validation_fraction:g} = "
                         f"{test_fraction + validation_fraction:g} leaves no training points; their sum must be "
                         "below 1.")
    test_length = round(n * test_fraction)
    validation_length = round(n * validation_fraction)
    test_start = n - test_length
    validation_start = test_start - validation_length
    split = ChronologicalSplit(n, slice(0, validation_start), slice(validation_start, test_start), slice(test_start, n))
    fractions = {"train": 1 - test_fraction - validation_fraction, "validation": validation_fraction,
                 "test": test_fraction}
    for name, length in split.lengths.items():
        if length < min_length and (name == "train" or fractions[name] > 0):
            raise ValueError(
                f"The {name} part would hold {length:,} points ({fractions[name]:g} of {n:,}), fewer than "
                f"min_length {min_length:,} (one window of inputs plus the horizon); parts: {split.describe()}. "
                f"Shorten the window or horizon, change the fractions, or set that fraction to 0 (no such part).")
    return split


@dataclasses.dataclass
class Normalizer:
    """Per-column standardization `(x - mean) / std`, fitted on the training rows only.

    A column whose standard deviation is 0 on the training rows (constant there) gets std 1 instead, so
    that it is shifted but never divided by zero; `constant` lists those columns.

    Attributes:
        mean, std: `(columns,)` float64.
        names: the column names, when given (saved with the statistics).
        constant: indices of the columns whose std was 0 and is replaced by 1.

    Example:
    >>> values = np.array([[1.0, 5.0], [3.0, 5.0], [np.nan, 5.0], [100.0, 0.0]])
    >>> scale = Normalizer.fit(values, rows=slice(0, 3))   # the last row is not training data
    >>> scale.mean.tolist(), scale.std.tolist(), scale.constant
    ([2.0, 5.0], [1.0, 1.0], [1])
    >>> scale.transform(values[:2]).tolist()
    [[-1.0, 0.0], [1.0, 0.0]]
    >>> Normalizer.from_dict(scale.to_dict()).inverse_transform(scale.transform(values)).tolist()[3]
    [100.0, 0.0]
    """

    mean: np.ndarray
    std: np.ndarray
    names: list[str] | None = None
    constant: list[int] = dataclasses.field(default_factory=list)

    def __post_init__(self):
        self.mean = np.asarray(self.mean, np.float64).reshape(-1)
        self.std = np.asarray(self.std, np.float64).reshape(-1)
        if self.mean.shape != self.std.shape:
            raise ValueError(f"Normalizer: {self.mean.size} means but {self.std.size} standard deviations.")
        if not np.all(np.isfinite(self.std) & (self.std > 0)) or not np.all(np.isfinite(self.mean)):
            raise ValueError(f"Normalizer: means must be finite and standard deviations finite and positive; got "
                             f"mean {self.mean.tolist()}, std {self.std.tolist()}.")
        if self.names is not None and len(self.names) != self.mean.size:
            raise ValueError(f"Normalizer: {len(self.names)} names for {self.mean.size} columns.")

    @classmethod
    def fit(cls, values: np.ndarray, *, rows: slice | np.ndarray | None = None,
            names: Sequence[str] | None = None) -> Normalizer:
        """Mean and standard deviation of each column over `values[rows]`, ignoring NaN.

        Args:
            values: `(T, columns)` array (a 1-D array is one column).
            rows: the training rows (`split.train`). Defaults to all rows: only right when `values` is
                already the training part.
            names: the column names, saved with the statistics.

        Raises:
            ValueError: a column without any number in those rows.
        """
        values = _as_2d("values", values)
        part = values[rows] if rows is not None else values
        empty = [i for i in range(part.shape[1]) if not np.any(~np.isnan(part[:, i]))]
        if empty:
            which = [names[i] for i in empty] if names is not None else empty
            raise ValueError(f"Normalizer.fit: column(s) {which} hold no number in the {len(part):,} training rows; "
                             "nothing to fit.")
        mean = np.nanmean(part, axis=0, dtype=np.float64)
        std = np.nanstd(part, axis=0, dtype=np.float64)
        constant = [int(i) for i in np.flatnonzero(std == 0)]
        std[constant] = 1.0
        return cls(mean, std, list(names) if names is not None else None, constant)

    def _check(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values)
        if values.ndim == 0 or values.shape[-1] != self.mean.size:
            raise ValueError(f"Normalizer fitted on {self.mean.size} columns got values of shape {values.shape}; "
                             f"the last axis must have {self.mean.size} columns.")
        return values

    def transform(self, values: np.ndarray) -> np.ndarray:
        """`(values - mean) / std` over the last axis (any leading shape); float inputs keep their dtype,
        others become float32. NaN stays NaN."""
        values = self._check(values)
        dtype = values.dtype if np.issubdtype(values.dtype, np.floating) else np.float32
        return ((values - self.mean) / self.std).astype(dtype)

    def inverse_transform(self, values: np.ndarray) -> np.ndarray:
        """`values * std + mean`: model outputs back in the units of the data."""
        values = self._check(values)
        dtype = values.dtype if np.issubdtype(values.dtype, np.floating) else np.float32
        return (values * self.std + self.mean).astype(dtype)

    def to_dict(self) -> dict:
        """JSON-ready: `{"mean": [...], "std": [...], "names": [...] or None, "constant": [...]}`."""
        return {"mean": self.mean.tolist(), "std": self.std.tolist(), "names": self.names,
                "constant": list(self.constant)}

    @classmethod
    def from_dict(cls, config: dict) -> Normalizer:
        unknown = sorted(set(config) - {"mean", "std", "names", "constant"})
        if unknown or "mean" not in config or "std" not in config:
            raise ValueError(f"Normalizer.from_dict: expected keys mean, std (and optionally names, constant); "
                             f"got {sorted(config)}.")
        return cls(config["mean"], config["std"], config.get("names"), list(config.get("constant", [])))


def _as_2d(name: str, values) -> np.ndarray:
    values = np.asarray(values)
    if not np.issubdtype(values.dtype, np.floating):
        values = values.astype(np.float64)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2:
        raise ValueError(f"`{name}` must be a (time, columns) array or a 1-D series; got shape {values.shape}.")
    return values


# --- Windows ------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Windows:
    """Input/target windows cut from one part of a series.

    Attributes:
        inputs: `(N, input_length, channels)` float32; channels are every column of `values`, then every
            column of `features`.
        targets: `(N, horizon, len(targets))` float32: the `horizon` steps right after the inputs.
        starts: `(N,)` int64, the index of each window's first input step (its targets start at
            `starts + input_length`).
        dropped: windows inside the part left out because they held a NaN.
    """

    inputs: np.ndarray
    targets: np.ndarray
    starts: np.ndarray
    dropped: int = 0

    def __len__(self) -> int:
        return len(self.starts)

    def head(self, limit: int | None) -> Windows:
        """The first `limit` windows (all of them for None), with the count dropped kept."""
        return Windows(self.inputs[:limit], self.targets[:limit], self.starts[:limit], self.dropped)


def _window_arrays(values, features, targets):
    values = _as_2d("values", values)
    if features is not None:
        features = _as_2d("features", features)
        if len(features) != len(values):
            raise ValueError(f"`features` has {len(features):,} rows but `values` {len(values):,}; they must be "
                             "aligned in time.")
    columns = values.shape[1]
    if targets is None:
        target_columns = list(range(columns))
    else:
        target_columns = [targets] if isinstance(targets, (int, np.integer)) else list(targets)
        bad = [t for t in target_columns if isinstance(t, bool) or not isinstance(t, (int, np.integer))
               or not 0 <= t < columns]
        if bad or not target_columns:
            raise ValueError(f"Received an invalid value for argument `targets`: {targets!r}. Accepted: column "
                             f"indices of `values` from 0 to {columns - 1} (at least one), or None for all.")
    inputs = values if features is None else np.concatenate([values, features], axis=1)
    return inputs, values[:, target_columns]


def window_starts(
    values: np.ndarray,
    *,
    input_length: int,
    horizon: int,
    start: int = 0,
    stop: int | None = None,
    targets: int | Sequence[int] | None = None,
    features: np.ndarray | None = None,
    stride: int = 1,
    drop_missing: bool | str = True,
) -> tuple[np.ndarray, int]:
    """The first input index of every window lying wholly inside `[start, stop)`, and how many windows were
    dropped for holding a NaN (in an input channel, or in a target column of the target steps).

    A window starting at `s` reads inputs `[s, s + input_length)` and targets
    `[s + input_length, s + input_length + horizon)`; starts run `start, start + stride, ...` while
    `s + input_length + horizon <= stop`. See `make_windows` for the arguments.

    Example:
    >>> values = np.array([0.0, 1.0, np.nan, 3.0, 4.0, 5.0, 6.0])
    >>> window_starts(values, input_length=2, horizon=1, start=0, stop=7)
    (array([3, 4]), 3)
    >>> window_starts(values, input_length=2, horizon=1, drop_missing="targets")  # NaN inputs kept
    (array([1, 2, 3, 4]), 1)
    """
    inputs, target_values = _window_arrays(values, features, targets)
    return _clean_starts(inputs, target_values, input_length, horizon, start, stop, stride, drop_missing)


def _clean_starts(inputs, target_values, input_length, horizon, start, stop, stride, drop_missing):
    """`window_starts` on the arrays `_window_arrays` made (the callers that also cut windows make them once)."""
    input_length = validate_positive_int("input_length", input_length)
    horizon = validate_positive_int("horizon", horizon)
    stride = validate_positive_int("stride", stride)
    total = len(inputs)
    stop = total if stop is None else stop
    for name, value in (("start", start), ("stop", stop)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value <= total:
            raise ValueError(f"Received an invalid value for argument `{name}`: {value!r}. Expected an index from 0 "
                             f"to {total:,} (the series length).")
    if stop - start < input_length + horizon:
        raise ValueError(f"The part [{start}, {stop}) holds {max(stop - start, 0):,} points, fewer than one window: "
                         f"input_length {input_length} + horizon {horizon} = {input_length + horizon} points. Shorten "
                         "the window or horizon, or give this part more points.")
    if drop_missing not in (True, False, "targets"):
        raise ValueError(f"Received an invalid value for argument `drop_missing`: {drop_missing!r}. Accepted: True "
                         "(drop windows with a NaN anywhere), 'targets' (only in their target steps), False.")
    starts = np.arange(start, stop - input_length - horizon + 1, stride, dtype=np.int64)
    if drop_missing is False:
        return starts, 0
    # NaN counts over any range from prefix sums: one pass, whatever the number of windows.
    bad_out = np.concatenate([[0], np.cumsum(np.isnan(target_values).any(axis=1))])
    split = starts + input_length
    clean = (bad_out[split + horizon] - bad_out[split]) == 0
    if drop_missing is True:
        bad_in = np.concatenate([[0], np.cumsum(np.isnan(inputs).any(axis=1))])
        clean &= (bad_in[split] - bad_in[starts]) == 0
    return starts[clean], int(np.sum(~clean))


def make_windows(
    values: np.ndarray,
    *,
    input_length: int,
    horizon: int,
    start: int = 0,
    stop: int | None = None,
    targets: int | Sequence[int] | None = None,
    features: np.ndarray | None = None,
    stride: int = 1,
    drop_missing: bool | str = True,
) -> Windows:
    """Cuts `(inputs, targets)` windows from `values[start:stop]`, none of them reaching outside that part.

    Many-to-one is `horizon=1`; several steps ahead (many-to-many) is `horizon > 1`. Inputs hold every column
    of `values` (the other target series help too) and every column of `features`; targets hold the columns
    `targets` of `values`. A window is kept only when its inputs AND its targets lie inside `[start, stop)`:
    give one part of a `chronological_split` (`start=split.train.start, stop=split.train.stop`) and no window
    crosses into the next.

    Args:
        values: `(T, columns)` float array of the target series (a 1-D array is one column), already
            normalized if wanted.
        input_length: steps of input per window.
        horizon: steps to forecast after the inputs.
        start, stop: the part, `[start, stop)`, indices into `values`. Defaults to the whole series.
        targets: the column indices of `values` to forecast (an int for one). Defaults to all.
        features: `(T, features)` extra inputs aligned with `values`, or None.
        stride: steps between consecutive window starts. Defaults to 1.
        drop_missing: drop (and count) windows holding a NaN. Defaults to True; `"targets"` drops only those
            with a NaN among their target steps (a model that masks missing inputs, `missing="mask"`); False
            keeps every window.

    Returns:
        `Windows`: `inputs` `(N, input_length, columns + features)`, `targets` `(N, horizon, len(targets))`,
        `starts` `(N,)`, `dropped`.

    Raises:
        ValueError: the part is shorter than `input_length + horizon` (naming both numbers), or a bad argument.

    Example:
    >>> values = np.arange(10, dtype="float32")[:, None]
    >>> windows = make_windows(values, input_length=3, horizon=2, stop=7)
    >>> windows.inputs.shape, windows.targets.shape, windows.starts.tolist()
    ((3, 3, 1), (3, 2, 1), [0, 1, 2])
    >>> windows.inputs[2, :, 0].tolist(), windows.targets[2, :, 0].tolist()
    ([2.0, 3.0, 4.0], [5.0, 6.0])
    """
    inputs, target_values = _window_arrays(values, features, targets)
    starts, dropped = _clean_starts(inputs, target_values, input_length, horizon, start, stop, stride, drop_missing)
    steps = starts[:, None] + np.arange(input_length)[None, :]
    ahead = starts[:, None] + input_length + np.arange(horizon)[None, :]
    return Windows(inputs[steps].astype(np.float32), target_values[ahead].astype(np.float32), starts, dropped)


def windows_dataset(
    values: np.ndarray,
    *,
    input_length: int,
    horizon: int,
    start: int = 0,
    stop: int | None = None,
    targets: int | Sequence[int] | None = None,
    features: np.ndarray | None = None,
    stride: int = 1,
    drop_missing: bool | str = True,
    batch_size: int = 32,
    shuffle: bool = True,
    seed: int = 1337,
) -> tf.data.Dataset:
    """The windows of `make_windows` as a `tf.data.Dataset` of `(inputs, targets)` batches.

    Shuffled with `seed` (reshuffled each epoch, the same order for the same seed), batched (the last batch
    may be smaller). Windows are gathered from the series inside the pipeline, so memory holds the series
    and one start index per window, not every window. `window_starts` gives the count of dropped windows.

    Args:
        values, input_length, horizon, start, stop, targets, features, stride, drop_missing: as `make_windows`.
        batch_size: windows per batch. Defaults to 32.
        shuffle: shuffle the windows (training); False keeps time order (evaluation). Defaults to True.
        seed: the shuffle seed. Defaults to 1337.

    Returns:
        A dataset of `(inputs (batch, input_length, channels), targets (batch, horizon, len(targets)))` float32.

    Example:
    >>> dataset = windows_dataset(np.arange(10.0), input_length=3, horizon=1, start=0, stop=10, batch_size=4,
    ...                           shuffle=False)
    >>> [(x.shape, y.shape) for x, y in dataset.as_numpy_iterator()]
    [((4, 3, 1), (4, 1, 1)), ((3, 3, 1), (3, 1, 1))]
    """
    # Not keras.utils.timeseries_dataset_from_array: it pairs each input window with one target row, so a
    # horizon above 1 would need a second windowed dataset zipped to the first under the same shuffle, and it
    # can neither drop windows holding NaN nor keep a window's targets inside the part.
    batch_size = validate_positive_int("batch_size", batch_size)
    inputs, target_values = _window_arrays(values, features, targets)
    starts, _ = _clean_starts(inputs, target_values, input_length, horizon, start, stop, stride, drop_missing)
    inputs = tf.constant(inputs.astype(np.float32))
    target_values = tf.constant(target_values.astype(np.float32))
    input_steps = tf.range(input_length, dtype=tf.int64)
    target_steps = tf.range(input_length, input_length + horizon, dtype=tf.int64)

    def gather(batch_starts):
        return (tf.gather(inputs, batch_starts[:, None] + input_steps[None, :]),
                tf.gather(target_values, batch_starts[:, None] + target_steps[None, :]))

    dataset = tf.data.Dataset.from_tensor_slices(starts)
    if shuffle:
        dataset = dataset.shuffle(max(len(starts), 1), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).map(gather, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
