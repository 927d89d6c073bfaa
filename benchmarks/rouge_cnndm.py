"""ROUGE check against published outputs: See et al. (2017) on the CNN/DailyMail test set.

    python benchmarks/rouge_cnndm.py                       # ../shared/data (or $KERAS_RNN_DATA)
    python benchmarks/rouge_cnndm.py --data PATH/cnndm_test_see2017.jsonl.xz --processes 2

Scores the outputs of the three published systems (seq2seq + attention baseline, pointer-generator,
pointer-generator + coverage) against the reference highlights with `keras_rnn.metrics.rouge`:
rouge-score, Porter stemming, mean F1 of rouge1, rouge2 and rougeLsum (sentences joined by newlines).
Prints one JSON line per system with the expected figures beside the measured ones, then a summary line
with the wall time, and exits with status 1 if any figure differs from the expected one at the second
decimal. `--limit N` scores the first N articles only (no comparison then: the expected figures are for
the whole set of 11,490).
"""

from __future__ import annotations

import argparse
import json
import lzma
import multiprocessing
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DATA_ROOT = os.environ.get("KERAS_RNN_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
FILE = os.path.join("cnn_dailymail_test_see2017", "cnndm_test_see2017.jsonl.xz")
ROUGE_TYPES = ("rouge1", "rouge2", "rougeLsum")
# rouge-score (stemming, rougeLsum, mean F1) on the full test set, from ../shared/data/README.md.
EXPECTED = {
    "baseline_seq2seq_attn_50k": {"rouge1": 31.08, "rouge2": 11.77, "rougeLsum": 28.64},
    "pointer_gen": {"rouge1": 36.18, "rouge2": 15.62, "rougeLsum": 33.23},
    "pointer_gen_cov": {"rouge1": 39.26, "rouge2": 17.23, "rougeLsum": 36.17},
}
ARTICLES = 11490


def resolve(path: str) -> str:
    """The .jsonl.xz file itself, or the file inside a data root / its own folder."""
    if os.path.isdir(path):
        for candidate in (os.path.join(path, FILE), os.path.join(path, os.path.basename(FILE))):
            if os.path.exists(candidate):
                return candidate
    return path


def read_rows(path: str, limit: int | None = None) -> list[dict]:
    """The highlights and the three systems' outputs (lists of sentences); the articles are not needed."""
    rows = []
    with lzma.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            if limit is not None and len(rows) >= limit:
                break
            row = json.loads(line)
            rows.append({key: row[key] for key in ("id", "highlights", *EXPECTED)})
    return rows


def score_chunk(task: tuple[str, list, list]) -> tuple[str, dict[str, list[float]]]:
    from keras_rnn.metrics import rouge_f1_per_example

    system, hypotheses, references = task
    return system, rouge_f1_per_example(hypotheses, references, rouge_types=ROUGE_TYPES, use_stemmer=True,
                                        split_sentences=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=os.path.join(DATA_ROOT, FILE),
                        help="cnndm_test_see2017.jsonl.xz, or the data folder holding it (default: %(default)s)")
    parser.add_argument("--processes", type=int, default=2, help="worker processes (default: %(default)s)")
    parser.add_argument("--limit", type=int, default=None, help="score the first N articles only; no comparison")
    args = parser.parse_args()
    path = resolve(args.data)
    if not os.path.isfile(path):
        parser.error(f"--data {args.data!r}: no cnndm_test_see2017.jsonl.xz there")
    if args.processes < 1 or (args.limit is not None and args.limit < 1):
        parser.error("--processes and --limit must be positive integers")

    started = time.perf_counter()
    import numpy as np

    from keras_rnn.metrics import rouge_f1_per_example  # noqa: F401  (imported once here; forked workers share it)

    imported = time.perf_counter()
    rows = read_rows(path, args.limit)
    loaded = time.perf_counter()
    references = [row["highlights"] for row in rows]
    # Every system cut into `processes` contiguous chunks, so the workers get equal shares; the per-example
    # F1 lists are concatenated back in order and averaged here, which is exactly what `rouge()` returns.
    size = -(-len(rows) // args.processes)
    tasks = [(system, [row[system] for row in rows[start:start + size]], references[start:start + size])
             for system in EXPECTED for start in range(0, len(rows), size)]
    if args.processes == 1:
        results = [score_chunk(task) for task in tasks]
    else:
        # fork: the workers inherit the imported modules instead of importing TensorFlow again.
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else None)
        with context.Pool(args.processes) as pool:
            results = pool.map(score_chunk, tasks)
    per_system: dict[str, dict[str, list[float]]] = {system: {name: [] for name in ROUGE_TYPES} for system in EXPECTED}
    for system, scores in results:
        for name in ROUGE_TYPES:
            per_system[system][name].extend(scores[name])
    scored = time.perf_counter()

    full = args.limit is None or len(rows) == ARTICLES
    if full and len(rows) != ARTICLES:
        print(f"error: expected {ARTICLES} articles in {path}, read {len(rows)}", file=sys.stderr)
        return 1
    mismatches = []
    for system, scores in per_system.items():
        # np.mean, then rounding: what rouge() does with the same per-example scores.
        measured = {name: round(100.0 * float(np.mean(values)), 2) for name, values in scores.items()}
        line = {"benchmark": "rouge_cnndm", "system": system, "articles": len(rows), **measured}
        if full:
            line["expected"] = EXPECTED[system]
            line["match"] = measured == EXPECTED[system]
            if not line["match"]:
                mismatches.append(system)
        print(json.dumps(line))
    print(json.dumps({"benchmark": "rouge_cnndm", "articles": len(rows), "systems": len(EXPECTED),
                      "processes": args.processes, "all_match": (not mismatches) if full else None,
                      "import_s": round(imported - started, 1),
                      "load_s": round(loaded - imported, 1), "score_s": round(scored - loaded, 1),
                      "wall_time_s": round(scored - started, 1)}))
    if mismatches:
        print(f"error: ROUGE differs from the published figures for {', '.join(mismatches)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
