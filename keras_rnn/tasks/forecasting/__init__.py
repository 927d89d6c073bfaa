"""Time-series forecasting (many-to-one and many-to-many): a window of past values → the next `horizon`
steps, with prediction intervals from quantile outputs (`keras-rnn train forecasting`).

The package: `config`, `pipeline` (CSV series → chronological parts → normalised windows, the compiled
forecaster, MAE / RMSE / MASE in the series' units beside the baselines), `serving` (the export and its
predictor); this module registers the task and its commands: `evaluate` (the export's figures beside the
baselines on the validation or test part) and `forecast` (CSV files in → the next horizon out).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import tensorflow as tf

from keras_rnn.core.task import Task, register
from keras_rnn.core.train import train
from keras_rnn.tasks.forecasting.config import (
    ForecastingConfig, ForecastingData, ForecastingNetwork, ForecastingWindows,
)
from keras_rnn.tasks.forecasting.pipeline import (
    FORECASTING_RUN_FILES, ForecastingResult, build_compiled_forecaster, load_finished_forecaster, make_result,
    prepare_forecasting_data, prepare_forecasting_run_data, score_forecaster, validation_scores,
)
from keras_rnn.tasks.forecasting.serving import ForecasterServer, ForecastPredictor, export_forecaster


def _export(path: str, result: ForecastingResult, *, overwrite: bool = False, beam_width: int | None = None) -> str:
    return export_forecaster(path, result.model, result.normalizer, result.config, result.targets, result.features,
                             overwrite=overwrite, metrics=result.metrics)


def _predict(path: str, texts: list[str]) -> list[dict]:
    """Each text is a CSV file: the forecast of the horizon after its last row."""
    predictor = ForecastPredictor(path)
    return [{"forecast": predictor.forecast_csv(text)} for text in texts]


def _format_prediction(text: str, row: dict) -> str:
    return "\n".join(",".join(str(value) for value in step.values()) for step in row["forecast"])


def run_forecast(args: argparse.Namespace, texts: list[str]) -> int:
    """`keras-rnn forecast MODEL FILE.csv ...`: a CSV (header, then one row a future step) per file."""
    predictor = ForecastPredictor(args.model)
    for path in texts:
        rows = predictor.forecast_csv(path)
        if args.json:
            print(json.dumps({"file": path, "forecast": rows}))
        else:
            print(",".join(rows[0]))
            for row in rows:
                print(",".join(f"{value:.6g}" if isinstance(value, float) else str(value) for value in row.values()))
    return 0


def evaluate(args: argparse.Namespace, manifest: dict) -> int:
    """The export's forecasts of one part of the series (`--split validation`, or `test`: the held-out end)
    beside the baselines fitted on the training part, through the export alone; the table goes to
    standard error, the figures (JSON) to standard output."""
    from keras_rnn.files import write_text_atomic
    from keras_rnn.forecasting_metrics import format_forecast_report
    from keras_rnn.tasks.forecasting.pipeline import score_export_part

    config = ForecastingConfig.from_dict(manifest["config"])
    if args.corpus:
        config = config.replace(corpus=args.corpus)
    if args.split not in ("validation", "test"):
        raise ValueError(f"--split {args.split!r}: a forecasting export is scored on 'validation' or 'test' (the "
                         "held-out end of the series).")
    if args.limit is not None and args.limit < 1:
        raise ValueError(f"--limit {args.limit}: expected a positive number of windows.")
    report = score_export_part(args.model, config, args.split, limit=args.limit)
    report.update(model=os.path.abspath(args.model), corpus=config.data.corpus, split=args.split)
    print(format_forecast_report(report), file=sys.stderr)
    print(json.dumps(report))
    if args.json_path:
        write_text_atomic(args.json_path, json.dumps(report, indent=2) + "\n")
    return 0


FORECASTING = register(Task(
    name="forecasting", config_class=ForecastingConfig,
    description="a window of past values → the next steps (RNN, direct or seq2seq; quantile intervals)",
    prepare=prepare_forecasting_run_data, build=build_compiled_forecaster, make_result=make_result,
    load_finished=load_finished_forecaster, export=_export, predict=_predict, format_prediction=_format_prediction,
    monitor=("val_mae", "min"), score=score_forecaster, objectives={"val_mae": "min", "val_loss": "min"},
    default_objective="val_mae", decoded_scores=validation_scores, decoded_objectives=("val_mae",),
    evaluate=evaluate, generate_command="forecast", run_generate=run_forecast,
))


def train_forecaster(
    config: ForecastingConfig,
    run_dir: str,
    *,
    overwrite: bool = False,
    strategy: str | tf.distribute.Strategy = "default",
    verbose: str | int = "auto",
) -> ForecastingResult:
    """Trains a forecaster end to end in `run_dir`, resuming a killed run found there; the best epoch is the
    one of lowest validation MAE in the series' units. Writes the run files and `normalizer.json`."""
    return train(FORECASTING, config, run_dir, overwrite=overwrite, strategy=strategy, verbose=verbose)


__all__ = ["FORECASTING", "FORECASTING_RUN_FILES", "ForecastPredictor", "ForecasterServer", "ForecastingConfig",
           "ForecastingData", "ForecastingNetwork", "ForecastingResult", "ForecastingWindows", "export_forecaster",
           "prepare_forecasting_data", "train_forecaster"]
