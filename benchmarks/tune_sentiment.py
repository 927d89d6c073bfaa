"""IMDB hyperparameter search benchmark: the default sentiment configuration against a bounded
keras-tuner search over the same data; one JSON line each, then the comparison.

    python benchmarks/tune_sentiment.py --data ../shared/data/aclImdb_train.tar.xz

Both train on the 25,000 labelled IMDB train reviews with the seeded 20% validation split that
`SentimentConfig` carves (no test data). The search is Hyperband with at most `--epochs` (default 3,
the default configuration's) epochs per trial, over the space below: the package's sentiment space
narrowed to what fits the budget on 2 cores (one layer, bidirectional, the two gated cells). Figures:
validation accuracy of the default run and of the search's best trial (best epoch, each), the search's
wall time, the trial table.
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

DEFAULT_DATA = os.path.join(
    os.environ.get("KERAS_RNN_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")),
    "aclImdb_train.tar.xz",
)
# The search space of this benchmark, in `keras-rnn tune --hp` notation.
SPACE = {
    "cell": "gru,lstm",
    "num_layers": "1",
    "bidirectional": "true",
    "units": "32,64,128",
    "embedding_dim": "64,128,256",
    "embedding_dropout": "0.2:0.5:0.1",
    "dropout": "0.2:0.6:0.1",
    "pooling": "max_mean,max",
    "learning_rate": "1e-3:6e-3:log",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=DEFAULT_DATA, help="aclImdb folder or archive (default: %(default)s)")
    parser.add_argument("--tuner", default="hyperband", help="(default: %(default)s)")
    parser.add_argument("--max-trials", type=int, default=10, help="(default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs of the default run; Hyperband's maximum per "
                        "trial (default: %(default)s)")
    parser.add_argument("--run-dir", help="keep the default run and the search here (default: a temporary folder)")
    parser.add_argument("--skip-default", action="store_true", help="only run the search")
    parser.add_argument("--verbose", type=int, default=2)
    args = parser.parse_args()
    if not os.path.exists(args.data):
        parser.error(f"--data {args.data!r} does not exist (an aclImdb folder or aclImdb_train.tar.xz)")

    import tensorflow as tf

    from keras_rnn import SentimentConfig
    from keras_rnn.tuning import format_table, run_search
    from keras_rnn.tasks.sentiment import train_sentiment

    config = SentimentConfig(corpus=os.path.abspath(args.data), epochs=args.epochs)
    root = args.run_dir or tempfile.mkdtemp(prefix="keras_rnn_tune_bench_")
    common = {"benchmark": "tune_sentiment", "cpu_count": os.cpu_count(), "tensorflow": tf.__version__}

    default_accuracy = None
    if not args.skip_default:
        started = time.perf_counter()
        default = train_sentiment(config, os.path.join(root, "default"), verbose=args.verbose)
        default_accuracy = default.metrics["val_accuracy"]
        print(json.dumps({**common, "system": "default", "val_accuracy": round(default_accuracy, 4),
                          "wall_time_s": round(time.perf_counter() - started, 1)}), flush=True)

    result = run_search(config, os.path.join(root, "search"), tuner=args.tuner, objective="val_accuracy",
                        max_trials=args.max_trials, space=SPACE, verbose=args.verbose)
    print(format_table(result.trials), file=sys.stderr)
    best = float(result.best_metrics["score"])
    print(json.dumps({**common, "system": f"{args.tuner} search", "val_accuracy": round(best, 4),
                      "search_time_s": result.search_time_s, "trials": len(result.trials),
                      "best_trial": result.best_metrics["trial"],
                      "best_config": {name: getattr(result.best_config, name) for name in SPACE},
                      "space": SPACE, "run_dir": result.run_dir}), flush=True)
    if default_accuracy is not None:
        print(json.dumps({**common, "system": "comparison", "default_val_accuracy": round(default_accuracy, 4),
                          "search_best_val_accuracy": round(best, 4), "search_beats_default": bool(best > default_accuracy),
                          "search_time_s": result.search_time_s}), flush=True)


if __name__ == "__main__":
    main()
