"""Language-model benchmark: trains a configuration, scores its validation split exactly, prints the
smoothed n-gram baselines of the same token stream beside it and the generation speed of its export,
as one JSON line.

    # Tiny Shakespeare, characters (the README's figures):
    python benchmarks/language_model.py --data ../shared/data/tiny_shakespeare
    # AESLC email bodies, words (the README's figures):
    python benchmarks/language_model.py --data ../shared/data/aeslc_train_dev.tar.xz --granularity word \\
        --max-tokens 10000 --sequence-length 35 --cell lstm --units 256 --embedding-dim 256 --tie-embeddings \\
        --num-layers 1 --dropout 0.1 --epochs 4 --batch-size 16 --learning-rate 3e-3 --baseline-orders 1,3,4

The validation split is the corpus's own (Tiny Shakespeare's `validation` file, AESLC `dev`), never a
test split. Figures: the RNN's validation cross-entropy (nats a token, states carried across windows,
every token once), perplexity, bits per token, top-1 / top-3 next-token accuracy; the same for
interpolated Kneser–Ney n-gram models fitted on the same training stream; training time; and
sampled tokens per second from the export at batch 1 and batch 64 (the ratio to batch 1 in the same run).
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

DATA = os.environ.get("KERAS_RNN_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
# The benchmark's defaults over the task's: a 2-layer GRU trained statefully (truncated BPTT over the
# whole stream), 29 minutes on 2 CPU cores for Tiny Shakespeare (9 epochs of about 3 minutes).
BENCHMARK_DEFAULTS = {"num_layers": 2, "units": 512, "embedding_dim": 128, "dropout": 0.25, "stateful": True,
                      "epochs": 9, "patience": 3, "batch_size": 64, "sequence_length": 100}


def generation_speed(export: str, batch: int, tokens: int) -> float:
    """Sampled tokens a second from the export's `generate` signature (no early stop: `[END]` may end
    a row early, so the figure counts the tokens actually produced)."""
    import tensorflow as tf

    from keras_rnn.tasks.language_model import LanguageModelPredictor

    predictor = LanguageModelPredictor(export, batch_size=batch)
    prompts = ["The "] * batch
    predictor.generate(prompts[:batch], max_new_tokens=4, seed=0)  # traces once
    started = time.perf_counter()
    outputs = predictor.generate(prompts, max_new_tokens=tokens, seed=1)
    elapsed = time.perf_counter() - started
    produced = sum(len(tf.strings.unicode_split(o, "UTF-8").numpy()) if predictor.config.text.granularity == "char"
                   else len(o.split()) for o in outputs)
    return produced / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=os.path.join(DATA, "tiny_shakespeare"),
                        help="corpus path or TFDS name (default: %(default)s)")
    parser.add_argument("--run-dir", help="keep the run here; rerun to resume (default: a temporary folder)")
    parser.add_argument("--baseline-orders", default="1,5,7", help="n-gram orders to score (default: %(default)s)")
    parser.add_argument("--speed-tokens", type=int, default=200, help="tokens generated a row for the speed figures")
    parser.add_argument("--verbose", type=int, default=2)
    parser.add_argument("--config", help="JSON file of configuration values (flags override it)")
    from keras_rnn.cli import add_config_flags, explicit_config_values
    from keras_rnn.tasks.language_model import LanguageModelConfig

    add_config_flags(parser, LanguageModelConfig)
    args = parser.parse_args()
    from keras_rnn.core.runs import changed_fields, is_finished_run
    from keras_rnn.tasks.language_model import LANGUAGE_MODEL, export_language_model, train_language_model
    from keras_rnn.tasks.language_model.baselines import NgramLanguageModel
    from keras_rnn.tasks.language_model.pipeline import prepare_language_model_data

    values = dict(BENCHMARK_DEFAULTS)
    if args.config:
        from keras_rnn.core.config import flatten_config_values
        from keras_rnn.files import read_json_object

        values.update(flatten_config_values(read_json_object(args.config, "--config"), LanguageModelConfig.parts))
    values.update(explicit_config_values(args, LanguageModelConfig))
    values["corpus"] = os.path.abspath(args.data) if os.path.exists(args.data) else args.data
    config = LanguageModelConfig(**values)
    run_dir = args.run_dir or tempfile.mkdtemp(prefix="keras_rnn_lm_bench_")
    started = time.perf_counter()
    if is_finished_run(run_dir):
        # Trained already (the figures after training failed, or are wanted again): score it, no training.
        changed = changed_fields(run_dir, config)
        if changed:
            parser.error(f"--run-dir {run_dir!r} holds a finished run with another configuration (changed: {changed})")
        result = LANGUAGE_MODEL.load_finished(config, run_dir)
        wall = result.metrics["wall_time_s"]
    else:
        result = train_language_model(config, run_dir, verbose=args.verbose)
        wall = time.perf_counter() - started
    metrics = result.metrics
    unit = "char" if config.text.granularity == "char" else "word"
    figures = {
        "benchmark": "language_model", "corpus": args.data, "granularity": config.text.granularity,
        "config": config.flat(), "validation_source": metrics["validation_source"],
        "rnn": {"cross_entropy": round(metrics["val_stream_cross_entropy"], 4),
                "perplexity": round(metrics["val_stream_perplexity"], 3),
                f"bits_per_{unit}": round(metrics[f"val_bits_per_{unit}"], 4),
                "top_1_accuracy": round(metrics["val_stream_top_1_accuracy"], 4),
                "top_3_accuracy": round(metrics["val_stream_top_3_accuracy"], 4),
                "validation_tokens": metrics["val_stream_tokens"]},
        "epochs": metrics["epochs_this_call"], "fit_time_s": metrics["fit_time_s"], "wall_time_s": round(wall, 1),
    }
    # The baselines read the same streams (same vocabulary, same [END] tokens, same scored positions).
    data = prepare_language_model_data(config, result.preprocessor)
    figures["baselines"] = {}
    for order in [int(o) for o in args.baseline_orders.split(",") if o.strip()]:
        t = time.perf_counter()
        ngram = NgramLanguageModel(order, data.preprocessor.vocabulary_size).fit(data.train_stream)
        scores = ngram.evaluate(data.validation_stream)
        figures["baselines"][f"kneser_ney_{order}gram"] = {
            "cross_entropy": round(scores["cross_entropy"], 4), "perplexity": round(scores["perplexity"], 3),
            f"bits_per_{unit}": round(scores["bits_per_token"], 4),
            "top_1_accuracy": round(scores["top_1_accuracy"], 4), "top_3_accuracy": round(scores["top_3_accuracy"], 4),
            "time_s": round(time.perf_counter() - t, 1)}
    export = export_language_model(os.path.join(run_dir, "export"), result.language_model, result.preprocessor, config,
                                   overwrite=True, metrics=metrics)
    speed_1 = generation_speed(export, 1, args.speed_tokens)
    speed_64 = generation_speed(export, 64, args.speed_tokens)
    figures["generation"] = {"tokens_per_s_batch_1": round(speed_1, 1), "tokens_per_s_batch_64": round(speed_64, 1),
                             "batch_64_over_batch_1": round(speed_64 / speed_1, 2)}
    figures["peak_memory_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    figures["run_dir"] = run_dir
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
