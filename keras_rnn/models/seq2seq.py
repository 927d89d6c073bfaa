"""The seq2seq network shared by translation and summarization: an RNN encoder, an attention decoder and
the builder of the teacher-forced training model.

The decoder follows Luong et al. (2015): its RNN reads the target embeddings, then attends over the
encoder memory with its own output and mixes the two (`tanh(W [h; context])`) before the output
layer. Because the attention query is the RNN output rather than its input, training computes every
step at once (the RNN runs over the whole target, attention over all queries in one matmul), which on
a CPU is several times faster than a step-by-step loop; decoding calls the same cell one step at a
time (`Seq2SeqDecoder.step`). The attention score is additive (`"bahdanau"`, Bahdanau et al., 2015)
or multiplicative (`"luong"`); `"none"` is the plain encoder-decoder whose only link to the source is
the initial state (Sutskever et al., 2014; Cho et al., 2014).
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from keras_rnn.decoding import BeamSearch, DecodingResult, GreedySearch, RandomSampling, dynamic_decode
from keras_rnn.models.attention import LUONG_SCORES, BahdanauAttention, LuongAttention
from keras_rnn.models.rnn_stack import CELLS, rnn_stack, state_count
from keras_rnn.validation import validate_choice, validate_fraction, validate_positive_int

ATTENTIONS = ("none", "bahdanau", "luong")
# Keras's default embedding initializer, uniform in ±0.05, makes token vectors tiny next to the RNN
# weights, and with tied output embeddings also makes every logit near 0 at the start. On Multi30k
# de→en a 10× wider uniform reached validation perplexity 13.9 after 300 steps, against 88.7
# (benchmarks/translation_steps.py). Much wider (±1) diverged.
DEFAULT_EMBEDDINGS_INITIALIZER = {"class_name": "RandomUniform", "config": {"minval": -0.5, "maxval": 0.5}}


@keras.saving.register_keras_serializable(package="keras_rnn")
class Seq2SeqEncoder(keras.layers.Layer):
    """Embedding → stacked (bi)directional RNN; returns the memory to attend over and a summary.

    Args:
        vocabulary_size: source vocabulary size (id 0 is padding).
        embedding_dim: embedding size. Defaults to `256`.
        units: units per direction of each RNN layer. Defaults to `256`.
        num_layers: stacked RNN layers. Defaults to `1`.
        cell: `"gru"`, `"lstm"` or `"simple_rnn"`. Defaults to `"gru"`.
        bidirectional: read the source both ways. Defaults to `True`.
        dropout: dropout on the embeddings, between layers and on the memory. Defaults to `0.2`.
        embeddings_initializer: initializer of the embedding matrix. Defaults to
            `DEFAULT_EMBEDDINGS_INITIALIZER` (see there why not Keras's `"uniform"`).

    Call arguments:
        source_ids: int `(batch, source_len)`, right-padded with 0.

    Returns:
        `(memory, memory_mask, summary)`: `(batch, source_len, units * directions)`, bool
        `(batch, source_len)` and the last layer's final states concatenated,
        `(batch, units * directions * states_per_cell)`.

    Example:
    >>> encoder = Seq2SeqEncoder(50, embedding_dim=8, units=4)
    >>> memory, mask, summary = encoder(np.array([[5, 6, 0]]))
    >>> (memory.shape, mask.numpy().tolist(), summary.shape)
    (TensorShape([1, 3, 8]), [[True, True, False]], TensorShape([1, 8]))
    """

    def __init__(
        self,
        vocabulary_size: int,
        embedding_dim: int = 256,
        units: int = 256,
        num_layers: int = 1,
        cell: str = "gru",
        bidirectional: bool = True,
        dropout: float = 0.2,
        embeddings_initializer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocabulary_size = validate_positive_int("vocabulary_size", vocabulary_size)
        self.embedding_dim = validate_positive_int("embedding_dim", embedding_dim)
        self.units = validate_positive_int("units", units)
        self.num_layers = validate_positive_int("num_layers", num_layers)
        self.cell = validate_choice("cell", cell, CELLS)
        self.bidirectional = bool(bidirectional)
        self.dropout = validate_fraction("dropout", dropout)
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer or DEFAULT_EMBEDDINGS_INITIALIZER)
        # Sublayers take this layer's dtype policy: made under another global policy (a model loaded
        # elsewhere), they would otherwise compute in that one.
        policy = self.dtype_policy
        self.embedding = keras.layers.Embedding(
            vocabulary_size, embedding_dim, embeddings_initializer=self.embeddings_initializer, name="embedding",
            dtype=policy,
        )
        # `{cell}_{i}` (`bidirectional_{cell}_{i}` when wrapped), every one returning its states; the
        # builder's defaults keep the cuDNN kernels eligible on GPU (right padding, no recurrent dropout).
        self.rnns = rnn_stack(cell, units, num_layers, bidirectional=bidirectional, return_state=True, dtype=policy)
        self.dropout_layer = keras.layers.Dropout(dropout, dtype=policy)

    @property
    def memory_dim(self) -> int:
        return self.units * (2 if self.bidirectional else 1)

    @property
    def summary_dim(self) -> int:
        return self.memory_dim * state_count(self.cell)

    def build(self, source_ids_shape):
        # Built here, not on first call, so that loading a saved model finds every weight in place.
        self.embedding.build(source_ids_shape)
        shape = (source_ids_shape[0], source_ids_shape[1], self.embedding_dim)
        for rnn in self.rnns:
            rnn.build(shape)
            shape = (shape[0], shape[1], self.memory_dim)
        self.built = True

    def call(self, source_ids, training=None):
        mask = ops.not_equal(source_ids, 0)
        x = self.dropout_layer(self.embedding(source_ids), training=training)
        states = []
        for i, rnn in enumerate(self.rnns):
            outputs = rnn(x, mask=mask, training=training)
            x, states = outputs[0], outputs[1:]
            x = self.dropout_layer(x, training=training)
        return x, mask, ops.concatenate(list(states), axis=-1)

    def compute_mask(self, *args, **kwargs):
        return None

    def get_config(self):
        config = super().get_config()
        config.update(
            vocabulary_size=self.vocabulary_size, embedding_dim=self.embedding_dim, units=self.units,
            num_layers=self.num_layers, cell=self.cell, bidirectional=self.bidirectional, dropout=self.dropout,
            embeddings_initializer=keras.initializers.serialize(self.embeddings_initializer),
        )
        return config


@keras.saving.register_keras_serializable(package="keras_rnn")
class Seq2SeqDecoder(keras.layers.Layer):
    """RNN decoder initialised from the encoder summary, with optional attention over the memory.

    Args:
        vocabulary_size: target vocabulary size (id 0 is padding).
        embedding_dim: embedding size, also the size of the attentional layer when embeddings are
            tied. Defaults to `256`.
        units: units of each RNN layer. Defaults to `512`.
        num_layers: stacked RNN layers, each initialised from the encoder summary. Defaults to `1`.
        cell: `"gru"`, `"lstm"` or `"simple_rnn"`. Defaults to `"gru"`.
        attention: `"none"`, `"bahdanau"` or `"luong"`. Defaults to `"luong"`.
        luong_score: `"general"` or `"dot"` (with `attention="luong"`). Defaults to `"general"`.
        attention_units: hidden size of the additive score. Defaults to `256`.
        dropout: dropout on the embeddings, between layers and before the output. Defaults to `0.2`.
        tie_embeddings: the output layer reuses the transposed embedding matrix (Press & Wolf, 2017).
            Defaults to `True`.
        embeddings_initializer: as for `Seq2SeqEncoder`.
        copy: pointer-generator (See et al., 2017): a learned switch `p_gen` mixes the vocabulary
            distribution with the attention weights over the source, so that source words can be
            written whether or not they are in the vocabulary. Needs attention. Defaults to `False`.
        coverage: the attention sees the sum of its previous weights and a coverage loss
            `sum_i min(a_t_i, coverage_t_i)` per target step (See et al., 2017) is added, times
            `coverage_loss_weight`. Needs attention. Defaults to `False`.
        coverage_loss_weight: weight of the coverage loss. Defaults to `1.0`.
        unknown_id: the vocabulary's `[UNK]` id, the input embedding of copied out-of-vocabulary words.
            Defaults to `1` (`TextVectorization`'s).

    Call arguments:
        decoder_input_ids: int `(batch, target_len)`: `[START]` and the target shifted right (with
            `copy`, in the extended vocabulary: ids `>= vocabulary_size` are copied source words).
        memory, memory_mask, summary: the encoder's outputs.
        source_extended_ids: with `copy` only: int `(batch, source_len)`, the source in the extended
            vocabulary: the vocabulary id of an in-vocabulary token, and `vocabulary_size + i` for an
            out-of-vocabulary token whose first occurrence in the source is at position `i`
            (`extended_source_ids` computes it).

    Returns:
        Next-token logits, float32 `(batch, target_len, vocabulary_size)`; with `copy`, log-probabilities
        over the extended vocabulary `(batch, target_len, vocabulary_size + source_len)`.

    Example:
    >>> encoder = Seq2SeqEncoder(50, embedding_dim=8, units=4)
    >>> decoder = Seq2SeqDecoder(40, embedding_dim=8, units=6, attention="bahdanau")
    >>> decoder(np.array([[2, 7, 9]]), *encoder(np.array([[5, 6, 0]]))).shape
    TensorShape([1, 3, 40])
    """

    def __init__(
        self,
        vocabulary_size: int,
        embedding_dim: int = 256,
        units: int = 512,
        num_layers: int = 1,
        cell: str = "gru",
        attention: str = "luong",
        luong_score: str = "general",
        attention_units: int = 256,
        dropout: float = 0.2,
        tie_embeddings: bool = True,
        embeddings_initializer=None,
        copy: bool = False,
        coverage: bool = False,
        coverage_loss_weight: float = 1.0,
        unknown_id: int = 1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocabulary_size = validate_positive_int("vocabulary_size", vocabulary_size)
        self.embedding_dim = validate_positive_int("embedding_dim", embedding_dim)
        self.units = validate_positive_int("units", units)
        self.num_layers = validate_positive_int("num_layers", num_layers)
        self.cell = validate_choice("cell", cell, CELLS)
        self.attention = validate_choice("attention", attention, ATTENTIONS)
        self.copy, self.coverage = bool(copy), bool(coverage)
        if (self.copy or self.coverage) and attention == "none":
            raise ValueError(f"copy={copy} and coverage={coverage} need attention: got attention='none'; "
                             "use attention='bahdanau' or 'luong'.")
        if not coverage_loss_weight >= 0:
            raise ValueError(f"Received an invalid value for argument `coverage_loss_weight`: "
                             f"{coverage_loss_weight!r}. Expected a number >= 0.")
        self.coverage_loss_weight = float(coverage_loss_weight)
        self.unknown_id = int(unknown_id)
        self.luong_score = validate_choice("luong_score", luong_score, LUONG_SCORES)
        self.attention_units = validate_positive_int("attention_units", attention_units)
        self.dropout = validate_fraction("dropout", dropout)
        self.tie_embeddings = bool(tie_embeddings)
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer or DEFAULT_EMBEDDINGS_INITIALIZER)

        policy = self.dtype_policy  # for every sublayer, as the encoder's
        self.embedding = keras.layers.Embedding(
            vocabulary_size, embedding_dim, embeddings_initializer=self.embeddings_initializer, name="embedding",
            dtype=policy,
        )
        self.rnns = rnn_stack(cell, units, num_layers, return_state=True, dtype=policy)  # as the encoder's
        # One tanh bridge per layer and state: encoder summary → decoder initial state.
        self.bridges = [
            [keras.layers.Dense(units, activation="tanh", name=f"bridge_{i}_{j}", dtype=policy)
             for j in range(state_count(cell))]
            for i in range(num_layers)
        ]
        if attention == "bahdanau":
            self.attention_layer = BahdanauAttention(attention_units, coverage=self.coverage, name="attention",
                                                     dtype=policy)
        elif attention == "luong":
            self.attention_layer = LuongAttention(luong_score, coverage=self.coverage, name="attention", dtype=policy)
        else:
            self.attention_layer = None
        output_dim = embedding_dim if tie_embeddings else units
        self.combine = keras.layers.Dense(output_dim, activation="tanh", name="attentional_hidden", dtype=policy)
        self.output_layer = None if tie_embeddings else keras.layers.Dense(vocabulary_size, name="output", dtype=policy)
        self.copy_switch = (keras.layers.Dense(1, activation="sigmoid", name="copy_switch", dtype=policy)
                            if self.copy else None)
        self.dropout_layer = keras.layers.Dropout(dropout, dtype=policy)

    def build(self, decoder_input_ids_shape):
        if self.tie_embeddings:
            self.output_bias = self.add_weight(shape=(self.vocabulary_size,), initializer="zeros", name="output_bias")
        self.built = True

    def initial_state(self, summary) -> list[list]:
        """The per-layer initial RNN states (a list of `[h]` or `[h, c]`) from the encoder summary."""
        return [[bridge(summary) for bridge in layer_bridges] for layer_bridges in self.bridges]

    def attention_keys(self, memory):
        """The memory's projection that attention scores against (compute once per source for `step`)."""
        return memory if self.attention_layer is None else self.attention_layer.keys(memory)

    def _vocabulary_logits(self, outputs, context, training):
        if context is not None:
            outputs = ops.concatenate([outputs, ops.cast(context, outputs.dtype)], axis=-1)
        hidden = self.dropout_layer(self.combine(outputs), training=training)
        if self.tie_embeddings:
            kernel = ops.cast(ops.transpose(self.embedding.embeddings), hidden.dtype)
            logits = ops.matmul(hidden, kernel) + ops.cast(self.output_bias, hidden.dtype)
        else:
            logits = self.output_layer(hidden)
        return ops.cast(logits, "float32")

    def _input_ids(self, ids):
        """Copied out-of-vocabulary words (extended ids) are read back as `[UNK]`."""
        if not self.copy:
            return ids
        return ops.where(ops.greater_equal(ids, self.vocabulary_size), self.unknown_id, ids)

    def _build_attention(self, query_dim, memory):
        if not self.attention_layer.built:
            self.attention_layer.build((None, query_dim), tuple(memory.shape))

    def _attend_with_coverage(self, queries, memory, memory_mask, target_mask):
        """Teacher-forced attention with coverage and the coverage loss over real target steps.

        Only the weights need a loop over target steps (each step's coverage is the sum of the weights
        before it); the query projection comes before the loop, and the contexts, the coverage before
        each step and its overlap with the weights after it, all at once: a loop that also carried the
        memory and the contexts cost twice as much in the backward pass."""
        attention = self.attention_layer
        self._build_attention(queries.shape[-1], memory)
        keys = attention.keys(memory)
        features = ops.transpose(attention.query_features(queries), (1, 0, 2))[:, :, tf.newaxis]  # (t, b, 1, f)

        def attend(previous, step_features):
            coverage, _ = previous
            alignment = attention.alignment(step_features, keys, memory_mask, coverage)[:, 0]
            return coverage + alignment, alignment

        # In float32, as the attention weights are.
        zeros = ops.zeros(ops.shape(memory)[:2], "float32")
        _, alignments = tf.scan(attend, features, initializer=(zeros, zeros))
        alignments = ops.transpose(alignments, (1, 0, 2))                           # (b, t, s)
        contexts = ops.matmul(ops.cast(alignments, memory.dtype), memory)
        coverage_before = tf.math.cumsum(alignments, axis=1, exclusive=True)
        overlap = ops.sum(ops.minimum(alignments, coverage_before), axis=-1)         # (b, t)
        target_mask = ops.cast(target_mask, "float32")
        self.add_loss(self.coverage_loss_weight * ops.sum(overlap * target_mask) / ops.maximum(ops.sum(target_mask), 1.0))
        return contexts, alignments

    def _copy_log_probs(self, logits, alignment, context, outputs, embedded, source_extended_ids):
        """log(p_gen * P_vocab + (1 - p_gen) * attention summed per extended id), `(..., V + source_len)`;
        the switch `p_gen` reads the context, the RNN output and the input embedding.

        Shapes: logits `(b, t, V)`, alignment `(b, t, s)`, context / outputs / embedded `(b, t, ...)`,
        source_extended_ids `(b, s)`.
        """
        switch_inputs = ops.concatenate([ops.cast(context, outputs.dtype), outputs, embedded], axis=-1)
        p_gen = ops.cast(self.copy_switch(switch_inputs), "float32")                  # (b, t, 1)
        alignment = ops.cast(alignment, "float32")
        vocabulary = ops.softmax(logits, axis=-1) * p_gen
        shape = tf.shape(alignment)
        batch, steps, source_length = shape[0], shape[1], shape[2]
        vocabulary = tf.pad(vocabulary, [[0, 0], [0, 0], [0, source_length]])
        grid = tf.meshgrid(tf.range(batch), tf.range(steps), tf.range(source_length), indexing="ij")
        token = tf.broadcast_to(tf.cast(source_extended_ids, tf.int32)[:, tf.newaxis, :], shape)
        copied = tf.scatter_nd(tf.stack([grid[0], grid[1], token], axis=-1), (1.0 - p_gen) * alignment,
                               tf.stack([batch, steps, self.vocabulary_size + source_length]))
        return tf.math.log(vocabulary + copied + 1e-9)

    def call(self, decoder_input_ids, memory, memory_mask, summary, source_extended_ids=None, training=None):
        if self.copy and source_extended_ids is None:
            raise ValueError("A copy decoder needs `source_extended_ids` (see `extended_source_ids`).")
        mask = ops.not_equal(decoder_input_ids, 0)
        embedded = self.dropout_layer(self.embedding(self._input_ids(decoder_input_ids)), training=training)
        x = embedded
        for rnn, state in zip(self.rnns, self.initial_state(summary)):
            x = rnn(x, mask=mask, initial_state=state, training=training)[0]
            x = self.dropout_layer(x, training=training)
        context = alignment = None
        if self.coverage:
            context, alignment = self._attend_with_coverage(x, memory, memory_mask, mask)
        elif self.attention_layer is not None:
            context, alignment = self.attention_layer(x, memory, memory_mask)
        logits = self._vocabulary_logits(x, context, training)
        if not self.copy:
            return logits
        return self._copy_log_probs(logits, alignment, context, x, embedded, source_extended_ids)

    def step(self, ids, states, memory, memory_mask, keys=None, coverage=None, source_extended_ids=None):
        """One decoding step: previous tokens `(n,)` and states → logits `(n, vocab)`, new states and
        the attention weights `(n, source_len)` (or `None`). `keys`: `attention_keys(memory)`, to
        avoid projecting the memory at every step. With `coverage`, pass the attention weights summed
        so far `(n, source_len)` (the caller adds each step's weights); with `copy`,
        `source_extended_ids`, and the logits are log-probabilities over the extended vocabulary."""
        embedded = self.embedding(self._input_ids(ids))
        x = embedded
        new_states = []
        for rnn, state in zip(self.rnns, states):
            x, state = rnn.cell(x, list(state), training=False)
            new_states.append(list(state) if isinstance(state, (list, tuple)) else [state])
        context = alignment = None
        if self.attention_layer is not None:
            context, alignment = self.attention_layer(x, memory, memory_mask, keys=keys, coverage=coverage)
        logits = self._vocabulary_logits(x, context, training=False)
        if self.copy:
            one_step = [t[:, tf.newaxis] for t in (logits, alignment, context, x, embedded)]
            logits = self._copy_log_probs(*one_step, source_extended_ids)[:, 0]
        return logits, new_states, alignment

    def compute_mask(self, *args, **kwargs):
        return None

    def get_config(self):
        config = super().get_config()
        config.update(
            vocabulary_size=self.vocabulary_size, embedding_dim=self.embedding_dim, units=self.units,
            num_layers=self.num_layers, cell=self.cell, attention=self.attention, luong_score=self.luong_score,
            attention_units=self.attention_units, dropout=self.dropout, tie_embeddings=self.tie_embeddings,
            embeddings_initializer=keras.initializers.serialize(self.embeddings_initializer),
            copy=self.copy, coverage=self.coverage, coverage_loss_weight=self.coverage_loss_weight,
            unknown_id=self.unknown_id,
        )
        return config


def build_seq2seq_model(
    source_vocabulary_size: int,
    target_vocabulary_size: int,
    *,
    cell: str = "gru",
    embedding_dim: int = 256,
    encoder_units: int = 256,
    encoder_layers: int = 1,
    bidirectional: bool = True,
    decoder_units: int = 512,
    decoder_layers: int = 1,
    attention: str = "luong",
    luong_score: str = "general",
    attention_units: int = 256,
    dropout: float = 0.2,
    tie_embeddings: bool = True,
    embeddings_initializer=None,
    copy: bool = False,
    coverage: bool = False,
    coverage_loss_weight: float = 1.0,
    unknown_id: int = 1,
    name: str = "seq2seq",
) -> keras.Model:
    """The teacher-forced training model: `{"source_ids", "decoder_input_ids"}` → next-token logits.

    The encoder and decoder are the layers named `"encoder"` and `"decoder"`; decoding reuses them
    (`decode_ids`). `embeddings_initializer` defaults to `DEFAULT_EMBEDDINGS_INITIALIZER`. With `copy`
    the model also takes `"source_extended_ids"` and returns log-probabilities over the extended
    vocabulary (see `Seq2SeqDecoder`); `coverage` adds the coverage loss to the model's losses.
    """
    encoder = Seq2SeqEncoder(
        source_vocabulary_size, embedding_dim, encoder_units, encoder_layers, cell, bidirectional, dropout,
        embeddings_initializer, name="encoder",
    )
    decoder = Seq2SeqDecoder(
        target_vocabulary_size, embedding_dim, decoder_units, decoder_layers, cell, attention, luong_score,
        attention_units, dropout, tie_embeddings, embeddings_initializer, copy=copy, coverage=coverage,
        coverage_loss_weight=coverage_loss_weight, unknown_id=unknown_id, name="decoder",
    )
    if attention == "luong" and luong_score == "dot" and decoder_units != encoder.memory_dim:
        raise ValueError(
            f"attention='luong' with luong_score='dot' needs decoder_units == encoder memory size "
            f"({encoder.memory_dim}); got decoder_units={decoder_units}. Use luong_score='general'."
        )
    source_ids = keras.Input((None,), dtype="int32", name="source_ids")
    decoder_input_ids = keras.Input((None,), dtype="int32", name="decoder_input_ids")
    inputs = {"source_ids": source_ids, "decoder_input_ids": decoder_input_ids}
    memory, memory_mask, summary = encoder(source_ids)
    if copy:
        inputs["source_extended_ids"] = keras.Input((None,), dtype="int32", name="source_extended_ids")
        logits = decoder(decoder_input_ids, memory, memory_mask, summary, inputs["source_extended_ids"])
    else:
        logits = decoder(decoder_input_ids, memory, memory_mask, summary)
    return keras.Model(inputs, logits, name=name)


def build_translation_model(source_vocabulary_size: int, target_vocabulary_size: int, **kwargs) -> keras.Model:
    """A translation model: `build_seq2seq_model` with translation's name; see its arguments.

    Example:
    >>> model = build_translation_model(100, 80, embedding_dim=8, encoder_units=4, decoder_units=8)
    >>> model({"source_ids": np.array([[4, 5, 0]]), "decoder_input_ids": np.array([[2, 9]])}).shape
    TensorShape([1, 2, 80])
    """
    kwargs.setdefault("name", "translation")
    return build_seq2seq_model(source_vocabulary_size, target_vocabulary_size, **kwargs)


def build_summarization_model(vocabulary_size: int, *, copy: bool = True, coverage: bool = True, **kwargs) -> keras.Model:
    """A summarization model: `build_seq2seq_model` with one vocabulary for documents and summaries,
    and by default the pointer-generator copy mechanism and coverage (See et al., 2017).

    Example:
    >>> model = build_summarization_model(100, embedding_dim=8, encoder_units=4, decoder_units=8)
    >>> sorted(model.input)
    ['decoder_input_ids', 'source_extended_ids', 'source_ids']
    """
    kwargs.setdefault("name", "summarization")
    kwargs.setdefault("attention", "bahdanau")
    return build_seq2seq_model(vocabulary_size, vocabulary_size, copy=copy, coverage=coverage, **kwargs)


def extended_source_ids(source_ids: tf.Tensor, source_tokens: tf.Tensor, vocabulary_size: int,
                        unknown_id: int = 1) -> tf.Tensor:
    """The source in a copy decoder's extended vocabulary: in-vocabulary ids unchanged, an unknown
    token `vocabulary_size + i` where `i` is the first position of the same token in its source.

    Args:
        source_ids: int `(batch, source_len)`, right-padded with 0.
        source_tokens: the token strings behind them, `(batch, source_len)` (padding: any string).

    Example:
    >>> extended_source_ids(tf.constant([[5, 1, 7, 1, 1]]), tf.constant([["a", "zorg", "b", "kip", "zorg"]]), 10)
    <tf.Tensor: shape=(1, 5), dtype=int32, numpy=array([[ 5, 11,  7, 13, 11]], dtype=int32)>
    """
    source_ids = tf.cast(source_ids, tf.int32)
    same = tf.equal(source_tokens[:, :, tf.newaxis], source_tokens[:, tf.newaxis, :])
    first = tf.argmax(tf.cast(same, tf.int32), axis=-1, output_type=tf.int32)
    return tf.where(tf.equal(source_ids, unknown_id), vocabulary_size + first, source_ids)


def extended_target_ids(target_ids: tf.Tensor, target_tokens: tf.Tensor, source_extended: tf.Tensor,
                        source_tokens: tf.Tensor, vocabulary_size: int, unknown_id: int = 1) -> tf.Tensor:
    """Target ids in the extended vocabulary: an unknown target token that occurs in the source as an
    unknown token gets that token's extended id (the copy decoder's label); others are unchanged.

    Example:
    >>> source = tf.constant([["a", "zorg", "b"]])
    >>> extended = extended_source_ids(tf.constant([[5, 1, 7]]), source, 10)
    >>> extended_target_ids(tf.constant([[1, 5, 1]]), tf.constant([["zorg", "a", "kip"]]), extended, source, 10)
    <tf.Tensor: shape=(1, 3), dtype=int32, numpy=array([[11,  5,  1]], dtype=int32)>
    """
    target_ids = tf.cast(target_ids, tf.int32)
    copied = tf.greater_equal(source_extended, vocabulary_size)                     # (b, s)
    match = tf.equal(target_tokens[:, :, tf.newaxis], source_tokens[:, tf.newaxis, :]) & copied[:, tf.newaxis, :]
    position = tf.argmax(tf.cast(match, tf.int32), axis=-1, output_type=tf.int32)   # (b, t)
    source_id = tf.gather(source_extended, position, batch_dims=1)
    return tf.where(tf.equal(target_ids, unknown_id) & tf.reduce_any(match, axis=-1), source_id, target_ids)


def decode_ids(
    encoder: Seq2SeqEncoder,
    decoder: Seq2SeqDecoder,
    source_ids: tf.Tensor,
    *,
    start_id: int,
    end_id: int,
    strategy: GreedySearch | BeamSearch | RandomSampling | None = None,
    max_length_ratio: float = 1.5,
    max_length_offset: int = 10,
    min_length: int = 0,
    source_extended_ids: tf.Tensor | None = None,
    no_repeat_ngram_size: int = 0,
) -> DecodingResult:
    """Encodes `source_ids` and decodes with `strategy`, at most `ratio * longest source + offset` tokens.

    The encoder memory, its mask, its attention keys (and with `copy` the `source_extended_ids`, needed
    then) are the decoding `context` (one row per example, gathered for the hypotheses of each step);
    the decoder RNN states and, with coverage, the attention summed so far are the decoding `state`.
    With `copy`, output ids `>= decoder.vocabulary_size` are copied source tokens (`id - vocabulary_size`
    is their source position).
    """
    if decoder.copy and source_extended_ids is None:
        raise ValueError("A copy decoder needs `source_extended_ids` (see `extended_source_ids`).")
    memory, memory_mask, summary = encoder(source_ids, training=False)

    never = tf.tensor_scatter_nd_update(
        tf.zeros([decoder.vocabulary_size]), [[0], [start_id]], tf.constant([-1e9, -1e9])
    )
    if decoder.copy:  # the extended ids (copies) are possible outputs
        never = tf.pad(never, [[0, tf.shape(source_ids)[1]]])

    def step_fn(ids, step, state, context):
        rnn_states, coverage = state
        memory, memory_mask, keys, extended = context
        logits, rnn_states, alignment = decoder.step(
            ids, rnn_states, memory, memory_mask, keys, coverage=coverage if decoder.coverage else None,
            source_extended_ids=extended if decoder.copy else None)
        if decoder.coverage:
            coverage = coverage + tf.cast(alignment, coverage.dtype)
        return logits + never, (rnn_states, coverage), alignment  # padding and [START] are never outputs

    batch = tf.shape(source_ids)[0]
    source_length = tf.cast(tf.shape(source_ids)[1], tf.float32)
    max_length = tf.cast(tf.math.ceil(source_length * max_length_ratio), tf.int32) + max_length_offset
    return dynamic_decode(
        step_fn,
        tf.fill([batch], tf.cast(start_id, tf.int32)),
        end_id,
        (decoder.initial_state(summary), tf.zeros(tf.shape(memory_mask), tf.float32) if decoder.coverage else ()),
        context=(memory, memory_mask, decoder.attention_keys(memory),
                 source_extended_ids if decoder.copy else ()),
        max_length=max_length,
        min_length=min_length,
        strategy=strategy,
        no_repeat_ngram_size=no_repeat_ngram_size,
    )
