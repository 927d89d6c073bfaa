"""Using an exported model: load the SavedModel and run its `serving_default` on strings.

`predict(path, texts)` serves any task's export, dispatching by the task its manifest names (each task's
`predict` in `keras_rnn.tasks`); `TextGenerator` serves the exports of every text-generating task.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import tensorflow as tf

from keras_rnn.export import read_manifest

# Output names of generator exports written before manifests recorded them.
_OUTPUT_NAMES = {"translation": "translation", "summarization": "summary"}


def predict(path: str, texts: Iterable[str]) -> list[dict]:
    """One JSON-serializable dict a text from the export at `path`, whatever its task."""
    from keras_rnn.tasks import get_task

    return get_task(read_manifest(path).get("task", "sentiment")).predict(path, list(texts))


class TextGenerator:
    """Runs an exported text-generating SavedModel (translation, summarization) on strings.

    Example:
    ```python
    translator = TextGenerator("saved_models/translation")
    translator.generate(["Ein Mann fährt Fahrrad."])            # ["A man is riding a bike."]
    tokens, outputs, weights = translator.attention("Ein Mann fährt Fahrrad.")
    ```
    """

    def __init__(self, path: str, batch_size: int = 64):
        self.manifest = read_manifest(path)
        task = self.manifest.get("task")
        self.output_name = self.manifest.get("output_name", _OUTPUT_NAMES.get(task))
        if self.output_name is None:
            raise ValueError(f"{path!r} holds a {task!r} model, which generates no text; text generators: "
                             "translation, summarization exports.")
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
