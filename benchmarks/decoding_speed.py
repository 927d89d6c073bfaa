"""Greedy against beam search decoding time on the same batches, and the working tree's decoding against
an earlier revision's: one JSON line per case.

    python benchmarks/decoding_speed.py                           # against 32770d0, before the rewrite
    python benchmarks/decoding_speed.py --reference-rev HEAD~3    # against any revision
    python benchmarks/decoding_speed.py --reference-rev none      # the working tree only

A translation model of the default size (`build_translation_model` with its default network: GRU,
256-dimensional embeddings, a bidirectional 256-unit encoder, a 512-unit decoder, Luong attention; random
weights) over 8,000 source and 6,000 target words decodes `--batches` random batches of 64 sentences of
8-30 tokens with `decode_ids` inside a `tf.function` (unknown batch and length, traced once before timing)
for greedy search and beam search of each `--widths` (GNMT length penalty 0.6, as translation evaluates).
Times are seconds for all the batches, each batch's the best of `--passes` runs; the implementations take
turns on each batch, so that load from elsewhere falls on all of them alike.

Two cases: `max_length`, the random model as it is, which hardly ever emits the end token, so every
hypothesis runs to the maximum length (1.5 × source + 10 tokens): the worst case for anything that grows
with the output; and `varied_lengths`, the end token's output bias raised (`--end-bias`) so that outputs
end after varied numbers of tokens, as a trained model's do.

Two more cases time the decoding loop alone (`--cases loop_translation loop_summarization`, included by
default): `dynamic_decode` over a step function that only looks its logits and attention up in random
tables (from a running hash of each hypothesis's tokens, so hypotheses differ) and reads a 512-wide
encoder memory as context, for translation's sizes (64 sentences, 30 source tokens, 55 steps, 6,000
words) and long summaries' (16 documents of 400 tokens, summarization's default source cut and
vocabulary of 10,000 words, 100 steps, beam 4): what decoding itself costs around the model's step, where
anything that grows with the output shows.

With a reference revision, its `keras_rnn/decoding.py` (`git show REV:keras_rnn/decoding.py`) is loaded as
a separate module and `decode_ids` calls its `dynamic_decode` (with its own strategy classes) in place of
the current one; each line then has both implementations' seconds, their beam/greedy ratios, the
old/new time ratio of each search, and whether their outputs (ids, lengths, log-probabilities, attention)
are identical on every batch.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from unittest import mock

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

START_ID, END_ID = 2, 3


def load_reference(rev: str):
    """`keras_rnn/decoding.py` at git revision `rev`, imported as its own module."""
    source = subprocess.run(["git", "show", f"{rev}:keras_rnn/decoding.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    path = os.path.join(tempfile.mkdtemp(prefix="decoding_reference_"), "decoding_reference.py")
    with open(path, "w") as f:
        f.write(source)
    spec = importlib.util.spec_from_file_location("decoding_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def random_batches(count: int, size: int, vocabulary: int, seed: int):
    import numpy as np

    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(count):
        lengths = rng.integers(8, 31, size=size)
        ids = np.zeros((size, lengths.max()), np.int32)
        for row, length in enumerate(lengths):
            ids[row, :length] = rng.integers(4, vocabulary, size=length)
        batches.append(ids)
    return batches


def decoder_function(module, encoder, decoder, width: int):
    """A `tf.function` decoding with `module`'s `dynamic_decode` through `decode_ids` (greedy for width 1)."""
    import tensorflow as tf

    from keras_rnn.models import seq2seq

    strategy = module.GreedySearch() if width == 1 else module.BeamSearch(width, length_penalty=0.6)

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32)])
    def run(source_ids):
        with mock.patch.object(seq2seq, "dynamic_decode", module.dynamic_decode):  # only while tracing
            result = seq2seq.decode_ids(encoder, decoder, source_ids, start_id=START_ID, end_id=END_ID,
                                        strategy=strategy)
        return result.ids, result.lengths, result.log_probs, result.attention

    return run


def table_step(vocabulary: int, source_length: int, seed: int):
    """A `step_fn` that looks its logits and attention up in random tables by a running hash of each
    hypothesis's tokens, and reads the context (so that decoding must provide it)."""
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    states = 257
    logits = tf.constant(rng.normal(size=(states, vocabulary)).astype(np.float32) * 0.3)
    attention = tf.constant(rng.uniform(size=(states, source_length)).astype(np.float32))

    def step_fn(ids, step, state, context):
        history_hash, = state
        memory, = context
        history_hash = (history_hash * 31 + ids + 7) % states
        step_logits = tf.gather(logits, history_hash) + 0.0 * memory[:, 0, :1]
        return step_logits, (history_hash,), tf.gather(attention, history_hash)

    return step_fn


def loop_function(module, step_fn, width: int, max_length: int):
    """A `tf.function` running `module`'s `dynamic_decode` over `step_fn` (greedy for width 1)."""
    import tensorflow as tf

    strategy = module.GreedySearch() if width == 1 else module.BeamSearch(width, length_penalty=0.6)

    @tf.function(input_signature=[tf.TensorSpec([None, None, None], tf.float32)])
    def run(memory):
        batch = tf.shape(memory)[0]
        result = module.dynamic_decode(step_fn, tf.fill([batch], START_ID), END_ID, (tf.range(batch),),
                                       context=(memory,), max_length=max_length, strategy=strategy)
        return result.ids, result.lengths, result.log_probs, result.attention

    return run


def time_functions(functions: dict, batches: list, passes: int) -> tuple[dict, dict]:
    """The outputs of every function on every batch (the first call traces), and seconds for all batches,
    each batch's the fastest of `passes` runs; the functions take turns on each batch."""
    outputs = {key: [[t.numpy() if t is not None else None for t in fn(b)] for b in batches]
               for key, fn in functions.items()}
    fastest = {key: [float("inf")] * len(batches) for key in functions}
    for _ in range(passes):
        for i, b in enumerate(batches):
            for key, fn in functions.items():
                started = time.perf_counter()
                fn(b)[0].numpy()
                fastest[key][i] = min(fastest[key][i], time.perf_counter() - started)
    return outputs, {key: sum(times) for key, times in fastest.items()}


def report(line: dict, implementations: dict, searches: dict, outputs: dict, best: dict) -> dict:
    """`line` with each implementation's seconds and beam/greedy ratios, and old against new."""
    import numpy as np

    greedy_lengths = np.concatenate([o[1] for o in outputs[("new", "greedy")]])
    line["greedy_output_lengths"] = {"min": int(greedy_lengths.min()), "mean": round(float(greedy_lengths.mean()), 1),
                                     "max": int(greedy_lengths.max())}
    line["mean_output_length"] = {
        search: round(float(np.concatenate([o[1] for o in outputs[("new", search)]]).mean()), 1)
        for search in searches}
    for impl in implementations:
        line[impl] = {f"{search}_s": round(best[(impl, search)], 3) for search in searches}
        for search, width in searches.items():
            if width > 1:
                line[impl][f"{search}_over_greedy"] = round(best[(impl, search)] / best[(impl, "greedy")], 2)
    if "old" in implementations:
        line["old_over_new_time"] = {search: round(best[("old", search)] / best[("new", search)], 2)
                                     for search in searches}
        line["outputs_identical"] = {search: all(
            all((a is None and b is None) or (a is not None and b is not None and a.shape == b.shape
                                              and np.array_equal(a, b))
                for a, b in zip(old, new))
            for old, new in zip(outputs[("old", search)], outputs[("new", search)])) for search in searches}
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference-rev", default="32770d0",
                        help="git revision whose keras_rnn/decoding.py to time as well; 'none' for none "
                             "(default: %(default)s)")
    parser.add_argument("--batches", type=int, default=3, help="batches of --batch-size sentences")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--passes", type=int, default=3, help="timed runs of each batch; each batch counts its fastest")
    parser.add_argument("--widths", type=int, nargs="+", default=[5, 4], help="beam widths to time")
    parser.add_argument("--source-vocabulary", type=int, default=8000)
    parser.add_argument("--target-vocabulary", type=int, default=6000)
    parser.add_argument("--end-bias", type=float, default=0.7,
                        help="added to the end token's output bias for the varied_lengths case (0.7: greedy outputs "
                             "of 0-55 tokens, 39 on average, with the default seed)")
    cases = ["max_length", "varied_lengths", "loop_translation", "loop_summarization"]
    parser.add_argument("--cases", nargs="+", default=cases, choices=cases)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import keras
    import numpy as np
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # each implementation and search is its own tf.function: no retracing
    from keras_rnn import decoding
    from keras_rnn.models.seq2seq import build_translation_model

    keras.utils.set_random_seed(args.seed)
    model = build_translation_model(args.source_vocabulary, args.target_vocabulary)
    model({"source_ids": np.array([[4, 5]]), "decoder_input_ids": np.array([[START_ID, 6]])})
    encoder, decoder = model.get_layer("encoder"), model.get_layer("decoder")
    batches = [tf.constant(b)
               for b in random_batches(args.batches, args.batch_size, args.source_vocabulary, args.seed)]
    implementations = {"new": decoding}
    if args.reference_rev.lower() != "none":
        implementations["old"] = load_reference(args.reference_rev)
    bias = decoder.output_bias.numpy()

    for case in args.cases:
        line = {"benchmark": "decoding_speed", "case": case, "batches": args.batches, "passes": args.passes,
                "cpu_count": os.cpu_count(), "reference_rev": args.reference_rev}
        if case.startswith("loop_"):
            # (batch, source length, steps, vocabulary, beam widths)
            size, source_length, max_length, vocabulary, widths = {
                "loop_translation": (args.batch_size, 30, 55, args.target_vocabulary, args.widths),
                "loop_summarization": (16, 400, 100, 10000, [4]),
            }[case]
            searches = {"greedy": 1, **{f"beam{w}": w for w in widths}}
            step_fn = table_step(vocabulary, source_length, args.seed)
            functions = {(impl, search): loop_function(module, step_fn, width, max_length)
                         for impl, module in implementations.items() for search, width in searches.items()}
            memories = [tf.random.stateless_normal([size, source_length, 512], seed=[args.seed, i])
                        for i in range(args.batches)]
            line.update(batch_size=size, source_length=source_length, max_length=max_length, vocabulary=vocabulary)
            outputs, best = time_functions(functions, memories, args.passes)
        else:
            searches = {"greedy": 1, **{f"beam{w}": w for w in args.widths}}
            end_bias = args.end_bias if case == "varied_lengths" else 0.0
            decoder.output_bias.assign(bias + end_bias * np.eye(len(bias), dtype=bias.dtype)[END_ID])
            functions = {(impl, search): decoder_function(module, encoder, decoder, width)
                         for impl, module in implementations.items() for search, width in searches.items()}
            line.update(batch_size=args.batch_size)
            outputs, best = time_functions(functions, batches, args.passes)
        print(json.dumps(report(line, implementations, searches, outputs, best)), flush=True)


if __name__ == "__main__":
    main()
