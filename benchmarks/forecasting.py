"""Forecasting benchmark: for each series beside the repo and each horizon, trains the forecasting task's
default RNN (validation carved chronologically before the held-out end), then scores the held-out last
20% of the series, never used for any choice, beside the baselines fitted on the training part; prints
one JSON line.

    python benchmarks/forecasting.py                              # ../shared/data/time_series, every series
    python benchmarks/forecasting.py --series temperatures,airline --epochs 10

Figures: MASE (scaled by the in-sample seasonal-naive error of the training part, season as listed
below), MAE and RMSE in the series' units, the RNN's MASE against the best baseline's (the target is at
least 20% below it), and the 80% interval's coverage of the held-out points (target 75–85%).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DATA = os.environ.get("KERAS_RNN_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
# name → file, configuration values, horizons. Seasons: the year for monthly series (12), none for the
# daily temperatures (1: their cycle is the year, longer than any window here), the day for hourly PM2.5.
# Calendar columns (`calendar="auto"`: day of week and of year for daily data, hour and day of week for
# hourly) where they lowered the validation MASE: the temperatures at both horizons (0.855 → 0.841,
# 0.953 → 0.946) and PM2.5 at 24 hours (0.594 → 0.586, 1 hour unchanged); not the sunspots (12 months:
# 0.652 → 0.665) nor the airline series (too few points to read anything into).
SERIES = {
    "temperatures": ("daily-min-temperatures.csv", {"input_length": 60, "season": 1, "calendar": "auto"}, (1, 7)),
    "sunspots": ("monthly-sunspots.csv", {"input_length": 48, "season": 12}, (1, 12)),
    "pm25": ("pollution.csv", {"input_length": 72, "season": 24, "time_columns": "year,month,day,hour",
                               "target_columns": "pm2.5", "feature_columns": "DEWP,TEMP,PRES,Iws,Is,Ir",
                               "missing": "drop", "stride": 2, "calendar": "auto"}, (1, 24)),
    "airline": ("airline-passengers.csv", {"input_length": 24, "season": 12, "batch_size": 16}, (1, 12)),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=os.path.join(DATA, "time_series"), help="folder of the CSV series")
    parser.add_argument("--series", default=",".join(SERIES), help=f"any of {', '.join(SERIES)}")
    parser.add_argument("--epochs", type=int, default=None, help="epochs (default: the task's, 30)")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="a configuration field for every series (repeatable), e.g. --set calendar=auto "
                             "--set decoder=seq2seq; values are read as JSON when they parse, else as text")
    parser.add_argument("--run-dir", help="keep the runs here; rerun to resume (default: a temporary folder)")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--verbose", type=int, default=0)
    args = parser.parse_args()

    from keras_rnn.core.runs import is_finished_run
    from keras_rnn.tasks.forecasting import FORECASTING, ForecastingConfig, train_forecaster
    from keras_rnn.tasks.forecasting.pipeline import score_export_part

    from benchmarks.flags import parse_settings

    try:
        overrides = parse_settings(args.set)
    except ValueError as error:
        parser.error(f"--set {error}")
    root = args.run_dir or tempfile.mkdtemp(prefix="forecasting_benchmark_")
    figures: dict = {"data": os.path.abspath(args.data), "cpu_cores": os.cpu_count(), "overrides": overrides,
                     "series": {}}
    for name in [n.strip() for n in args.series.split(",") if n.strip()]:
        if name not in SERIES:
            parser.error(f"unknown series {name!r}; accepted: {', '.join(SERIES)}")
        file, values, horizons = SERIES[name]
        for horizon in horizons:
            options = {**values, "horizon": horizon, **({"epochs": args.epochs} if args.epochs else {}), **overrides}
            config = ForecastingConfig(corpus=os.path.join(args.data, file), **options)
            run_dir = os.path.join(root, f"{name}_h{horizon}")
            started = time.perf_counter()
            result = (FORECASTING.load_finished(config, run_dir) if is_finished_run(run_dir)
                      else train_forecaster(config, run_dir, verbose=args.verbose))
            export = FORECASTING.export(os.path.join(root, f"{name}_h{horizon}_export"), result, overwrite=True)
            report = score_export_part(export, config, "test")
            models = report["models"]
            baselines = {k: v["mase"] for k, v in models.items() if k != "rnn"}
            best = min(baselines, key=baselines.get)
            coverage = (models["rnn"]["coverage"] or {}).get("0.1-0.9", {}).get("coverage")
            entry = {
                "horizon": horizon, "test_windows": report["windows"], "season": report["season"],
                "rnn_test_mase": round(models["rnn"]["mase"], 4), "rnn_test_mae": round(models["rnn"]["mae"], 4),
                "best_baseline": best, "best_baseline_test_mase": round(baselines[best], 4),
                "mase_vs_best_baseline": round(models["rnn"]["mase"] / baselines[best] - 1, 4),
                "baselines_test_mase": {k: round(v, 4) for k, v in baselines.items()},
                "coverage_80": None if coverage is None else round(coverage, 4),
                "val_mase": round(result.metrics["val_mase"], 4),
                "val_best_baseline_mase": round(min(v["mase"] for k, v in result.metrics["val_report"]["models"].items()
                                                    if k != "rnn"), 4),
                "epochs_run": result.metrics["epochs_this_call"],
                "fit_time_s": result.metrics["fit_time_s"], "wall_s": round(time.perf_counter() - started, 1),
            }
            figures["series"][f"{name}_h{horizon}"] = entry
            print(json.dumps({f"{name}_h{horizon}": entry}), flush=True)
    from benchmarks.report import print_figures

    print_figures(figures, args.json)


if __name__ == "__main__":
    main()
