"""The language-model task's export and serving: the layer its SavedModel traces and the predictor that
runs an export.

Signatures (strings in, TensorFlow alone):
- `serving_default`: `prompt` → `text`, the continuation generated with the configuration's settings;
- `generate`: `prompt`, `max_new_tokens`, `temperature`, `top_k` (0: off), `top_p` (1: off) and `seed`
  → `text` (sampling with those settings);
- `next_words`: `text` → `words` and `probabilities` `(batch, suggestions)`, the most likely next tokens
  (padding, out-of-vocabulary and `[END]` never suggested): autocomplete;
- `log_probability`: `text` → `log_probability` (natural log, summed over the text's tokens) and `tokens`,
  so the perplexity or bits per character of any text can be computed with the export alone.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import keras
import numpy as np
import tensorflow as tf

from keras_rnn.decoding import NEG_INF
from keras_rnn.export import KERAS_DIR, read_manifest, write_export
from keras_rnn.models.language_model import RecurrentLanguageModel
from keras_rnn.tasks.language_model import generation
from keras_rnn.tasks.language_model.config import LanguageModelConfig
from keras_rnn.tasks.language_model.preprocessor import END_ID, OOV_ID, PAD_ID, LanguageModelPreprocessor


@keras.saving.register_keras_serializable(package="keras_rnn")
class LanguageModelServer(keras.layers.Layer):
    """A preprocessor and a stateless language model, as one layer the export traces whole.

    Args:
        preprocessor: the `LanguageModelPreprocessor` of training.
        language_model: a stateless `RecurrentLanguageModel`.
        suggestions: how many next tokens `next_words` returns.
    """

    def __init__(self, preprocessor: LanguageModelPreprocessor, language_model: RecurrentLanguageModel,
                 suggestions: int = 3, **kwargs):
        super().__init__(**kwargs)
        self.preprocessor = preprocessor
        self.language_model = language_model
        self.suggestions = int(suggestions)
        self.vocabulary = tf.constant(preprocessor.get_vocabulary())
        self.vocabulary_size = preprocessor.vocabulary_size  # read eagerly: the lookup table cannot be in a graph

    def build(self, input_shape=None):
        self.built = True

    def generate(self, prompt, *, max_new_tokens, strategy) -> tf.Tensor:
        return generation.generate(self.language_model, self.preprocessor, prompt, max_new_tokens=max_new_tokens,
                                   strategy=strategy)

    def next_words(self, text) -> dict:
        log_p = generation.next_token_log_probs(self.language_model, self.preprocessor, text)
        special = tf.one_hot([PAD_ID, OOV_ID, END_ID], tf.shape(log_p)[-1], on_value=True, off_value=False)
        log_p = tf.where(tf.reduce_any(special, axis=0)[tf.newaxis, :], NEG_INF, log_p)
        k = min(self.suggestions, self.vocabulary_size - 3)
        top_log_p, ids = tf.math.top_k(log_p, k=k)
        return {"words": tf.gather(self.vocabulary, ids), "probabilities": tf.exp(top_log_p)}

    def log_probability(self, text) -> dict:
        log_p, tokens = generation.text_log_probability(self.language_model, self.preprocessor, text)
        return {"log_probability": log_p, "tokens": tokens}

    def call(self, text):
        return self.next_words(text)


def export_language_model(
    path: str,
    language_model: RecurrentLanguageModel,
    preprocessor: LanguageModelPreprocessor,
    config: LanguageModelConfig,
    *,
    model: keras.Model | None = None,
    overwrite: bool = False,
    metrics: dict | None = None,
) -> str:
    """Writes the language-model SavedModel (signatures in the module docstring), atomically.

    Args:
        language_model: stateless (`keras_rnn.models.language_model.stateless_copy` of a stateful one).
        model: the training model saved as `keras/model.keras` (default: one around `language_model`).

    Raises:
        FileExistsError: `path` exists and `overwrite` is False.
    """
    if language_model.stateful:
        raise ValueError("Export a stateless copy of a stateful language model (stateless_copy): an export "
                         "serves any batch size.")
    settings = config.generation
    server = LanguageModelServer(preprocessor, language_model, suggestions=settings.suggestions)
    server(tf.constant(["a"]))  # builds the layer: ExportArchive only tracks built layers
    archive = keras.export.ExportArchive()
    archive.track(server)
    prompt_spec = tf.TensorSpec([None], tf.string, name="prompt")
    text_spec = tf.TensorSpec([None], tf.string, name="text")

    @tf.function(input_signature=[prompt_spec])
    def serve(prompt):
        strategy = generation.make_strategy(temperature=settings.temperature, top_k=settings.top_k,
                                            top_p=settings.top_p, seed=settings.generation_seed,
                                            beam_width=settings.beam_width)
        return {"text": server.generate(prompt, max_new_tokens=settings.max_new_tokens, strategy=strategy)}

    @tf.function(input_signature=[
        prompt_spec, tf.TensorSpec([], tf.int32, name="max_new_tokens"), tf.TensorSpec([], tf.float32, name="temperature"),
        tf.TensorSpec([], tf.int32, name="top_k"), tf.TensorSpec([], tf.float32, name="top_p"),
        tf.TensorSpec([], tf.int64, name="seed")])
    def generate(prompt, max_new_tokens, temperature, top_k, top_p, seed):
        checks = [tf.debugging.assert_positive(max_new_tokens, message="max_new_tokens must be a positive integer")]
        with tf.control_dependencies(checks):
            strategy = generation.make_strategy(temperature=temperature, top_k=top_k, top_p=top_p, seed=seed)
            return {"text": server.generate(prompt, max_new_tokens=max_new_tokens, strategy=strategy)}

    @tf.function(input_signature=[text_spec])
    def next_words(text):
        return server.next_words(text)

    @tf.function(input_signature=[text_spec])
    def log_probability(text):
        return server.log_probability(text)

    archive.add_endpoint("serving_default", serve)
    archive.add_endpoint("generate", generate)
    archive.add_endpoint("next_words", next_words)
    archive.add_endpoint("log_probability", log_probability)
    if model is None:
        ids = keras.Input(shape=(None,), dtype="int32", name="ids")
        model = keras.Model(ids, language_model(ids), name="language_model")
    manifest = {
        "task": config.task,
        "granularity": preprocessor.granularity,
        "config": config.to_dict(),
        "validation_metrics": metrics or {},
        "signatures": {
            "serving_default": {"inputs": {"prompt": "string (batch,)"}, "outputs": {"text": "string (batch,)"}},
            "generate": {"inputs": {"prompt": "string (batch,)", "max_new_tokens": "int32 ()", "temperature": "float32 ()",
                                    "top_k": "int32 () 0=off", "top_p": "float32 () 1=off", "seed": "int64 ()"},
                         "outputs": {"text": "string (batch,)"}},
            "next_words": {"inputs": {"text": "string (batch,)"},
                           "outputs": {"words": "string (batch, k)", "probabilities": "float32 (batch, k)"}},
            "log_probability": {"inputs": {"text": "string (batch,)"},
                                "outputs": {"log_probability": "float32 (batch,)", "tokens": "int32 (batch,)"}},
        },
    }
    return write_export(path, archive, model, {"vocabulary.json": preprocessor}, manifest, overwrite)


class LanguageModelPredictor:
    """Runs an exported language model (the graphs a server would run).

    Example:
    ```python
    lm = LanguageModelPredictor("saved_models/language_model")
    lm.generate(["ROMEO:"], temperature=0.8, seed=1)    # ["\\nWhat, shall I ..."]
    lm.next_words(["I would like to"])                  # [[("meet", 0.08), ("know", 0.05), ...]]
    lm.perplexity(["Some text to score."])
    ```
    """

    def __init__(self, path: str, batch_size: int = 64):
        self.manifest = read_manifest(path)
        if self.manifest.get("task") != "language_model":
            raise ValueError(f"{path!r} holds a {self.manifest.get('task')} model, not a language model.")
        self.config = LanguageModelConfig.from_dict(self.manifest["config"])
        self.batch_size = batch_size
        self._loaded = tf.saved_model.load(path)
        self._signatures = self._loaded.signatures
        text = self.config.text
        self.preprocessor = LanguageModelPreprocessor.from_vocabulary_file(
            os.path.join(path, KERAS_DIR, "vocabulary.json"), granularity=text.granularity,
            max_tokens=text.max_tokens, lowercase=text.lowercase)

    def check_prompts(self, prompts: list) -> None:
        """Refuses a prompt whose every token is out of the vocabulary: the model would continue a text
        it cannot read (the SavedModel itself answers any string; this is the library's check)."""
        if not prompts:
            return
        ids = self.preprocessor(tf.constant(prompts, tf.string))
        known = tf.reduce_sum(tf.cast(tf.not_equal(ids, OOV_ID), tf.int32), axis=1)
        unknown_only = tf.logical_and(ids.row_lengths() > 0, tf.equal(known, 0))
        for prompt, bad in zip(prompts, unknown_only.numpy()):
            if bad:
                examples = self.preprocessor.get_vocabulary()[3:23]
                raise ValueError(f"Prompt {prompt!r} holds only tokens outside the model's vocabulary of "
                                 f"{self.preprocessor.vocabulary_size} {self.config.text.granularity} tokens "
                                 f"(it knows e.g. {examples}).")

    def _batches(self, texts: Iterable[str | bytes]):
        texts = list(texts)
        for start in range(0, len(texts), self.batch_size):
            yield tf.constant(texts[start:start + self.batch_size], tf.string)

    def generate(self, prompts: Iterable[str | bytes], *, max_new_tokens: int | None = None,
                 temperature: float | None = None, top_k: int | None = None, top_p: float | None = None,
                 seed: int | None = None) -> list[str]:
        """The continuation of each prompt; settings not given are the export's defaults.

        With no setting given this runs `serving_default`: the export's own decoding (beam search when it
        was exported with `beam_width > 1`). Any setting given samples through the `generate` signature
        (`top_k=1` for greedy)."""
        settings = self.config.generation
        generation.make_strategy(temperature=settings.temperature if temperature is None else temperature,
                                 top_k=settings.top_k if top_k is None else top_k,
                                 top_p=settings.top_p if top_p is None else top_p)  # checks the values
        if max_new_tokens is not None and (isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int)
                                           or max_new_tokens < 1):
            raise ValueError(f"Received an invalid value for argument `max_new_tokens`: {max_new_tokens!r}. "
                             "Expected a positive integer.")
        use_default = all(value is None for value in (max_new_tokens, temperature, top_k, top_p, seed))
        prompts = list(prompts)
        self.check_prompts(prompts)
        outputs = []
        for batch in self._batches(prompts):
            if use_default:
                text = self._signatures["serving_default"](prompt=batch)["text"]
            else:
                text = self._signatures["generate"](
                    prompt=batch,
                    max_new_tokens=tf.constant(settings.max_new_tokens if max_new_tokens is None else max_new_tokens, tf.int32),
                    temperature=tf.constant(settings.temperature if temperature is None else temperature, tf.float32),
                    top_k=tf.constant(settings.top_k if top_k is None else top_k, tf.int32),
                    top_p=tf.constant(settings.top_p if top_p is None else top_p, tf.float32),
                    seed=tf.constant(settings.generation_seed if seed is None else seed, tf.int64))["text"]
            outputs.extend(t.decode("utf-8", errors="replace") for t in text.numpy())
        return outputs

    def next_words(self, texts: Iterable[str | bytes]) -> list[list[tuple[str, float]]]:
        """The export's most likely next tokens after each text, with their probabilities."""
        texts = list(texts)
        self.check_prompts(texts)
        rows = []
        for batch in self._batches(texts):
            out = self._signatures["next_words"](text=batch)
            for words, probabilities in zip(out["words"].numpy(), out["probabilities"].numpy()):
                rows.append([(w.decode("utf-8", errors="replace"), float(p)) for w, p in zip(words, probabilities)])
        return rows

    def log_probability(self, texts: Iterable[str | bytes]) -> tuple[np.ndarray, np.ndarray]:
        """Summed natural-log probability and token count of each text."""
        log_p, tokens = [], []
        for batch in self._batches(texts):
            out = self._signatures["log_probability"](text=batch)
            log_p.append(out["log_probability"].numpy())
            tokens.append(out["tokens"].numpy())
        if not log_p:
            return np.zeros([0]), np.zeros([0], np.int64)
        return np.concatenate(log_p).astype(np.float64), np.concatenate(tokens).astype(np.int64)

    def perplexity(self, texts: Iterable[str | bytes]) -> dict:
        """Perplexity and bits per token over all the texts' tokens together."""
        log_p, tokens = self.log_probability(texts)
        count = int(tokens.sum())
        if count == 0:
            raise ValueError("The texts hold no tokens to score.")
        cross_entropy = -float(log_p.sum()) / count
        return {"tokens": count, "cross_entropy": cross_entropy, "perplexity": float(np.exp(cross_entropy)),
                "bits_per_token": cross_entropy / np.log(2)}
