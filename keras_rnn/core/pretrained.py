"""A finished word-level language-model run read as a pretrained encoder for another task (issue 19): its
vocabulary and text settings, the shape of its RNN stack, and the weights of its embedding and RNN layers.

The core reads the run folder as files (the configuration as JSON, the model through Keras), so that a
task using an encoder imports no other task.
"""

from __future__ import annotations

import dataclasses
import json
import os

import keras

from keras_rnn.core.runs import RUN_FILES

# The language-model task's vocabulary file (tokens after padding and OOV, `[END]` first, as JSON).
LANGUAGE_MODEL_VOCABULARY = "vocabulary.json"
# The classifier fields a pretrained encoder sets (`SentimentConfig.determined_fields`).
ENCODER_FIELDS = ("max_tokens", "standardization", "cell", "units", "num_layers", "embedding_dim", "bidirectional")


@dataclasses.dataclass
class PretrainedEncoder:
    """What a classifier takes from a language-model run (`read_pretrained_encoder`)."""

    run_dir: str
    vocabulary: list[str]  # every token by id from 2 on (padding and OOV left out), `[END]` first
    standardization: str  # the `TextPreprocessor` standardization its words were made with
    cell: str
    units: int
    num_layers: int
    embedding_dim: int

    @property
    def vocabulary_size(self) -> int:
        return len(self.vocabulary) + 2

    def weights(self) -> tuple[list, list[list]]:
        """The embedding's weights and each RNN layer's, bottom first (loads the run's best model)."""
        from keras_rnn.models.language_model import language_model_layer

        # Uncompiled: only the weights are wanted, not the language model's optimizer and loss.
        model = keras.saving.load_model(os.path.join(self.run_dir, RUN_FILES["model"]), compile=False)
        layer = language_model_layer(model)
        return layer.embedding.get_weights(), [rnn.get_weights() for rnn in layer.rnn_layers]


def read_pretrained_encoder(run_dir: str) -> PretrainedEncoder:
    """Reads a finished word-level `language_model` run folder.

    Raises:
        ValueError: the folder is not a finished run of that task, or its model reads characters.
    """
    config_path = os.path.join(run_dir, RUN_FILES["config"])
    if not os.path.isfile(config_path):
        raise ValueError(f"Pretrained encoder {run_dir!r}: no {RUN_FILES['config']} there; expected the folder of a "
                         "`keras-rnn train language_model` run.")
    with open(config_path, encoding="utf-8") as f:
        config = json.load(f)
    if config.get("task") != "language_model":
        raise ValueError(f"Pretrained encoder {run_dir!r} is a {config.get('task')!r} run; expected a "
                         "'language_model' run.")
    missing = [RUN_FILES[key] for key in ("metrics", "model") if not os.path.isfile(os.path.join(run_dir, RUN_FILES[key]))]
    if missing:
        raise ValueError(f"Pretrained encoder {run_dir!r} has not finished training (no {' or '.join(missing)}); "
                         "finish or resume it first.")
    try:  # a run folder's config.json holds every field, in its parts
        text, network = config["text"], config["network"]
        granularity, lowercase = text["granularity"], text["lowercase"]
        stack = {name: network[name] for name in ("cell", "units", "num_layers", "embedding_dim")}
    except KeyError as missing:
        raise ValueError(f"Pretrained encoder {run_dir!r}: its {RUN_FILES['config']} has no {missing.args[0]!r} "
                         "field; expected the configuration a language_model run writes.") from None
    if granularity != "word":
        raise ValueError(f"Pretrained encoder {run_dir!r} is a granularity={granularity!r} language model; "
                         "a classifier reads words: train it with --granularity word.")
    with open(os.path.join(run_dir, LANGUAGE_MODEL_VOCABULARY), encoding="utf-8") as f:
        vocabulary = json.load(f)
    return PretrainedEncoder(run_dir=os.path.abspath(run_dir), vocabulary=vocabulary,
                             standardization="lower" if lowercase else "cased", **stack)
