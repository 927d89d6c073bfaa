"""Translation benchmark: trains the default configuration and prints one JSON line of figures.

    python benchmarks/translation.py --data ../shared/data/multi30k                        # de → en
    python benchmarks/translation.py --data ../shared/data/spa-eng/spa-eng.train.tsv.gz    # es → en

Multi30k is read from its line-aligned `train.{de,en}.gz` and scored on its own `val` split (1,014
pairs); the Anki Spanish–English file has no validation split, so `TranslationConfig` carves a seeded
5% of it. No test data is used. Figures: validation BLEU and chrF (sacrebleu defaults: 13a, cased,
detokenized output against the raw references) with greedy search and beam search, wall time (data
and vocabulary included), training target tokens/s, decoding sentences/s for each search and the
beam/greedy cost ratio on the same sentences. Training throughput divides by the time of the training
batches alone (`train_time_s`); `step_throughput` then trains `--reference-steps` batches in float32 (the
step as it was before issue 18) and in the configuration's precision, side by side, for the ratio.

    python benchmarks/translation.py --rescore RUN_DIR [--passes 3]

decodes again with a finished run's model (no training) and prints its decoding figures: for measuring
decoding changes on the same model. Rates are the best of `--passes` runs over the validation split.
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

DATA_ROOT = os.environ.get("KERAS_RNN_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
DEFAULT_DATA = os.path.join(DATA_ROOT, "multi30k")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=DEFAULT_DATA, help="multi30k folder or Anki .tsv.gz (default: %(default)s)")
    parser.add_argument("--run-dir", help="keep the run here (default: a temporary folder)")
    parser.add_argument("--config", help="JSON file of configuration values (flags override it)")
    parser.add_argument("--verbose", type=int, default=2)
    parser.add_argument("--rescore", metavar="RUN_DIR", help="decode with this finished run's model; no training")
    parser.add_argument("--passes", type=int, default=1, help="decoding runs per search; rates are the best")
    parser.add_argument("--reference-steps", type=int, default=300,
                        help="also train this many steps in float32 (the step before issue 18) and in the "
                             "configuration's precision, side by side, and print the speed ratio; 0: none")
    from keras_rnn.cli import add_config_flags, config_from_args
    from keras_rnn import TranslationConfig

    add_config_flags(parser, TranslationConfig)  # the same flags as `keras-rnn train translation`
    args = parser.parse_args()
    if args.passes < 1:
        parser.error(f"--passes {args.passes} must be a positive integer")
    if args.rescore:
        return rescore(args.rescore, args.beam_width, args.passes)
    if not os.path.exists(args.data):
        parser.error(f"--data {args.data!r} does not exist (the multi30k folder or spa-eng.train.tsv.gz)")

    import tensorflow as tf

    from keras_rnn.tasks.translation import train_translation

    args.corpus = os.path.abspath(args.data)
    if args.source is None and args.target is None:
        args.source, args.target = ("es", "en") if args.data.endswith((".tsv", ".tsv.gz")) else ("de", "en")
    config = config_from_args(args, TranslationConfig)
    run_dir = args.run_dir or tempfile.mkdtemp(prefix="keras_rnn_bench_")
    started = time.perf_counter()
    result = train_translation(config, run_dir, verbose=args.verbose, evaluate_beam_widths=(1, config.decoding.beam_width),
                               decoding_passes=args.passes)
    wall = time.perf_counter() - started
    m = result.metrics
    beam = f"beam{config.decoding.beam_width}"
    figures = {
        "benchmark": "translation",
        "data": os.path.basename(os.path.normpath(args.data)),
        "direction": f"{config.data.source}->{config.data.target}",
        "val_bleu_greedy": m["val_bleu_greedy"],
        f"val_bleu_{beam}": m[f"val_bleu_{beam}"],
        "val_chrf_greedy": m["val_chrf_greedy"],
        f"val_chrf_{beam}": m[f"val_chrf_{beam}"],
        "val_perplexity": round(m["val_perplexity"], 3),
        "wall_time_s": round(wall, 1),
        "fit_time_s": m["fit_time_s"],
        "epochs": m["epochs_this_call"],
        "train_examples": m["train_examples"],
        "validation_examples": m["validation_examples"],
        "train_time_s": m["train_time_s"],
        "precision": m["precision"],
        # Training batches only: validation, checkpoints and decoding left out.
        "train_target_tokens_per_s": round(m["train_target_tokens_per_epoch"] * m["epochs_this_call"] / m["train_time_s"]),
        "decode_sentences_per_s_greedy": m["decode_sentences_per_s_greedy"],
        f"decode_sentences_per_s_{beam}": m[f"decode_sentences_per_s_{beam}"],
        "beam_over_greedy_cost": round(m["decode_sentences_per_s_greedy"] / m[f"decode_sentences_per_s_{beam}"], 2),
        "bleu_signature": m["bleu_signature"],
        "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "cpu_count": os.cpu_count(),
        "tensorflow": tf.__version__,
        "config": {k: v for k, v in config.flat().items() if k != "corpus"},
        "run_dir": run_dir,
    }
    if args.reference_steps:
        from benchmarks.step_throughput import step_throughput
        from keras_rnn.tasks.translation import TRANSLATION

        figures["step_throughput"] = step_throughput(
            TRANSLATION, config, tempfile.mkdtemp(prefix="keras_rnn_steps_"), steps=args.reference_steps,
            precisions=("float32", config.optimization.precision))
    print(json.dumps(figures))


def rescore(run_dir: str, beam_width: int | None, passes: int) -> None:
    import tensorflow as tf

    from keras_rnn import TranslationConfig
    from keras_rnn.tasks.translation import SEQ2SEQ_RUN_FILES, rescore_translation_run

    if not os.path.isfile(os.path.join(run_dir, SEQ2SEQ_RUN_FILES["model"])):
        sys.exit(f"--rescore {run_dir!r}: no {SEQ2SEQ_RUN_FILES['model']} there (a finished translation run dir)")
    width = beam_width or TranslationConfig.load(os.path.join(run_dir, SEQ2SEQ_RUN_FILES["config"])).decoding.beam_width
    m = rescore_translation_run(run_dir, (1, width), passes=passes)
    beam = f"beam{width}"
    m.update(benchmark="translation_decoding", run_dir=run_dir, passes=passes, cpu_count=os.cpu_count(),
             tensorflow=tf.__version__,
             beam_over_greedy_cost=round(m["decode_sentences_per_s_greedy"] / m[f"decode_sentences_per_s_{beam}"], 2))
    print(json.dumps(m))


if __name__ == "__main__":
    main()
