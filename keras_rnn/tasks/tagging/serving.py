"""The tagging task's export and serving: the layer its SavedModel traces (text → entities; tokens → tags)
and the predictor that runs an export.

Signatures (TensorFlow alone serves them):
- `serving_default(text: string (batch,))`: the text split by `preprocessor.tokenize`, tagged, and the
  entities read from the IOB2 tags (conlleval's reading: an `I-X` that does not continue an X entity
  starts one). Outputs, padded: `tokens`, `tags` `(batch, tokens)` string (`""` padding),
  `token_start`, `token_end` `(batch, tokens)` int32 character offsets (-1 padding), `token_count`
  `(batch,)`; `entity_text`, `entity_type` `(batch, entities)` string, `entity_start`, `entity_end`
  `(batch, entities)` int32 character offsets, end exclusive (-1 padding), and `entity_count` `(batch,)`.
- `tag_tokens(tokens: string (batch, tokens))`: tokens as given, padded with `""` at the end of each
  row (a GPU's cuDNN kernels need right padding); returns `tags`, the IOB2 tags `(batch, tokens)` with
  `""` at padding, so a CoNLL file can be scored with the export alone.

Long inputs are cut into windows of at most `window` tokens, tagged each on its own (a window sees no
context beyond it), and put back together: a text of any length gets an answer at a bounded cost per
token.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import keras
import numpy as np
import tensorflow as tf

from keras_rnn.export import read_manifest, write_export
from keras_rnn.models.char_encoder import _valid_utf8
from keras_rnn.tasks.tagging.config import TaggingConfig
from keras_rnn.data.tagging import PLAIN
from keras_rnn.tasks.tagging.pipeline import output_names, training_scheme
from keras_rnn.tasks.tagging.preprocessor import TaggingPreprocessor, tokenize


def _entities(tags: tf.Tensor) -> dict[str, tf.Tensor]:
    """The entities of IOB2 tags `(batch, time)` (`""` padding): flat `row`, `first`, `last` (token
    indices, inclusive) and `type`, in reading order."""
    batch, time = tf.shape(tags)[0], tf.shape(tags)[1]
    prefix = tf.strings.regex_replace(tags, r"-.*$", "")
    kind = tf.strings.regex_replace(tags, r"^[^-]*-?", "")
    inside = tf.logical_and(tf.not_equal(tags, "O"), tf.not_equal(tags, ""))
    previous_inside = tf.pad(inside[:, :-1], [[0, 0], [1, 0]])
    previous_kind = tf.pad(kind[:, :-1], [[0, 0], [1, 0]])
    starts = inside & ((prefix == "B") | ~previous_inside | (previous_kind != kind))
    flat_inside = tf.reshape(inside, [-1])
    chunk = tf.cumsum(tf.cast(tf.reshape(starts, [-1]), tf.int32)) - 1
    positions = tf.reshape(tf.tile(tf.range(time)[None], [batch, 1]), [-1])
    rows = tf.reshape(tf.tile(tf.range(batch)[:, None], [1, time]), [-1])
    chunk, positions, rows = (tf.boolean_mask(x, flat_inside) for x in (chunk, positions, rows))
    count = tf.reduce_sum(tf.cast(starts, tf.int32))
    first = tf.math.unsorted_segment_min(positions, chunk, count)
    return {"row": tf.math.unsorted_segment_max(rows, chunk, count), "first": first,
            "last": tf.math.unsorted_segment_max(positions, chunk, count),
            "type": tf.boolean_mask(tf.reshape(kind, [-1]), tf.reshape(starts, [-1]))}


@keras.saving.register_keras_serializable(package="keras_rnn")
class TaggerServer(keras.layers.Layer):
    """Tokens → IOB2 tags, and texts → tokens, tags and entities, as one layer the export traces whole.

    Args:
        preprocessor: the run's `TaggingPreprocessor`.
        model: the tagger (`build_tagger`), whose `"tags"` output is decoded tag ids.
        tags: the model's tag names by id (IOB2 or IOBES, returned as IOB2; or plain labels).
        window: the most tokens tagged in one pass (longer inputs are cut into windows).
        tag_scheme: the scheme of `tags`, `"IOB2"`, `"IOBES"` or `"plain"` (plain labels are no entity
            chunks: the entity outputs stay empty).
    """

    def __init__(self, preprocessor: TaggingPreprocessor, model: keras.Model, tags: Sequence[str], window: int = 256,
                 tag_scheme: str = "IOBES", **kwargs):
        super().__init__(**kwargs)
        self.preprocessor = preprocessor
        self.model = model
        self.tags = list(tags)
        self.window = int(window)
        self.tag_scheme = tag_scheme
        self._names = tf.constant(output_names(self.tags, tag_scheme))

    def tag_tokens(self, tokens):
        """`(batch, time)` tokens, `""` padding → `(batch, time)` IOB2 tags, `""` at padding."""
        tokens = _valid_utf8(tf.convert_to_tensor(tokens, tf.string))
        batch, time = tf.shape(tokens)[0], tf.shape(tokens)[1]
        # Windows of `window` tokens (the whole row when shorter): a row is cut the same whatever else
        # is in its batch, so its tags never depend on the other rows.
        width = tf.maximum(tf.minimum(time, self.window), 1)
        pieces = tf.maximum(-(-time // width), 1)
        padded = tf.pad(tokens, [[0, 0], [0, pieces * width - time]])
        windows = tf.reshape(padded, [batch * pieces, width])
        # A window of padding only gets one stand-in token: an RNN row without a real step would leave
        # Keras's cuDNN kernels on a GPU (its tag is blanked below with the rest of the padding).
        empty = tf.reduce_all(tf.equal(windows, ""), axis=1, keepdims=True)
        windows = tf.where(empty & tf.equal(tf.range(width), 0)[None, :], ".", windows)
        ids = self.model(self.preprocessor(windows), training=False)["tags"]
        names = tf.gather(self._names, tf.reshape(ids, [batch, pieces * width]))[:, :time]
        return tf.where(tokens == "", "", names)

    def call(self, text):
        text = _valid_utf8(tf.convert_to_tensor(text, tf.string))  # entity texts are cut from this
        tokens, starts, ends = tokenize(text)
        tags = self.tag_tokens(tokens.to_tensor(""))
        # Plain labels name no entity: read none (no tag is "O", every one would start a chunk).
        entities = _entities(tf.zeros_like(tags) if self.tag_scheme == PLAIN else tags)
        gather = tf.stack([entities["row"], entities["first"]], axis=1)
        entity_start = tf.gather_nd(starts.to_tensor(-1), gather)
        entity_end = tf.gather_nd(ends.to_tensor(-1), tf.stack([entities["row"], entities["last"]], axis=1))
        entity_text = tf.strings.substr(tf.gather(text, entities["row"]), entity_start, entity_end - entity_start,
                                        unit="UTF8_CHAR")
        batch = tf.shape(text)[0]

        def padded(values, default):
            return tf.RaggedTensor.from_value_rowids(values, entities["row"], nrows=tf.cast(batch, tf.int32)
                                                     ).to_tensor(default)

        return {
            "tokens": tokens.to_tensor(""), "tags": tags, "token_start": tf.cast(starts.to_tensor(-1), tf.int32),
            "token_end": tf.cast(ends.to_tensor(-1), tf.int32), "token_count": tf.cast(tokens.row_lengths(), tf.int32),
            "entity_text": padded(entity_text, ""), "entity_type": padded(entities["type"], ""),
            "entity_start": padded(tf.cast(entity_start, tf.int32), -1),
            "entity_end": padded(tf.cast(entity_end, tf.int32), -1),
            "entity_count": tf.math.bincount(entities["row"], minlength=batch, maxlength=batch, dtype=tf.int32),
        }


SIGNATURE = {
    "serving_default": {
        "inputs": {"text": "string (batch,)"},
        "outputs": {"tokens": "string (batch, tokens)", "tags": "string (batch, tokens), IOB2",
                    "token_start": "int32 (batch, tokens), characters", "token_end": "int32 (batch, tokens)",
                    "token_count": "int32 (batch,)", "entity_text": "string (batch, entities)",
                    "entity_type": "string (batch, entities)", "entity_start": "int32 (batch, entities)",
                    "entity_end": "int32 (batch, entities), exclusive", "entity_count": "int32 (batch,)"}},
    "tag_tokens": {"inputs": {"tokens": "string (batch, tokens), '' padding"},
                   "outputs": {"tags": "string (batch, tokens), IOB2, '' at padding"}},
}


def export_tagger(
    path: str,
    model: keras.Model,
    preprocessor: TaggingPreprocessor,
    tags: Sequence[str],
    config: TaggingConfig,
    *,
    overwrite: bool = False,
    metrics: dict | None = None,
) -> str:
    """Writes a tagging SavedModel with the signatures `serving_default` (text → tokens, tags, entities)
    and `tag_tokens` (tokens → tags); see the module docstring. The write is atomic.

    Raises:
        FileExistsError: `path` exists and `overwrite` is False.

    Returns:
        The absolute path written.
    """
    scheme = training_scheme(config)
    server = TaggerServer(preprocessor, model, tags, window=config.data.max_length, tag_scheme=scheme)
    server(tf.constant(["Bob got a toy Yoda."]))  # builds the layer: ExportArchive only tracks built layers
    archive = keras.export.ExportArchive()
    archive.track(server)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def serve(text):
        return server(text)

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.string, name="tokens")])
    def tag_tokens(tokens):
        return {"tags": server.tag_tokens(tokens)}

    archive.add_endpoint("serving_default", serve)
    archive.add_endpoint("tag_tokens", tag_tokens)
    manifest = {
        "task": "tagging",
        "tags": [name for name in dict.fromkeys(output_names(tags, scheme)) if name],
        "model_tags": list(tags),
        "tag_scheme": scheme,
        "config": config.to_dict(),
        "validation_metrics": metrics or {},
        "signature": SIGNATURE,
    }
    return write_export(path, archive, model, {"vocabulary.json": preprocessor}, manifest, overwrite)


class TaggerPredictor:
    """Tags with an exported tagging SavedModel (the exact graph a server would run).

    Example:
    ```python
    tagger = TaggerPredictor("saved_models/tagging")
    tagger.entities(["Bob got a toy Yoda."])
    # [[{"text": "Bob", "type": "PER", "start": 0, "end": 3}, {"text": "Yoda", "type": "PER", ...}]]
    tagger.tag_tokens([["EU", "rejects", "German", "call"]])   # [["B-ORG", "O", "B-MISC", "O"]]
    ```
    """

    def __init__(self, path: str, batch_size: int = 64):
        self.manifest = read_manifest(path)
        if self.manifest.get("task") != "tagging":
            raise ValueError(f"{path!r} holds a {self.manifest.get('task')} model, not a tagging one.")
        self.batch_size = batch_size
        loaded = tf.saved_model.load(path)
        self._loaded = loaded  # keeps the signatures' variables alive
        self._serve = loaded.signatures["serving_default"]
        self._tag_tokens = loaded.signatures["tag_tokens"]

    def tag(self, texts: Iterable[str | bytes]) -> list[dict]:
        """For each text: `tokens`, `tags`, `offsets` (`[start, end]` characters) and `entities`
        (`text`, `type`, `start`, `end`)."""
        texts = list(texts)
        rows = []
        for begin in range(0, len(texts), self.batch_size):
            out = {k: v.numpy() for k, v in self._serve(text=tf.constant(texts[begin:begin + self.batch_size],
                                                                          tf.string)).items()}
            for i in range(len(out["token_count"])):
                n, m = int(out["token_count"][i]), int(out["entity_count"][i])
                rows.append({
                    "tokens": [t.decode("utf-8") for t in out["tokens"][i, :n]],
                    "tags": [t.decode("utf-8") for t in out["tags"][i, :n]],
                    "offsets": [[int(s), int(e)] for s, e in zip(out["token_start"][i, :n], out["token_end"][i, :n])],
                    "entities": [{"text": out["entity_text"][i, j].decode("utf-8"),
                                  "type": out["entity_type"][i, j].decode("utf-8"),
                                  "start": int(out["entity_start"][i, j]), "end": int(out["entity_end"][i, j])}
                                 for j in range(m)],
                })
        return rows

    def entities(self, texts: Iterable[str | bytes]) -> list[list[dict]]:
        return [row["entities"] for row in self.tag(texts)]

    def tag_tokens(self, sentences: Iterable[Sequence[str]]) -> list[list[str]]:
        """IOB2 tags for sentences given as tokens (taken as given, never re-split). Sentences are sent in
        batches of similar length, and come back in the order given."""
        sentences = [list(sentence) for sentence in sentences]
        order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]))
        tags: list = [None] * len(sentences)
        for begin in range(0, len(order), self.batch_size):
            chunk = order[begin:begin + self.batch_size]
            width = max((len(sentences[i]) for i in chunk), default=0)
            tokens = np.full((len(chunk), width), "", dtype=object)
            for row, i in enumerate(chunk):
                tokens[row, :len(sentences[i])] = sentences[i]
            out = self._tag_tokens(tokens=tf.constant(tokens, tf.string))["tags"].numpy()
            for row, i in enumerate(chunk):
                tags[i] = [t.decode("utf-8") for t in out[row, :len(sentences[i])]]
        return tags

