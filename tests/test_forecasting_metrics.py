"""Forecast metrics (keras_rnn.forecasting_metrics), baselines (keras_rnn.models.forecast_baselines) and the
pinball loss (keras_rnn.losses.PinballLoss): hand-computed figures, MASE = 1 where it must be, an AR(2)
recovered exactly, baselines that cannot read the future, a quantile regression that covers what it
should, and every error message."""

import json
import math
import re

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keras_rnn.forecasting_metrics import (
    error_by_horizon,
    forecast_report,
    format_forecast_report,
    interval_coverage,
    mae,
    mase,
    mase_scale,
    pinball_loss,
    rmse,
    validate_quantiles,
)
from keras_rnn.data.timeseries import make_windows
from keras_rnn.losses import PinballLoss
from keras_rnn.models.forecast_baselines import (
    LinearAutoregressive,
    Mean,
    Persistence,
    SeasonalNaive,
    baseline_forecasts,
    build_baseline,
)


def cut_windows(series, input_length: int, horizon: int, *, targets=0, stride: int = 1):
    """`(inputs, targets)` of every window of a whole series (the task's `make_windows`, NaN kept), float64."""
    windows = make_windows(np.asarray(series, np.float64), input_length=input_length, horizon=horizon,
                           targets=targets, stride=stride, drop_missing=False)
    return windows.inputs.astype(np.float64), windows.targets.astype(np.float64)

NAN = float("nan")


# ------------------------------------------------------------------ metrics: hand-computed values
def test_mae_and_rmse_by_hand():
    y_true = [[1.0, 2.0], [3.0, 4.0]]
    y_pred = [[2.0, 2.0], [1.0, 8.0]]  # errors 1, 0, 2, 4
    assert mae(y_true, y_pred) == pytest.approx(7 / 4)
    assert rmse(y_true, y_pred) == pytest.approx(math.sqrt(21 / 4))
    # (windows, horizon) is one target: the same figures as (windows, horizon, 1).
    assert mae(np.array(y_true)[..., None], np.array(y_pred)[..., None]) == pytest.approx(7 / 4)


def test_masked_points_are_left_out_of_every_metric():
    y_true = np.array([[[1.0], [NAN]], [[3.0], [4.0]]])
    y_pred = np.array([[[2.0], [100.0]], [[1.0], [8.0]]])  # errors 1, (masked), 2, 4
    assert mae(y_true, y_pred) == pytest.approx(7 / 3)
    assert rmse(y_true, y_pred) == pytest.approx(math.sqrt(21 / 3))
    np.testing.assert_allclose(error_by_horizon(y_true, y_pred), [1.5, 4.0])
    assert interval_coverage(y_true, y_pred - 1.5, y_pred + 1.5) == pytest.approx(1 / 3)
    # A forecast may be anything, even NaN, where the truth is masked.
    y_pred[0, 1, 0] = NAN
    assert mae(y_true, y_pred) == pytest.approx(7 / 3)


def test_mase_by_hand_and_its_scale():
    train = [1.0, 3.0, 2.0, 6.0, 4.0]
    # season 1: |2| + |-1| + |4| + |-2| = 9 over 4; season 2: |1| + |3| + |2| = 6 over 3.
    np.testing.assert_allclose(mase_scale(train, season=1), [9 / 4])
    np.testing.assert_allclose(mase_scale(train, season=2), [2.0])
    y_true, y_pred = [[5.0, 9.0]], [[4.0, 6.0]]  # MAE 2
    assert mase(y_true, y_pred, train, season=2) == pytest.approx(1.0)
    assert mase(y_true, y_pred, train, season=1) == pytest.approx(2 / (9 / 4))
    # A NaN in the training series drops the pairs it is in: season 1 keeps |2| and |4| only.
    np.testing.assert_allclose(mase_scale([1.0, 3.0, NAN, 6.0, 10.0], season=1), [3.0])


def test_mase_scales_each_target_by_its_own_series():
    train = np.array([[0.0, 0.0], [1.0, 10.0], [2.0, 20.0]])
    np.testing.assert_allclose(mase_scale(train, season=1), [1.0, 10.0])
    y_true = np.array([[[5.0, 50.0]]])
    y_pred = np.array([[[4.0, 50.0]]])  # error 1 on the unit-scale target, 0 on the other
    # Per target: (1/1 + 0/10) / 2 = 0.5; one pooled scale (5.5) would give 0.09.
    assert mase(y_true, y_pred, train, season=1) == pytest.approx(0.5)


def seasonal_with_trend(length, season=4, slope=0.5):
    """A repeating pattern plus a straight line: the seasonal naive error is season * slope at every step,
    in sample one step ahead and out of sample up to one season ahead."""
    pattern = np.array([3.0, -1.0, 4.0, 0.5, 2.0, -2.0, 1.0])[:season]
    t = np.arange(length)
    return pattern[t % season] + slope * t


@pytest.mark.parametrize("horizon", [1, 3, 4])
def test_mase_is_one_for_the_seasonal_naive_forecast_when_errors_match_in_and_out_of_sample(horizon):
    series = seasonal_with_trend(80)
    train, rest = series[:50], series[50 - 8:]
    inputs, y_true = cut_windows(rest, input_length=8, horizon=horizon)
    forecast = SeasonalNaive(season=4, horizon=horizon).predict(inputs)
    assert mase(y_true, forecast, train, season=4) == pytest.approx(1.0, abs=1e-12)
    # The persistence forecast of the same windows is scored against the same scale: not 1.
    assert mase(y_true, Persistence(horizon).predict(inputs), train, season=4) != pytest.approx(1.0, abs=0.05)


def test_pinball_loss_by_hand():
    y_true = [[[2.0], [10.0]]]
    y_pred = [[[[1.0, 4.0]], [[10.0, 10.0]]]]  # step 1: 0.1 * 1 and 0.1 * 2; step 2: exact
    assert pinball_loss(y_true, y_pred, [0.1, 0.9]) == pytest.approx((0.1 + 0.2 + 0 + 0) / 4)
    # Above the truth, the 0.9 quantile forecast costs 0.1 per unit; below it, 0.9 per unit.
    assert pinball_loss([[5.0]], [[[3.0]]], [0.9]) == pytest.approx(0.9 * 2)
    assert pinball_loss([[5.0]], [[[7.0]]], [0.9]) == pytest.approx(0.1 * 2)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-100, 100), min_size=6, max_size=6), st.lists(st.floats(-100, 100), min_size=6,
                                                                          max_size=6))
def test_pinball_loss_of_the_median_is_half_the_mae(truth, forecast):
    y_true = np.array(truth).reshape(2, 3)
    y_pred = np.array(forecast).reshape(2, 3)
    assert pinball_loss(y_true, y_pred[..., None], [0.5]) == pytest.approx(0.5 * mae(y_true, y_pred), abs=1e-9)


def test_interval_coverage_by_hand_bounds_included():
    y_true = [[1.0, 5.0, 3.0, 4.0]]
    lower = [[0.0, 0.0, 3.0, 4.5]]
    upper = [[2.0, 2.0, 4.0, 6.0]]  # inside, above, on the lower bound, below
    assert interval_coverage(y_true, lower, upper) == pytest.approx(0.5)


def test_error_by_horizon_by_hand():
    y_true = np.array([[[1.0, 10.0], [2.0, 20.0]], [[3.0, 30.0], [NAN, NAN]]])
    y_pred = np.array([[[2.0, 10.0], [2.0, 24.0]], [[3.0, 27.0], [0.0, 0.0]]])
    # step 1: errors 1, 0, 0, 3 -> 1; step 2: errors 0, 4 (second window masked) -> 2
    np.testing.assert_allclose(error_by_horizon(y_true, y_pred), [1.0, 2.0])
    # A step with no observed point has no error: NaN.
    assert np.isnan(error_by_horizon([[1.0, NAN]], [[1.0, 2.0]])[1])


# ------------------------------------------------------------------ the report
def test_forecast_report_by_hand_and_json_ready():
    y_true = np.array([[[4.0], [5.0]], [[5.0], [NAN]]])
    train = np.array([0.0, 2.0, 4.0])  # naive scale 2
    predictions = {"last": np.array([[[3.0], [3.0]], [[4.0], [4.0]]]),
                   "trend": np.array([[[4.0], [6.0]], [[5.0], [6.0]]])}
    report = forecast_report(y_true, predictions, train, season=1)
    json.dumps(report, allow_nan=False)  # no NaN, no numpy types
    assert (report["windows"], report["horizon"], report["targets"]) == (2, 2, 1)
    assert (report["points"], report["masked"], report["points_by_horizon"]) == (3, 1, [2, 1])
    assert report["mase_scale"] == [2.0]
    last = report["models"]["last"]  # errors 1, 2, 1
    assert last["mae"] == pytest.approx(4 / 3)
    assert last["rmse"] == pytest.approx(math.sqrt(6 / 3))
    assert last["mase"] == pytest.approx(4 / 3 / 2)
    assert last["by_horizon"] == {"mae": [1.0, 2.0], "rmse": [1.0, 2.0], "mase": [0.5, 1.0]}
    assert last["pinball"] is None and last["coverage"] is None
    assert report["models"]["trend"]["mae"] == pytest.approx(1 / 3)
    assert report["best"] == "trend"
    table = format_forecast_report(report)
    assert re.search(r"^\* trend\b", table, re.MULTILINE) and re.search(r"^  last\b", table, re.MULTILINE)


def test_forecast_report_masks_a_whole_step_as_none():
    y_true = np.array([[[1.0], [NAN]]])
    report = forecast_report(y_true, {"a": [[[2.0], [5.0]]]}, [0.0, 1.0, 3.0], season=1)
    assert report["models"]["a"]["by_horizon"]["mae"] == [1.0, None]
    json.dumps(report, allow_nan=False)
    assert re.search(r"^\* a .* -$", format_forecast_report(report), re.MULTILINE)  # MASE at step 2: no figure


def test_forecast_report_with_quantile_forecasts():
    y_true = np.array([[[1.0], [2.0], [3.0], [10.0]]])  # one window, 4 steps
    quantiles = [0.1, 0.25, 0.5, 0.75, 0.9]
    offsets = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    median = np.array([[[1.0], [2.5], [3.0], [5.0]]])
    quantile_forecasts = median[..., None] + offsets  # (1, 4, 1, 5)
    report = forecast_report(y_true, {"rnn": quantile_forecasts, "point": median + 1.0}, np.arange(5.0),
                             season=1, quantiles=quantiles)
    rnn = report["models"]["rnn"]
    assert rnn["mae"] == pytest.approx((0 + 0.5 + 0 + 5) / 4)  # the 0.5 quantile is the point forecast
    assert rnn["pinball"] == pytest.approx(pinball_loss(y_true, quantile_forecasts, quantiles))
    # |errors| 0, 0.5, 0, 5 to the median: [q10, q90] = median ± 2 misses only the last; [q25, q75] = ±1
    # misses it too.
    assert rnn["coverage"] == {"0.1-0.9": {"nominal": 0.8, "coverage": 0.75, "mean_width": 4.0},
                               "0.25-0.75": {"nominal": 0.5, "coverage": 0.75, "mean_width": 2.0}}
    assert report["models"]["point"]["coverage"] is None
    assert report["quantiles"] == quantiles
    json.dumps(report, allow_nan=False)
    table = format_forecast_report(report)
    assert "cov 0.1-0.9" in table and "pinball" in table


def test_forecast_report_scores_the_rnn_and_the_baselines_with_one_code_path():
    series = seasonal_with_trend(120, season=4) + np.random.default_rng(0).normal(0, 0.1, 120)
    train = series[:80]
    inputs, y_true = cut_windows(series[80 - 8:], input_length=8, horizon=4)
    predictions = baseline_forecasts(train, inputs, horizon=4, season=4, order=8)
    report = forecast_report(y_true, predictions, train, season=4)
    for name, forecast in predictions.items():
        assert report["models"][name]["mase"] == pytest.approx(mase(y_true, forecast, train, season=4))
        assert report["models"][name]["by_horizon"]["mae"] == pytest.approx(
            error_by_horizon(y_true, forecast).tolist())
    # The fitted linear AR of order 8 models trend + season; the mean does not.
    assert report["best"] == "linear_autoregressive(8)"
    assert report["models"]["mean"]["mase"] > 1


# ------------------------------------------------------------------ baselines: hand-computed forecasts
def test_windows_cut_by_hand():
    series = np.array([[0.0, 10.0], [1.0, 11.0], [2.0, 12.0], [3.0, 13.0], [4.0, 14.0], [5.0, 15.0]])
    inputs, future = cut_windows(series, input_length=2, horizon=2, stride=2)
    assert inputs.tolist() == [[[0.0, 10.0], [1.0, 11.0]], [[2.0, 12.0], [3.0, 13.0]]]
    assert future.tolist() == [[[2.0], [3.0]], [[4.0], [5.0]]]  # the target channel only
    _, both = cut_windows(series, input_length=2, horizon=1, targets=[1, 0])
    assert both[0].tolist() == [[12.0, 2.0]]


def test_persistence_and_seasonal_naive_by_hand():
    window = np.array([[[1.0, 100.0], [2.0, 200.0], [3.0, 300.0], [4.0, 400.0], [5.0, 500.0]]])
    assert Persistence(horizon=3).predict(window).tolist() == [[[5.0], [5.0], [5.0]]]
    assert Persistence(horizon=1, targets=1).predict(window).tolist() == [[[500.0]]]  # channel 1 only
    # season 2, horizon 5: the last season (4, 5) repeated: 4, 5, 4, 5, 4.
    assert SeasonalNaive(2, horizon=5).predict(window)[0, :, 0].tolist() == [4.0, 5.0, 4.0, 5.0, 4.0]
    # Two targets, in the order given: each channel from its own values.
    assert SeasonalNaive(3, horizon=2, targets=[1, 0]).predict(window)[0].tolist() == [[300.0, 3.0], [400.0, 4.0]]
    # season == input_length is allowed: the whole window is the last season.
    assert SeasonalNaive(5, horizon=6).predict(window)[0, :, 0].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 1.0]


def test_mean_by_hand():
    train = np.array([[1.0, 9.0, 0.0], [2.0, 9.0, 10.0], [NAN, 9.0, 20.0], [6.0, 9.0, NAN]])
    baseline = Mean(horizon=2, targets=[2, 0]).fit(train)  # channel 1 (a covariate, say) is not read
    forecast = baseline.predict(np.zeros((3, 1, 3)))
    assert forecast.shape == (3, 2, 2)
    np.testing.assert_allclose(forecast, np.broadcast_to([10.0, 3.0], (3, 2, 2)))


def test_linear_autoregressive_by_hand():
    # y[t+1] = y[t] + 1 on 0, 1, ..., 9: order 1 finds slope 1, intercept 1 (and 2 for two steps ahead).
    baseline = LinearAutoregressive(order=1, horizon=2).fit(np.arange(10.0))
    np.testing.assert_allclose(baseline.coefficients[:, :, 0], [[1.0, 1.0]], atol=1e-4)
    np.testing.assert_allclose(baseline.intercept[:, 0], [1.0, 2.0], atol=1e-4)
    np.testing.assert_allclose(baseline.predict([[[3.0], [7.0]]])[0, :, 0], [8.0, 9.0], atol=1e-4)


def ar2(length, a1=0.98, a2=-0.9604, c=1.0, start=(5.0, -3.0)):
    """A noiseless AR(2), y[t] = c + a1 y[t-1] + a2 y[t-2]: a slowly damped oscillation (roots 0.98 e^±iπ/3)."""
    y = np.zeros(length)
    y[:2] = start
    for t in range(2, length):
        y[t] = c + a1 * y[t - 1] + a2 * y[t - 2]
    return y


def test_linear_autoregressive_recovers_a_noiseless_ar2():
    a1, a2, c = 0.98, -0.9604, 1.0
    series = ar2(200, a1, a2, c)
    baseline = LinearAutoregressive(order=2, horizon=3).fit(series[:120])
    # One step ahead: the process itself (coefficients oldest lag first).
    np.testing.assert_allclose(baseline.coefficients[:, 0, 0], [a2, a1], atol=1e-4)
    assert baseline.intercept[0, 0] == pytest.approx(c, abs=1e-4)
    # Two steps ahead, the recursion composed: y[t+2] = c (1 + a1) + (a1² + a2) y[t] + a1 a2 y[t-1].
    np.testing.assert_allclose(baseline.coefficients[:, 1, 0], [a1 * a2, a1 * a1 + a2], atol=1e-4)
    assert baseline.intercept[1, 0] == pytest.approx(c * (1 + a1), abs=1e-4)
    # Forecasts of windows after the training part are the process's continuation.
    inputs, future = cut_windows(series[120:], input_length=4, horizon=3)
    np.testing.assert_allclose(baseline.predict(inputs), future, atol=1e-4)
    # An order above 2 makes the lags collinear with the intercept; the ridge keeps the fit defined
    # and the forecasts exact.
    wide = LinearAutoregressive(order=4, horizon=3).fit(series[:120])
    np.testing.assert_allclose(wide.predict(inputs), future, atol=1e-3)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(1, 8),
       st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=8).map(np.array))
def test_persistence_equals_seasonal_naive_with_season_1(horizon, input_length, values):
    series = np.resize(values, input_length + horizon + 6)
    inputs, _ = cut_windows(series, input_length, horizon)
    np.testing.assert_array_equal(Persistence(horizon).predict(inputs), SeasonalNaive(1, horizon).predict(inputs))


# ------------------------------------------------------------------ no peeking
def predictions_change_with_the_future(baseline, series, input_length, cut, noise):
    """Whether changing the series from index `cut` on changes a forecast of a window ending before `cut`.
    The windows are predicted in one batch with later windows, so reading another row also shows."""
    perturbed = series.copy()
    perturbed[cut:] += noise
    inputs, _ = cut_windows(series, input_length, baseline.horizon)
    moved, _ = cut_windows(perturbed, input_length, baseline.horizon)
    ends = np.arange(len(inputs)) + input_length - 1  # the last input step of each window
    before = ends < cut
    assert before.any() and (~before).any()
    return not np.array_equal(baseline.predict(inputs)[before], baseline.predict(moved)[before])


class PeekingPersistence(Persistence):
    """A baseline that cheats: it forecasts each window with the next window's last value, the true next
    value. The check below must catch it."""

    def _forecast(self, history):
        return np.repeat(np.roll(history, -1, axis=0)[:, -1:, :], self.horizon, axis=1)


def test_the_peeking_check_catches_a_baseline_that_reads_the_next_window():
    series = np.arange(30.0)
    noise = np.full(30 - 12, 5.0)
    assert predictions_change_with_the_future(PeekingPersistence(2), series, 4, 12, noise)
    assert not predictions_change_with_the_future(Persistence(2), series, 4, 12, noise)


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_baselines_never_read_values_after_the_window_end(data):
    input_length = data.draw(st.integers(2, 8), label="input_length")
    horizon = data.draw(st.integers(1, 5), label="horizon")
    length = data.draw(st.integers(input_length + horizon + 2, 40), label="length")
    series = np.array(data.draw(st.lists(st.floats(-100, 100), min_size=length, max_size=length)))
    # Some window ends before the cut, some after: windows straddling it have perturbed targets.
    cut = data.draw(st.integers(input_length, length - horizon - 1), label="cut")
    noise = np.array(data.draw(st.lists(st.floats(1, 50), min_size=length - cut, max_size=length - cut)))
    train = ar2(60)
    baselines = [Persistence(horizon), SeasonalNaive(data.draw(st.integers(1, input_length)), horizon),
                 Mean(horizon).fit(train),
                 LinearAutoregressive(data.draw(st.integers(1, input_length)), horizon).fit(train)]
    for baseline in baselines:
        assert not predictions_change_with_the_future(baseline, series, input_length, cut, noise), baseline


# ------------------------------------------------------------------ the pinball loss (Keras)
def test_pinball_loss_of_the_median_is_half_keras_mae():
    rng = np.random.default_rng(1)
    y_true = rng.normal(size=(8, 3, 2)).astype("float32")
    y_pred = rng.normal(size=(8, 3, 2, 1)).astype("float32")
    half_mae = 0.5 * float(keras.losses.MeanAbsoluteError()(y_true, y_pred[..., 0]))
    assert float(PinballLoss([0.5])(y_true, y_pred)) == pytest.approx(half_mae, rel=1e-5)


def test_pinball_loss_matches_the_numpy_metric():
    rng = np.random.default_rng(2)
    quantiles = [0.05, 0.3, 0.5, 0.95]
    y_true = rng.normal(size=(5, 4, 3)).astype("float32")
    y_pred = rng.normal(size=(5, 4, 3, 4)).astype("float32")
    expected = pinball_loss(y_true, y_pred, quantiles)
    assert float(PinballLoss(quantiles)(y_true, y_pred)) == pytest.approx(expected, rel=1e-5)
    # Sample weights shaped like y_true (a per-window vector does not broadcast in Keras): window 0 alone,
    # its sum divided by every position of the batch.
    weights = np.zeros_like(y_true)
    weights[0] = 1.0
    alone = pinball_loss(y_true[:1], y_pred[:1], quantiles) / 5
    assert float(PinballLoss(quantiles)(y_true, y_pred, sample_weight=weights)) == pytest.approx(alone, rel=1e-5)


def test_pinball_loss_serialization_round_trip():
    loss = PinballLoss([0.1, 0.5, 0.9], name="q")
    config = keras.losses.serialize(loss)
    assert config["registered_name"] == "keras_rnn>PinballLoss"
    restored = keras.losses.deserialize(config)
    assert isinstance(restored, PinballLoss) and restored.quantiles == (0.1, 0.5, 0.9) and restored.name == "q"
    assert restored.get_config() == loss.get_config()


def test_quantile_regression_with_pinball_loss_covers_80_percent():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    weights = np.array([1.0, -2.0, 0.5])

    def sample(n):
        x = rng.uniform(-1, 1, (n, 3)).astype("float32")
        noise = rng.normal(size=(n, 2, 1))  # two steps, one target, standard Gaussian noise
        return x, ((x @ weights)[:, None, None] + noise).astype("float32")

    x, y = sample(4000)
    quantiles = [0.1, 0.5, 0.9]
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2 * 1 * 3), keras.layers.Reshape((2, 1, 3))])
    model.compile(keras.optimizers.Adam(0.05), PinballLoss(quantiles))
    model.fit(x, y, batch_size=250, epochs=25, verbose=0)
    x_test, y_test = sample(4000)
    raw = model.predict(x_test, batch_size=4000, verbose=0)
    # The outputs come in the order of the quantiles (a loss with the sign flipped would swap them) ...
    assert np.mean(raw[..., 0] < raw[..., 1]) > 0.99 and np.mean(raw[..., 1] < raw[..., 2]) > 0.99
    forecast = np.sort(raw, axis=-1)  # ... and are sorted anyway, as the task will when predicting.
    coverage = interval_coverage(y_test, forecast[..., 0], forecast[..., 2])
    assert 0.76 <= coverage <= 0.84
    # The interval of a standard Gaussian between its 0.1 and 0.9 quantiles is 2 * 1.2816 wide.
    assert np.mean(forecast[..., 2] - forecast[..., 0]) == pytest.approx(2 * 1.2816, rel=0.1)
    report = forecast_report(y_test, {"linear": forecast}, y_test[:, 0, 0], season=1, quantiles=quantiles)
    assert report["models"]["linear"]["coverage"]["0.1-0.9"]["coverage"] == pytest.approx(coverage)


# ------------------------------------------------------------------ errors name what was received and accepted
def test_shape_errors_name_both_shapes():
    with pytest.raises(ValueError, match=r"y_true has shape \(2, 3\) but y_pred has shape \(2, 4\); expected "
                                         r"\(2, 3\)"):
        mae(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"y_true has shape \(6,\); expected a non-empty array shaped "
                                         r"\(windows, horizon, targets\)"):
        rmse(np.zeros(6), np.zeros(6))
    with pytest.raises(ValueError, match=r"y_true has shape \(1, 2, 1\) but y_quantile_pred has shape "
                                         r"\(1, 2, 1, 2\); expected \(1, 2, 1, 3\).*one entry per quantile"):
        pinball_loss(np.zeros((1, 2, 1)), np.zeros((1, 2, 1, 2)), [0.1, 0.5, 0.9])
    with pytest.raises(ValueError, match=r"y_true has shape \(1, 2\) but upper has shape \(2, 1\)"):
        interval_coverage(np.zeros((1, 2)), np.zeros((1, 2)), np.zeros((2, 1)))
    with pytest.raises(ValueError, match=r"y_true has shape \(1, 2, 1\) but predictions\['rnn'\] has shape "
                                         r"\(1, 3, 1\)"):
        forecast_report(np.zeros((1, 2, 1)), {"rnn": np.zeros((1, 3, 1))}, [0.0, 1.0], season=1)


def test_errors_on_masked_truth_and_non_finite_forecasts():
    with pytest.raises(ValueError, match=r"y_true holds no observed value: all 2 points are NaN"):
        mae([[NAN, NAN]], [[1.0, 2.0]])
    with pytest.raises(ValueError, match=r"y_pred is not finite at 1 observed points, the first at index "
                                         r"\(0, 1, 0\) \(window, step, target\): nan"):
        mae([[1.0, 2.0]], [[1.0, NAN]])
    with pytest.raises(ValueError, match=r"y_true is infinite at index \(0, 0\); it must hold finite values, or "
                                         "NaN"):
        mae([[math.inf]], [[1.0]])


def test_mase_errors():
    with pytest.raises(ValueError, match=r"The MASE scale of target channel 0 is 0: .*constant.*Use MAE/RMSE"):
        mase([[1.0]], [[2.0]], [3.0, 3.0, 3.0], season=1)
    with pytest.raises(ValueError, match=r"train_values has 2 time steps; the MASE scale with season=2 needs "
                                         "more than 2"):
        mase([[1.0]], [[2.0]], [1.0, 2.0], season=2)
    with pytest.raises(ValueError, match=r"train_values has shape \(3,\): 1 series, but the forecasts have 2 "
                                         r"targets; expected \(time, 2\), the training part of the target series"):
        mase(np.zeros((1, 1, 2)), np.zeros((1, 1, 2)), [1.0, 2.0, 3.0], season=1)
    with pytest.raises(ValueError, match=r"train_values has shape \(3, 3\): 3 series, but the forecasts have 2 "):
        forecast_report(np.zeros((1, 1, 2)), {"a": np.zeros((1, 1, 2))}, np.arange(9.0).reshape(3, 3), season=1)
    with pytest.raises(ValueError, match=r"argument `season`: 0. Expected a positive integer"):
        mase([[1.0]], [[2.0]], [1.0, 2.0], season=0)
    with pytest.raises(ValueError, match=r"target channel 0 has no two observed values 1 steps apart"):
        mase_scale([1.0, NAN, 2.0], season=1)


def test_quantile_and_interval_errors():
    for bad in ([], [0.9, 0.1], [0.0, 0.5], [0.5, 1.0], "0.5", [0.5, 0.5]):
        with pytest.raises(ValueError, match=rf"argument `quantiles`: {re.escape(repr(bad))}.* Expected a "
                                             r"non-empty, strictly increasing sequence of numbers in \(0, 1\)"):
            validate_quantiles(bad)
    with pytest.raises(ValueError, match=r"lower > upper at 1 observed points, the first at index \(0, 1, 0\) "
                                         r"\(window, step, target\): lower 3.0, upper 1.0.*sort quantile"):
        interval_coverage([[1.0, 2.0]], [[0.0, 3.0]], [[2.0, 1.0]])
    quantile_forecasts = {"q": np.zeros((1, 2, 1, 2))}
    with pytest.raises(ValueError, match=r"have shape \(1, 2, 1, 2\), one axis more than y_true's \(1, 2, 1\), "
                                         r"but no quantiles were given"):
        forecast_report(np.ones((1, 2, 1)), quantile_forecasts, [0.0, 1.0], season=1)
    with pytest.raises(ValueError, match=r"quantiles=\[0.1, 0.9\] holds no 0.5.*add 0.5"):
        forecast_report(np.ones((1, 2, 1)), quantile_forecasts, [0.0, 1.0], season=1, quantiles=[0.1, 0.9])
    with pytest.raises(ValueError, match=r"predictions must be a non-empty dict of model name"):
        forecast_report(np.ones((1, 2, 1)), {}, [0.0, 1.0], season=1)
    with pytest.raises(ValueError, match=r"Model names must be non-empty strings, got 3"):
        forecast_report(np.ones((1, 2, 1)), {3: np.ones((1, 2, 1))}, [0.0, 1.0], season=1)


def test_baseline_errors():
    window = np.zeros((2, 3, 1))
    with pytest.raises(ValueError, match=r"season=4 is longer than the input windows \(input_length=3\).*needs "
                                         "season <= input_length"):
        SeasonalNaive(4, horizon=2).predict(window)
    with pytest.raises(ValueError, match=r"order=5 is longer than the input windows \(input_length=3\).*needs "
                                         "order <= input_length"):
        LinearAutoregressive(5, horizon=1).fit(np.arange(30.0)).predict(window)
    with pytest.raises(ValueError, match=r"inputs has shape \(2, 3\); expected \(windows, input_length, channels\)"):
        Persistence(1).predict(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"inputs has shape \(2, 3, 1\): 1 channels, but targets=\[0, 1\]; "
                                         r"expected \(windows, input_length, channels\) with more than 1 channels"):
        Persistence(1, targets=[0, 1]).predict(window)
    with pytest.raises(ValueError, match=r"train_values has shape \(4, 1\): 1 channels, but targets=\[2\]"):
        Mean(1, targets=2).fit(np.arange(4.0))
    for bad in (-1, [], [0, 0], "0", 1.0, [True]):
        with pytest.raises(ValueError, match=rf"argument `targets`: {re.escape(repr(bad))}. Expected a channel index "
                                             ">= 0, or a non-empty sequence of distinct ones"):
            Persistence(1, targets=bad)
    with pytest.raises(ValueError, match=r"Mean.predict called before fit: call fit\(train_values\) first"):
        Mean(1).predict(window)
    with pytest.raises(ValueError, match=r"LinearAutoregressive.predict called before fit"):
        LinearAutoregressive(1, 1).predict(window)
    with pytest.raises(ValueError, match=r"train_values target channel 0 gives 2 complete windows of order \+ "
                                         r"horizon = 5 steps; LinearAutoregressive\(order=3\) needs at least order "
                                         r"\+ 1 = 4 \(a series of at least 8 observed steps\)"):
        LinearAutoregressive(3, horizon=2).fit(np.arange(6.0))
    with pytest.raises(ValueError, match=r"train_values target channel 1 is all NaN"):
        Mean(1, targets=[0, 1]).fit([[1.0, NAN], [2.0, NAN]])
    with pytest.raises(ValueError, match=r"argument `ridge`: -1.0. Expected a finite number >= 0"):
        LinearAutoregressive(1, 1, ridge=-1.0)
    with pytest.raises(ValueError, match=r"argument `season`: 0. Expected a positive integer"):
        SeasonalNaive(0, horizon=1)
    with pytest.raises(ValueError, match=r"The part \[0, 4\) holds 4 points, fewer than one window: "
                                         r"input_length 3 \+ horizon 2 = 5 points"):
        cut_windows(np.arange(4.0), 3, 2)
    with pytest.raises(ValueError, match=r"argument `name`: 'arima'. Accepted values: 'persistence', "
                                         "'seasonal_naive', 'mean', 'linear_autoregressive'"):
        build_baseline("arima", horizon=1)
    with pytest.raises(ValueError, match=r"Invalid options \['season'\] for baseline 'persistence'"):
        build_baseline("persistence", horizon=1, season=2)


def test_baseline_forecasts_and_build_baseline():
    inputs, _ = cut_windows(np.arange(12.0), input_length=4, horizon=2)
    forecasts = baseline_forecasts(np.arange(30.0), inputs, horizon=2)  # season 1: no seasonal naive
    assert list(forecasts) == ["persistence", "mean", "linear_autoregressive(4)"]
    assert all(f.shape == (len(inputs), 2, 1) for f in forecasts.values())
    baseline = build_baseline("linear_autoregressive", horizon=3, targets=[1, 0], order=2, ridge=0.0)
    assert (baseline.order, baseline.horizon, baseline.targets, baseline.ridge) == (2, 3, (1, 0), 0.0)


def test_pinball_loss_shape_and_argument_errors():
    loss = PinballLoss([0.1, 0.5, 0.9])
    with pytest.raises(ValueError, match=r"PinballLoss got y_true of shape \(2, 3, 1\) and y_pred of shape "
                                         r"\(2, 3, 1, 2\); expected y_true \(batch, horizon, targets\) and y_pred "
                                         r"\(batch, horizon, targets, 3\)"):
        loss(np.zeros((2, 3, 1)), np.zeros((2, 3, 1, 2)))
    with pytest.raises(ValueError, match=r"y_true of shape \(2, 3\) and y_pred of shape \(2, 3, 3\)"):
        loss(np.zeros((2, 3)), np.zeros((2, 3, 3)))
    with pytest.raises(ValueError, match=r"y_true of shape \(2, 4, 1\) and y_pred of shape \(2, 3, 1, 3\)"):
        loss(np.zeros((2, 4, 1)), np.zeros((2, 3, 1, 3)))
    with pytest.raises(ValueError, match=r"argument `quantiles`: \[0.5, 1.5\]"):
        PinballLoss([0.5, 1.5])
