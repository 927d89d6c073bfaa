"""Sentiment from a language model pretrained on the task's own training text (issue 19), beside the
default configuration trained in the same script, as JSON lines.

    python benchmarks/sentiment_pretrained.py --data ../shared/data/aclImdb_train.tar.xz
    python benchmarks/sentiment_pretrained.py --data ../shared/data/sst2/train.tsv \\
        --validation-data ../shared/data/sst2/dev.tsv --lm-set sequence_length=35

1. The split: IMDB's seeded 20% validation carved from its 25,000 train reviews, as `SentimentConfig`
   carves it (or, with `--validation-data`, that file: SST-2's dev). No test data is read.
2. A word-level language model (`keras-rnn train language_model`) on the classifier's training texts
   alone, one document a line; its own validation is the last 5% of them (shuffled, seeded). The
   classifier's validation texts never enter it.
3. The classifier fine-tuned from it (`--pretrained-encoder`, gradual unfreezing, discriminative
   learning rates, slanted-triangular schedule; `--set FIELD=VALUE` changes any field).
4. The default configuration (`SentimentConfig()` on the same split), unless `--no-default`.
5. Both exported: validation accuracy of the export, the median latency of one review at a time and
   the reviews a second at batch 256 (the export's string-in signature, TensorFlow alone).

Times are per stage (language model, fine-tuning, default), each alone on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DATA = os.environ.get("KERAS_RNN_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
# The language model: one LSTM layer over a 20,000-word lower-cased vocabulary, tied embeddings, trained
# with a sampled softmax of 1,024 words (11x the full softmax's tokens/s here: 24,318 against 2,188).
LM_DEFAULTS = {"document_unit": "line", "granularity": "word", "lowercase": True, "max_tokens": 20000,
               "sequence_length": 70, "cell": "lstm", "units": 256, "embedding_dim": 256, "num_layers": 1,
               "tie_embeddings": True, "dropout": 0.2, "batch_size": 64, "epochs": 3, "learning_rate": 3e-3,
               "sampled_softmax": 1024, "precision": "auto", "validation_fraction": 0.05, "patience": 2}
# Fine-tuning: Howard & Ruder's tricks, the n-gram bag kept.
FINE_TUNING_DEFAULTS = {"discriminative_decay": 2.6, "gradual_unfreezing": True, "lr_schedule": "slanted_triangular",
                        "epochs": 4, "learning_rate": 4e-3, "embedding_dropout": 0.1, "dropout": 0.4}


def write_language_model_corpus(texts: list[str], folder: str, validation_fraction: float, seed: int) -> str:
    """`train.txt` and `validation.txt` of one text a line (newlines inside a text become spaces)."""
    lines = [" ".join(text.split()) for text in texts]
    random.Random(seed).shuffle(lines)
    cut = len(lines) - max(1, round(len(lines) * validation_fraction))
    os.makedirs(folder, exist_ok=True)
    for name, part in (("train.txt", lines[:cut]), ("validation.txt", lines[cut:])):
        with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
            f.write("\n".join(part) + "\n")
    return folder


def export_figures(export: str, texts: list[str], labels: list[int], single: int = 200) -> dict:
    """Validation accuracy of an export, the median seconds of one text at a time (`single` texts) and
    texts a second at batch 256."""
    import numpy as np

    from keras_rnn.tasks.sentiment import SentimentPredictor

    predictor = SentimentPredictor(export, batch_size=256)
    predictor.predict_arrays(texts[:256])  # traces
    started = time.perf_counter()
    probabilities, _ = predictor.predict_arrays(texts)
    batch_seconds = time.perf_counter() - started
    one = SentimentPredictor(export, batch_size=1)
    one.predict_arrays(texts[:1])
    latencies = []
    for text in texts[:single]:
        begun = time.perf_counter()
        one.predict_arrays([text])
        latencies.append(time.perf_counter() - begun)
    accuracy = float(np.mean(probabilities.argmax(axis=-1) == np.asarray(labels)))
    return {"export_val_accuracy": round(accuracy, 4), "latency_ms_one_text": round(1000 * statistics.median(latencies), 2),
            "texts_per_s_batch_256": round(len(texts) / batch_seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=os.path.join(DATA, "aclImdb_train.tar.xz"),
                        help="the labelled training corpus (default: %(default)s)")
    parser.add_argument("--validation-data", help="a validation corpus (SST-2's dev.tsv); default: 20%% carved")
    parser.add_argument("--run-dir", help="keep the runs here; rerun to resume (default: a temporary folder)")
    parser.add_argument("--lm-set", action="append", default=[], metavar="FIELD=VALUE",
                        help="a language-model configuration value over the benchmark's (repeatable)")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="a fine-tuning configuration value over the benchmark's (repeatable)")
    parser.add_argument("--no-default", action="store_true", help="skip the default configuration")
    parser.add_argument("--verbose", type=int, default=2)
    parser.add_argument("--json", help="also append the JSON lines to this file")
    args = parser.parse_args()
    for path in filter(None, (args.data, args.validation_data)):
        if not os.path.exists(path):
            parser.error(f"{path!r} does not exist")
    from benchmarks.flags import parse_settings

    try:
        lm_values, tune_values = parse_settings(args.lm_set), parse_settings(args.set)
    except ValueError as error:
        parser.error(str(error))

    from benchmarks.report import print_figures
    from keras_rnn import SentimentConfig
    from keras_rnn.core.runs import is_finished_run
    from keras_rnn.data.corpora import load_text_classification
    from keras_rnn.tasks.language_model import LANGUAGE_MODEL, LanguageModelConfig, train_language_model
    from keras_rnn.tasks.sentiment import SENTIMENT, export_sentiment, train_sentiment

    def trained(task, train, config, run_dir):
        """A stage's result and seconds: trained, or read back when an earlier run of the script finished it."""
        if is_finished_run(run_dir):
            result = task.load_finished(task.resolved(config), run_dir)
            return result, result.metrics["wall_time_s"]
        started = time.perf_counter()
        result = train(config, run_dir, verbose=args.verbose)
        return result, time.perf_counter() - started

    def report(figures: dict) -> None:
        print_figures(figures)
        if args.json:
            with open(args.json, "a", encoding="utf-8") as f:
                f.write(json.dumps(figures) + "\n")

    root = args.run_dir or tempfile.mkdtemp(prefix="keras_rnn_pretrained_")
    corpus = os.path.abspath(args.data)
    validation_corpus = os.path.abspath(args.validation_data) if args.validation_data else None
    base = SentimentConfig(corpus=corpus, validation_corpus=validation_corpus)
    split = load_text_classification(corpus, validation_corpus=validation_corpus,
                                     validation_fraction=base.data.validation_fraction, seed=base.optimization.seed)
    train_texts = [text.decode("utf-8") for text, _ in split.train.as_numpy_iterator()]
    validation = [(text.decode("utf-8"), int(label)) for text, label in split.validation.as_numpy_iterator()]
    common = {"benchmark": "sentiment_pretrained", "data": corpus, "validation_data": validation_corpus,
              "train_examples": len(train_texts), "validation_examples": len(validation), "cpu_count": os.cpu_count()}

    # 1. The language model, on the classifier's training texts alone.
    lm_corpus = write_language_model_corpus(train_texts, os.path.join(root, "lm_corpus"),
                                            LM_DEFAULTS["validation_fraction"], base.optimization.seed)
    lm_config = LanguageModelConfig(**{**LM_DEFAULTS, **lm_values, "corpus": lm_corpus})
    lm, lm_seconds = trained(LANGUAGE_MODEL, train_language_model, lm_config, os.path.join(root, "language_model"))
    m = lm.metrics
    report({**common, "stage": "language_model", "config": lm_config.flat(),
            "val_perplexity": round(m["val_stream_perplexity"], 2), "val_top_1_accuracy": round(m["val_stream_top_1_accuracy"], 4),
            "train_tokens_per_epoch": m.get("train_tokens"), "epochs": m["epochs_this_call"],
            "train_time_s": m["train_time_s"], "wall_time_s": round(lm_seconds, 1)})

    texts, labels = [t for t, _ in validation], [label for _, label in validation]
    systems = [("pretrained", base.replace(pretrained_encoder=lm.run_dir, **{**FINE_TUNING_DEFAULTS, **tune_values}))]
    if not args.no_default:
        systems.append(("default", base))
    for name, config in systems:
        result, seconds = trained(SENTIMENT, train_sentiment, config, os.path.join(root, name))
        export = export_sentiment(os.path.join(root, f"{name}_export"), result.model, result.preprocessor,
                                  result.class_names, result.config, overwrite=True, metrics=result.metrics)
        figures = {**common, "stage": name, "config": result.config.flat(),
                   "val_accuracy": round(result.metrics["val_accuracy"], 4), "epochs": result.metrics["epochs_this_call"],
                   "train_time_s": result.metrics["train_time_s"], "wall_time_s": round(seconds, 1),
                   **export_figures(export, texts, labels)}
        if name == "pretrained":
            figures["total_time_with_language_model_s"] = round(seconds + lm_seconds, 1)
        report(figures)


if __name__ == "__main__":
    main()
