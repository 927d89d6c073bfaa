"""Decoding for every seq2seq task: greedy search, beam search and sampling over one step function.

The contract between a model and decoding is a step function::

    step_fn(ids, step, state, context) -> (logits, state, attention)

`ids` is the previous token of each hypothesis the step computes `(n,)` int32, `step` the scalar time
step, `state` a nested structure of `(n, ...)` tensors that the step updates (the decoder RNN states),
`context` a nested structure of `(n, ...)` tensors that never change (the encoder memory the step
attends to), `logits` the next-token scores `(n, vocab_size)` and `attention` `(n, source_length)` or
`None`. Strategies are small objects (`GreedySearch`, `BeamSearch`, and `RandomSampling` with a
temperature, top-k and nucleus top-p, each of which may be a tensor); `dynamic_decode` runs one of them
in a `tf.while_loop` that stops when every hypothesis has ended, so decoding traces into a `tf.function`
and exports.

Each step computes only the hypotheses still running: finished ones, and in beam search every
hypothesis of an example whose result can no longer change, are left out (gathered away and scattered
back), so `n` shrinks as outputs end. Beam search keeps `batch * beam_width` hypotheses: it repeats the
state for each beam and reorders it as beams are chosen, while `context` stays one row per example and
is gathered for the hypotheses of each step (and reused while they are the same). Put per-example
tensors in `state` or `context`, never in the step function's closure.

Nothing inside the loop grows with the output: each step writes its tokens and attention rows (and in
beam search each new hypothesis's parent, the hypothesis it extends) to `tf.TensorArray`s, and beam search
follows the parents back from the winners once, at the end, to read their tokens and attention. Only
n-gram blocking keeps every hypothesis's tokens so far as a tensor, since it reads them all every step.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Callable

import tensorflow as tf

from keras_rnn.validation import validate_count, validate_positive_int

StepFn = Callable[[tf.Tensor, tf.Tensor, object, object], tuple[tf.Tensor, object, tf.Tensor | None]]
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


def top_k(values: tf.Tensor, k: int) -> tuple[tf.Tensor, tf.Tensor]:
    """`tf.math.top_k(values, k)` over the last axis of a `(rows, vocab)` tensor, several times faster
    on CPU for a small `k` and a wide, statically known vocabulary.

    The `k` largest values lie in the `k` blocks of the row with the largest maxima, so it takes block
    maxima (one cheap reduction), the `k` best blocks, and the top `k` of those blocks' values. Same
    values and indices as `tf.math.top_k` (up to the order of ties).

    Example:
    >>> values, indices = top_k(tf.constant([[0.1, 0.9, 0.3, 0.7]]), 2)
    >>> indices.numpy().tolist()
    [[1, 3]]
    """
    vocab_size = values.shape[-1]
    block = _block_size(vocab_size, k)
    if block is None:
        return tf.math.top_k(values, k=k)
    rows = tf.shape(values)[0]
    blocked = tf.reshape(values, [rows, vocab_size // block, block])
    _, best_blocks = tf.math.top_k(tf.reduce_max(blocked, axis=-1), k=k)                 # (rows, k)
    candidates = tf.reshape(tf.gather(blocked, best_blocks, batch_dims=1), [rows, k * block])
    top_values, position = tf.math.top_k(candidates, k=k)
    indices = tf.gather(best_blocks, position // block, batch_dims=1) * block + position % block
    return top_values, indices


def _block_size(vocab_size: int | None, k: int) -> int | None:
    """A divisor of `vocab_size` near 64 leaving at least `k` blocks, or `None` (use `tf.math.top_k`)."""
    if vocab_size is None or vocab_size < 1024:
        return None
    sizes = [b for b in range(32, 129) if vocab_size % b == 0 and vocab_size // b >= k]
    return min(sizes, key=lambda b: abs(b - 64)) if sizes else None


def _suppress_end_before(logits, step, min_length, end_id):
    """No end token before `min_length` tokens have been emitted (the mask costs a pass over the
    logits, so it is applied only on the steps that need it)."""

    def suppress():
        is_end = tf.one_hot(end_id, tf.shape(logits)[-1], on_value=True, off_value=False)
        return tf.where(is_end[tf.newaxis, :], tf.cast(NEG_INF, logits.dtype), logits)

    return tf.cond(step < min_length, suppress, lambda: logits)


class GreedySearch:
    """Takes the most likely token at every step."""

    def select(self, logits: tf.Tensor, step: tf.Tensor) -> tf.Tensor:
        return tf.argmax(logits, axis=-1, output_type=tf.int32)


class RandomSampling:
    """Samples the next token from the softmax of `logits / temperature`, optionally among the `top_k`
    most likely tokens only and within the nucleus of probability `top_p` (Holtzman et al. 2019).

    The nucleus is the smallest set of most likely tokens whose probabilities (after the temperature and
    `top_k`, renormalised) sum to at least `top_p`, up to float32 rounding (a set that falls short by
    less than `1e-6` counts as reaching it); it always holds the most likely token. Tokens tied with the
    last kept score are kept too, for `top_k` as for `top_p`.

    Every argument may be a scalar `tf.Tensor` as well as a Python number, so that an exported
    `tf.function` can take them as inputs. A tensor `top_k` of 0 and a tensor `top_p` >= 1 turn the limit
    off, and a tensor `top_k` above the vocabulary size keeps every token. Tensors cannot be checked
    when the strategy is built: `select` checks them, and a tensor temperature <= 0, `top_k` < 0 or
    `top_p` outside (0, 1] raises `tf.errors.InvalidArgumentError` naming the argument. With Python
    values `top_p=1.0` (the default) costs nothing, and `top_k` takes only the `top_k` best scores:
    neither sorts the whole vocabulary.

    Args:
        temperature: > 0; lower is closer to greedy. Defaults to `1.0`.
        top_k: sample among the `top_k` most likely tokens only; `0` for all. Defaults to `0`.
        top_p: in (0, 1]; sample within the nucleus of this probability; `1.0` for all. Keyword only.
            Defaults to `1.0`.
        seed: for reproducible samples: step `t` draws with the stateless seed `[seed, t]`. Keyword
            only. Defaults to `None` (stateful, unseeded sampling).

    Example:
    >>> strategy = RandomSampling(top_p=0.8, seed=1)
    >>> logits = tf.math.log(tf.constant([[0.5, 0.3, 0.15, 0.05]] * 200))
    >>> sorted(set(strategy.select(logits, tf.constant(0)).numpy().tolist()))  # the nucleus is {0, 1}
    [0, 1]
    """

    def __init__(self, temperature: float | tf.Tensor = 1.0, top_k: int | tf.Tensor = 0, *,
                 top_p: float | tf.Tensor = 1.0, seed: int | tf.Tensor | None = None):
        for name, value in (("temperature", temperature), ("top_k", top_k), ("top_p", top_p), ("seed", seed)):
            if tf.is_tensor(value) and value.shape.rank not in (None, 0):
                raise ValueError(f"Received an invalid value for argument `{name}`: a tensor of shape "
                                 f"{value.shape}. Expected a scalar.")
        if not tf.is_tensor(temperature) and not (_is_real(temperature) and temperature > 0):
            raise ValueError(f"Received an invalid value for argument `temperature`: {temperature!r}. "
                             "Expected a positive number.")
        if not tf.is_tensor(top_k):
            if isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral) or top_k < 0:
                raise ValueError(f"Received an invalid value for argument `top_k`: {top_k!r}. "
                                 "Expected 0 (no limit) or a positive integer.")
            top_k = int(top_k)
        if not tf.is_tensor(top_p) and not (_is_real(top_p) and 0 < top_p <= 1):
            raise ValueError(f"Received an invalid value for argument `top_p`: {top_p!r}. "
                             "Expected a number in (0, 1].")
        self.temperature, self.top_k, self.top_p, self.seed = temperature, top_k, top_p, seed

    def select(self, logits: tf.Tensor, step: tf.Tensor) -> tf.Tensor:
        scores = self._checked(logits) / tf.cast(self.temperature, logits.dtype)
        scores = self._truncate(scores)
        if self.seed is None:
            return tf.random.categorical(scores, 1, dtype=tf.int32)[:, 0]
        if tf.is_tensor(self.seed):
            dtype = tf.int64 if self.seed.dtype == tf.int64 else tf.int32
            seed = tf.stack([tf.cast(self.seed, dtype), tf.cast(step, dtype)])
        else:
            seed = tf.stack([tf.constant(self.seed, tf.int32), tf.cast(step, tf.int32)])
        return tf.random.stateless_categorical(scores, 1, seed=seed, dtype=tf.int32)[:, 0]

    def _checked(self, logits):
        """`logits`, after the checks of the knobs that are tensors (nothing to do for Python values)."""
        checks = []
        if tf.is_tensor(self.temperature):
            checks.append(tf.debugging.assert_greater(
                tf.cast(self.temperature, tf.float32), 0.0,
                message="Received an invalid value for argument `temperature`. Expected a positive number."))
        if tf.is_tensor(self.top_k):
            checks.append(tf.debugging.assert_non_negative(
                self.top_k, message="Received an invalid value for argument `top_k`. "
                                    "Expected 0 (no limit) or a positive integer."))
        if tf.is_tensor(self.top_p):
            top_p = tf.cast(self.top_p, tf.float32)
            message = "Received an invalid value for argument `top_p`. Expected a number in (0, 1]."
            checks.append(tf.debugging.assert_greater(top_p, 0.0, message=message))
            checks.append(tf.debugging.assert_less_equal(top_p, 1.0, message=message))
        checks = [check for check in checks if check is not None]  # eager asserts return None
        if not checks:
            return logits
        with tf.control_dependencies(checks):
            return tf.identity(logits)

    def _truncate(self, scores):
        """`scores` with every token outside the top `k` and the nucleus set to `NEG_INF`."""
        k_is_tensor, p_is_tensor = tf.is_tensor(self.top_k), tf.is_tensor(self.top_p)
        if not k_is_tensor and not p_is_tensor and self.top_p >= 1:
            if not self.top_k:
                return scores
            # The fast path: the k best scores, no sort of the whole vocabulary.
            kth_best = top_k(scores, self.top_k)[0][:, -1:]
            return tf.where(scores < kth_best, tf.cast(NEG_INF, scores.dtype), scores)

        vocab_size = tf.shape(scores)[-1]
        if k_is_tensor:
            k = tf.cast(self.top_k, tf.int32)
            k_active = k > 0
            k = tf.where(k_active & (k < vocab_size), k, vocab_size)
        else:
            k_active = self.top_k > 0
            k = self.top_k if self.top_k else vocab_size
        if p_is_tensor:
            top_p = tf.cast(self.top_p, scores.dtype)
            p_active = top_p < 1
        else:
            top_p, p_active = self.top_p, self.top_p < 1

        def truncate():
            if not k_is_tensor and self.top_k:
                best = top_k(scores, self.top_k)[0]                      # (n, k), descending
            elif not p_is_tensor and not p_active:
                best = tf.math.top_k(scores, k=k)[0]                     # a tensor k and no nucleus: (n, k)
            else:
                best = tf.sort(scores, axis=-1, direction="DESCENDING")  # (n, vocab)
            keep = tf.fill(tf.shape(best)[:1], tf.cast(k, tf.int32))     # how many of `best` each row keeps
            if p_is_tensor:
                keep = tf.cond(p_active, lambda: self._nucleus_size(best, top_p, keep), lambda: keep)
            elif p_active:
                keep = self._nucleus_size(best, top_p, keep)
            cutoff = tf.gather(best, keep - 1, batch_dims=1)[:, tf.newaxis]
            return tf.where(scores < cutoff, tf.cast(NEG_INF, scores.dtype), scores)

        if not k_is_tensor and not p_is_tensor:
            return truncate()  # Python values with top_p < 1 (the fast path took top_p == 1)
        return tf.cond(tf.logical_or(k_active, p_active), truncate, lambda: scores)

    @staticmethod
    def _nucleus_size(best, top_p, keep):
        """How many of the descending `best` scores of each row the nucleus keeps, at most `keep`."""
        within_k = tf.range(tf.shape(best)[-1])[tf.newaxis, :] < keep[:, tf.newaxis]
        probs = tf.nn.softmax(tf.where(within_k, best, tf.cast(NEG_INF, best.dtype)), axis=-1)
        before = tf.math.cumsum(probs, axis=-1, exclusive=True)  # the mass of the better tokens
        reached = before < tf.cast(top_p, best.dtype) - 1e-6
        size = tf.maximum(tf.reduce_sum(tf.cast(reached, tf.int32), axis=-1), 1)
        return tf.minimum(size, keep)


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


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


def block_repeated_ngrams(logits: tf.Tensor, ids: tf.Tensor, size: int) -> tf.Tensor:
    """Sets to `NEG_INF` the logits of every token that would make a hypothesis repeat one of its own
    `size`-grams (the n-gram blocking of Paulus et al., 2018, against summaries that say one thing twice).

    Args:
        logits: `(n, vocab)` next-token scores.
        ids: `(n, t)` tokens emitted so far by each hypothesis.
        size: the n-gram length; `1` forbids any token already emitted.

    Example:
    >>> logits = block_repeated_ngrams(tf.zeros([1, 5]), tf.constant([[2, 3, 2]]), 2)
    >>> (logits.numpy()[0] < 0).tolist()  # after "2 3 2", a 3 would repeat "2 3"
    [False, False, False, True, False]
    """
    n = tf.shape(ids)[0]
    # -1 (no token) before the start, so that the first tokens have a complete prefix to compare.
    padded = tf.concat([tf.fill([n, size], -1), tf.cast(ids, tf.int32)], axis=1)
    grams = tf.signal.frame(padded, size, 1, axis=1)                                     # (n, frames, size)
    prefix = padded[:, tf.shape(padded)[1] - (size - 1):]                                # last size-1 tokens
    seen = tf.reduce_all(tf.equal(grams[:, :, :-1], prefix[:, tf.newaxis, :]), axis=-1)  # (n, frames)
    seen = seen & (grams[:, :, -1] >= 0)
    where = tf.cast(tf.where(seen), tf.int32)
    indices = tf.stack([where[:, 0], tf.gather_nd(grams[:, :, -1], where)], axis=1)
    return tf.tensor_scatter_nd_update(logits, indices, tf.fill([tf.shape(indices)[0]], tf.cast(NEG_INF, logits.dtype)))


def _gather(structure, indices):
    return tf.nest.map_structure(lambda t: tf.gather(t, indices), structure)


def _float32(tensor):
    return None if tensor is None else tf.cast(tensor, tf.float32)


def _same_rows(rows, cached_rows):
    """Whether two `(n,)` int vectors are equal (sizes first, so that different sizes compare as unequal)."""
    return tf.cond(tf.equal(tf.size(rows), tf.size(cached_rows)),
                   lambda: tf.reduce_all(tf.equal(rows, cached_rows)), lambda: tf.constant(False))


def _run_live_step(step_fn, token, step, state, live, context_row, context, cache):
    """Runs `step_fn` on the hypotheses where `live` is true only.

    Returns their indices, their logits `(n_live, vocab)`, the full state with their rows updated
    (the others kept), the full attention (zero in the rows not computed) and the context cache.
    `context_row[i]` is the context row (the example) of hypothesis `i`. `cache` is `(rows, gathered)`:
    the context rows the previous step gathered and the gathered context; it is reused while the live
    hypotheses' examples are the same (all of them while every hypothesis runs; between two endings
    otherwise), since gathering the encoder memory for every hypothesis costs as much as a sizeable part
    of the step itself.
    """
    n = tf.shape(token)[0]
    index = tf.cast(tf.where(live)[:, 0], tf.int32)
    rows = tf.gather(context_row, index)
    cached_rows, cached = cache
    if tf.nest.flatten(context):
        live_context = tf.cond(_same_rows(rows, cached_rows), lambda: cached, lambda: _gather(context, rows))
    else:
        live_context = context
    logits, live_state, attention = step_fn(tf.gather(token, index), step, _gather(state, index), live_context)
    scatter = lambda full, part: tf.tensor_scatter_nd_update(  # noqa: E731
        full, index[:, tf.newaxis], tf.cast(part, full.dtype))
    state = tf.nest.map_structure(scatter, state, live_state)
    if attention is not None:
        attention = _float32(attention)
        attention = tf.scatter_nd(index[:, tf.newaxis], attention, tf.stack([n, tf.shape(attention)[-1]]))
    return index, _float32(logits), state, attention, (rows, live_context)


def dynamic_decode(
    step_fn: StepFn,
    start_ids: tf.Tensor,
    end_id: int | tf.Tensor,
    initial_state,
    *,
    context=(),
    max_length: int | tf.Tensor,
    min_length: int | tf.Tensor = 0,
    strategy: GreedySearch | RandomSampling | BeamSearch | None = None,
    no_repeat_ngram_size: int = 0,
) -> DecodingResult:
    """Decodes with `strategy` (default greedy) until every hypothesis has ended or `max_length` steps.

    Args:
        step_fn: see the module docstring.
        start_ids: `(batch,)` int32 first input token of each example.
        end_id: the end-of-sequence token.
        initial_state: nested structure of `(batch, ...)` tensors passed to the first step.
        context: nested structure of `(batch, ...)` tensors that stay the same while decoding (the
            encoder memory); each step receives the rows of the hypotheses it computes. Defaults to `()`.
        max_length: most tokens to emit (end included); a scalar tensor is fine, e.g. relative to the
            source length.
        min_length: the end token is forbidden before this many tokens. Defaults to `0`.
        strategy: `GreedySearch()`, `RandomSampling(...)` or `BeamSearch(...)`.
        no_repeat_ngram_size: when > 0, no hypothesis repeats one of its own n-grams of this length
            (`block_repeated_ngrams`). Defaults to `0` (off).

    Returns:
        A `DecodingResult`.
    """
    strategy = strategy or GreedySearch()
    start_ids = tf.cast(start_ids, tf.int32)
    end_id = tf.cast(end_id, tf.int32)
    max_length = tf.cast(max_length, tf.int32)
    min_length = tf.cast(min_length, tf.int32)
    validate_count("no_repeat_ngram_size", no_repeat_ngram_size, "off")
    decode = _beam_decode if isinstance(strategy, BeamSearch) else _token_by_token_decode
    return decode(step_fn, start_ids, end_id, initial_state, context, max_length, min_length, strategy,
                  no_repeat_ngram_size)


def _token_by_token_decode(step_fn, start_ids, end_id, state, context, max_length, min_length, strategy,
                           no_repeat_ngram_size=0):
    """Greedy search and sampling: one hypothesis per example. Every step computes the whole batch:
    leaving finished rows out (as beam search does) measured slower at these batch sizes.

    Each step's tokens and attention rows go to `TensorArray`s, stacked once at the end; only n-gram
    blocking keeps the tokens so far as a tensor (it reads all of them at every step anyway)."""
    batch = tf.shape(start_ids)[0]
    logits, state, attention = step_fn(start_ids, tf.constant(0, tf.int32), state, context)
    has_attention = attention is not None

    def advance(step, logits, attention, finished, total, lengths, history, token_ta, attention_ta):
        logits = _suppress_end_before(_float32(logits), step, min_length, end_id)
        if no_repeat_ngram_size:
            logits = block_repeated_ngrams(logits, history, no_repeat_ngram_size)
        token = strategy.select(logits, step)
        token = tf.where(finished, tf.zeros_like(token), token)
        token_log_p = tf.gather(logits, token, batch_dims=1) - tf.reduce_logsumexp(logits, axis=-1)
        total += tf.where(finished, 0.0, token_log_p)
        lengths += tf.cast(tf.logical_not(finished), tf.int32)
        if no_repeat_ngram_size:
            history = tf.concat([history, token[:, tf.newaxis]], axis=1)
        token_ta = token_ta.write(step, token)
        if has_attention:
            attention_ta = attention_ta.write(step, _float32(attention))
        finished = tf.logical_or(finished, tf.equal(token, end_id))
        return token, finished, total, lengths, history, token_ta, attention_ta

    token_ta = tf.TensorArray(tf.int32, size=0, dynamic_size=True, element_shape=[None])
    attention_ta = tf.TensorArray(tf.float32, size=0, dynamic_size=True) if has_attention else ()
    history = tf.zeros([batch, 0], tf.int32) if no_repeat_ngram_size else ()
    finished = tf.zeros([batch], tf.bool)
    total = tf.zeros([batch], tf.float32)
    lengths = tf.zeros([batch], tf.int32)
    token, finished, total, lengths, history, token_ta, attention_ta = advance(
        tf.constant(0, tf.int32), logits, attention, finished, total, lengths, history, token_ta, attention_ta)

    def cond(step, token, state, finished, total, lengths, history, token_ta, attention_ta):
        return tf.logical_and(step < max_length, tf.logical_not(tf.reduce_all(finished)))

    def body(step, token, state, finished, total, lengths, history, token_ta, attention_ta):
        logits, state, attention = step_fn(token, step, state, context)
        token, finished, total, lengths, history, token_ta, attention_ta = advance(
            step, logits, attention, finished, total, lengths, history, token_ta, attention_ta)
        return step + 1, token, state, finished, total, lengths, history, token_ta, attention_ta

    any_shape = lambda _: tf.TensorShape(None)  # noqa: E731
    invariants = (tf.TensorShape([]), tf.TensorShape([None]), tf.nest.map_structure(lambda t: t.shape, state),
                  tf.TensorShape([None]), tf.TensorShape([None]), tf.TensorShape([None]),
                  tf.nest.map_structure(lambda _: tf.TensorShape([None, None]), history),
                  any_shape(token_ta), tf.nest.map_structure(any_shape, attention_ta))
    _, _, _, finished, total, lengths, _, token_ta, attention_ta = tf.while_loop(
        cond, body, (tf.constant(1, tf.int32), token, state, finished, total, lengths, history, token_ta,
                     attention_ta),
        shape_invariants=invariants)
    ids = tf.transpose(token_ta.stack())
    ended = tf.cast(tf.reduce_any(tf.equal(ids, end_id), axis=1), tf.int32)
    attention = tf.transpose(attention_ta.stack(), [1, 0, 2]) if has_attention else None
    return DecodingResult(ids=ids, lengths=lengths - ended, log_probs=total, attention=attention)


def _beam_decode(step_fn, start_ids, end_id, state, context, max_length, min_length, strategy: BeamSearch,
                 no_repeat_ngram_size=0):
    """Beam search. Every step writes each hypothesis's new token and its parent (the hypothesis of the
    previous step it extends) to `TensorArray`s, and the attention rows the step computed to a third; the
    winners' tokens and attention are read back once, following the parents from the last step to the
    first. Nothing grows with the output length inside the loop, except with n-gram blocking: that needs
    the tokens so far of every live hypothesis at every step, so it alone keeps them as an `(n, t)` int32
    tensor reordered by parent (what `block_repeated_ngrams` reads every step is of that size anyway)."""
    width = strategy.beam_width
    batch = tf.shape(start_ids)[0]
    n = batch * width
    example = tf.repeat(tf.range(batch), width)  # each hypothesis's example (row-major beams)
    offsets = example * width                    # and its example's first beam
    # What a frozen hypothesis (finished, or of a settled example) may do: continue with padding
    # (token 0) at no cost and no added length, so it keeps its score.
    frozen_log_p = tf.concat([[0.0], tf.fill([width - 1], NEG_INF)], axis=0)

    def candidates(logits, step, history=None):
        """Each hypothesis's `width` best next tokens and their log-probabilities: a row's `width` best
        continuations are among them, so the full distribution is never normalised."""
        logits = _suppress_end_before(logits, step, min_length, end_id)
        if history is not None:
            logits = block_repeated_ngrams(logits, history, no_repeat_ngram_size)
        top_logits, top_tokens = top_k(logits, width)
        return top_logits - tf.reduce_logsumexp(logits, axis=-1, keepdims=True), top_tokens

    def advance(step, top_log_p, top_tokens, attention, state, frozen, finished, total, lengths, history, arrays):
        top_log_p = tf.where(frozen[:, tf.newaxis], frozen_log_p[tf.newaxis, :], top_log_p)
        top_tokens = tf.where(frozen[:, tf.newaxis], tf.zeros_like(top_tokens), top_tokens)
        candidate_total = total[:, tf.newaxis] + top_log_p                              # (n, width)
        candidate_lengths = lengths + tf.cast(tf.logical_not(frozen), tf.int32)         # (n,)
        candidate_scores = candidate_total / strategy.penalty(candidate_lengths)[:, tf.newaxis]
        _, best = tf.math.top_k(tf.reshape(candidate_scores, [batch, width * width]), k=width)
        best = tf.reshape(best, [n])
        parent = offsets + best // width
        chosen = parent * width + best % width
        token = tf.gather(tf.reshape(top_tokens, [-1]), chosen)
        total = tf.gather(tf.reshape(candidate_total, [-1]), chosen)
        lengths = tf.gather(candidate_lengths, parent)
        finished = tf.logical_or(tf.gather(finished, parent), tf.equal(token, end_id))
        state = _gather(state, parent)
        if no_repeat_ngram_size:
            history = tf.concat([tf.gather(history, parent), token[:, tf.newaxis]], axis=1)
        token_ta, parent_ta, attention_ta = arrays
        token_ta = token_ta.write(step, token)
        parent_ta = parent_ta.write(step, parent)
        if has_attention:
            # The rows the step computed (frozen hypotheses were not: zero); hypothesis `i`'s row is
            # `parent[i]`, read when backtracking.
            attention_ta = attention_ta.write(step, attention)
        return token, state, finished, total, lengths, history, (token_ta, parent_ta, attention_ta)

    # The first step has one live hypothesis per example: compute it once, then copy it to every beam.
    step = tf.constant(0, tf.int32)
    logits, state, attention = step_fn(start_ids, step, state, context)
    has_attention = attention is not None
    top_log_p, top_tokens = candidates(_float32(logits), step)
    top_log_p, top_tokens, state = tile_for_beam((top_log_p, top_tokens, state), width)
    attention = tile_for_beam(_float32(attention), width) if has_attention else None
    # Only the first beam of each example is live at the start, so the first step does not pick
    # the same token `width` times.
    total = tf.tile(frozen_log_p, [batch])
    finished = tf.zeros([n], tf.bool)
    lengths = tf.zeros([n], tf.int32)
    history = tf.zeros([n, 0], tf.int32) if no_repeat_ngram_size else ()
    arrays = (tf.TensorArray(tf.int32, size=0, dynamic_size=True, element_shape=[None]),
              tf.TensorArray(tf.int32, size=0, dynamic_size=True, element_shape=[None]),
              tf.TensorArray(tf.float32, size=0, dynamic_size=True) if has_attention else ())
    token, state, finished, total, lengths, history, arrays = advance(
        step, top_log_p, top_tokens, attention, state, finished, finished, total, lengths, history, arrays)
    # Every hypothesis runs after the first step unless it ended there: the context of all of them.
    cache = (example, _gather(context, example))

    def settled(finished, total, lengths):
        """Examples whose best finished hypothesis no live one can overtake: a live hypothesis only loses
        log-probability, so its final score is at most `total / penalty(max_length)`. Freezing them
        returns exactly what running to the end would, and saves the steps that beams which never emit
        the end token would take."""
        finished_best = tf.reduce_max(
            tf.reshape(tf.where(finished, total / strategy.penalty(lengths), NEG_INF), [batch, width]), axis=1)
        live_bound = tf.reduce_max(
            tf.reshape(tf.where(finished, NEG_INF, total / strategy.penalty(max_length)), [batch, width]), axis=1)
        return finished_best >= live_bound

    def cond(step, token, state, finished, total, lengths, history, arrays, cache):
        return tf.logical_and(step < max_length, tf.logical_not(tf.reduce_all(settled(finished, total, lengths))))

    def body(step, token, state, finished, total, lengths, history, arrays, cache):
        # Finished hypotheses and settled examples need no new logits: leaving them out of the step is
        # what makes the steps after the first endings cheaper.
        frozen = tf.logical_or(finished, tf.gather(settled(finished, total, lengths), example))
        live, logits, state, attention, cache = _run_live_step(
            step_fn, token, step, state, tf.logical_not(frozen), example, context, cache)
        live_log_p, live_tokens = candidates(logits, step, tf.gather(history, live) if no_repeat_ngram_size else None)
        top_log_p = tf.scatter_nd(live[:, tf.newaxis], live_log_p, [n, width])
        top_tokens = tf.scatter_nd(live[:, tf.newaxis], live_tokens, [n, width])
        token, state, finished, total, lengths, history, arrays = advance(
            step, top_log_p, top_tokens, attention, state, frozen, finished, total, lengths, history, arrays)
        return step + 1, token, state, finished, total, lengths, history, arrays, cache

    invariants = (tf.TensorShape([]), tf.TensorShape([None]), tf.nest.map_structure(_loose_shape, state),
                  tf.TensorShape([None]), tf.TensorShape([None]), tf.TensorShape([None]),
                  tf.nest.map_structure(lambda _: tf.TensorShape([None, None]), history),
                  tf.nest.map_structure(lambda _: tf.TensorShape(None), arrays),
                  (tf.TensorShape([None]), tf.nest.map_structure(_loose_shape, cache[1])))
    _, _, _, finished, total, lengths, _, arrays, _ = tf.while_loop(
        cond, body, (tf.constant(1, tf.int32), token, state, finished, total, lengths, history, arrays, cache),
        shape_invariants=invariants)

    scores = tf.reshape(total / strategy.penalty(lengths), [batch, width])
    best = tf.range(batch) * width + tf.argmax(scores, axis=1, output_type=tf.int32)
    # Other beams may have run on after the chosen ones ended: drop the steps that are padding only.
    best_lengths = tf.gather(lengths, best)
    steps = tf.reduce_max(best_lengths)
    token_ta, parent_ta, attention_ta = arrays
    # Backtrack: `source[t]` is the hypothesis of step t - 1 that the winner's ancestor at step t extends
    # (the row step t computed for it), so `source[t + 1]` is that ancestor itself; the winner is last.
    source = tf.scan(lambda row, parent: tf.gather(parent, row), parent_ta.stack(), initializer=best,
                     reverse=True)                                                        # (steps taken, batch)
    source, ancestor = source[:steps], tf.concat([source[1:], best[tf.newaxis]], axis=0)[:steps]
    ids = tf.transpose(tf.gather(token_ta.stack()[:steps], ancestor, batch_dims=1))
    ended = tf.cast(tf.reduce_any(tf.equal(ids, end_id), axis=1), tf.int32)
    if has_attention:
        attention = tf.transpose(tf.gather(attention_ta.stack()[:steps], source, batch_dims=1), [1, 0, 2])
    return DecodingResult(
        ids=ids,
        lengths=best_lengths - ended,
        log_probs=tf.gather(total, best),
        attention=attention if has_attention else None,
    )


def _loose_shape(tensor):
    """`tensor`'s shape with its first dimension (the hypotheses) unknown."""
    if tensor.shape.rank is None:
        return tf.TensorShape(None)
    return tf.TensorShape([None] + tensor.shape.as_list()[1:])
