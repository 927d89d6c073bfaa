"""The forecasting task end to end on a generated daily series: chronological parts (the test part never
read by training), figures in the series' units beside the baselines, the export (TensorFlow alone, bad
windows refused), and the `train forecasting` / `evaluate` / `forecast` / `predict` commands."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os

import numpy as np
import pytest

from conftest import run_with_tensorflow_alone
from keras_rnn.cli import main

TINY = {"input_length": 14, "horizon": 3, "units": 8, "epochs": 3, "patience": 3, "batch_size": 32,
        "learning_rate": 0.01}


def write_series(path, days: int = 500, seed: int = 0, *, test_scale: float = 1.0, feature: bool = False,
                 gaps: tuple[int, ...] = ()) -> str:
    """A daily series: a weekly cycle plus noise, around 20; the last 20% multiplied by `test_scale`; `NA` on
    the rows (0-based) `gaps`."""
    rng = np.random.default_rng(seed)
    dates = np.arange(np.datetime64("2001-01-01"), np.datetime64("2001-01-01") + days)
    values = 20 + 5 * np.sin(2 * np.pi * np.arange(days) / 7) + rng.normal(0, 0.5, days)
    values[int(days * 0.8):] *= test_scale
    lines = ["date,temp" + (",wind" if feature else "")]
    for i, (date, value) in enumerate(zip(dates, values)):
        lines.append(f"{date},{'NA' if i in gaps else f'{value:.4f}'}" + (f",{(i % 5) / 5:.2f}" if feature else ""))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def run_cli(argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv)
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from keras_rnn.tasks.forecasting import FORECASTING, ForecastingConfig, train_forecaster

    root = tmp_path_factory.mktemp("forecast")
    corpus = write_series(root / "series.csv")
    config = ForecastingConfig(corpus=corpus, **TINY)
    result = train_forecaster(config, str(root / "run"), verbose=0)
    export = FORECASTING.export(str(root / "export"), result)
    return {"result": result, "config": config, "export": export, "run_dir": str(root / "run"), "corpus": corpus,
            "root": root}


def test_parts_windows_and_figures_in_the_series_units(trained):
    metrics = trained["result"].metrics
    assert metrics["parts"] == {"train": 350, "validation": 50, "test": 100}
    # Training windows lie in the training part; validation windows' targets fill the validation part.
    assert metrics["train_windows"] == 350 - 14 - 3 + 1 and metrics["validation_windows"] == 50 - 3 + 1
    assert metrics["season"] == 7  # daily data
    report = metrics["val_report"]
    assert {"rnn", "persistence", "seasonal_naive(7)", "mean"} <= set(report["models"])
    assert metrics["val_mae"] == pytest.approx(report["models"]["rnn"]["mae"])
    # In the series' units: the noise is 0.5, the weekly swing 10; a normalised MAE would be far below 1.
    assert 0.3 < report["models"]["seasonal_naive(7)"]["mae"] < 1.0
    with open(os.path.join(trained["run_dir"], "history.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3 and all(float(row["val_mae"]) > 0 for row in rows)
    best = min(float(row["val_mae"]) for row in rows)
    assert metrics["val_mae"] == pytest.approx(best, rel=1e-6)  # the best epoch by validation MAE


def test_the_test_part_changes_nothing_in_training(trained, tmp_path):
    from keras_rnn.tasks.forecasting import ForecastingConfig, train_forecaster

    corpus = write_series(tmp_path / "series.csv", test_scale=3.0)  # same series, test part changed
    result = train_forecaster(ForecastingConfig(corpus=corpus, **TINY), str(tmp_path / "run"), verbose=0)
    assert result.metrics["val_mae"] == pytest.approx(trained["result"].metrics["val_mae"], rel=1e-6)
    np.testing.assert_allclose(result.normalizer.mean, trained["result"].normalizer.mean)
    for a, b in zip(result.model.get_weights(), trained["result"].model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_the_export_forecasts_with_tensorflow_alone_and_refuses_bad_windows(trained):
    script = f"""
import json
import numpy as np
import tensorflow as tf
serve = tf.saved_model.load({trained["export"]!r}).signatures["serving_default"]
window = (20 + 5 * np.sin(2 * np.pi * np.arange(14) / 7)).astype("float32").reshape(1, 14, 1)
out = serve(inputs=tf.constant(np.concatenate([window, window + 1])))
result = {{"forecast": out["forecast"].numpy().tolist(), "quantiles": out["quantiles"].numpy().tolist()}}
errors = {{}}
for name, bad in (("nan", np.where(np.arange(14)[None, :, None] == 3, np.nan, window)),
                  ("short", window[:, :10]), ("wide", np.concatenate([window, window], axis=2))):
    try:
        serve(inputs=tf.constant(bad.astype("float32")))
        errors[name] = None
    except tf.errors.InvalidArgumentError as error:
        errors[name] = error.message
result["errors"] = errors
print(json.dumps(result))
"""
    result = run_with_tensorflow_alone(script)
    forecast, quantiles = np.array(result["forecast"]), np.array(result["quantiles"])
    assert forecast.shape == (2, 3, 1) and quantiles.shape == (2, 3, 1, 3)
    assert np.all(np.diff(quantiles, axis=-1) >= 0)  # sorted
    np.testing.assert_allclose(forecast, quantiles[..., 1], rtol=1e-6)  # the median is the forecast
    assert np.all((forecast > 10) & (forecast < 30))  # the series' units
    assert "NaN or infinity" in result["errors"]["nan"]
    assert "inputs must be (batch, 14, 1)" in result["errors"]["short"]
    assert "inputs must be (batch, 14, 1)" in result["errors"]["wide"]


def test_predictor_matches_the_training_run_on_validation_windows(trained):
    from keras_rnn.data.timeseries import make_windows
    from keras_rnn.tasks.forecasting import ForecastPredictor
    from keras_rnn.tasks.forecasting.pipeline import forecast_windows

    result = trained["result"]
    series = np.loadtxt(trained["corpus"], delimiter=",", skiprows=1, usecols=1, dtype=np.float32)[:, None]
    windows = make_windows(series, input_length=14, horizon=3, start=350 - 14, stop=400)
    exported = ForecastPredictor(trained["export"]).forecast(windows.inputs)
    direct = forecast_windows(result.model, windows, result.normalizer, 1, (0.1, 0.5, 0.9), residual=True)
    np.testing.assert_allclose(exported["quantiles"], direct, rtol=1e-4, atol=1e-4)


def test_cli_train_evaluate_forecast_and_predict(tmp_path):
    corpus = write_series(tmp_path / "series.csv", feature=True)
    export = str(tmp_path / "export")
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in TINY.items()]
    status, out, err = run_cli(["train", "forecasting", "--corpus", corpus, "--target-columns", "temp",
                                "--feature-columns", "wind", "--quantiles", "", "--output", export,
                                "--run-dir", str(tmp_path / "run"), "--verbose", "0", *flags])
    assert status == 0, err
    manifest = json.loads(open(os.path.join(export, "keras_rnn.json")).read())
    assert manifest["input_columns"] == ["temp", "wind"] and manifest["quantiles"] == []
    for split in ("validation", "test"):
        status, out, err = run_cli(["evaluate", export, "--split", split])
        assert status == 0, err
        report = json.loads(out)
        assert report["split"] == split and "* best MASE" in err and "persistence" in err
    assert json.loads(run_cli(["evaluate", export])[1])["windows"] == 48
    assert json.loads(run_cli(["evaluate", export, "--split", "test"])[1])["windows"] == 98
    status, out, err = run_cli(["forecast", export, corpus])
    assert status == 0, err
    lines = out.strip().splitlines()
    assert lines[0] == "time,temp" and [line.split(",")[0] for line in lines[1:]] == [
        "2002-05-16", "2002-05-17", "2002-05-18"]  # the 3 days after the file's last one (2002-05-15)
    status, out, _ = run_cli(["predict", export, corpus, "--json"])
    assert status == 0 and len(json.loads(out)["forecast"]) == 3


@pytest.mark.parametrize("flags, message", [
    (["--target-columns", "rain"], "rain"),
    (["--input-length", "400"], "train 210 (needs 401)"),
    (["--validation-fraction", "0.001"], "The validation part would hold 0 points"),
    (["--validation-split", "random"], "always the stretch before the test part"),
    (["--quantiles", "0.1,0.9"], "0.5 among them"),
    (["--calendar", "weekday"], "'weekday'. Expected 'auto' (from the series' step), '' (none) or distinct kinds"),
])
def test_cli_bad_settings_exit_2_naming_the_value(tmp_path, flags, message):
    corpus = write_series(tmp_path / "series.csv", days=300)
    status, _, err = run_cli(["train", "forecasting", "--corpus", corpus, "--output", str(tmp_path / "out"),
                              "--epochs", "1", *flags])
    assert status == 2 and message in err
    assert not os.path.exists(tmp_path / "out")


def test_evaluate_refuses_another_split(trained):
    status, _, err = run_cli(["evaluate", trained["export"], "--split", "train"])
    assert status == 2 and "'validation' or 'test'" in err



def test_residual_forecasts_follow_a_trend_past_the_training_range(tmp_path):
    """A rising line: the test part lies above every training value. Forecasting the change from the last
    value follows it; forecasting the standardised value would have to extrapolate, and does not."""
    days = 400
    dates = np.arange(np.datetime64("2001-01-01"), np.datetime64("2001-01-01") + days)
    values = np.arange(days) * 0.5 + np.random.default_rng(1).normal(0, 0.2, days)
    corpus = tmp_path / "trend.csv"
    corpus.write_text("date,level\n" + "".join(f"{d},{v:.4f}\n" for d, v in zip(dates, values)), encoding="utf-8")
    errors = {}
    for residual in (True, False):
        export = str(tmp_path / f"export_{residual}")
        status, _, err = run_cli(["train", "forecasting", "--corpus", str(corpus), "--output", export,
                                  "--run-dir", str(tmp_path / f"run_{residual}"), "--residual" if residual else "--no-residual",
                                  "--verbose", "0", *[f"--{k.replace('_', '-')}={v}" for k, v in TINY.items()]])
        assert status == 0, err
        status, out, err = run_cli(["evaluate", export, "--split", "test"])
        assert status == 0, err
        errors[residual] = json.loads(out)["models"]["rnn"]["mae"]
    assert errors[True] < 2.0 < 10 * errors[True] < errors[False]  # the line rises 0.5 a day


# ------------------------------------------------------------------ missing values as a mask; calendar columns
def test_fill_gaps_and_the_exports_last_observed_value_agree():
    from keras_rnn.tasks.forecasting.pipeline import fill_gaps
    from keras_rnn.tasks.forecasting.serving import ForecasterServer

    rng = np.random.default_rng(1)
    values = rng.normal(size=(6, 5, 2))
    values[rng.random(values.shape) < 0.4] = np.nan
    values[0, :, 1] = np.nan  # a column with no value in its window
    values[1, -1, 0], values[1, -2, 0] = np.nan, 7.0  # last value missing: the one before it is carried
    fallback = np.array([-3.0, 4.0])
    filled = fill_gaps(values, fallback)
    assert filled[1, -1, 0] == 7.0 and np.all(filled[0, :, 1] == 4.0)
    assert not np.isnan(filled).any()
    observed = ~np.isnan(values)
    np.testing.assert_array_equal(filled[observed], values[observed])  # observed values untouched
    last = ForecasterServer._last_observed(tf_constant(values), tf_constant(fallback)).numpy()
    np.testing.assert_allclose(last, filled[:, -1:], rtol=1e-6)


def tf_constant(values):
    import tensorflow as tf

    return tf.constant(values, tf.float32)


def test_missing_mask_trains_on_gapped_inputs_and_the_export_reads_nan_as_a_gap(tmp_path):
    from keras_rnn.data.timeseries import make_windows
    from keras_rnn.tasks.forecasting import FORECASTING, ForecastingConfig, ForecastPredictor, train_forecaster
    from keras_rnn.tasks.forecasting.pipeline import forecast_windows, prepare_forecasting_data

    gaps = (20, 21, 100, 377, 390, 497)  # training, validation (377, 390) and the file's last rows
    corpus = write_series(tmp_path / "series.csv", gaps=gaps)
    config = ForecastingConfig(corpus=corpus, missing="mask", **TINY)
    data = prepare_forecasting_data(config)
    assert data.input_width == 2  # the value and its gap marker
    # A window is left out only when a gap falls among its 3 target steps: 3 per lone gap, 4 for rows 20-21.
    assert data.dropped == {"train": 4 + 3, "validation": 3 + 3}
    assert data.train_windows == 350 - 14 - 3 + 1 - data.dropped["train"]
    with_gap = np.isnan(data.validation_windows.inputs).any(axis=(1, 2))
    assert with_gap.sum() > 0 and not np.isnan(data.validation_windows.targets).any()

    result = train_forecaster(config, str(tmp_path / "run"), verbose=0)
    assert np.isfinite(result.metrics["val_mae"]) and result.metrics["val_report"]["windows"] == 48 - 6
    export = FORECASTING.export(str(tmp_path / "export"), result)
    predictor = ForecastPredictor(export)
    assert predictor.manifest["accepts_missing_values"] is True
    series = np.genfromtxt(corpus, delimiter=",", skip_header=1, usecols=1, dtype=np.float32)[:, None]
    windows = make_windows(series, input_length=14, horizon=3, start=350 - 14, stop=400, drop_missing="targets")
    exported = predictor.forecast(windows.inputs)
    assert np.isfinite(exported["quantiles"]).all()
    direct = forecast_windows(result.model, windows, result.normalizer, 1, (0.1, 0.5, 0.9), residual=True, mask=True)
    np.testing.assert_allclose(exported["quantiles"], direct, rtol=1e-4, atol=1e-4)
    rows = predictor.forecast_csv(corpus)  # its last window holds a gap (row 497)
    assert len(rows) == 3 and all(np.isfinite(row["temp"]) for row in rows)
    with pytest.raises(Exception, match="inputs hold infinity"):
        predictor.forecast(np.full((1, 14, 1), np.inf, np.float32))


def test_calendar_columns_are_inputs_the_export_names_and_forecast_csv_computes(tmp_path):
    from keras_rnn.tasks.forecasting import FORECASTING, ForecastingConfig, ForecastPredictor, train_forecaster
    from keras_rnn.tasks.forecasting.pipeline import read_series

    corpus = write_series(tmp_path / "series.csv", feature=True)
    config = ForecastingConfig(corpus=corpus, target_columns="temp", feature_columns="wind", calendar="auto", **{**TINY, "epochs": 1})
    series = read_series(config)
    assert series.feature_columns == ["wind", "day_of_week_sin", "day_of_week_cos", "day_of_year_sin",
                                      "day_of_year_cos"]
    # 2001-01-01 was a Monday (phase 0): sin 0, cos 1; the next Monday again.
    np.testing.assert_allclose(series.features[[0, 7], 1:3], [[0.0, 1.0], [0.0, 1.0]], atol=1e-6)
    assert read_series(config.replace(calendar="month")).feature_columns == ["wind", "month_sin", "month_cos"]
    assert read_series(config.replace(calendar="")).feature_columns == ["wind"]
    result = train_forecaster(config, str(tmp_path / "run"), verbose=0)
    export = FORECASTING.export(str(tmp_path / "export"), result)
    predictor = ForecastPredictor(export)
    assert predictor.manifest["input_columns"] == ["temp"] + series.feature_columns
    rows = predictor.forecast_csv(corpus)
    assert [row["time"] for row in rows] == ["2002-05-16", "2002-05-17", "2002-05-18"]
    assert all(np.isfinite(row["temp"]) for row in rows)
    with pytest.raises(ValueError, match=r"argument `calendar`: 'month,month'"):
        config.replace(calendar="month,month")
