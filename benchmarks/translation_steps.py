"""Short translation probe: trains a few hundred steps and prints validation perplexity, one JSON line.

    python benchmarks/translation_steps.py --steps 300                                  # the default model
    python benchmarks/translation_steps.py --steps 300 --embeddings-initializer uniform # Keras's ±0.05

For comparing how fast variants start to learn on Multi30k de→en (a full run is
`benchmarks/translation.py`). Every `TranslationConfig` field is a flag; the learning rate decays over
`5 × --steps`, as if the probe were the first fifth of a run.
"""

from __future__ import annotations

import argparse
import dataclasses
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
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--embeddings-initializer", default=None,
                        help="a Keras initializer name, e.g. 'uniform' (default: the project's ±0.5 uniform)")
    from keras_rnn.cli import add_config_flags, config_from_args
    from keras_rnn import TranslationConfig

    add_config_flags(parser, TranslationConfig)
    args = parser.parse_args()
    args.config = None
    args.corpus = os.path.abspath(args.data)
    if args.source is None and args.target is None:
        args.source, args.target = "de", "en"
    config = config_from_args(args, TranslationConfig)

    import keras

    from keras_rnn.models.seq2seq import build_translation_model
    from keras_rnn.core.seq2seq import compile_seq2seq
    from keras_rnn.tasks.translation.pipeline import _load_translation_pairs, prepare_seq2seq_data

    keras.utils.set_random_seed(config.optimization.seed)
    data = prepare_seq2seq_data(config, *_load_translation_pairs(config))
    model = build_translation_model(
        data.source_preprocessor.vocabulary_size, data.target_preprocessor.vocabulary_size,
        embeddings_initializer=args.embeddings_initializer, **dataclasses.asdict(config.network),
    )
    compile_seq2seq(model, config.optimization, total_steps=5 * args.steps)
    started = time.perf_counter()
    history = model.fit(data.train.repeat(), steps_per_epoch=args.steps, epochs=1, verbose=0,
                        validation_data=data.validation)
    figures = {k: round(v[-1], 3) for k, v in history.history.items()}
    print(json.dumps({"benchmark": "translation_steps", "steps": args.steps,
                      "embeddings_initializer": args.embeddings_initializer or "default (uniform ±0.5)",
                      "fit_time_s": round(time.perf_counter() - started, 1), **figures}))


if __name__ == "__main__":
    main()
