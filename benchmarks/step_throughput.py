"""Training throughput of one configuration in several precisions, side by side in one process: the helper
the seq2seq benchmarks use to set a change against the unchanged float32 step (issue 18).

For each precision, a fresh model (`task.build` inside `dtype_policy`) trains with `fit` on the same
`steps` training batches (the task's own bucketed pipeline, cached): one pass to trace, then a timed
pass. Returns target tokens (non-padding labels) per second of the timed pass and the ratios to the
first precision given.
"""

from __future__ import annotations

import time


def step_throughput(task, config, run_dir: str, *, steps: int = 300,
                    precisions: tuple[str, ...] = ("float32", "auto")) -> dict:
    """`{"steps", "tokens", "<precision>": {"policy", "seconds", "target_tokens_per_s"}, "speedup_over_<first>":
    {...}}` for `steps` batches of `task`'s data under `config` (its precision replaced by each one)."""
    import keras
    import tensorflow as tf

    from keras_rnn.core.precision import dtype_policy

    data = task.prepare(config, run_dir)
    batches = data.fresh_train().take(steps).cache()
    tokens = sum(int(tf.math.count_nonzero(labels)) for _, labels in batches)  # also fills the cache
    count = sum(1 for _ in batches)
    figures: dict = {"steps": count, "tokens": tokens}
    for precision in precisions:
        keras.utils.set_random_seed(config.optimization.seed)
        with dtype_policy(precision) as policy:
            model = task.build(config.replace(precision=precision), data, count)
        model.fit(batches, epochs=1, verbose=0)  # traces every shape
        started = time.perf_counter()
        model.fit(batches, epochs=1, verbose=0)
        seconds = time.perf_counter() - started
        figures[precision] = {"policy": policy, "seconds": round(seconds, 2),
                              "target_tokens_per_s": round(tokens / seconds)}
    first = precisions[0]
    figures[f"speedup_over_{first}"] = {
        p: round(figures[first]["seconds"] / figures[p]["seconds"], 2) for p in precisions[1:]}
    return figures
