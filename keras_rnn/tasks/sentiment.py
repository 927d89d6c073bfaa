"""Sentiment / text classification: text → class, trained on labelled corpora (`keras-rnn train sentiment`)."""

from __future__ import annotations

import argparse
import json
import os

from keras_rnn.config import SentimentConfig
from keras_rnn.tasks.base import Task, download_kwargs, register
from keras_rnn.training import load_finished_sentiment, train_sentiment


def _export(path: str, result, config, args: argparse.Namespace) -> str:
    from keras_rnn.export import export_sentiment

    return export_sentiment(path, result.model, result.preprocessor, result.class_names, config,
                            overwrite=args.overwrite, metrics=result.metrics)


def _predict(path: str, texts: list[str]) -> list[dict]:
    from keras_rnn.serving import SentimentPredictor

    return SentimentPredictor(path).predict(texts)


def _format_prediction(text: str, row: dict) -> str:
    return f"{row['label']}\t{row['probabilities'][row['label']]:.4f}\t{text}"


def evaluate(args: argparse.Namespace, manifest: dict) -> int:
    """Accuracy, precision / recall / F1 and the confusion matrix of an export on a corpus split."""
    from keras_rnn.data.corpora import load_text_classification, read_classification_split
    from keras_rnn.metrics import classification_report
    from keras_rnn.serving import SentimentPredictor

    config = SentimentConfig.from_dict(manifest["config"])
    corpus = args.corpus or config.corpus
    read_kwargs = dict(class_names=manifest["class_names"], text_column=config.text_column,
                       label_column=config.label_column, data_dir=config.data_dir,
                       download_and_prepare_kwargs=download_kwargs(config))
    if args.split == "validation" and corpus == config.corpus:
        dataset = load_text_classification(
            corpus, split=config.train_split, validation_corpus=config.validation_corpus,
            validation_fraction=config.validation_fraction, seed=config.seed, **read_kwargs).validation
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
    train=train_sentiment, load_finished=load_finished_sentiment, export=_export, predict=_predict,
    format_prediction=_format_prediction, evaluate=evaluate, multi_worker=True,
))
