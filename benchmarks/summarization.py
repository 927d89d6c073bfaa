"""Summarization benchmark: lead-k baselines, then plain attention and copy + coverage trained with the
default configuration; one JSON line each.

    python benchmarks/summarization.py --data ../shared/data/aeslc_train_dev.tar.xz
    python benchmarks/summarization.py --data ../shared/data/gigaword --max-source-length 60 --max-summary-length 20

AESLC is scored on its dev split (1,960 emails; the test split is never used) with rouge-score
ROUGE-1/2/L F1 (stemmed): against the subject line (the TFDS protocol of published AESLC numbers) and,
separately, best over the subject line and the three human annotations. Gigaword (the 10,000-pair
sample) is scored on its 1,000 validation pairs. Figures per variant: ROUGE with greedy search and
beam search, wall and fit time, training target tokens/s, decoding documents/s.
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
DEFAULT_DATA = os.path.join(DATA_ROOT, "aeslc_train_dev.tar.xz")
VARIANTS = {"plain": dict(copy=False, coverage=False), "copy_coverage": dict(copy=True, coverage=True)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=DEFAULT_DATA, help="AESLC archive/folder or Gigaword folder (default: %(default)s)")
    parser.add_argument("--variants", default="plain,copy_coverage", help=f"comma-separated among {sorted(VARIANTS)}")
    parser.add_argument("--lead", default="4,6,8", help="k of the lead-k baselines (default: %(default)s)")
    parser.add_argument("--run-dir", help="keep the runs here, one folder per variant (default: a temporary folder)")
    parser.add_argument("--config", help="JSON file of configuration values (flags override it)")
    parser.add_argument("--verbose", type=int, default=2)
    from keras_rnn.cli import add_config_flags, config_from_args
    from keras_rnn.config import SummarizationConfig

    add_config_flags(parser, SummarizationConfig)  # the same flags as `keras-rnn train summarization`
    args = parser.parse_args()
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown or not variants:
        parser.error(f"--variants {args.variants!r}: unknown {unknown}; accepted: {sorted(VARIANTS)}")
    if not os.path.exists(args.data):
        parser.error(f"--data {args.data!r} does not exist (aeslc_train_dev.tar.xz or the gigaword folder)")
    if args.copy is not None or args.coverage is not None:
        parser.error("--copy/--coverage are set by --variants")

    import tensorflow as tf

    from keras_rnn.data.parallel import decoded_pairs
    from keras_rnn.data.summarization import load_summarization
    from keras_rnn.summarization_training import lead_baseline, rouge_report, train_summarization

    args.corpus = os.path.abspath(args.data)
    base = config_from_args(args, SummarizationConfig)
    name = os.path.basename(os.path.normpath(args.data))
    common = {"data": name, "cpu_count": os.cpu_count(), "tensorflow": tf.__version__}

    data = load_summarization(base.corpus, split=base.train_split, validation_fraction=base.validation_fraction,
                              seed=base.seed)
    pairs = decoded_pairs(data.validation)
    documents, summaries = [d for d, _ in pairs], [s.strip() for _, s in pairs]
    for k in (int(k) for k in args.lead.split(",") if k.strip()):
        figures = rouge_report(lead_baseline(documents, k), summaries, data.validation_references)
        print(json.dumps({"benchmark": "summarization", "system": f"lead-{k}", **common,
                          "validation_examples": len(documents), **{f"val_{k_}": v for k_, v in figures.items()}}),
              flush=True)

    root = args.run_dir or tempfile.mkdtemp(prefix="keras_rnn_bench_")
    for variant in variants:
        config = SummarizationConfig.from_dict({**json.loads(base.to_json()), **VARIANTS[variant]})
        run_dir = os.path.join(root, variant)
        started = time.perf_counter()
        result = train_summarization(config, run_dir, verbose=args.verbose,
                                     evaluate_beam_widths=(1, config.beam_width))
        m = result.metrics
        print(json.dumps({
            "benchmark": "summarization", "system": variant, **common,
            **{k: v for k, v in m.items() if k.startswith(("val_rouge", "decode_", "empty_"))},
            "val_loss": round(m["val_loss"], 4),
            "wall_time_s": round(time.perf_counter() - started, 1),
            "fit_time_s": m["fit_time_s"], "epochs": m["epochs_this_call"],
            "train_examples": m["train_examples"], "validation_examples": m["validation_examples"],
            "train_target_tokens_per_s": round(m["train_target_tokens_per_epoch"] * m["epochs_this_call"]
                                               / m["fit_time_s"]),
            "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "config": {k: v for k, v in json.loads(config.to_json()).items() if k != "corpus"},
            "run_dir": run_dir,
        }), flush=True)


if __name__ == "__main__":
    main()
