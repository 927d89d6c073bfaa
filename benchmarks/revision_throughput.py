"""Training throughput of this checkout beside an earlier revision's, on the same batches, in alternating
rounds: the side-by-side ratio that a change's speed-up is stated as (issue 18).

    python benchmarks/revision_throughput.py --task summarization --reference 18892d7
    python benchmarks/revision_throughput.py --task translation --reference 18892d7 --steps 200
    python benchmarks/revision_throughput.py --task summarization --reference 18892d7 --set batch_size=64

The reference revision's `keras_rnn` package is taken out of git (`git archive`) into a temporary folder
(or `--reference` names a folder that holds it).
Each measurement runs in its own process with one of the two packages first on the path: the task's
own data preparation and model (`task.prepare`, `task.build`, as `keras-rnn train` runs them) for the
configuration's defaults and `--set` values, built in the configuration's precision where the code has
one (`keras_rnn.core.precision`; earlier code computes in float32), the first `--steps` training batches
cached, one `fit` pass to trace, then a timed `fit` pass. Rounds alternate reference and checkout (`--rounds`, default 2), so
that a machine that slows down for a while (this one's epochs vary by tens of percent) slows both. The
figures: target tokens (non-padding labels) per second of each timed pass, the median per code, and the
ratio of the medians. Both codes must make the same batches (their token counts are compared).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA_ROOT = os.environ.get("KERAS_RNN_DATA", os.path.join(REPO, "..", "shared", "data"))
DEFAULT_DATA = {"translation": os.path.join(DATA_ROOT, "multi30k"),
                "summarization": os.path.join(DATA_ROOT, "aeslc_train_dev.tar.xz")}


def measure(task_name: str, corpus: str, steps: int, settings: dict) -> dict:
    """One measurement with whichever `keras_rnn` is first on the path (see the module docstring)."""
    import keras
    import tensorflow as tf

    import keras_rnn
    from keras_rnn.core.task import get_task

    task = get_task(task_name)
    values = {"corpus": corpus, **settings}
    if task_name == "translation" and "source" not in values and "target" not in values:
        values.update(source="de", target="en")
    config = task.config_class(**values)
    keras.utils.set_random_seed(config.optimization.seed)
    data = task.prepare(config, tempfile.mkdtemp(prefix="revision_throughput_"))
    batches = data.fresh_train().take(steps).cache()
    tokens = sum(int(tf.math.count_nonzero(labels)) for _, labels in batches)  # also fills the cache
    count = sum(1 for _ in batches)
    try:  # the precision the configuration trains in, as `keras_rnn.core.train` builds (code that has one)
        from keras_rnn.core.precision import dtype_policy

        precision = dtype_policy(config.optimization.precision)
    except ImportError:
        precision = contextlib.nullcontext("float32")
    with precision as policy:
        model = task.build(config, data, data.train_batches)
    model.fit(batches, epochs=1, verbose=0)  # traces
    started = time.perf_counter()
    model.fit(batches, epochs=1, verbose=0)
    seconds = time.perf_counter() - started
    return {"package": os.path.dirname(os.path.abspath(keras_rnn.__file__)), "policy": str(policy),
            "steps": count, "tokens": tokens,
            "seconds": round(seconds, 2), "target_tokens_per_s": round(tokens / seconds)}


def export_revision(revision: str, folder: str) -> str:
    """The `keras_rnn` package of `revision` (a commit of this repository) written under `folder`."""
    archive = subprocess.run(["git", "-C", REPO, "archive", revision, "keras_rnn"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
    return folder


def run_worker(code: str, args, settings: list[str]) -> dict:
    out = os.path.join(tempfile.mkdtemp(prefix="revision_throughput_"), "figures.json")
    command = [sys.executable, os.path.abspath(__file__), "--worker", code, "--task", args.task, "--data", args.data,
               "--steps", str(args.steps), "--json", out]
    for setting in settings:
        command += ["--set", setting]
    # The worker's package must be the one imported, not this checkout installed in editable mode.
    env = {**os.environ, "PYTHONPATH": code, "TF_CPP_MIN_LOG_LEVEL": "2"}
    subprocess.run(command, check=True, env=env, cwd=code)
    with open(out, encoding="utf-8") as f:
        return json.load(f)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="summarization", choices=sorted(DEFAULT_DATA))
    parser.add_argument("--data", help="the corpus (default: multi30k or the AESLC archive beside the repo)")
    parser.add_argument("--reference", help="the earlier revision: a commit of this repository, or a folder "
                                            "holding that revision's keras_rnn package")
    parser.add_argument("--steps", type=int, default=150, help="training batches timed (default 150)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (default 2)")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="a configuration value for both codes (repeatable)")
    parser.add_argument("--worker", metavar="CODE", help=argparse.SUPPRESS)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    args.data = os.path.abspath(args.data or DEFAULT_DATA[args.task])
    sys.path.insert(1, REPO)  # after a worker's package: `benchmarks` only
    from benchmarks.flags import parse_settings

    try:
        settings = parse_settings(args.set)
    except ValueError as error:
        parser.error(f"--set {error}")
    if args.worker:
        sys.path.insert(0, args.worker)
        figures = measure(args.task, args.data, args.steps, settings)
        if not figures["package"].startswith(os.path.abspath(args.worker)):
            sys.exit(f"imported keras_rnn from {figures['package']}, not from {args.worker}")
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(figures, f)
        return
    if not args.reference:
        parser.error("--reference REVISION is needed (a commit of this repository to measure beside the checkout)")
    if not os.path.exists(args.data):
        parser.error(f"--data {args.data!r} does not exist")
    if os.path.isdir(os.path.join(args.reference, "keras_rnn")):
        reference = os.path.abspath(args.reference)
    else:
        reference = export_revision(args.reference, tempfile.mkdtemp(prefix="revision_"))
    codes = {"reference": reference, "checkout": REPO}
    runs: dict[str, list[dict]] = {name: [] for name in codes}
    for _ in range(args.rounds):
        for name, code in codes.items():
            runs[name].append(run_worker(code, args, args.set))
    tokens = {run["tokens"] for measured in runs.values() for run in measured}
    if len(tokens) != 1:
        sys.exit(f"the two codes made different batches (target tokens {sorted(tokens)}): not comparable")
    medians = {name: statistics.median(run["target_tokens_per_s"] for run in measured) for name, measured in runs.items()}
    figures = {
        "benchmark": "revision_throughput", "task": args.task, "data": args.data, "reference": args.reference,
        "settings": settings, "steps": runs["checkout"][0]["steps"], "target_tokens": tokens.pop(),
        "policy": {name: measured[0]["policy"] for name, measured in runs.items()},
        "target_tokens_per_s": {name: [run["target_tokens_per_s"] for run in measured] for name, measured in runs.items()},
        "median_target_tokens_per_s": medians,
        "speedup": round(medians["checkout"] / medians["reference"], 2),
        "cpu_count": os.cpu_count(),
    }
    from benchmarks.report import print_figures

    print_figures(figures, args.json)


if __name__ == "__main__":
    main()
