"""How often `fit` traces its train and validation steps per epoch over length-bucketed batches.

    python benchmarks/retracing.py                              # Multi30k de→en, first 3,000 pairs
    python benchmarks/retracing.py --limit 20000 --epochs 3 --jit-compile true

Every bucket is its own batch shape. Keras traces `train_step` inside a `tf.function` with
`reduce_retracing=True`, so after two shapes it should trace once more with unknown lengths and then never
again; with XLA (`--jit-compile true`; Keras 3.15's "auto" picks it only when a GPU is present) every new
shape is compiled again even so. Prints one JSON line per epoch: traces of each step, wall time, and the
number of distinct batch shapes in the training data.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DATA_ROOT = os.environ.get("KERAS_RNN_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=os.path.join(DATA_ROOT, "multi30k"))
    parser.add_argument("--source", default="de")
    parser.add_argument("--target", default="en")
    parser.add_argument("--limit", type=int, default=3000, help="training pairs used (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--jit-compile", choices=("true", "false"), default="false",
                        help="compile the steps with XLA (default: %(default)s, as the project does)")
    args = parser.parse_args()

    import keras

    from keras_rnn import TranslationConfig
    from keras_rnn.data.parallel import load_parallel
    from keras_rnn.tasks.translation import build_compiled_translation_model, prepare_seq2seq_data

    config = TranslationConfig(corpus=os.path.abspath(args.data), source=args.source, target=args.target,
                               epochs=args.epochs)
    pairs = load_parallel(config.data.corpus, source=config.data.source, target=config.data.target,
                          seed=config.optimization.seed, validation_fraction=config.data.validation_fraction,
                          validation_split=config.data.validation_split)
    data = prepare_seq2seq_data(config, pairs.train.take(args.limit), pairs.validation.take(args.limit // 10))
    model = build_compiled_translation_model(config, data)
    model.jit_compile = args.jit_compile == "true"
    shapes = {tuple(tuple(tensor.shape) for tensor in inputs.values()) for inputs, _ in data.train}

    traces = {"train": 0, "test": 0}
    for kind in traces:  # the Python step runs once per trace, never per batch
        step = getattr(model, f"{kind}_step")

        def counted(batch, step=step, kind=kind):
            traces[kind] += 1
            return step(batch)

        setattr(model, f"{kind}_step", counted)

    class Report(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.started, self.before = time.perf_counter(), dict(traces)

        def on_epoch_end(self, epoch, logs=None):
            print(json.dumps({
                "epoch": epoch, "train_traces": traces["train"] - self.before["train"],
                "validation_traces": traces["test"] - self.before["test"],
                "epoch_time_s": round(time.perf_counter() - self.started, 1),
                "train_batch_shapes": len(shapes), "train_batches": data.train_batches,
                "jit_compile": model.jit_compile, "cores": os.cpu_count(),
            }), flush=True)

    model.fit(data.train, validation_data=data.validation, epochs=args.epochs, verbose=0, callbacks=[Report()])


if __name__ == "__main__":
    main()
