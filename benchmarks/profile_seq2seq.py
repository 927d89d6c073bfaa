"""Where a seq2seq training step spends its time: one JSON line of seconds per step for each phase, on the
same fixed batches, and how often `fit` traces its step.

    python benchmarks/profile_seq2seq.py                                   # translation, Multi30k de→en
    python benchmarks/profile_seq2seq.py --task summarization --data ../shared/data/aeslc
    python benchmarks/profile_seq2seq.py --batches 40 --cell lstm          # any configuration flag

The task's own data preparation and model (`task.prepare`, `task.build`, as `keras-rnn train` runs them)
on the first `--batches` training batches (length-bucketed, so several shapes). Phases, each the median
over the batches after one traced pass (every phase is a `tf.function` over unknown lengths, so it traces
once):

- `input_pipeline`: pulling the batches from a fresh training dataset (tokenising, bucketing, padding);
- `encoder_forward`, `decoder_forward`: the two layers alone (training mode, dropout on);
- `loss`, `metrics`: the loss and the compiled metrics on fixed logits;
- `forward_and_loss`, `forward_backward`: the whole model and its loss, then with the gradients too;
- `step_without_metrics`: forward, backward and the optimizer update;
- `keras_train_step`: Keras's own compiled train function (metrics included), called per batch;
- `fit_per_step`: `model.fit` over the batches for one epoch (callbacks, progress, Python overhead).

Also prints target tokens per second of each whole-step phase and the traces `fit` made of its train step
in an epoch over the real bucketed batches (`fit_traces`). Measured alone on the machine it runs on;
nothing else should run beside it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DATA_ROOT = os.environ.get("KERAS_RNN_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
DEFAULT_DATA = {"translation": os.path.join(DATA_ROOT, "multi30k"), "summarization": os.path.join(DATA_ROOT, "aeslc")}


def median_seconds(function, batches, repeats: int = 1) -> float:
    """The median wall time of `function(batch)` over the batches (after a first pass that traces)."""
    for batch in batches:
        function(batch)
    times = []
    for _ in range(repeats):
        for batch in batches:
            started = time.perf_counter()
            result = function(batch)
            _ = [t.numpy() for t in _flatten(result)]  # wait for the values
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def _flatten(value):
    import tensorflow as tf

    return [t for t in tf.nest.flatten(value) if isinstance(t, (tf.Tensor, tf.Variable))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="translation", choices=sorted(DEFAULT_DATA))
    parser.add_argument("--data", help="the corpus (default: multi30k or aeslc beside the repo)")
    parser.add_argument("--batches", type=int, default=30, help="fixed training batches timed (default 30)")
    parser.add_argument("--repeats", type=int, default=2, help="timed passes over the batches (default 2)")
    parser.add_argument("--policy", default=None,
                        help="a Keras dtype policy for the model, e.g. mixed_bfloat16 (default: the global one)")
    parser.add_argument("--json", help="also write the figures to this file")
    known, _ = parser.parse_known_args()

    from keras_rnn.cli import add_config_flags, config_from_args
    from keras_rnn.core.task import get_task

    task = get_task(known.task)
    add_config_flags(parser, task.config_class)
    args = parser.parse_args()
    args.config = None
    args.corpus = os.path.abspath(args.data or DEFAULT_DATA[args.task])
    if args.task == "translation" and getattr(args, "source", None) is None and getattr(args, "target", None) is None:
        args.source, args.target = "de", "en"
    config = config_from_args(args, task.config_class)

    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(config.optimization.seed)
    if args.policy:
        keras.mixed_precision.set_global_policy(args.policy)
    run_dir = tempfile.mkdtemp(prefix="profile_seq2seq_")
    started = time.perf_counter()
    data = task.prepare(config, run_dir)
    prepare_s = time.perf_counter() - started
    model = task.build(config, data, data.train_batches)
    batches = list(data.train.take(args.batches))
    tokens = statistics.median(float(tf.math.count_nonzero(y)) for _, y in batches)
    x_spec = {name: tf.TensorSpec([None, None], tensor.dtype) for name, tensor in batches[0][0].items()}
    y_spec = tf.TensorSpec([None, None], batches[0][1].dtype)
    encoder, decoder = model.get_layer("encoder"), model.get_layer("decoder")

    def compiled(function):
        return tf.function(function, input_signature=[(x_spec, y_spec)])

    @compiled
    def encoder_forward(batch):
        return encoder(batch[0]["source_ids"], training=True)

    def decoder_inputs(x):
        memory, mask, summary = encoder(x["source_ids"], training=True)
        extra = [x["source_extended_ids"]] if decoder.copy else []
        return [x["decoder_input_ids"], memory, mask, summary, *extra]

    @compiled
    def encoder_and_decoder_forward(batch):
        return decoder(*decoder_inputs(batch[0]), training=True)

    logits_of = {}

    def fixed_logits(batch):
        key = tuple(tuple(t.shape) for t in tf.nest.flatten(batch))  # a copy head's logits grow with the source
        if key not in logits_of:
            logits_of[key] = model(batch[0], training=False)
        return logits_of[key]

    loss_function = model.loss

    @tf.function(reduce_retracing=True)
    def loss_only(y, logits):
        return loss_function(y, logits)

    # The metric objects given to `compile` (Keras keeps them on its CompileMetrics container).
    compiled_metrics = list(getattr(getattr(model, "_compile_metrics", None), "_user_metrics", None) or [])

    @tf.function(reduce_retracing=True)
    def metrics_only(y, logits):
        for metric in compiled_metrics:
            metric.update_state(y, logits)
        return [metric.result() for metric in compiled_metrics]

    @compiled
    def forward_and_loss(batch):
        x, y = batch
        return model.compute_loss(x, y, model(x, training=True), training=True)

    @compiled
    def forward_backward(batch):
        x, y = batch
        with tf.GradientTape() as tape:
            loss = model.compute_loss(x, y, model(x, training=True), training=True)
        return tape.gradient(loss, model.trainable_variables)

    @compiled
    def step_without_metrics(batch):
        x, y = batch
        with tf.GradientTape() as tape:
            loss = model.compute_loss(x, y, model(x, training=True), training=True)
        gradients = tape.gradient(loss, model.trainable_variables)
        model.optimizer.apply(gradients, model.trainable_variables)
        return loss

    pipeline_times = []
    for _ in range(args.repeats):
        iterator = iter(data.fresh_train())
        for _ in range(len(batches)):
            begun = time.perf_counter()
            next(iterator)
            pipeline_times.append(time.perf_counter() - begun)

    phases = {
        "input_pipeline": statistics.median(pipeline_times),
        "encoder_forward": median_seconds(encoder_forward, batches, args.repeats),
        "encoder_and_decoder_forward": median_seconds(encoder_and_decoder_forward, batches, args.repeats),
        "loss": median_seconds(lambda b: loss_only(b[1], fixed_logits(b)), batches, args.repeats),
        "metrics": median_seconds(lambda b: metrics_only(b[1], fixed_logits(b)), batches, args.repeats)
        if compiled_metrics else 0.0,
        "forward_and_loss": median_seconds(forward_and_loss, batches, args.repeats),
        "forward_backward": median_seconds(forward_backward, batches, args.repeats),
        "step_without_metrics": median_seconds(step_without_metrics, batches, args.repeats),
        "keras_train_step": median_seconds(lambda b: model.train_on_batch(b[0], b[1], return_dict=True), batches,
                                           args.repeats),
    }
    fixed = data.fresh_train().take(len(batches)).cache()  # the real pipeline, its first batches kept
    model.fit(fixed, epochs=1, verbose=0)  # traces, fills the cache
    begun = time.perf_counter()
    model.fit(fixed, epochs=args.repeats, verbose=0)
    phases["fit_per_step"] = (time.perf_counter() - begun) / (args.repeats * len(batches))

    # Traces of the train step in one epoch over the real bucketed batches, on a fresh model.
    traced = task.build(config, data, data.train_batches)
    traces = 0
    train_step = traced.train_step

    def counting_train_step(batch):
        nonlocal traces
        traces += 1  # Python runs only while tracing
        return train_step(batch)

    traced.train_step = counting_train_step
    traced.fit(data.fresh_train().take(max(args.batches, 60)), epochs=1, verbose=0)
    shapes = len({(tuple(x["source_ids"].shape), tuple(y.shape)) for x, y in data.fresh_train().take(max(args.batches, 60))})

    step_phases = ("forward_and_loss", "forward_backward", "step_without_metrics", "keras_train_step", "fit_per_step")
    figures = {
        "benchmark": "profile_seq2seq", "task": args.task, "corpus": args.corpus, "batches": len(batches),
        "median_target_tokens_per_batch": tokens, "batch_size": config.optimization.batch_size,
        "seconds_per_step": {k: round(v, 5) for k, v in phases.items()},
        "target_tokens_per_s": {k: round(tokens / phases[k]) for k in step_phases},
        "share_of_fit_step": {k: round(v / phases["fit_per_step"], 3) for k, v in phases.items()},
        "fit_traces_of_train_step": traces, "distinct_batch_shapes": shapes,
        "prepare_s": round(prepare_s, 1), "cpu_cores": os.cpu_count(),
    }
    from benchmarks.report import print_figures

    print_figures(figures, args.json)


if __name__ == "__main__":
    main()
