"""Named-entity benchmark on CoNLL-2003 English: trains the BiLSTM-CRF and the softmax tagger from scratch
(no pretrained embeddings), scores both on the validation split (`valid.txt`; the test split is never
read) and prints, as one JSON line, their entity F1 (CoNLL conlleval reading, seqeval) beside a
baseline, their training times and the tagging speed of their exports.

    python benchmarks/tagging_conll.py                       # ../shared/data/conll2003, both heads
    python benchmarks/tagging_conll.py --heads crf --epochs 20

Baseline: each validation token gets the IOB2 tag it had most often in training (O when unseen), the
classic "memorise the names" reference. Speeds: sentences a second through the export's `tag_tokens`
signature (validation sentences as given, batches of 64 similar lengths) and through `serving_default`
(the same sentences as raw text, tokenised in the graph), measured alone in one process; the softmax
export's speed is reported as a ratio to the CRF export's measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter, defaultdict

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DATA = os.environ.get("KERAS_RNN_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))


def memorising_baseline(train, validation) -> dict:
    """Entity scores of tagging each token with its most frequent training tag (O when unseen)."""
    from keras_rnn.tagging_metrics import entity_report

    counts: dict = defaultdict(Counter)
    for sentence in train:
        for token, tag in zip(sentence.tokens, sentence.tags):
            counts[token][tag] += 1
    predicted = [[counts[t].most_common(1)[0][0] if t in counts else "O" for t in s.tokens] for s in validation]
    report = entity_report([s.tags for s in validation], predicted)
    return {key: round(report[key] * 100, 2) for key in ("f1", "precision", "recall")}


def tagging_speed(export: str, sentences, repeats: int = 1) -> dict:
    """Sentences a second through both signatures of an export (one warm-up pass each first)."""
    from keras_rnn.tasks.tagging import TaggerPredictor

    predictor = TaggerPredictor(export, batch_size=64)
    tokens = [s.tokens for s in sentences]
    texts = [" ".join(t) for t in tokens]
    predictor.tag_tokens(tokens[:128])
    predictor.tag(texts[:128])
    started = time.perf_counter()
    for _ in range(repeats):
        predictor.tag_tokens(tokens)
    tag_tokens = repeats * len(tokens) / (time.perf_counter() - started)
    started = time.perf_counter()
    for _ in range(repeats):
        predictor.tag(texts)
    text = repeats * len(texts) / (time.perf_counter() - started)
    return {"tag_tokens_sentences_per_s": round(tag_tokens, 1), "text_sentences_per_s": round(text, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=os.path.join(DATA, "conll2003"),
                        help="a folder with train.txt and valid.txt, or a TFDS name (default: %(default)s)")
    parser.add_argument("--heads", default="crf,softmax", help="heads to train, in order (default: %(default)s)")
    parser.add_argument("--run-dir", help="keep the runs here (one folder a head); rerun to resume "
                        "(default: a temporary folder)")
    parser.add_argument("--config", help="JSON file of configuration values for every head (flags override it)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs (default: the task's, 30)")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--verbose", type=int, default=2)
    args = parser.parse_args()

    from keras_rnn.core.runs import changed_fields, is_finished_run
    from keras_rnn.files import read_json_object
    from keras_rnn.tasks.tagging import TAGGING, TaggingConfig, train_tagger

    root = args.run_dir or tempfile.mkdtemp(prefix="tagging_benchmark_")
    values = read_json_object(args.config, "--config") if args.config else {}
    if args.epochs:
        values["epochs"] = args.epochs
    figures: dict = {"corpus": os.path.abspath(args.data) if os.path.exists(args.data) else args.data,
                     "cpu_cores": os.cpu_count(), "heads": {}}
    for head in [h.strip() for h in args.heads.split(",") if h.strip()]:
        config = TaggingConfig(corpus=args.data, head=head, **values)
        run_dir = os.path.join(root, head)
        if is_finished_run(run_dir):  # a rerun after a kill: a finished head is not trained again
            changed = changed_fields(run_dir, config)
            if changed:
                parser.error(f"{run_dir!r} holds a finished run with another configuration (changed: {changed})")
            result = TAGGING.load_finished(config, run_dir)
        else:
            result = train_tagger(config, run_dir, verbose=args.verbose)
        export = TAGGING.export(os.path.join(root, f"{head}_export"), result, overwrite=True)
        metrics = result.metrics
        figures["heads"][head] = {
            "val_f1": round(metrics["val_f1"] * 100, 2), "val_precision": round(metrics["val_precision"] * 100, 2),
            "val_recall": round(metrics["val_recall"] * 100, 2),
            "val_f1_per_type": {k: round(v["f1"] * 100, 2) for k, v in metrics["val_per_type"].items()},
            "epochs_run": metrics["epochs_this_call"], "fit_time_s": metrics["fit_time_s"],
            "train_wall_time_s": metrics["wall_time_s"], "config": config.to_dict(), "export": export,
        }
        print(json.dumps({head: figures["heads"][head]}), flush=True)
    from keras_rnn.tasks.tagging.pipeline import load_corpus

    corpus = load_corpus(TaggingConfig(corpus=args.data, **values))
    figures["validation_source"] = corpus.validation_source
    figures["validation_sentences"] = len(corpus.validation)
    figures["baseline_most_frequent_tag"] = memorising_baseline(corpus.train, corpus.validation)
    speeds = {head: tagging_speed(entry["export"], corpus.validation) for head, entry in figures["heads"].items()}
    for head, speed in speeds.items():
        figures["heads"][head]["speed"] = speed
    if "crf" in speeds and "softmax" in speeds:
        figures["softmax_to_crf_speed_ratio"] = {
            key: round(speeds["softmax"][key] / speeds["crf"][key], 2) for key in speeds["crf"]}
    from benchmarks.report import print_figures

    print_figures(figures, args.json)


if __name__ == "__main__":
    main()
