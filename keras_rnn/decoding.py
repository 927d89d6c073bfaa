"""Decoding for every seq2seq task: greedy search, beam search and sampling over one step function.

The contract between a model and decoding is a step function::

    step_fn(ids, step, state) -> (logits, state, attention)

`ids` is the previous token of every hypothesis `(n,)` int32, `step` the scalar time step, `state` any
nested structure of `(n, ...)` tensors (decoder states, and the encoder memory the step attends to),
`logits` the next-token scores `(n, vocab_size)` and `attention` `(n, source_length)` or `None`.
Strategies are small objects; `dynamic_decode` runs one of them in a `tf.while_loop` that stops when
every hypothesis has emitted `end_id`, so decoding traces into a `tf.function` and exports.

Beam search expands `n = batch * beam_width` hypotheses: it repeats every tensor of `state` for each
beam and reorders it as beams are chosen, so put per-example tensors (the encoder memory) in `state`,
not in the step function's closure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import tensorflow as tf

from keras_rnn.validation import validate_positive_int

StepFn = Callable[[tf.Tensor, tf.Tensor, object], tuple[tf.Tensor, object, tf.Tensor | None]]
NEG_INF = -1e9


@dataclasses.dataclass
class DecodingResult:
    """What `dynamic_decode` returns, for the best hypothesis of each batch row.

    Attributes:
        ids: `(batch, time)` int32 output tokens; the end token, when emitted, is included and every
            position after it is 0.
        lengths: `(batch,)` int32 number of tokens before the end token.
        log_probs: `(batch,)` float32 sum of the log-probabilities of the emitted tokens (end included).
        attention: `(batch, time, source_length)` attention weights per output step, or `None` when the
            step function returns none.
    """

    ids: tf.Tensor
    lengths: tf.Tensor
    log_probs: tf.Tensor
    attention: tf.Tensor | None = None


def tile_for_beam(structure, beam_width: int):
    """Repeats every tensor of a nested structure `beam_width` times along axis 0 (row-major beams).

    Example:
    >>> tile_for_beam(tf.constant([[1], [2]]), 2).numpy().tolist()
    [[1], [1], [2], [2]]
    """
    return tf.nest.map_structure(lambda t: tf.repeat(t, beam_width, axis=0), structure)


def _suppress_end_before(log_probs, step, min_length, end_id):
    """No end token before `min_length` tokens have been emitted."""
    vocab_size = tf.shape(log_probs)[-1]
    is_end = tf.one_hot(end_id, vocab_size, on_value=True, off_value=False)
    too_early = tf.logical_and(is_end, step < min_length)
    return tf.where(too_early[tf.newaxis, :], tf.cast(NEG_INF, log_probs.dtype), log_probs)


class GreedySearch:
    """Takes the most likely token at every step."""

    def select(self, log_probs: tf.Tensor, step: tf.Tensor) -> tf.Tensor:
        return tf.argmax(log_probs, axis=-1, output_type=tf.int32)


class RandomSampling:
    """Samples the next token from the softmax of `logits / temperature`, optionally among the top `k`.

    Args:
        temperature: > 0; lower is closer to greedy. Defaults to `1.0`.
        top_k: sample among the `top_k` most likely tokens only; `0` for all. Defaults to `0`.
        seed: for reproducible samples. Defaults to `None`.
    """

    def __init__(self, temperature: float = 1.0, top_k: int = 0, seed: int | None = None):
        if not temperature > 0:
            raise ValueError(f"Received an invalid value for argument `temperature`: {temperature!r}. "
                             "Expected a positive number.")
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 0:
            raise ValueError(f"Received an invalid value for argument `top_k`: {top_k!r}. "
                             "Expected 0 (no limit) or a positive integer.")
        self.temperature, self.top_k, self.seed = temperature, top_k, seed

    def select(self, log_probs: tf.Tensor, step: tf.Tensor) -> tf.Tensor:
        scores = log_probs / self.temperature
        if self.top_k:
            kth_best = tf.math.top_k(scores, k=self.top_k).values[:, -1:]
            scores = tf.where(scores < kth_best, tf.cast(NEG_INF, scores.dtype), scores)
        if self.seed is None:
            return tf.random.categorical(scores, 1, dtype=tf.int32)[:, 0]
        seed = tf.stack([tf.constant(self.seed, tf.int32), tf.cast(step, tf.int32)])
        return tf.random.stateless_categorical(scores, 1, seed=seed, dtype=tf.int32)[:, 0]


class BeamSearch:
    """Keeps the `beam_width` best hypotheses at every step; ranks them with the GNMT length penalty.

    The score of a hypothesis is `log_prob / ((5 + length) / 6) ** length_penalty` (Wu et al. 2016);
    `length_penalty=0` ranks by log-probability alone. With `beam_width=1` it is greedy search.

    Args:
        beam_width: hypotheses kept per example. Defaults to `4`.
        length_penalty: GNMT α >= 0. Defaults to `0.0`.
    """

    def __init__(self, beam_width: int = 4, length_penalty: float = 0.0):
        self.beam_width = validate_positive_int("beam_width", beam_width)
        if not length_penalty >= 0:
            raise ValueError(f"Received an invalid value for argument `length_penalty`: {length_penalty!r}. "
                             "Expected a number >= 0.")
        self.length_penalty = float(length_penalty)

    def penalty(self, lengths: tf.Tensor) -> tf.Tensor:
        return tf.pow((5.0 + tf.cast(lengths, tf.float32)) / 6.0, self.length_penalty)


def _first_step(step_fn, start_ids, state):
    logits, state, attention = step_fn(start_ids, tf.constant(0, tf.int32), state)
    return tf.nn.log_softmax(tf.cast(logits, tf.float32)), state, attention


def dynamic_decode(
    step_fn: StepFn,
    start_ids: tf.Tensor,
    end_id: int | tf.Tensor,
    initial_state,
    *,
    max_length: int | tf.Tensor,
    min_length: int | tf.Tensor = 0,
    strategy: GreedySearch | RandomSampling | BeamSearch | None = None,
) -> DecodingResult:
    """Decodes with `strategy` (default greedy) until every hypothesis has ended or `max_length` steps.

    Args:
        step_fn: see the module docstring.
        start_ids: `(batch,)` int32 first input token of each example.
        end_id: the end-of-sequence token.
        initial_state: nested structure of `(batch, ...)` tensors passed to the first step.
        max_length: most tokens to emit (end included); a scalar tensor is fine, e.g. relative to the
            source length.
        min_length: the end token is forbidden before this many tokens. Defaults to `0`.
        strategy: `GreedySearch()`, `RandomSampling(...)` or `BeamSearch(...)`.

    Returns:
        A `DecodingResult`.
    """
    strategy = strategy or GreedySearch()
    start_ids = tf.cast(start_ids, tf.int32)
    end_id = tf.cast(end_id, tf.int32)
    max_length = tf.cast(max_length, tf.int32)
    min_length = tf.cast(min_length, tf.int32)
    if isinstance(strategy, BeamSearch):
        return _beam_decode(step_fn, start_ids, end_id, initial_state, max_length, min_length, strategy)
    return _token_by_token_decode(step_fn, start_ids, end_id, initial_state, max_length, min_length, strategy)


def _token_by_token_decode(step_fn, start_ids, end_id, state, max_length, min_length, strategy):
    """Greedy search and sampling: one hypothesis per example."""
    batch = tf.shape(start_ids)[0]
    log_p, state, attention = _first_step(step_fn, start_ids, state)
    has_attention = attention is not None

    def advance(step, log_p, attention, finished, total, lengths, ids_ta, attention_ta):
        log_p = _suppress_end_before(log_p, step, min_length, end_id)
        token = strategy.select(log_p, step)
        token = tf.where(finished, tf.zeros_like(token), token)
        token_log_p = tf.gather(log_p, token, batch_dims=1)
        total += tf.where(finished, 0.0, token_log_p)
        lengths += tf.cast(tf.logical_not(finished), tf.int32)
        ids_ta = ids_ta.write(step, token)
        if has_attention:
            attention_ta = attention_ta.write(step, tf.cast(attention, tf.float32))
        finished = tf.logical_or(finished, tf.equal(token, end_id))
        return token, finished, total, lengths, ids_ta, attention_ta

    ids_ta = tf.TensorArray(tf.int32, size=0, dynamic_size=True)
    attention_ta = tf.TensorArray(tf.float32, size=0, dynamic_size=True) if has_attention else ()
    finished = tf.zeros([batch], tf.bool)
    total = tf.zeros([batch], tf.float32)
    lengths = tf.zeros([batch], tf.int32)
    token, finished, total, lengths, ids_ta, attention_ta = advance(
        tf.constant(0, tf.int32), log_p, attention, finished, total, lengths, ids_ta, attention_ta)

    def cond(step, token, state, finished, total, lengths, ids_ta, attention_ta):
        return tf.logical_and(step < max_length, tf.logical_not(tf.reduce_all(finished)))

    def body(step, token, state, finished, total, lengths, ids_ta, attention_ta):
        logits, state, attention = step_fn(token, step, state)
        log_p = tf.nn.log_softmax(tf.cast(logits, tf.float32))
        token, finished, total, lengths, ids_ta, attention_ta = advance(
            step, log_p, attention, finished, total, lengths, ids_ta, attention_ta)
        return step + 1, token, state, finished, total, lengths, ids_ta, attention_ta

    _, _, _, finished, total, lengths, ids_ta, attention_ta = tf.while_loop(
        cond, body, (tf.constant(1, tf.int32), token, state, finished, total, lengths, ids_ta, attention_ta))
    ids = tf.transpose(ids_ta.stack())
    ended = tf.cast(tf.reduce_any(tf.equal(ids, end_id), axis=1), tf.int32)
    attention = tf.transpose(attention_ta.stack(), [1, 0, 2]) if has_attention else None
    return DecodingResult(ids=ids, lengths=lengths - ended, log_probs=total, attention=attention)


def _beam_decode(step_fn, start_ids, end_id, state, max_length, min_length, strategy: BeamSearch):
    width = strategy.beam_width
    batch = tf.shape(start_ids)[0]
    n = batch * width
    state = tile_for_beam(state, width)
    log_p, state, attention = _first_step(step_fn, tile_for_beam(start_ids, width), state)
    has_attention = attention is not None
    vocab_size = tf.shape(log_p)[-1]
    source_length = tf.shape(attention)[-1] if has_attention else 0
    # Beam offsets of each example in the flat (batch * width) layout.
    offsets = tf.repeat(tf.range(batch) * width, width)

    def advance(step, log_p, attention, state, finished, total, lengths, ids, attention_history):
        log_p = _suppress_end_before(log_p, step, min_length, end_id)
        # A finished hypothesis continues only with padding (token 0) at no cost, so it keeps its score.
        finished_row = tf.where(tf.equal(tf.range(vocab_size), 0), 0.0, NEG_INF)
        log_p = tf.where(finished[:, tf.newaxis], finished_row[tf.newaxis, :], log_p)
        candidate_total = total[:, tf.newaxis] + log_p                               # (n, V)
        candidate_lengths = lengths + tf.cast(tf.logical_not(finished), tf.int32)    # (n,)
        candidate_scores = candidate_total / strategy.penalty(candidate_lengths)[:, tf.newaxis]
        flat_scores = tf.reshape(candidate_scores, [batch, width * vocab_size])
        _, best = tf.math.top_k(flat_scores, k=width)                                # (batch, width)
        best = tf.reshape(best, [n])
        parent = offsets + best // vocab_size
        token = best % vocab_size
        total = tf.gather(tf.reshape(candidate_total, [-1]), parent * vocab_size + token)
        lengths = tf.gather(candidate_lengths, parent)
        parent_finished = tf.gather(finished, parent)
        finished = tf.logical_or(parent_finished, tf.equal(token, end_id))
        state = tf.nest.map_structure(lambda t: tf.gather(t, parent), state)
        ids = tf.concat([tf.gather(ids, parent), token[:, tf.newaxis]], axis=1)
        if has_attention:
            attention = tf.where(parent_finished[:, tf.newaxis], 0.0, tf.cast(tf.gather(attention, parent), tf.float32))
            attention_history = tf.concat(
                [tf.gather(attention_history, parent), attention[:, tf.newaxis, :]], axis=1)
        return token, state, finished, total, lengths, ids, attention_history

    # Only the first beam of each example is live at the start, so the first step does not pick
    # the same token `width` times.
    total = tf.tile(tf.concat([[0.0], tf.fill([width - 1], NEG_INF)], axis=0), [batch])
    finished = tf.zeros([n], tf.bool)
    lengths = tf.zeros([n], tf.int32)
    ids = tf.zeros([n, 0], tf.int32)
    attention_history = tf.zeros([n, 0, source_length], tf.float32)
    token, state, finished, total, lengths, ids, attention_history = advance(
        tf.constant(0, tf.int32), log_p, attention, state, finished, total, lengths, ids, attention_history)

    def settled(finished, total, lengths):
        """Rows whose best finished hypothesis no live one can overtake: a live hypothesis only loses
        log-probability, so its final score is at most `total / penalty(max_length)`. Stopping there
        returns exactly what running to the end would, and saves the steps that beams which never emit
        the end token would take."""
        finished_best = tf.reduce_max(
            tf.reshape(tf.where(finished, total / strategy.penalty(lengths), NEG_INF), [batch, width]), axis=1)
        live_bound = tf.reduce_max(
            tf.reshape(tf.where(finished, NEG_INF, total / strategy.penalty(max_length)), [batch, width]), axis=1)
        return finished_best >= live_bound

    def cond(step, token, state, finished, total, lengths, ids, attention_history):
        return tf.logical_and(step < max_length, tf.logical_not(tf.reduce_all(settled(finished, total, lengths))))

    def body(step, token, state, finished, total, lengths, ids, attention_history):
        logits, state, attention = step_fn(token, step, state)
        log_p = tf.nn.log_softmax(tf.cast(logits, tf.float32))
        token, state, finished, total, lengths, ids, attention_history = advance(
            step, log_p, attention, state, finished, total, lengths, ids, attention_history)
        return step + 1, token, state, finished, total, lengths, ids, attention_history

    invariants = (tf.TensorShape([]), tf.TensorShape([None]), tf.nest.map_structure(_loose_shape, state),
                  tf.TensorShape([None]), tf.TensorShape([None]), tf.TensorShape([None]),
                  tf.TensorShape([None, None]), tf.TensorShape([None, None, None]))
    _, _, _, finished, total, lengths, ids, attention_history = tf.while_loop(
        cond, body, (tf.constant(1, tf.int32), token, state, finished, total, lengths, ids, attention_history),
        shape_invariants=invariants)

    scores = tf.reshape(total / strategy.penalty(lengths), [batch, width])
    best = tf.range(batch) * width + tf.argmax(scores, axis=1, output_type=tf.int32)
    # Other beams may have run on after the chosen ones ended: drop the columns that are padding only.
    best_lengths = tf.gather(lengths, best)
    steps = tf.reduce_max(best_lengths)
    ids = tf.gather(ids, best)[:, :steps]
    ended = tf.cast(tf.reduce_any(tf.equal(ids, end_id), axis=1), tf.int32)
    return DecodingResult(
        ids=ids,
        lengths=best_lengths - ended,
        log_probs=tf.gather(total, best),
        attention=tf.gather(attention_history, best)[:, :steps] if has_attention else None,
    )


def _loose_shape(tensor):
    shape = tensor.shape.as_list()
    return tf.TensorShape([None] + shape[1:])
