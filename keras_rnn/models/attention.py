"""Attention over an encoder's memory for the seq2seq decoders: additive and multiplicative scores.

Both layers take decoder queries `(batch, target_len, query_dim)` (or one step, `(batch, query_dim)`)
and the encoder memory `(batch, source_len, memory_dim)` with its padding mask, and return the context
vectors and the alignment weights. Masked source steps get zero weight; a query over an all-padding
source gets a zero context.

`keras.layers.AdditiveAttention` alone is not Bahdanau attention: it has no query or key projections
(it scores `v · tanh(q + k)` on the raw vectors). `BahdanauAttention` learns `W_q`, `W_k` and `v`.
"""

from __future__ import annotations

import keras
from keras import ops

from keras_rnn.models.masking import lowest_value
from keras_rnn.validation import validate_choice, validate_positive_int


def _masked_softmax(scores, mask):
    """Softmax over the last axis where `mask` is True; rows with no True get all zeros."""
    if mask is not None:
        mask = ops.cast(mask, "bool")
        scores = ops.where(mask, scores, ops.full_like(scores, lowest_value(scores.dtype)))
    # Written out rather than ops.softmax, which warns on every one-token source.
    exp = ops.exp(scores - ops.max(scores, axis=-1, keepdims=True))
    weights = exp / ops.sum(exp, axis=-1, keepdims=True)
    if mask is None:
        return weights
    return weights * ops.cast(ops.any(mask, axis=-1, keepdims=True), weights.dtype)


class _MemoryAttention(keras.layers.Layer):
    """Shared call logic: one-step queries become length-1 sequences, masks broadcast over queries.

    `keys(memory)` is the part of the score that depends on the memory alone; a decoder calling the
    layer once per step computes it once and passes it as `keys`, instead of projecting the whole
    memory again at every step.

    With `coverage=True` (See et al., 2017) a one-step call also takes `coverage`, the sum of the
    attention weights of the previous steps `(batch, source_len)`, and adds `coverage_i * w_c` to key
    `i` before scoring, so that the score can learn to avoid source steps already attended to.
    """

    def __init__(self, coverage: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.coverage = bool(coverage)
        self.coverage_kernel = None

    def keys(self, memory):
        return memory

    def _build_coverage(self, key_dim):
        if self.coverage:
            self.coverage_kernel = self.add_weight(shape=(key_dim,), initializer="zeros", name="coverage_kernel")

    def query_features(self, query):
        """The part of the score that depends on the queries alone (Bahdanau: `W_q q`; Luong: `q`), for
        every query at once: a loop over target steps computes it before the loop."""
        return query

    def alignment(self, features, keys, memory_mask=None, coverage=None):
        """Attention weights, float32 `(batch, target_len, source_len)`, of `query_features` `(batch,
        target_len, ...)` over `keys`; with `coverage` `(batch, source_len)` (one step at a time), the
        coverage term is added to the keys first."""
        if coverage is not None:
            keys = keys + ops.expand_dims(ops.cast(coverage, keys.dtype), -1) * ops.cast(self.coverage_kernel, keys.dtype)
        scores = self.score_features(features, keys)  # (batch, target_len, source_len)
        mask = None if memory_mask is None else ops.expand_dims(memory_mask, 1)
        # The weights in float32 whatever the compute dtype: in bfloat16 they would sum to 1 only within
        # about 0.5%, and they are what attention plots and the copy distribution read.
        return _masked_softmax(ops.cast(scores, "float32"), mask)

    def call(self, query, memory, memory_mask=None, keys=None, coverage=None):
        single_step = len(query.shape) == 2
        if single_step:
            query = ops.expand_dims(query, 1)
        keys = self.keys(memory) if keys is None else keys
        if coverage is not None:
            if not self.coverage:
                raise ValueError(f"{self.name} was built without coverage=True; it takes no `coverage`.")
            if not single_step:
                raise ValueError("`coverage` is for one-step queries: it changes after every step.")
        alignment = self.alignment(self.query_features(query), keys, memory_mask, coverage)
        context = ops.matmul(ops.cast(alignment, memory.dtype), memory)
        if single_step:
            return context[:, 0], alignment[:, 0]
        return context, alignment

    def compute_mask(self, *args, **kwargs):
        return None


@keras.saving.register_keras_serializable(package="keras_rnn")
class BahdanauAttention(_MemoryAttention):
    """Additive attention: `score(q, k) = v · tanh(W_q q + W_k k)` (Bahdanau et al., 2015).

    Args:
        units: size of the hidden layer inside the score. Defaults to `128`.
        coverage: learn a coverage term (see `_MemoryAttention`). Defaults to `False`.

    Call arguments:
        query: `(batch, target_len, query_dim)` or `(batch, query_dim)`.
        memory: `(batch, source_len, memory_dim)`.
        memory_mask: optional bool `(batch, source_len)`, True for real source steps.
        keys: optional `keys(memory)`, computed once per source.
        coverage: with `coverage=True`, one-step queries only: the attention weights summed over the
            previous steps, `(batch, source_len)`.

    Returns:
        `(context, alignment)`: `(batch, target_len, memory_dim)` and `(batch, target_len, source_len)`
        (without the `target_len` axis for a one-step query).

    Example:
    >>> attention = BahdanauAttention(units=4)
    >>> context, alignment = attention(np.ones((2, 3, 5)), np.ones((2, 7, 6)))
    >>> (context.shape, alignment.shape)
    (TensorShape([2, 3, 6]), TensorShape([2, 3, 7]))

    Reference:
        Bahdanau, Cho, Bengio. Neural Machine Translation by Jointly Learning to Align and Translate.
        ICLR 2015.
    """

    def __init__(self, units: int = 128, coverage: bool = False, **kwargs):
        super().__init__(coverage=coverage, **kwargs)
        self.units = validate_positive_int("units", units)
        self.query_dense = keras.layers.Dense(units, use_bias=False, name="query_kernel", dtype=self.dtype_policy)
        self.key_dense = keras.layers.Dense(units, use_bias=True, name="key_kernel", dtype=self.dtype_policy)
        self.score_dense = keras.layers.Dense(1, use_bias=False, name="score_vector", dtype=self.dtype_policy)

    def build(self, query_shape, memory_shape, memory_mask_shape=None, keys_shape=None, coverage_shape=None):
        self.query_dense.build(query_shape)
        self.key_dense.build(memory_shape)
        self.score_dense.build((None, None, None, self.units))
        self._build_coverage(self.units)
        self.built = True

    def keys(self, memory):
        return self.key_dense(memory)

    def query_features(self, query):
        return self.query_dense(query)

    def score_features(self, features, keys):
        q = ops.expand_dims(features, 2)   # (batch, target, 1, units)
        k = ops.expand_dims(keys, 1)       # (batch, 1, source, units)
        return ops.squeeze(self.score_dense(ops.tanh(q + k)), -1)

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, coverage=self.coverage)
        return config


LUONG_SCORES = ("dot", "general")


@keras.saving.register_keras_serializable(package="keras_rnn")
class LuongAttention(_MemoryAttention):
    """Multiplicative attention: `dot` scores `q · k`; `general` scores `q · W k` (Luong et al., 2015).

    `dot` needs `query_dim == memory_dim`; `general` learns `W` and maps between the two sizes.

    Args:
        score_mode: `"dot"` or `"general"`. Defaults to `"general"`.
        coverage: learn a coverage term, as for `BahdanauAttention`. Defaults to `False`.

    Call arguments and returns: as `BahdanauAttention`.

    Example:
    >>> context, alignment = LuongAttention("dot")(np.ones((2, 5)), np.ones((2, 7, 5)))
    >>> (context.shape, alignment.shape)
    (TensorShape([2, 5]), TensorShape([2, 7]))

    Reference:
        Luong, Pham, Manning. Effective Approaches to Attention-based Neural Machine Translation.
        EMNLP 2015.
    """

    def __init__(self, score_mode: str = "general", coverage: bool = False, **kwargs):
        super().__init__(coverage=coverage, **kwargs)
        self.score_mode = validate_choice("score_mode", score_mode, LUONG_SCORES)
        self.key_dense = None

    def build(self, query_shape, memory_shape, memory_mask_shape=None, keys_shape=None, coverage_shape=None):
        if self.score_mode == "general":
            self.key_dense = keras.layers.Dense(query_shape[-1], use_bias=False, name="key_kernel",
                                                dtype=self.dtype_policy)
            self.key_dense.build(memory_shape)
        elif query_shape[-1] != memory_shape[-1]:
            raise ValueError(
                f"LuongAttention(score_mode='dot') needs queries and memory of one size; got query size "
                f"{query_shape[-1]} and memory size {memory_shape[-1]}. Use score_mode='general'."
            )
        self._build_coverage(query_shape[-1] if self.score_mode == "general" else memory_shape[-1])
        self.built = True

    def keys(self, memory):
        return memory if self.key_dense is None else self.key_dense(memory)

    def score_features(self, features, keys):
        return ops.matmul(features, ops.transpose(keys, (0, 2, 1)))

    def get_config(self):
        config = super().get_config()
        config.update(score_mode=self.score_mode, coverage=self.coverage)
        return config
