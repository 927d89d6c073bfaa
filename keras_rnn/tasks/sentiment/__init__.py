"""Sentiment / text classification: text → class, trained on labelled corpora (`keras-rnn train sentiment`).

The package: `config` (the configuration's parts), `pipeline` (corpus → batches, the compiled classifier,
results), `serving` (the layer the export traces, the predictor); this module registers the task.
"""

from __future__ import annotations

import argparse
import json
import os

import tensorflow as tf

from keras_rnn.core.task import Task, register
from keras_rnn.core.train import train
from keras_rnn.tasks.sentiment.config import (
    ClassificationData, ClassificationText, ClassifierNetwork, FineTuningOptimization, SentimentConfig,
)
from keras_rnn.tasks.sentiment.pipeline import (
    SENTIMENT_RUN_FILES, PreparedData, TrainResult, build_compiled_sentiment_model, compile_classifier,
    load_finished_sentiment, load_pretrained_encoder, make_result, prepare_sentiment_data, prepare_sentiment_run_data,
    resolve_pretrained_encoder,
)
from keras_rnn.tasks.sentiment.serving import SentimentPredictor, TextClassifierServer, export_sentiment


def _export(path: str, result: TrainResult, *, overwrite: bool = False, beam_width: int | None = None) -> str:
    return export_sentiment(path, result.model, result.preprocessor, result.class_names, result.config,
                            overwrite=overwrite, metrics=result.metrics)


def _predict(path: str, texts: list[str]) -> list[dict]:
    return SentimentPredictor(path).predict(texts)


def _format_prediction(text: str, row: dict) -> str:
    return f"{row['label']}\t{row['probabilities'][row['label']]:.4f}\t{text}"


def evaluate(args: argparse.Namespace, manifest: dict) -> int:
    """Accuracy, precision / recall / F1 and the confusion matrix of an export on a corpus split."""
    from keras_rnn.data.corpora import load_text_classification, read_classification_split
    from keras_rnn.metrics import classification_report

    config = SentimentConfig.from_dict(manifest["config"])
    source = config.data
    corpus = args.corpus or source.corpus
    read_kwargs = dict(class_names=manifest["class_names"], text_column=source.text_column,
                       label_column=source.label_column, data_dir=source.data_dir,
                       download_and_prepare_kwargs=source.download_kwargs())
    if args.split == "validation" and corpus == source.corpus:
        dataset = load_text_classification(
            corpus, split=source.train_split, validation_corpus=source.validation_corpus,
            validation_fraction=source.validation_fraction, validation_split=source.validation_split,
            seed=config.optimization.seed, **read_kwargs).validation
    else:
        dataset, class_names = read_classification_split(corpus, args.split, **read_kwargs)
        if list(class_names) != list(manifest["class_names"]):
            raise ValueError(f"Corpus {corpus!r} has classes {list(class_names)}, but the model was trained on "
                             f"{manifest['class_names']}; evaluate on a corpus with the same classes.")
    texts, labels = [], []
    for text, label in dataset.as_numpy_iterator():
        texts.append(text)
        labels.append(int(label))
    predictor = SentimentPredictor(args.model)
    probabilities, _ = predictor.predict_arrays(texts)
    report = classification_report(labels, probabilities.argmax(axis=-1), predictor.class_names)
    report.update(model=os.path.abspath(args.model), corpus=corpus, split=args.split)
    print(report["text"])
    print(json.dumps({k: v for k, v in report.items() if k != "text"}))
    if args.json_path:
        from keras_rnn.files import write_text_atomic

        write_text_atomic(args.json_path, json.dumps(report, indent=2) + "\n")
    return 0


SENTIMENT = register(Task(
    name="sentiment", config_class=SentimentConfig, description="text → class (Embedding → RNN → Dense)",
    prepare=prepare_sentiment_run_data, build=build_compiled_sentiment_model, make_result=make_result,
    load_finished=load_finished_sentiment, export=_export, predict=_predict, format_prediction=_format_prediction,
    monitor=("val_accuracy", "max"), objectives={"val_accuracy": "max", "val_loss": "min"},
    default_objective="val_accuracy", evaluate=evaluate, resolve_config=resolve_pretrained_encoder,
))


def train_sentiment(
    config: SentimentConfig,
    run_dir: str,
    *,
    overwrite: bool = False,
    strategy: str | tf.distribute.Strategy = "default",
    verbose: str | int = "auto",
) -> TrainResult:
    """Trains a sentiment classifier end to end in `run_dir`, resuming a killed run found there
    (`keras_rnn.core.train` with this task).

    Writes `config.json`, `vocabulary.txt`, `class_names.json`, `history.csv`, TensorBoard `logs/`,
    `best.weights.h5`, `model.keras` (best epoch by validation accuracy) and `metrics.json`.
    """
    return train(SENTIMENT, config, run_dir, overwrite=overwrite, strategy=strategy, verbose=verbose)


__all__ = [
    "SENTIMENT", "SENTIMENT_RUN_FILES", "ClassificationData", "ClassificationText", "ClassifierNetwork",
    "FineTuningOptimization", "PreparedData", "SentimentConfig", "SentimentPredictor", "TextClassifierServer",
    "TrainResult", "build_compiled_sentiment_model", "compile_classifier", "export_sentiment",
    "load_finished_sentiment", "load_pretrained_encoder", "prepare_sentiment_data", "prepare_sentiment_run_data",
    "resolve_pretrained_encoder", "train_sentiment",
]
