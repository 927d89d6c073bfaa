"""tf.distribute strategies by name, and which worker this process is."""

from __future__ import annotations

import os

import tensorflow as tf

from keras_rnn.validation import validate_choice

STRATEGIES = ("default", "mirrored", "multi_worker")


def get_strategy(name: str = "default") -> tf.distribute.Strategy:
    """`"default"` (one device), `"mirrored"` (all local GPUs) or `"multi_worker"` (cluster from TF_CONFIG).

    Create it first thing in a program: `MultiWorkerMirroredStrategy` must exist before other TF ops.
    """
    validate_choice("strategy", name, STRATEGIES)
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if not os.environ.get("TF_CONFIG"):
        raise ValueError(
            "strategy 'multi_worker' reads the cluster from the TF_CONFIG environment variable, which is "
            'not set. Example: TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
            '"task": {"type": "worker", "index": 0}}\''
        )
    return KerasMultiWorkerMirroredStrategy()


class KerasMultiWorkerMirroredStrategy(tf.distribute.MultiWorkerMirroredStrategy):
    """`MultiWorkerMirroredStrategy` answering the two `reduce` calls Keras 3's `fit` gets wrong.

    Keras 3.15's TensorFlow trainer (tensorflow/tensorflow#72388) calls, under this strategy,
    1. `reduce("MEAN", (x, y))` on a whole input batch only to learn its shapes for a symbolic build,
       which fails on the tuple, and could not average id batches of different lengths anyway;
    2. `reduce("MEAN", loss, axis=0)` on every scalar it logs, which fails for a scalar.
    Here (1) returns this worker's own batch and (2) averages across workers (`axis=None`), which is
    what Keras means. Gradients are not reduced through this method, so training is unchanged.
    """

    def reduce(self, reduce_op, value, axis=None):
        if isinstance(value, (tuple, list, dict)):
            return tf.nest.map_structure(lambda v: self.experimental_local_results(v)[0], value)
        if axis == 0 and self.experimental_local_results(value)[0].shape.rank == 0:
            axis = None
        return super().reduce(reduce_op, value, axis=axis)


def worker_index(strategy: tf.distribute.Strategy) -> tuple[int, int]:
    """(this worker's index, number of workers); (0, 1) outside multi-worker training."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return 0, 1
    workers = len(resolver.cluster_spec().as_dict().get("worker", []))
    return int(resolver.task_id or 0), max(workers, 1)

