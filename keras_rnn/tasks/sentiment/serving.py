"""The sentiment task's export and serving: the layer its SavedModel traces (strings → labels) and the
predictor that runs an export."""

from __future__ import annotations

from collections.abc import Iterable

import keras
import numpy as np
import tensorflow as tf

from keras_rnn.data.text import TextPreprocessor
from keras_rnn.export import read_manifest, write_export
from keras_rnn.models.classifier import class_probabilities
from keras_rnn.tasks.sentiment.config import SentimentConfig


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

    The write is atomic (`keras_rnn.export.write_export`): a killed export never leaves a half-written
    model at `path`.

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
        "config": config.to_dict(),
        "validation_metrics": metrics or {},
        "signature": {"inputs": {"text": "string (batch,)"},
                      "outputs": {"probabilities": "float32 (batch, num_classes)", "label": "string (batch,)"}},
    }
    return write_export(path, archive, model, {"vocabulary.txt": preprocessor}, manifest, overwrite)


class SentimentPredictor:
    """Predicts with an exported sentiment SavedModel (the exact graph a server would run).

    Example:
    ```python
    predictor = SentimentPredictor("saved_models/imdb_gru")
    predictor.predict(["A wonderful film.", "Dull and too long."])
    # [{"label": "pos", "probabilities": {"neg": 0.03, "pos": 0.97}}, ...]
    ```
    """

    def __init__(self, path: str, batch_size: int = 256):
        self.manifest = read_manifest(path)
        if self.manifest.get("task", "sentiment") != "sentiment":
            raise ValueError(f"{path!r} holds a {self.manifest.get('task')} model, not a sentiment one.")
        self.class_names = self.manifest["class_names"]
        self.batch_size = batch_size
        self._serve = tf.saved_model.load(path).signatures["serving_default"]

    def predict_arrays(self, texts: Iterable[str | bytes]) -> tuple[np.ndarray, np.ndarray]:
        """Returns `(probabilities (n, num_classes), labels (n,) str)`."""
        texts = list(texts)
        probabilities, labels = [], []
        for start in range(0, len(texts), self.batch_size):
            batch = tf.constant(texts[start : start + self.batch_size], dtype=tf.string)
            outputs = self._serve(text=batch)
            probabilities.append(outputs["probabilities"].numpy())
            labels.extend(label.decode("utf-8") for label in outputs["label"].numpy())
        if not probabilities:
            return np.zeros((0, len(self.class_names)), np.float32), np.array([], dtype=str)
        return np.concatenate(probabilities), np.array(labels)

    def predict(self, texts: Iterable[str | bytes]) -> list[dict]:
        probabilities, labels = self.predict_arrays(texts)
        return [
            {"label": label, "probabilities": dict(zip(self.class_names, map(float, row)))}
            for label, row in zip(labels, probabilities)
        ]
