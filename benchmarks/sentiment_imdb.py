"""IMDB sentiment benchmark: trains the default configuration and prints one JSON line of figures.

    python benchmarks/sentiment_imdb.py --data ../shared/data/aclImdb_train.tar.xz

The data is the 25,000 labelled IMDB train reviews (an aclImdb folder or a .tar.xz of it); the
validation split is the seeded 20% that `SentimentConfig` carves from them. No test data is used.
Figures: best-epoch validation accuracy, wall time (data loading and vocabulary included), training
tokens/s (real tokens, not padding), fraction of padded positions in training batches, peak memory.
"""

from __future__ import annotations

import argparse
import json
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=DEFAULT_DATA, help="aclImdb folder or archive (default: %(default)s)")
    parser.add_argument("--run-dir", help="keep the run here (default: a temporary folder)")
    parser.add_argument("--config", help="JSON file of configuration values (flags override it)")
    parser.add_argument("--verbose", type=int, default=2)
    from keras_rnn.cli import add_config_flags, config_from_args
    from keras_rnn import SentimentConfig

    add_config_flags(parser, SentimentConfig)  # the same flags as `keras-rnn train sentiment`
    args = parser.parse_args()
    if not os.path.exists(args.data):
        parser.error(f"--data {args.data!r} does not exist (an aclImdb folder or aclImdb_train.tar.xz)")

    import tensorflow as tf

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
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
