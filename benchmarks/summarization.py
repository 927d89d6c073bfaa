"""Summarization benchmark: lead-k baselines, then plain attention and copy + coverage trained with the
default configuration; one JSON line each.

    python benchmarks/summarization.py --data ../shared/data/aeslc_train_dev.tar.xz
    python benchmarks/summarization.py --data ../shared/data/gigaword --max-source-length 60 --max-summary-length 20

AESLC is scored on its dev split (1,960 emails; the test split is never used) with rouge-score
ROUGE-1/2/L F1 (stemmed): against the subject line (the TFDS protocol of published AESLC numbers) and,
separately, best over the subject line and the three human annotations. Gigaword (the 10,000-pair
sample) is scored on its 1,000 validation pairs. Figures per variant: ROUGE with greedy search and
beam search, wall and fit time, training target tokens/s, decoding documents/s.

    python benchmarks/summarization.py --rescore RUN_DIR --length-penalties 0,0.6,1 --ngram-sizes 0,2,3

decodes again with a finished run's model (no training), once per decoding setting, and prints ROUGE on
the two halves of the validation split (even and odd positions) and on all of it: choose settings on
one half, confirm them on the other, so the chosen figure is not the figure that chose it.
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
    parser.add_argument("--rescore", metavar="RUN_DIR", help="decode with this finished run's model; no training")
    parser.add_argument("--length-penalties", default="0.6", help="--rescore: beam length penalties to try")
    parser.add_argument("--ngram-sizes", default="0", help="--rescore: no_repeat_ngram_size values to try")
    from keras_rnn.cli import add_config_flags, config_from_args
    from keras_rnn import SummarizationConfig

    add_config_flags(parser, SummarizationConfig)  # the same flags as `keras-rnn train summarization`
    args = parser.parse_args()
    if args.rescore:
        return rescore(args.rescore, [float(v) for v in args.length_penalties.split(",")],
                       [int(v) for v in args.ngram_sizes.split(",")], args.beam_width)
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
    from keras_rnn.tasks.summarization import lead_baseline, rouge_report, train_summarization

    args.corpus = os.path.abspath(args.data)
    base = config_from_args(args, SummarizationConfig)
    name = os.path.basename(os.path.normpath(args.data))
    common = {"data": name, "cpu_count": os.cpu_count(), "tensorflow": tf.__version__}

    data = load_summarization(base.data.corpus, split=base.data.train_split,
                              validation_fraction=base.data.validation_fraction,
                              validation_split=base.data.validation_split, seed=base.optimization.seed)
    pairs = decoded_pairs(data.validation)
    documents, summaries = [d for d, _ in pairs], [s.strip() for _, s in pairs]
    for k in (int(k) for k in args.lead.split(",") if k.strip()):
        figures = rouge_report(lead_baseline(documents, k), summaries, data.validation_references)
        print(json.dumps({"benchmark": "summarization", "system": f"lead-{k}", **common,
                          "validation_examples": len(documents), **{f"val_{k_}": v for k_, v in figures.items()}}),
              flush=True)

    root = args.run_dir or tempfile.mkdtemp(prefix="keras_rnn_bench_")
    for variant in variants:
        config = base.replace(**VARIANTS[variant])
        run_dir = os.path.join(root, variant)
        started = time.perf_counter()
        result = train_summarization(config, run_dir, verbose=args.verbose,
                                     evaluate_beam_widths=(1, config.decoding.beam_width))
        m = result.metrics
        print(json.dumps({
            "benchmark": "summarization", "system": variant, **common,
            **{k: v for k, v in m.items() if k.startswith(("val_rouge", "decode_", "empty_"))},
            "val_loss": round(m["val_loss"], 4),
            "wall_time_s": round(time.perf_counter() - started, 1),
            "fit_time_s": m["fit_time_s"], "train_time_s": m["train_time_s"], "epochs": m["epochs_this_call"],
            "train_examples": m["train_examples"], "validation_examples": m["validation_examples"],
            "train_target_tokens_per_s": round(m["train_target_tokens_per_epoch"] * m["epochs_this_call"]
                                               / m["train_time_s"]),
            "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "config": {k: v for k, v in config.flat().items() if k != "corpus"},
            "run_dir": run_dir,
        }), flush=True)


def rescore(run_dir: str, length_penalties: list[float], ngram_sizes: list[int], beam_width: int | None) -> None:
    import keras

    import keras_rnn  # noqa: F401  (registers the layers model.keras holds)
    from keras_rnn import SummarizationConfig
    from keras_rnn.data.parallel import decoded_pairs
    from keras_rnn.core.seq2seq import generate
    from keras_rnn.tasks.summarization import preprocessor_from_run, rouge_report, summary_generator
    from keras_rnn.tasks.summarization.pipeline import _load_summarization_pairs

    if not os.path.isfile(os.path.join(run_dir, "model.keras")):
        sys.exit(f"--rescore {run_dir!r}: no model.keras there (a finished summarization run dir)")
    config = SummarizationConfig.load(os.path.join(run_dir, "config.json"))
    preprocessor = preprocessor_from_run(config, run_dir)
    model = keras.saving.load_model(os.path.join(run_dir, "model.keras"))
    _, validation, validation_references = _load_summarization_pairs(config)
    pairs = decoded_pairs(validation)
    references = validation_references or [[] for _ in pairs]
    halves = {"select": range(0, len(pairs), 2), "confirm": range(1, len(pairs), 2), "all": range(len(pairs))}
    width = beam_width or config.decoding.beam_width
    trials = [(1, 0.0, n) for n in ngram_sizes] + [(width, p, n) for p in length_penalties for n in ngram_sizes]
    for beam, penalty, ngram in trials:
        decoding = config.replace(length_penalty=penalty, no_repeat_ngram_size=ngram)
        generator = summary_generator(model, preprocessor, decoding, beam_width=beam)
        outputs, rate = generate(generator, [d for d, _ in pairs])
        line = {"benchmark": "summarization_decoding", "beam_width": beam,
                "length_penalty": penalty if beam > 1 else None, "no_repeat_ngram_size": ngram,
                "documents_per_s": round(rate, 1)}
        for half, rows in halves.items():
            figures = rouge_report([outputs[i] for i in rows], [pairs[i][1].strip() for i in rows],
                                   [references[i] for i in rows] if validation_references else None)
            line.update({f"{half}_{k}": v for k, v in figures.items()
                         if half == "all" or not k.endswith("_of_references")})
            line[f"{half}_mean_words"] = round(sum(len(outputs[i].split()) for i in rows) / len(rows), 2)
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
