"""What a trained language model computes beyond training: prompts → text through the shared decoding
module, the next-token distribution after a text, the log-probability of texts, and exact scores of a
long token stream.

Every text is read as the start of a document: `[END]` (which ends the document before it in the
training stream) comes first, so a model conditions on "a new text starts here". The functions take a
stateless `RecurrentLanguageModel` (`keras_rnn.models.language_model.stateless_copy` of a stateful one)
and run eagerly or inside a `tf.function` (the export traces them).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from keras_rnn.data.text import TextPreprocessor
from keras_rnn.decoding import BeamSearch, DecodingResult, GreedySearch, RandomSampling, dynamic_decode
from keras_rnn.models.language_model import RecurrentLanguageModel
from keras_rnn.tasks.language_model.preprocessor import END_ID, PAD_ID, LanguageModelPreprocessor

# The most prompt tokens read (the last ones): a 100k-character prompt must not become one 100k-step
# pass; a recurrent state carries little from further back anyway.
MAX_PROMPT_TOKENS = 2000
# Tokens scored per pass by `text_log_probability` (the states carry across passes).
LOG_PROBABILITY_WINDOW = 512


def prompt_ids(preprocessor: LanguageModelPreprocessor, texts: tf.Tensor,
               max_prompt_tokens: int = MAX_PROMPT_TOKENS) -> tf.RaggedTensor:
    """`[END]` then the last `max_prompt_tokens` tokens of each text: `(batch, None)` int32, never empty."""
    ids = tf.cast(preprocessor(texts), tf.int32)[:, -max_prompt_tokens:]
    start = tf.fill([ids.nrows(), 1], tf.constant(END_ID, tf.int32))
    return tf.concat([tf.RaggedTensor.from_tensor(start), ids], axis=1)


def read_prompts(lm: RecurrentLanguageModel, preprocessor: LanguageModelPreprocessor, texts: tf.Tensor,
                 max_prompt_tokens: int = MAX_PROMPT_TOKENS) -> tuple[tf.Tensor, list[tf.Tensor]]:
    """The last token of each prompt and the states after every token before it (what decoding starts from)."""
    ids = prompt_ids(preprocessor, texts, max_prompt_tokens)
    lengths = tf.cast(ids.row_lengths(), tf.int32)
    padded = TextPreprocessor.pad(ids)
    last = tf.gather(padded, lengths - 1, batch_dims=1)
    # Every row without its last token; right padding is masked, so states stop at each row's last real token.
    before_last = tf.sequence_mask(lengths - 1, tf.shape(padded)[1])
    context = tf.where(before_last, padded, tf.zeros_like(padded))
    _, states = lm(context, initial_state=lm.initial_state(tf.shape(context)[0]), return_state=True, training=False)
    return last, states


def step_function(lm: RecurrentLanguageModel):
    """The `keras_rnn.decoding` step function of `lm`: one token in, next-token logits out."""

    def step_fn(ids, step, state, context):
        logits, states = lm(ids[:, tf.newaxis], initial_state=list(state), return_state=True, training=False)
        # Neither padding (never a training target) nor the out-of-vocabulary token (it would print as
        # "[UNK]") is generated.
        # Decoding scores in float32 (a float16 -1e9 would be -inf).
        logits = tf.cast(logits[:, 0], tf.float32)
        logits = tf.concat([tf.fill([tf.shape(logits)[0], 2], -1e9), logits[:, 2:]], axis=1)
        return logits, tuple(states), None

    return step_fn


def make_strategy(*, temperature=1.0, top_k=0, top_p=1.0, seed=None, beam_width: int = 1, greedy: bool = False):
    """The decoding strategy for these settings: beam search when `beam_width > 1`, greedy when asked,
    else sampling (temperature, top-k, nucleus; each may be a tensor)."""
    if beam_width > 1:
        return BeamSearch(beam_width)
    if greedy:
        return GreedySearch()
    return RandomSampling(temperature, top_k, top_p=top_p, seed=seed)


def generate_ids(lm: RecurrentLanguageModel, preprocessor: LanguageModelPreprocessor, texts: tf.Tensor, *,
                 max_new_tokens, strategy=None, max_prompt_tokens: int = MAX_PROMPT_TOKENS) -> DecodingResult:
    """Continues each prompt by up to `max_new_tokens` tokens (stopping at `[END]`) with `strategy`
    (default greedy)."""
    last, states = read_prompts(lm, preprocessor, texts, max_prompt_tokens)
    return dynamic_decode(step_function(lm), last, END_ID, tuple(states), max_length=max_new_tokens,
                          strategy=strategy or GreedySearch())


def generate(lm: RecurrentLanguageModel, preprocessor: LanguageModelPreprocessor, texts, *, max_new_tokens=200,
             strategy=None, max_prompt_tokens: int = MAX_PROMPT_TOKENS) -> tf.Tensor:
    """The continuation of each prompt as text (the prompt itself not repeated), `(batch,)` strings.

    Example (an untrained model: any characters of its vocabulary):
    >>> pre = LanguageModelPreprocessor("char", vocabulary=["[END]", "a", "b"])
    >>> lm = RecurrentLanguageModel(pre.vocabulary_size, units=4, embedding_dim=2)
    >>> out = generate(lm, pre, ["ab", ""], max_new_tokens=5, strategy=RandomSampling(seed=1))
    >>> again = generate(lm, pre, ["ab", ""], max_new_tokens=5, strategy=RandomSampling(seed=1))
    >>> out.shape, out.numpy().tolist() == again.numpy().tolist()  # the same seed, the same text
    (TensorShape([2]), True)
    """
    result = generate_ids(lm, preprocessor, tf.convert_to_tensor(texts, tf.string), max_new_tokens=max_new_tokens,
                          strategy=strategy, max_prompt_tokens=max_prompt_tokens)
    return preprocessor.detokenize(result.ids)


def next_token_log_probs(lm: RecurrentLanguageModel, preprocessor: LanguageModelPreprocessor, texts,
                         max_prompt_tokens: int = MAX_PROMPT_TOKENS) -> tf.Tensor:
    """`(batch, vocabulary)` log-probabilities of the token after each text."""
    ids = prompt_ids(preprocessor, tf.convert_to_tensor(texts, tf.string), max_prompt_tokens)
    logits = lm(TextPreprocessor.pad(ids), training=False)
    last = tf.gather(logits, tf.cast(ids.row_lengths(), tf.int32) - 1, batch_dims=1)
    return tf.nn.log_softmax(tf.cast(last, tf.float32))


def text_log_probability(lm: RecurrentLanguageModel, preprocessor: LanguageModelPreprocessor, texts,
                         window: int = LOG_PROBABILITY_WINDOW) -> tuple[tf.Tensor, tf.Tensor]:
    """The summed natural-log probability of each text's tokens (each predicted from `[END]` and the
    tokens before it; the text's own ending is not scored) and its token count, `(batch,)` each.

    `exp(-sum(log_probs) / sum(tokens))` is the perplexity of a set of texts; divide by `ln 2` for bits.
    The texts are read `window` tokens at a time with the states carried from window to window, so a
    long text costs `(batch, window, vocabulary)` memory, not `(batch, length, vocabulary)`; the
    figures do not depend on `window`.

    Example (an untrained model, any text of its characters):
    >>> pre = LanguageModelPreprocessor("char", vocabulary=["[END]", "a", "b"])
    >>> lm = RecurrentLanguageModel(pre.vocabulary_size, units=4, embedding_dim=2)
    >>> whole, tokens = text_log_probability(lm, pre, ["abba", ""])
    >>> windowed, _ = text_log_probability(lm, pre, ["abba", ""], window=3)
    >>> tokens.numpy().tolist(), np.allclose(whole, windowed, atol=1e-5)
    ([4, 0], True)
    """
    ids = prompt_ids(preprocessor, tf.convert_to_tensor(texts, tf.string), max_prompt_tokens=2**31 - 1)
    padded = TextPreprocessor.pad(ids)
    # Position t predicts token t + 1; a row of only [END] (an empty text) scores nothing.
    inputs, targets = padded[:, :-1], padded[:, 1:]
    rows, steps = tf.shape(inputs)[0], tf.shape(inputs)[1]
    windows = (steps + window - 1) // window
    extra = windows * window - steps
    inputs = tf.pad(inputs, [[0, 0], [0, extra]])
    targets = tf.pad(targets, [[0, 0], [0, extra]])

    def score_window(i, total, count, states):
        x = inputs[:, i * window:(i + 1) * window]
        y = targets[:, i * window:(i + 1) * window]
        # Right padding is masked: a row that ended keeps its states and scores nothing more.
        logits, states = lm(x, initial_state=list(states), return_state=True, training=False)
        log_p = tf.gather(tf.nn.log_softmax(tf.cast(logits, tf.float32)), y, batch_dims=2)
        mask = tf.cast(tf.not_equal(y, PAD_ID), tf.float32)
        return i + 1, total + tf.reduce_sum(log_p * mask, axis=1), count + tf.reduce_sum(mask, axis=1), tuple(states)

    zeros = tf.zeros([rows], tf.float32)
    _, total, count, _ = tf.while_loop(lambda i, *_: i < windows, score_window,
                                       (tf.constant(0), zeros, zeros, tuple(lm.initial_state(rows))))
    return total, tf.cast(count, tf.int32)


def lanes(stream: np.ndarray, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Splits a stream into `batch_size` contiguous lanes for scoring every token once: inputs and
    targets `(lanes, length)`, padded with 0 at the end of the last lanes (padding targets are not scored).

    Example:
    >>> inputs, targets = lanes(np.arange(1, 8), 2)
    >>> inputs.tolist(), targets.tolist()
    ([[1, 2, 3], [4, 5, 6]], [[2, 3, 4], [5, 6, 7]])
    """
    stream = np.asarray(stream)
    predicted = len(stream) - 1
    if predicted < 1:
        raise ValueError(f"A stream of {len(stream)} token(s) has nothing to score; need at least 2.")
    rows = max(1, min(batch_size, predicted))
    length = math.ceil(predicted / rows)
    inputs = np.zeros(rows * length, stream.dtype)
    targets = np.zeros(rows * length, stream.dtype)
    inputs[:predicted], targets[:predicted] = stream[:-1], stream[1:]
    return inputs.reshape(rows, length), targets.reshape(rows, length)


def evaluate_stream(lm: RecurrentLanguageModel, stream: np.ndarray, *, batch_size: int = 64, window: int = 200,
                    ks: Sequence[int] = (1, 3)) -> dict:
    """Exact scores of a token stream: every token after the first predicted once, from all the tokens
    before it in its lane (states carried from window to window), never from a window start.

    Returns:
        `tokens`, `cross_entropy` (mean nats a token), `perplexity`, `bits_per_token` and
        `top_{k}_accuracy` for each k.
    """
    inputs, targets = lanes(stream, batch_size)
    ks = tuple(ks)

    @tf.function(reduce_retracing=True)
    def score(x, y, states):
        logits, states = lm(x, initial_state=states, return_state=True, training=False)
        log_p = tf.nn.log_softmax(tf.cast(logits, tf.float32))
        target_log_p = tf.gather(log_p, y, batch_dims=2)
        mask = tf.cast(tf.not_equal(y, PAD_ID), tf.float32)
        # A target is in the top k when fewer than k tokens score strictly higher.
        higher = tf.reduce_sum(tf.cast(log_p > target_log_p[..., tf.newaxis], tf.int32), axis=-1)
        hits = [tf.reduce_sum(tf.cast(higher < k, tf.float32) * mask) for k in ks]
        return -tf.reduce_sum(target_log_p * mask), tf.reduce_sum(mask), tf.stack(hits), states

    states = lm.initial_state(inputs.shape[0])
    total, count, hits = 0.0, 0.0, np.zeros(len(ks))
    for start in range(0, inputs.shape[1], window):
        nll, n, h, states = score(tf.constant(inputs[:, start:start + window], tf.int32),
                                  tf.constant(targets[:, start:start + window], tf.int32), states)
        total, count, hits = total + float(nll), count + float(n), hits + h.numpy()
    cross_entropy = total / count
    figures = {"tokens": int(count), "cross_entropy": cross_entropy, "perplexity": math.exp(cross_entropy),
               "bits_per_token": cross_entropy / math.log(2)}
    figures.update({f"top_{k}_accuracy": float(hit / count) for k, hit in zip(ks, hits)})
    return figures
