"""IMDB sentiment benchmark: trains the default configuration and prints one JSON line of figures.

    python benchmarks/sentiment_imdb.py --data ../shared/data/aclImdb_train.tar.xz

The data is the 25,000 labelled IMDB train reviews (an aclImdb folder or a .tar.xz of it); the
validation split is the seeded 20% that `SentimentConfig` carves from them. No test data is used.
Figures: best-epoch validation accuracy, wall time (data loading and vocabulary included), training
tokens/s (real tokens, not padding), fraction of padded positions in training batches, peak memory.

Then, on the same split, the keras-io "Bidirectional LSTM on IMDB" recipe as that example builds it
(20,000-word vocabulary, reviews cut and left-padded to 200 ids, 128-d embeddings, two bidirectional
LSTM(64) layers, a sigmoid unit, Adam, batch 32, 2 epochs), rebuilt here with Keras's own
`TextVectorization` since `keras.datasets.imdb` cannot be downloaded: its validation accuracy, its real
tokens/s (the review tokens inside its 200-id window; padding not counted) and the project's ratio to it.
`--recipe-epochs 0` skips it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DEFAULT_DATA = os.path.join(
    os.environ.get("KERAS_RNN_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")),
    "aclImdb_train.tar.xz",
)


def keras_io_recipe(data, epochs: int = 2, seed: int = 1337, verbose: int = 2) -> dict:
    """Trains the keras-io bidirectional-LSTM IMDB recipe on `data` (a `ClassificationData`: the
    project's train / validation split) and returns its figures."""
    import keras
    import numpy as np
    import tensorflow as tf

    from keras_rnn.core.fit import TrainingTime

    vocabulary_size, window = 20_000, 200
    keras.utils.set_random_seed(seed)

    def texts_and_labels(dataset):
        texts, labels = [], []
        for text, label in dataset.batch(4096):
            texts.append(text.numpy())
            labels.append(label.numpy())
        return np.concatenate(texts), np.concatenate(labels).astype("float32")

    train_texts, train_labels = texts_and_labels(data.train)
    validation_texts, validation_labels = texts_and_labels(data.validation)
    vectorizer = keras.layers.TextVectorization(max_tokens=vocabulary_size)
    vectorizer.adapt(tf.data.Dataset.from_tensor_slices(train_texts).batch(1024))

    def windows(texts):
        # The recipe's `pad_sequences(maxlen=200)`: keep the last 200 ids, pad on the left.
        ids = [vectorizer(batch).numpy() for batch in np.array_split(texts, math.ceil(len(texts) / 1024))]
        rows = [row[row != 0] for part in ids for row in part]
        return keras.utils.pad_sequences(rows, maxlen=window), sum(min(len(row), window) for row in rows)

    x_train, train_tokens = windows(train_texts)
    x_validation, _ = windows(validation_texts)
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = keras.layers.Embedding(vocabulary_size, 128)(inputs)
    x = keras.layers.Bidirectional(keras.layers.LSTM(64, return_sequences=True))(x)
    x = keras.layers.Bidirectional(keras.layers.LSTM(64))(x)
    outputs = keras.layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    timer = TrainingTime()
    history = model.fit(x_train, train_labels, batch_size=32, epochs=epochs, verbose=verbose,
                        validation_data=(x_validation, validation_labels), callbacks=[timer])
    return {
        "val_accuracy": round(float(history.history["val_accuracy"][-1]), 4),
        "epochs": epochs,
        "train_time_s": round(timer.seconds, 1),
        "train_tokens_per_epoch": train_tokens,
        "train_tokens_per_s": round(train_tokens * epochs / timer.seconds),
        "train_padding_fraction": round(1 - train_tokens / x_train.size, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=DEFAULT_DATA, help="aclImdb folder or archive (default: %(default)s)")
    parser.add_argument("--run-dir", help="keep the run here (default: a temporary folder)")
    parser.add_argument("--config", help="JSON file of configuration values (flags override it)")
    parser.add_argument("--verbose", type=int, default=2)
    parser.add_argument("--recipe-epochs", type=int, default=2,
                        help="epochs of the keras-io recipe trained beside the project's (0: skip it)")
    from keras_rnn.cli import add_config_flags, config_from_args
    from keras_rnn import SentimentConfig

    add_config_flags(parser, SentimentConfig)  # the same flags as `keras-rnn train sentiment`
    args = parser.parse_args()
    if not os.path.exists(args.data):
        parser.error(f"--data {args.data!r} does not exist (an aclImdb folder or aclImdb_train.tar.xz)")

    import tensorflow as tf

    from keras_rnn.data.corpora import load_text_classification
    from keras_rnn.tasks.sentiment import train_sentiment

    args.corpus = os.path.abspath(args.data)
    config = config_from_args(args, SentimentConfig)
    run_dir = args.run_dir or tempfile.mkdtemp(prefix="keras_rnn_bench_")
    started = time.perf_counter()
    result = train_sentiment(config, run_dir, verbose=args.verbose)
    wall = time.perf_counter() - started
    metrics = result.metrics
    figures = {
        "benchmark": "sentiment_imdb",
        "val_accuracy": round(metrics["val_accuracy"], 4),
        "wall_time_s": round(wall, 1),
        "fit_time_s": metrics["fit_time_s"], "train_time_s": metrics["train_time_s"],
        "epochs": metrics["epochs_this_call"],
        "train_examples": metrics["train_examples"],
        "train_tokens_per_s": round(metrics["train_tokens_per_epoch"] * metrics["epochs_this_call"]
                                    / metrics["train_time_s"]),
        "train_padding_fraction": metrics["train_padding_fraction"],
        "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "cpu_count": os.cpu_count(),
        "tensorflow": tf.__version__,
        "config": {k: v for k, v in config.flat().items() if k != "corpus"},
        "run_dir": run_dir,
    }
    if args.recipe_epochs > 0:
        source = config.data
        data = load_text_classification(source.corpus, split=source.train_split,
                                        validation_fraction=source.validation_fraction,
                                        validation_split=source.validation_split, seed=config.optimization.seed)
        recipe = keras_io_recipe(data, epochs=args.recipe_epochs, seed=config.optimization.seed,
                                 verbose=args.verbose)
        figures["keras_io_recipe"] = recipe
        figures["tokens_per_s_ratio_to_recipe"] = round(figures["train_tokens_per_s"] / recipe["train_tokens_per_s"], 2)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
