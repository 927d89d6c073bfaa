"""Using an exported model: load the SavedModel and run its `serving_default` on strings."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import tensorflow as tf

from keras_rnn.export import read_manifest


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


class TextGenerator:
    """Runs an exported translation or summarization SavedModel on strings.

    Example:
    ```python
    translator = TextGenerator("saved_models/translation")
    translator.generate(["Ein Mann fährt Fahrrad."])            # ["A man is riding a bike."]
    tokens, outputs, weights = translator.attention("Ein Mann fährt Fahrrad.")
    ```
    """

    def __init__(self, path: str, batch_size: int = 64):
        self.manifest = read_manifest(path)
        if self.manifest.get("task") not in ("translation", "summarization"):
            raise ValueError(f"{path!r} holds a {self.manifest.get('task')!r} model, not translation or summarization.")
        self.output_name = "translation" if self.manifest["task"] == "translation" else "summary"
        self.batch_size = batch_size
        loaded = tf.saved_model.load(path)
        self._serve = loaded.signatures["serving_default"]
        self._attention = loaded.signatures["attention"]

    def generate(self, texts: Iterable[str | bytes]) -> list[str]:
        texts = list(texts)
        outputs = []
        for start in range(0, len(texts), self.batch_size):
            batch = tf.constant(texts[start : start + self.batch_size], dtype=tf.string)
            outputs.extend(t.decode("utf-8") for t in self._serve(text=batch)[self.output_name].numpy())
        return outputs

    def attention(self, text: str | bytes) -> tuple[list[str], list[str], np.ndarray]:
        """Source tokens, output tokens and their `(output, source)` attention weights for one text."""
        outputs = self._attention(text=tf.constant([text], dtype=tf.string))
        source = [t.decode("utf-8") for t in outputs["source_tokens"].numpy()[0] if t]
        generated = [t.decode("utf-8") for t in outputs["output_tokens"].numpy()[0] if t]
        weights = outputs["attention"].numpy()[0][: len(generated), : len(source)]
        return source, generated, weights
