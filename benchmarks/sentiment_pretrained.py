"""Sentiment from a language model pretrained on the task's own training text (issue 19), beside the
default configuration trained in the same script, as JSON lines.

    python benchmarks/sentiment_pretrained.py --data ../shared/data/aclImdb_train.tar.xz
    python benchmarks/sentiment_pretrained.py --data ../shared/data/sst2/train.tsv \\
        --validation-data ../shared/data/sst2/dev.tsv --lm-set sequence_length=35
    python benchmarks/sentiment_pretrained.py --data ../shared/data/sst2/train.tsv \\
        --validation-data ../shared/data/sst2/dev.tsv --lm-data ../shared/data/aclImdb_train.tar.xz

1. The split: IMDB's seeded 20% validation carved from its 25,000 train reviews, as `SentimentConfig`
   carves it (or, with `--validation-data`, that file: SST-2's dev). No test data is read.
2. A word-level language model (`keras-rnn train language_model`) on the classifier's training texts
   alone, one document a line; its own validation is the last 5% of them (shuffled, seeded). The
   classifier's validation texts never enter it. `--lm-data CORPUS` adds another labelled corpus's
   training texts (split as `SentimentConfig` splits it, labels unused): SST-2's 67,349 phrases are
   few, IMDB's reviews are of the same kind.
   A linear probe of its features (`--probe N`, default 2,000; 0 skips it): the encoder frozen, its
   max+mean pooled outputs over each text's last 400 tokens (the classifier's pooling; it reads 500),
   a logistic regression on N training texts, accuracy on up to N validation texts; beside the same
   encoder with the random weights it starts from without the language model. What pretraining put
   in the features.
3. The classifier fine-tuned from it (`--pretrained-encoder`, gradual unfreezing, discriminative
   learning rates, slanted-triangular schedule; `--set FIELD=VALUE` changes any field).
4. With `--scratch`, the same classifier, settings and schedule from random weights (a vocabulary of at
   most the same size adapted on the training texts): what the pretraining adds under that schedule,
   which does not favour random weights (the LSTM frozen in epoch 1, the embedding learning slowest).
5. The default configuration (`SentimentConfig()` on the same split), unless `--no-default`.
6. Each exported: validation accuracy of the export, the median latency of one review at a time and
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
    """`train.txt` and `validation.txt` of one text a line (newlines inside a text become spaces).

    Raises:
        ValueError: `folder` already holds a corpus of other texts (a resumed run given other --lm-data):
            its language model was trained on those.
    """
    lines = [" ".join(text.split()) for text in texts]
    random.Random(seed).shuffle(lines)
    cut = len(lines) - max(1, round(len(lines) * validation_fraction))
    parts = {"train.txt": "\n".join(lines[:cut]) + "\n", "validation.txt": "\n".join(lines[cut:]) + "\n"}
    for name, content in parts.items():
        path = os.path.join(folder, name)
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                if f.read() != content:
                    raise ValueError(f"{folder!r} holds a language-model corpus of other texts (another --data or "
                                     "--lm-data?), which the run folder's language model may have read; use another "
                                     "--run-dir.")
    os.makedirs(folder, exist_ok=True)
    for name, content in parts.items():
        with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
            f.write(content)
    return folder


def frozen_encoder_features(run_dir: str, texts: list[str], *, pretrained: bool = True, max_length: int = 400,
                            seed: int = 0, batch_size: int = 64):
    """The max+mean pooled outputs of a language-model run's encoder over `texts`, `(len(texts), 2 * units)`:
    its embedding and RNN stack as the classifier builds them, with the run's weights (`pretrained`) or
    with the random ones they start from (seeded)."""
    import keras
    import numpy as np

    from keras_rnn import SentimentConfig
    from keras_rnn.core.pretrained import read_pretrained_encoder
    from keras_rnn.models.classifier import build_sentiment_model
    from keras_rnn.tasks.sentiment.pipeline import load_pretrained_encoder, make_preprocessor, resolve_pretrained_encoder

    config = resolve_pretrained_encoder(SentimentConfig(corpus=run_dir, pretrained_encoder=run_dir, max_length=max_length))
    preprocessor = make_preprocessor(config)
    network = config.network
    keras.utils.set_random_seed(seed)
    model = build_sentiment_model(preprocessor.vocabulary_size, cell=network.cell, units=network.units,
                                  num_layers=network.num_layers, bidirectional=False, embedding_dim=network.embedding_dim,
                                  dropout=0.0, pooling="max_mean")
    if pretrained:
        load_pretrained_encoder(model, read_pretrained_encoder(run_dir))
    pooled = keras.Model(model.inputs, model.get_layer("max_mean_pooling").output)
    parts = [pooled(preprocessor.pad(preprocessor(np.asarray(texts[i:i + batch_size], dtype=object))), training=False)
             for i in range(0, len(texts), batch_size)]
    return np.concatenate([np.asarray(part, dtype=np.float32) for part in parts])


def linear_probe(train_features, train_labels, validation_features, validation_labels) -> dict:
    """Training and validation accuracy of a logistic regression (standardized features, C=1, fixed: not
    tuned on the validation texts)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=5000))
    probe.fit(train_features, train_labels)
    return {"train_accuracy": round(float(probe.score(train_features, train_labels)), 4),
            "val_accuracy": round(float(probe.score(validation_features, validation_labels)), 4)}


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
    parser.add_argument("--lm-data", action="append", default=[], metavar="CORPUS",
                        help="also train the language model on this labelled corpus's training texts (repeatable)")
    parser.add_argument("--run-dir", help="keep the runs here; rerun to resume (default: a temporary folder)")
    parser.add_argument("--lm-set", action="append", default=[], metavar="FIELD=VALUE",
                        help="a language-model configuration value over the benchmark's (repeatable)")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="a fine-tuning configuration value over the benchmark's (repeatable)")
    parser.add_argument("--probe", type=int, default=2000, metavar="N",
                        help="training texts of the frozen-encoder linear probe (0: skip it; default: %(default)s)")
    parser.add_argument("--scratch", action="store_true",
                        help="also train the fine-tuned configuration from random weights (what pretraining adds)")
    parser.add_argument("--no-default", action="store_true", help="skip the default configuration")
    parser.add_argument("--verbose", type=int, default=2)
    parser.add_argument("--json", help="also append the JSON lines to this file")
    args = parser.parse_args()
    for path in filter(None, (args.data, args.validation_data, *args.lm_data)):
        if not os.path.exists(path):
            parser.error(f"{path!r} does not exist")
    from benchmarks.flags import parse_settings

    try:
        lm_values, tune_values = parse_settings(args.lm_set), parse_settings(args.set)
    except ValueError as error:
        parser.error(str(error))
    if args.probe < 0:
        parser.error(f"--probe {args.probe}: expected a number of training texts, or 0 to skip the probe")
    classifier_data = {os.path.realpath(path) for path in (args.data, args.validation_data) if path}
    for path in args.lm_data:
        if os.path.realpath(path) in classifier_data:
            parser.error(f"--lm-data {path!r} is the classifier's own corpus: its training texts are in the "
                         "language model's already, and its validation texts must never be")

    from benchmarks.report import print_figures
    from keras_rnn import SentimentConfig
    from keras_rnn.core.runs import is_finished_run
    from keras_rnn.data.corpora import load_text_classification
    from keras_rnn.tasks.language_model import LANGUAGE_MODEL, LanguageModelConfig, train_language_model
    from keras_rnn.tasks.sentiment import SENTIMENT, export_sentiment, train_sentiment
    from keras_rnn.tasks.sentiment.pipeline import resolve_pretrained_encoder

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
    labelled = [(text.decode("utf-8"), int(label)) for text, label in split.train.as_numpy_iterator()]
    train_texts = [text for text, _ in labelled]
    validation = [(text.decode("utf-8"), int(label)) for text, label in split.validation.as_numpy_iterator()]
    lm_texts, held_out = list(train_texts), {text for text, _ in validation}
    for path in args.lm_data:  # the training part only, as the classifier would carve it
        other = load_text_classification(os.path.abspath(path), validation_fraction=base.data.validation_fraction,
                                         seed=base.optimization.seed)
        other_texts = (text.decode("utf-8") for text, _ in other.train.as_numpy_iterator())
        lm_texts += [text for text in other_texts if text not in held_out]  # never a classifier-validation text
    common = {"benchmark": "sentiment_pretrained", "data": corpus, "validation_data": validation_corpus,
              "lm_data": [os.path.abspath(path) for path in args.lm_data], "lm_texts": len(lm_texts),
              "train_examples": len(train_texts), "validation_examples": len(validation), "cpu_count": os.cpu_count()}

    # 1. The language model, on the classifier's training texts (and --lm-data's), never its validation texts.
    lm_corpus = write_language_model_corpus(lm_texts, os.path.join(root, "lm_corpus"),
                                            LM_DEFAULTS["validation_fraction"], base.optimization.seed)
    lm_config = LanguageModelConfig(**{**LM_DEFAULTS, **lm_values, "corpus": lm_corpus})
    lm, lm_seconds = trained(LANGUAGE_MODEL, train_language_model, lm_config, os.path.join(root, "language_model"))
    m = lm.metrics
    report({**common, "stage": "language_model", "config": lm_config.flat(),
            "val_perplexity": round(m["val_stream_perplexity"], 2), "val_top_1_accuracy": round(m["val_stream_top_1_accuracy"], 4),
            "train_tokens_per_epoch": m.get("train_tokens"), "epochs": m["epochs_this_call"],
            "train_time_s": m["train_time_s"], "wall_time_s": round(lm_seconds, 1)})

    if args.probe:
        rng = random.Random(base.optimization.seed)  # the corpora list texts by class: sample both splits
        probe_train = rng.sample(labelled, min(args.probe, len(labelled)))
        probe_validation = rng.sample(validation, min(args.probe, len(validation)))
        figures = {**common, "stage": "encoder_probe", "probe_train_texts": len(probe_train),
                   "probe_validation_texts": len(probe_validation)}
        for name, pretrained in (("language_model", True), ("random_init", False)):
            started = time.perf_counter()
            # One encoder for both splits: read and built once.
            features = frozen_encoder_features(lm.run_dir, [t for t, _ in probe_train + probe_validation],
                                               pretrained=pretrained)
            cut = len(probe_train)
            accuracy = linear_probe(features[:cut], [y for _, y in probe_train], features[cut:],
                                    [y for _, y in probe_validation])
            figures.update({f"{name}_{key}": value for key, value in accuracy.items()})
            figures[f"{name}_seconds"] = round(time.perf_counter() - started, 1)
        report(figures)

    texts, labels = [t for t, _ in validation], [label for _, label in validation]
    pretrained = resolve_pretrained_encoder(
        base.replace(pretrained_encoder=lm.run_dir, **{**FINE_TUNING_DEFAULTS, **tune_values}))
    systems = [("pretrained", pretrained)]
    if args.scratch:  # the same classifier and fine-tuning, from random weights and its own vocabulary
        systems.append(("scratch", pretrained.replace(pretrained_encoder=None)))
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
