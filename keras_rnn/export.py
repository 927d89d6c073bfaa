"""SavedModel export: raw strings in, predictions out, servable by TensorFlow alone.

An export folder is both a SavedModel (`saved_model.pb`, `variables/`, `assets/`) and a keras-rnn
model folder (`keras/model.keras`, `keras/vocabulary.txt`, `keras_rnn.json`) from which training can go on.
"""

from __future__ import annotations

import dataclasses
import json
import os

import keras
import tensorflow as tf

from keras_rnn.config import SentimentConfig
from keras_rnn.data.text import TextPreprocessor
from keras_rnn.files import atomic_directory
from keras_rnn.models.classifier import class_probabilities

MANIFEST = "keras_rnn.json"
KERAS_DIR = "keras"


@keras.saving.register_keras_serializable(package="keras_rnn")
class TextClassifierServer(keras.layers.Layer):
    """Strings → class probabilities and label names, as one layer so the export traces it whole.

    Call arguments:
        text: string tensor `(batch,)`.

    Returns:
        dict with `probabilities` `(batch, num_classes)` float32 and `label` `(batch,)` string.
    """

    def __init__(self, preprocessor: TextPreprocessor, model: keras.Model, class_names: list[str], **kwargs):
        super().__init__(**kwargs)
        self.preprocessor = preprocessor
        self.model = model
        self.class_names = list(class_names)

    def call(self, text):
        ids = TextPreprocessor.pad(self.preprocessor(text))
        probabilities = class_probabilities(self.model(ids, training=False))
        labels = tf.gather(tf.constant(self.class_names), tf.argmax(probabilities, axis=-1))
        return {"probabilities": probabilities, "label": labels}


def export_sentiment(
    path: str,
    model: keras.Model,
    preprocessor: TextPreprocessor,
    class_names: list[str],
    config: SentimentConfig,
    *,
    overwrite: bool = False,
    metrics: dict | None = None,
) -> str:
    """Writes a sentiment SavedModel whose `serving_default` takes `text` and returns `probabilities`, `label`.

    The write is atomic: everything goes to a temporary folder beside `path`, renamed into place at
    the end, so a killed export never leaves a half-written model at `path`.

    Raises:
        FileExistsError: `path` exists and `overwrite` is False.

    Returns:
        The absolute path written.
    """
    server = TextClassifierServer(preprocessor, model, class_names)
    server(tf.constant([""]))  # builds the layer: ExportArchive only tracks built layers
    archive = keras.export.ExportArchive()
    archive.track(server)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def serve(text):
        return server(text)

    archive.add_endpoint("serving_default", serve)
    manifest = {
        "task": "sentiment",
        "class_names": list(class_names),
        "config": dataclasses.asdict(config),
        "validation_metrics": metrics or {},
        "signature": {"inputs": {"text": "string (batch,)"},
                      "outputs": {"probabilities": "float32 (batch, num_classes)", "label": "string (batch,)"}},
    }
    return _write_export(path, archive, model, {"vocabulary.txt": preprocessor}, manifest, overwrite)


def _write_export(path, archive, model, vocabularies: dict, manifest: dict, overwrite: bool) -> str:
    """Writes the SavedModel, `keras/model.keras`, the vocabulary files and the manifest into a temporary
    folder beside `path`, renamed into place at the end."""
    with atomic_directory(path, overwrite=overwrite) as partial:
        archive.write_out(partial, verbose=False)
        os.makedirs(os.path.join(partial, KERAS_DIR))
        model.save(os.path.join(partial, KERAS_DIR, "model.keras"))
        for name, preprocessor in vocabularies.items():
            preprocessor.save_vocabulary(os.path.join(partial, KERAS_DIR, name))
        with open(os.path.join(partial, MANIFEST), "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=2)
    return os.path.abspath(path)


def read_manifest(path: str) -> dict:
    """The `keras_rnn.json` of an exported model folder, with a clear error when it is not one."""
    manifest = os.path.join(path, MANIFEST)
    if not os.path.isfile(manifest):
        raise FileNotFoundError(
            f"{path!r} is not a keras-rnn export (no {MANIFEST}); pass the folder written by "
            "`keras-rnn train ... --output PATH`."
        )
    with open(manifest, encoding="utf-8") as f:
        return json.load(f)


SEQ2SEQ_OUTPUTS = {"translation": "translation", "summarization": "summary"}


def export_seq2seq(
    path: str,
    task: str,
    model: keras.Model,
    source_preprocessor: TextPreprocessor,
    target_preprocessor: TextPreprocessor,
    config,
    *,
    beam_width: int | None = None,
    overwrite: bool = False,
    metrics: dict | None = None,
) -> str:
    """Writes a text-to-text SavedModel (translation or summarization) with two signatures:

    - `serving_default`: `text` (batch of strings) → `translation` (or `summary`) strings, decoded with
      beam search of `beam_width` (default `config.beam_width`; `1` is greedy), fixed in the graph;
    - `attention`: `text` → `source_tokens`, `output_tokens` (`""` padded) and `attention`
      `(batch, output_len, source_len)`, what `keras_rnn.plotting.plot_attention` draws.

    Atomic like `export_sentiment`; the folder also holds `keras/model.keras` and both vocabularies.

    Raises:
        FileExistsError: `path` exists and `overwrite` is False.
    """
    from keras_rnn.models.generator import Seq2SeqGenerator

    output_name = SEQ2SEQ_OUTPUTS[task]
    generator = Seq2SeqGenerator.from_model(model, source_preprocessor, target_preprocessor, config, beam_width)
    generator(tf.constant([""]))  # builds the layer: ExportArchive only tracks built layers
    archive = keras.export.ExportArchive()
    archive.track(generator)
    spec = [tf.TensorSpec([None], tf.string, name="text")]

    @tf.function(input_signature=spec)
    def serve(text):
        return {output_name: generator(text)["text"]}

    @tf.function(input_signature=spec)
    def attention(text):
        outputs = generator(text)
        return {"source_tokens": outputs["source_tokens"], "output_tokens": outputs["tokens"],
                "attention": outputs["attention"]}

    archive.add_endpoint("serving_default", serve)
    archive.add_endpoint("attention", attention)
    manifest = {
        "task": task,
        "beam_width": generator.beam_width,
        "config": dataclasses.asdict(config),
        "validation_metrics": metrics or {},
        "signature": {"inputs": {"text": "string (batch,)"}, "outputs": {output_name: "string (batch,)"}},
    }
    vocabularies = {"source_vocabulary.txt": source_preprocessor, "target_vocabulary.txt": target_preprocessor}
    return _write_export(path, archive, model, vocabularies, manifest, overwrite)
