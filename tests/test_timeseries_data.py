"""The time-series data layer: CSV reader, missing values, spacing, calendar features, chronological splits,
normalization and windows.

Every series here is a small CSV written to `tmp_path`; the real files in ../shared/data/time_series are read
only by the `data`-marked tests at the end (skipped without them).
"""

from __future__ import annotations

import gzip
import json
import os
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keras_rnn.data.timeseries import (
    CALENDAR_KINDS,
    Normalizer,
    Series,
    calendar_feature_names,
    calendar_features,
    chronological_split,
    default_calendar_kinds,
    detect_step,
    make_windows,
    read_series_csv,
    window_starts,
    windows_dataset,
)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


# Line 1 is the header: data row k sits on line k + 1.
PASSENGERS = '"Month","Passengers"\n"1949-01",112\n"1949-02",118\n"1949-03",132\n"1949-04",129\n"1949-05",121\n'

# A pollution-like file: a row-number column, calendar columns, NA in pm2.5 (leading, inside, trailing) and a
# categorical wind direction.
POLLUTION = """No,year,month,day,hour,pm2.5,DEWP,TEMP,cbwd,Iws
1,2010,1,1,0,NA,-21,-11,NW,1.79
2,2010,1,1,1,10,-21,-12,NW,4.92
3,2010,1,1,2,NA,-21,-11,NW,6.71
4,2010,1,1,3,NA,-21,-14,cv,9.84
5,2010,1,1,4,40,-20,-12,NW,12.97
6,2010,1,1,5,NA,-19,-10,SE,16.10
"""
POLLUTION_TIME = ["year", "month", "day", "hour"]


def pollution(tmp_path, **options):
    return read_series_csv(write(tmp_path, "pollution.csv", POLLUTION), time_columns=POLLUTION_TIME, **options)


# --- Reading --------------------------------------------------------------------------------------------


def test_monthly_file_reads_months_as_datetime64_months_with_a_one_month_step(tmp_path):
    series = read_series_csv(write(tmp_path, "airline.csv", PASSENGERS))
    assert series.times.dtype == np.dtype("datetime64[M]")
    assert series.times.astype(str).tolist() == ["1949-01", "1949-02", "1949-03", "1949-04", "1949-05"]
    assert series.values.dtype == np.float32 and series.values.shape == (5, 1)
    assert series.values[:, 0].tolist() == [112, 118, 132, 129, 121]
    assert (series.target_columns, series.time_columns, series.features) == (["Passengers"], ["Month"], None)
    assert series.step == np.timedelta64(1, "M") and series.irregular == 0
    assert series.lines.tolist() == [2, 3, 4, 5, 6]
    assert series.describe().endswith("airline.csv: 5 rows, 1949-01 to 1949-05, step 1 month; targets: Passengers")


def test_daily_file_counts_irregular_gaps_without_resampling(tmp_path):
    text = "Date,Temp\n1984-12-29,1\n1984-12-30,2\n1985-01-01,3\n1985-01-02,4\n1985-01-03,5\n"  # 12-31 absent
    series = read_series_csv(write(tmp_path, "temps.csv", text))
    assert series.times.dtype == np.dtype("datetime64[D]") and len(series) == 5
    assert series.step == np.timedelta64(1, "D") and series.irregular == 1
    assert "step 1 day, 1 irregular gap;" in series.describe()


def test_pollution_like_file_combines_calendar_columns_and_leaves_out_row_numbers_and_categories(tmp_path):
    series = pollution(tmp_path)
    assert series.times.dtype == np.dtype("datetime64[h]")
    assert series.times[0] == np.datetime64("2010-01-01T00") and series.times[-1] == np.datetime64("2010-01-01T05")
    assert series.target_columns == ["pm2.5", "DEWP", "TEMP", "Iws"]
    assert series.skipped_columns == {"No": "row number", "cbwd": "not numeric"}
    assert series.step == np.timedelta64(1, "h")
    described = series.describe()
    assert "6 rows, 2010-01-01T00 to 2010-01-01T05, step 1 hour" in described
    assert "missing: pm2.5 4 (filled by linear interpolation)" in described
    assert "left out: No (row number), cbwd (not numeric)" in described


def test_interpolation_is_linear_inside_nearest_at_the_ends_and_counted_per_column(tmp_path):
    series = pollution(tmp_path)
    # pm2.5: NA, 10, NA, NA, 40, NA → the leading NA takes 10, the inner ones 20 and 30, the trailing one 40
    assert series.values[:, 0].tolist() == [10, 10, 20, 30, 40, 40]
    assert series.filled == {"pm2.5": 4, "DEWP": 0, "TEMP": 0, "Iws": 0}
    assert series.missing_counts == series.filled


def test_interpolation_is_linear_in_time_not_in_rows(tmp_path):
    text = "Date,x\n2000-01-01,0\n2000-01-02,NA\n2000-01-05,4\n"  # the gap after the NA is three days
    series = read_series_csv(write(tmp_path, "gappy.csv", text))
    assert series.values[:, 0].tolist() == [0, 1, 4]  # by row position it would be 2


@pytest.mark.parametrize("policy", ["drop", "mask"])
def test_drop_and_mask_keep_nan_and_count_it(tmp_path, policy):
    series = pollution(tmp_path, missing=policy)
    assert np.isnan(series.values[:, 0]).tolist() == [True, False, True, True, False, True]
    assert series.missing_counts["pm2.5"] == 4 and series.filled["pm2.5"] == 0 and series.missing == policy
    assert "missing: pm2.5 4 (kept as NaN" in series.describe()


def test_missing_raise_names_the_first_missing_line_and_column(tmp_path):
    text = "Date,a,b\n2000-01-01,1,2\n2000-01-02,1,?\n2000-01-03,NA,2\n"
    with pytest.raises(ValueError, match=r"timed\.csv:3: column 'b' is missing a value \('\?'\); missing='raise' "
                                         r"accepts none: choose missing='interpolate', 'drop' or 'mask'"):
        read_series_csv(write(tmp_path, "timed.csv", text), missing="raise")


def test_every_missing_token_is_read_as_missing(tmp_path):
    text = "Date,x\n2000-01-01,1\n2000-01-02,NA\n2000-01-03,\n2000-01-04,nan\n2000-01-05,NaN\n2000-01-06, ? \n" \
           "2000-01-07,7\n"
    series = read_series_csv(write(tmp_path, "tokens.csv", text), missing="drop")
    assert np.isnan(series.values[:, 0]).sum() == 5 and series.missing_counts == {"x": 5}


def test_unknown_missing_policy_lists_the_accepted_ones(tmp_path):
    accepted = r"Accepted values: 'interpolate', 'drop', 'mask', 'raise'"
    with pytest.raises(ValueError, match=r"`missing`: 'zero'\. " + accepted):
        read_series_csv(write(tmp_path, "airline.csv", PASSENGERS), missing="zero")


def test_a_categorical_target_names_file_line_column_value_and_the_numeric_columns(tmp_path):
    with pytest.raises(ValueError) as caught:
        pollution(tmp_path, target_columns=["pm2.5", "cbwd"])
    message = str(caught.value)
    assert re.search(r"pollution\.csv:2: column 'cbwd' holds 'NW', which is not a number", message)
    assert "The numeric columns of this file: ['No', 'pm2.5', 'DEWP', 'TEMP', 'Iws']" in message
    assert "one-hot encode it" in message and "'NA', '', 'nan', 'NaN', '?'" in message


def test_a_stray_word_in_a_numeric_column_is_refused_with_its_line(tmp_path):
    text = "Date,x\n2000-01-01,1\n2000-01-02,2\n2000-01-03,n/a\n"
    with pytest.raises(ValueError, match=r"words\.csv:4: column 'x' holds 'n/a', which is not a number; accepted: a "
                                         r"finite number"):
        read_series_csv(write(tmp_path, "words.csv", text), target_columns="x")
    text = "Date,x\n2000-01-01,1\n2000-01-02,inf\n"
    with pytest.raises(ValueError, match=r"inf\.csv:3: column 'x' holds 'inf'"):
        read_series_csv(write(tmp_path, "inf.csv", text), target_columns="x")


def test_default_targets_leave_out_non_numeric_and_empty_columns_and_fail_when_none_remain(tmp_path):
    text = "Date,name,empty,x\n2000-01-01,a,NA,1\n2000-01-02,b,,2\n"
    series = read_series_csv(write(tmp_path, "mixed.csv", text))
    assert series.target_columns == ["x"]
    assert series.skipped_columns == {"name": "not numeric", "empty": "no values"}
    text = "Date,name\n2000-01-01,a\n2000-01-02,b\n"
    with pytest.raises(ValueError, match=r"names\.csv: no numeric column to forecast besides the time column\(s\) "
                                         r"\['Date'\]; its columns: \['Date', 'name'\]"):
        read_series_csv(write(tmp_path, "names.csv", text))


def test_a_named_column_without_any_value_is_refused(tmp_path):
    text = "Date,x,y\n2000-01-01,1,NA\n2000-01-02,2,NA\n"
    with pytest.raises(ValueError, match=r"column 'y' has no value at all \(2 missing\)"):
        read_series_csv(write(tmp_path, "empty.csv", text), target_columns=["x", "y"])


def test_feature_columns_are_read_apart_from_the_targets(tmp_path):
    series = pollution(tmp_path, target_columns="pm2.5", feature_columns=["DEWP", "Iws"])
    assert series.target_columns == ["pm2.5"] and series.feature_columns == ["DEWP", "Iws"]
    assert series.values.shape == (6, 1) and series.features.shape == (6, 2)
    assert series.features.dtype == np.float32
    assert series.features[:, 0].tolist() == [-21, -21, -21, -21, -20, -19]
    assert "; features: DEWP, Iws;" in series.describe()
    # without target_columns, the features are not targets too
    series = pollution(tmp_path, feature_columns=["Iws"])
    assert series.target_columns == ["pm2.5", "DEWP", "TEMP"]


def test_unknown_columns_are_refused_with_the_available_columns(tmp_path):
    path = write(tmp_path, "pollution.csv", POLLUTION)
    available = re.escape("the file has columns: ['No', 'year', 'month', 'day', 'hour', 'pm2.5', 'DEWP', 'TEMP', "
                          "'cbwd', 'Iws']")
    with pytest.raises(ValueError, match=r"unknown column\(s\) \['pm25'\] in target_columns; " + available):
        read_series_csv(path, time_columns=POLLUTION_TIME, target_columns="pm25")
    with pytest.raises(ValueError, match=r"unknown column\(s\) \['dew'\] in feature_columns; " + available):
        read_series_csv(path, time_columns=POLLUTION_TIME, feature_columns=["dew"])
    with pytest.raises(ValueError, match=r"unknown column\(s\) \['Date'\] in time_columns; " + available):
        read_series_csv(path, time_columns="Date")


def test_a_column_cannot_have_two_roles(tmp_path):
    with pytest.raises(ValueError, match=r"column 'DEWP' is given as both a target and a feature column"):
        pollution(tmp_path, target_columns=["pm2.5", "DEWP"], feature_columns="DEWP")
    with pytest.raises(ValueError, match=r"column 'hour' is given as both a time and a target column"):
        pollution(tmp_path, target_columns=["hour"])


def test_default_time_column_must_hold_times_else_the_error_asks_for_it(tmp_path):
    with pytest.raises(ValueError) as caught:
        read_series_csv(write(tmp_path, "pollution.csv", POLLUTION))
    message = str(caught.value)
    assert "pollution.csv: the first column 'No' does not hold times ('1' on line 2); accepted: ISO dates" in message
    assert "time_columns (--time-column)" in message
    assert "pass time_columns=['year', 'month', 'day', 'hour'] (--time-column year,month,day,hour)" in message


def test_times_that_are_not_iso_are_refused_with_line_and_accepted_formats(tmp_path):
    text = "Date,x\n1981-01-01,1\n02/01/1981,2\n"
    with pytest.raises(ValueError, match=r"slashes\.csv:3: column 'Date' holds '02/01/1981', which is not a time; "
                                         r"accepted: ISO dates or times such as '1949-01'"):
        read_series_csv(write(tmp_path, "slashes.csv", text), time_columns="Date")
    text = "Date,x\n1981-02-28,1\n1981-02-30,2\n"
    with pytest.raises(ValueError, match=r"feb\.csv:3: column 'Date' holds '1981-02-30', which is not a time"):
        read_series_csv(write(tmp_path, "feb.csv", text))
    text = "Date,x\n1981-02-28,1\nNA,2\n"
    with pytest.raises(ValueError, match=r"notime\.csv:3: column 'Date' has no time \('NA'\); every row needs one"):
        read_series_csv(write(tmp_path, "notime.csv", text), time_columns="Date")


def test_calendar_columns_are_checked_value_by_value(tmp_path):
    text = "year,month,x\n2010,12,1\n2010,13,2\n"
    with pytest.raises(ValueError, match=r"month\.csv:3: column 'month' \(month\) holds '13'; accepted: a whole number "
                                         r"from 1 to 12"):
        read_series_csv(write(tmp_path, "month.csv", text), time_columns=["year", "month"])
    text = "year,month,day,x\n2010,4,30,1\n2010,4,31,2\n"
    with pytest.raises(ValueError, match=r"april\.csv:3: day 31 does not exist in 2010-04"):
        read_series_csv(write(tmp_path, "april.csv", text), time_columns=["year", "month", "day"])
    text = "year,month,day,hour,x\n2010,1,1,0,1\n"
    with pytest.raises(ValueError, match=r"calendar columns without \['day'\]; calendar columns must run from year"):
        read_series_csv(write(tmp_path, "nodays.csv", text), time_columns=["year", "month", "hour"])


def test_a_single_year_column_is_a_yearly_series(tmp_path):
    series = read_series_csv(write(tmp_path, "years.csv", "Year,x\n1990,1\n1991,2\n1993,3\n"), time_columns="Year")
    assert series.times.dtype == np.dtype("datetime64[Y]") and series.times[-1] == np.datetime64("1993")
    assert series.step == np.timedelta64(1, "Y") and series.irregular == 1


def test_date_and_time_columns_are_joined(tmp_path):
    text = "Date,Time,x\n2010-01-01,23:00,1\n2010-01-02,00:00,2\n2010-01-02,01:00,3\n"
    series = read_series_csv(write(tmp_path, "split.csv", text), time_columns=["Date", "Time"])
    assert series.times[1] == np.datetime64("2010-01-02T00:00") and series.step == np.timedelta64(1, "h")
    assert series.target_columns == ["x"]


def test_unsorted_and_repeated_times_name_both_lines(tmp_path):
    text = "Date,x\n2000-01-01,1\n2000-01-03,2\n2000-01-02,3\n"
    with pytest.raises(ValueError, match=r"unsorted\.csv: times out of order: line 4 \(2000-01-02\) comes after line 3 "
                                         r"\(2000-01-03\); rows must be in increasing time order"):
        read_series_csv(write(tmp_path, "unsorted.csv", text))
    text = "year,month,day,hour,x\n2010,1,1,0,1\n2010,1,1,1,2\n2010,1,1,1,3\n"
    with pytest.raises(ValueError, match=r"repeated\.csv: lines 3 and 4 both hold the time 2010-01-01T01; each time "
                                         r"must appear once"):
        read_series_csv(write(tmp_path, "repeated.csv", text), time_columns=POLLUTION_TIME)


def test_rows_with_the_wrong_number_of_fields_empty_files_and_missing_files(tmp_path):
    with pytest.raises(ValueError, match=r"short\.csv:3: 1 fields, but the header names 2 columns \(Date, x\)"):
        read_series_csv(write(tmp_path, "short.csv", "Date,x\n2000-01-01,1\n2000-01-02\n"))
    with pytest.raises(ValueError, match=r"header\.csv holds a header but no rows"):
        read_series_csv(write(tmp_path, "header.csv", "Date,x\n\n"))
    with pytest.raises(ValueError, match=r"blank\.csv is empty; expected a CSV file with a header line"):
        read_series_csv(write(tmp_path, "blank.csv", ""))
    with pytest.raises(FileNotFoundError, match=r"absent\.csv"):
        read_series_csv(str(tmp_path / "absent.csv"))


def test_gzip_files_and_blank_lines(tmp_path):
    path = tmp_path / "airline.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write(PASSENGERS + "\n\n")
    series = read_series_csv(str(path))
    assert len(series) == 5 and series.values[-1, 0] == 121


def test_series_checks_its_shapes():
    with pytest.raises(ValueError, match=r"values of shape \(3, 1\) do not match 2 times"):
        Series(np.array(["2000-01-01", "2000-01-02"], "datetime64[D]"), np.zeros((3, 1), np.float32))


# --- Spacing and calendar --------------------------------------------------------------------------------


def test_detect_step_uses_calendar_months_and_counts_other_gaps():
    month_starts = np.array(["2001-01-01", "2001-02-01", "2001-03-01", "2001-05-01"], "datetime64[D]")
    assert detect_step(month_starts) == (np.timedelta64(1, "M"), 1)
    hours = np.array(["2010-01-01T00", "2010-01-01T01", "2010-01-01T02", "2010-01-01T05"], "datetime64[s]")
    step, irregular = detect_step(hours)
    assert step == np.timedelta64(1, "h") and irregular == 1
    assert detect_step(np.array(["2000-01-01"], "datetime64[D]")) == (None, 0)


def test_default_calendar_kinds_follow_the_step():
    assert default_calendar_kinds(np.timedelta64(1, "M")) == ("month",)
    assert default_calendar_kinds(np.timedelta64(3, "M")) == ("month",)
    assert default_calendar_kinds(np.timedelta64(12, "M")) == ()
    assert default_calendar_kinds(np.timedelta64(1, "D")) == ("day_of_week", "day_of_year")
    assert default_calendar_kinds(np.timedelta64(7, "D")) == ("day_of_year",)
    assert default_calendar_kinds(np.timedelta64(1, "h")) == ("hour", "day_of_week")
    assert default_calendar_kinds(np.timedelta64(900, "s")) == ("hour", "day_of_week")
    assert default_calendar_kinds(None) == ()


def test_calendar_features_are_periodic_december_is_next_to_january():
    months = np.arange(np.datetime64("2000-01"), np.datetime64("2002-01"))
    features = calendar_features(months, ["month"])
    assert features.shape == (24, 2) and features.dtype == np.float32
    np.testing.assert_allclose(features[:12], features[12:], atol=1e-6)  # one year later, the same encoding
    distance = lambda a, b: float(np.linalg.norm(features[a] - features[b]))
    assert distance(11, 12) == pytest.approx(distance(0, 1), abs=1e-5)  # Dec → Jan is one month, like Jan → Feb
    assert distance(11, 12) < distance(0, 6) / 3
    hours = np.array(["2010-01-01T00", "2010-01-01T06", "2010-01-01T23"], "datetime64[h]")
    hourly = calendar_features(hours, ["hour"])
    np.testing.assert_allclose(hourly[:2], [[0, 1], [1, 0]], atol=1e-6)
    assert np.linalg.norm(hourly[2] - hourly[0]) < 0.3


def test_calendar_features_day_of_week_and_day_of_year():
    # 2024-01-01 was a Monday (phase 0); 1900-01-07 a Sunday (phase 6/7), before numpy's epoch
    days = np.array(["2024-01-01", "1900-01-07", "2020-12-31", "2021-01-01"], "datetime64[D]")
    week = calendar_features(days, ["day_of_week"])
    np.testing.assert_allclose(week[0], [0, 1], atol=1e-6)
    angle = 2 * np.pi * 6 / 7
    np.testing.assert_allclose(week[1], [np.sin(angle), np.cos(angle)], atol=1e-6)
    year = calendar_features(days, ["day_of_year"])
    np.testing.assert_allclose(year[3], [0, 1], atol=1e-6)
    angle = 2 * np.pi * 365 / 366  # 2020 is a leap year: December 31 is its day 366
    np.testing.assert_allclose(year[2], [np.sin(angle), np.cos(angle)], atol=1e-6)


def test_calendar_features_do_not_depend_on_the_time_unit_and_name_their_columns():
    kinds = ("month", "day_of_month", "day_of_week", "hour")
    days = np.array(["2012-02-29", "2013-07-15"], "datetime64[D]")
    np.testing.assert_allclose(calendar_features(days, kinds), calendar_features(days.astype("datetime64[s]"), kinds))
    assert calendar_features(days, kinds).shape == (2, 8)
    assert calendar_feature_names(kinds)[:3] == ["month_sin", "month_cos", "day_of_month_sin"]
    assert calendar_features(days, ()).shape == (2, 0)


def test_calendar_features_refuse_unknown_kinds_and_non_times():
    accepted = ", ".join(repr(kind) for kind in CALENDAR_KINDS)
    with pytest.raises(ValueError, match=r"`kinds`: 'weekday'\. Accepted values: " + re.escape(accepted)):
        calendar_features(np.array(["2000-01-01"], "datetime64[D]"), ["weekday"])
    with pytest.raises(ValueError, match=r"expects a 1-D datetime64 array; got float64"):
        calendar_features(np.zeros(3), ["month"])


# --- Splits and normalization -----------------------------------------------------------------------------


def test_chronological_split_puts_test_last_and_validation_just_before_it():
    split = chronological_split(144, test_fraction=0.2, validation_fraction=0.1)
    assert (split.train, split.validation, split.test) == (slice(0, 101), slice(101, 115), slice(115, 144))
    assert split.boundaries == (101, 115) and split.lengths == {"train": 101, "validation": 14, "test": 29}
    no_validation = chronological_split(10, test_fraction=0.3, validation_fraction=0)
    assert (no_validation.train, no_validation.validation, no_validation.test) == (slice(0, 7), slice(7, 7),
                                                                                   slice(7, 10))


def test_chronological_split_refuses_parts_shorter_than_one_window():
    with pytest.raises(ValueError, match=r"The validation part would hold 10 points \(0\.1 of 100\), fewer than "
                                         r"min_length 13 \(one window of inputs plus the horizon\); parts: train "
                                         r"\[0, 70\) 70, validation \[70, 80\) 10, test \[80, 100\) 20"):
        chronological_split(100, min_length=13)
    with pytest.raises(ValueError, match=r"The test part would hold 0 points"):
        chronological_split(4, test_fraction=0.1, validation_fraction=0)
    with pytest.raises(ValueError, match=r"test_fraction 0\.6 \+ validation_fraction 0\.4 = 1 leaves no training"):
        chronological_split(100, test_fraction=0.6, validation_fraction=0.4)
    with pytest.raises(ValueError, match=r"`test_fraction`: 1\.5\. Expected a number in \[0, 1\)"):
        chronological_split(100, test_fraction=1.5)


def test_normalizer_is_fitted_on_the_training_part_only():
    rng = np.random.default_rng(0)
    values = rng.normal(5, 2, size=(100, 3))
    split = chronological_split(100)
    fitted = Normalizer.fit(values, rows=split.train)
    changed = values.copy()
    changed[split.validation.start:] *= 100  # validation and test values change
    refitted = Normalizer.fit(changed, rows=split.train)
    np.testing.assert_array_equal(fitted.mean, refitted.mean)
    np.testing.assert_array_equal(fitted.std, refitted.std)
    changed[0] += 50  # a training value changes: the statistics follow
    assert not np.allclose(Normalizer.fit(changed, rows=split.train).mean, fitted.mean)
    np.testing.assert_allclose(fitted.mean, values[:70].mean(axis=0))
    np.testing.assert_allclose(fitted.std, values[:70].std(axis=0))


def test_normalizer_ignores_nan_and_keeps_constant_columns_finite():
    values = np.array([[1.0, 3.0], [np.nan, 3.0], [3.0, 3.0]], np.float32)
    scale = Normalizer.fit(values, names=["x", "flat"])
    assert scale.mean.tolist() == [2.0, 3.0] and scale.std.tolist() == [1.0, 1.0] and scale.constant == [1]
    out = scale.transform(values)
    assert out.dtype == np.float32 and np.isnan(out[1, 0])
    assert out[[0, 2], 0].tolist() == [-1.0, 1.0] and out[:, 1].tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match=r"column\(s\) \['y'\] hold no number in the 2 training rows"):
        Normalizer.fit(np.array([[1.0, np.nan], [2.0, np.nan]]), names=["x", "y"])


def test_normalizer_round_trips_through_json_and_inverts():
    values = np.array([[1.0, 10.0], [2.0, 30.0], [4.0, 20.0]])
    scale = Normalizer.fit(values, rows=slice(0, 2), names=["a", "b"])
    restored = Normalizer.from_dict(json.loads(json.dumps(scale.to_dict())))
    assert restored.names == ["a", "b"] and restored.constant == []
    np.testing.assert_allclose(restored.transform(values), scale.transform(values))
    windows = np.stack([values, values])  # any leading shape: (batch, steps, columns)
    np.testing.assert_allclose(restored.inverse_transform(restored.transform(windows)), windows)
    with pytest.raises(ValueError, match=r"fitted on 2 columns got values of shape \(3, 3\)"):
        scale.transform(np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"expected keys mean, std .* got \['avg', 'std'\]"):
        Normalizer.from_dict({"avg": [0.0], "std": [1.0]})


# --- Windows ---------------------------------------------------------------------------------------------


def test_windows_hold_inputs_then_targets_with_features_and_chosen_target_columns():
    t = np.arange(12, dtype=np.float32)
    values = np.stack([t, 100 + t], axis=1)  # two series
    features = (1000 + t)[:, None]
    windows = make_windows(values, input_length=3, horizon=2, targets=[1], features=features, start=2, stop=10)
    assert windows.inputs.shape == (4, 3, 3) and windows.targets.shape == (4, 2, 1)
    assert windows.starts.tolist() == [2, 3, 4, 5] and windows.dropped == 0 and len(windows) == 4
    assert windows.inputs[0].tolist() == [[2, 102, 1002], [3, 103, 1003], [4, 104, 1004]]
    assert windows.targets[0, :, 0].tolist() == [105, 106]
    assert windows.targets[-1, :, 0].tolist() == [108, 109]  # the last target is at stop - 1
    strided = make_windows(values, input_length=3, horizon=2, stride=2, start=0, stop=12)
    assert strided.starts.tolist() == [0, 2, 4, 6] and strided.targets.shape == (4, 2, 2)


def test_windows_holding_nan_are_dropped_and_counted_or_kept_for_a_mask():
    values = np.arange(10, dtype=np.float32)
    values[5] = np.nan
    windows = make_windows(values, input_length=2, horizon=1, start=0, stop=10)
    assert windows.starts.tolist() == [0, 1, 2, 6, 7] and windows.dropped == 3  # windows 3, 4, 5 touch index 5
    assert not np.isnan(windows.inputs).any() and not np.isnan(windows.targets).any()
    kept = make_windows(values, input_length=2, horizon=1, start=0, stop=10, drop_missing=False)
    assert len(kept) == 8 and kept.dropped == 0 and np.isnan(kept.inputs).any()


def test_nan_in_a_column_that_is_not_a_target_only_matters_in_the_inputs():
    values = np.stack([np.arange(6.0), np.arange(6.0)], axis=1)
    values[4, 1] = np.nan  # column 1 is an input only
    starts, dropped = window_starts(values, input_length=2, horizon=2, targets=0, start=0, stop=6)
    # window 2 reads inputs 2-3 and targets 4-5 of column 0 only: kept; windows 0 and 1 too; none touches input 4
    assert starts.tolist() == [0, 1, 2] and dropped == 0
    # window 1 has index 4 as its target step (column 0 only): kept; window 2 reads index 4 as an input: dropped
    starts, dropped = window_starts(values, input_length=3, horizon=1, targets=0, start=0, stop=6)
    assert starts.tolist() == [0, 1] and dropped == 1
    starts, dropped = window_starts(values, input_length=3, horizon=1, start=0, stop=6)  # both columns targets
    assert starts.tolist() == [0] and dropped == 2


def test_a_part_shorter_than_one_window_names_both_numbers():
    with pytest.raises(ValueError, match=r"The part \[90, 100\) holds 10 points, fewer than one window: input_length "
                                         r"12 \+ horizon 1 = 13 points"):
        make_windows(np.zeros(100), input_length=12, horizon=1, start=90, stop=100)
    with pytest.raises(ValueError, match=r"`stop`: 101\. Expected an index from 0 to 100"):
        make_windows(np.zeros(100), input_length=2, horizon=1, start=0, stop=101)
    with pytest.raises(ValueError, match=r"`targets`: \[2\]\. Accepted: column indices of `values` from 0 to 1"):
        make_windows(np.zeros((10, 2)), input_length=2, horizon=1, targets=[2], start=0, stop=10)
    with pytest.raises(ValueError, match=r"`features` has 9 rows but `values` 10"):
        make_windows(np.zeros(10), features=np.zeros((9, 1)), input_length=2, horizon=1, start=0, stop=10)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(20, 300), test=st.floats(0.05, 0.4), validation=st.floats(0.0, 0.4),
       input_length=st.integers(1, 8), horizon=st.integers(1, 4), stride=st.integers(1, 3))
def test_no_window_crosses_a_split_boundary(n, test, validation, input_length, horizon, stride):
    try:
        split = chronological_split(n, test_fraction=test, validation_fraction=validation,
                                    min_length=input_length + horizon)
    except ValueError:
        return  # parts too short for a window: refused, which another test covers
    values = np.arange(n, dtype=np.float32)  # each value is its own index
    for name, part in split.parts().items():
        if part.stop == part.start:
            continue
        windows = make_windows(values, input_length=input_length, horizon=horizon, stride=stride,
                               start=part.start, stop=part.stop)
        assert windows.inputs.min() >= part.start and windows.targets.max() < part.stop, name
        # and no window is missing: every start from part.start while the targets fit
        expected = list(range(part.start, part.stop - input_length - horizon + 1, stride))
        assert windows.starts.tolist() == expected, name
        np.testing.assert_array_equal(windows.targets[:, 0, 0], windows.inputs[:, -1, 0] + 1)


def test_windows_dataset_yields_the_same_windows_shuffled_with_a_seed():
    values = np.stack([np.arange(40.0), -np.arange(40.0)], axis=1)
    options = {"input_length": 4, "horizon": 2, "targets": [0], "start": 5, "stop": 35}
    expected = make_windows(values, **options)

    def batches(**more):
        return list(windows_dataset(values, batch_size=8, **options, **more).as_numpy_iterator())

    ordered = batches(shuffle=False)
    inputs = np.concatenate([x for x, _ in ordered])
    targets = np.concatenate([y for _, y in ordered])
    assert ordered[0][0].dtype == np.float32 and ordered[0][0].shape == (8, 4, 2) and ordered[0][1].shape == (8, 2, 1)
    np.testing.assert_array_equal(inputs, expected.inputs)
    np.testing.assert_array_equal(targets, expected.targets)
    first = np.concatenate([x[:, 0, 0] for x, _ in batches(seed=3)])
    assert sorted(first.tolist()) == expected.starts.tolist() and first.tolist() != expected.starts.tolist()
    again = np.concatenate([x[:, 0, 0] for x, _ in batches(seed=3)])
    other = np.concatenate([x[:, 0, 0] for x, _ in batches(seed=4)])
    assert again.tolist() == first.tolist() and other.tolist() != first.tolist()


# --- The real series (../shared/data/time_series or $KERAS_RNN_DATA) --------------------------------------

DATA = os.environ.get("KERAS_RNN_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))


def need(name):
    path = os.path.join(DATA, "time_series", name)
    if not os.path.exists(path):
        pytest.skip(f"{path} not present")
    return path


@pytest.mark.data
@pytest.mark.parametrize("name, rows, column, first, last, step", [
    ("airline-passengers.csv", 144, "Passengers", "1949-01", "1960-12", np.timedelta64(1, "M")),
    ("daily-min-temperatures.csv", 3650, "Temp", "1981-01-01", "1990-12-31", np.timedelta64(1, "D")),
    ("monthly-sunspots.csv", 2820, "Sunspots", "1749-01", "1983-12", np.timedelta64(1, "M")),
])
def test_real_univariate_series(name, rows, column, first, last, step):
    series = read_series_csv(need(name), missing="raise")
    assert len(series) == rows and series.target_columns == [column] and series.step == step
    assert str(series.times[0]) == first and str(series.times[-1]) == last
    assert not np.isnan(series.values).any()
    # the Melbourne file lacks December 31 of the leap years 1984 and 1988: two 2-day gaps
    assert series.irregular == (2 if name.startswith("daily") else 0)


@pytest.mark.data
def test_real_pollution_series_has_2067_missing_pm25_values():
    path = need("pollution.csv")
    series = read_series_csv(path, time_columns=POLLUTION_TIME, target_columns="pm2.5",
                             feature_columns=["DEWP", "TEMP", "PRES", "Iws", "Is", "Ir"], missing="drop")
    assert len(series) == 43824 and series.step == np.timedelta64(1, "h") and series.irregular == 0
    assert series.missing_counts == {"pm2.5": 2067, "DEWP": 0, "TEMP": 0, "PRES": 0, "Iws": 0, "Is": 0, "Ir": 0}
    assert int(np.isnan(series.values).sum()) == 2067
    filled = read_series_csv(path, time_columns=POLLUTION_TIME)
    assert filled.filled["pm2.5"] == 2067 and not np.isnan(filled.values).any()
    assert filled.skipped_columns == {"No": "row number", "cbwd": "not numeric"}
