"""The seq2seq core shared by translation and summarization: an RNN encoder, an attention decoder and
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
from keras_rnn.models.classifier import CELLS
from keras_rnn.validation import validate_choice, validate_fraction, validate_positive_int

ATTENTIONS = ("none", "bahdanau", "luong")
# Keras's default embedding initializer, uniform in ±0.05, makes token vectors tiny next to the RNN
# weights, and with tied output embeddings also makes every logit near 0 at the start. On Multi30k
# de→en a 10× wider uniform reached validation perplexity 13.9 after 300 steps, against 88.7
# (benchmarks/translation_steps.py). Much wider (±1) diverged.
DEFAULT_EMBEDDINGS_INITIALIZER = {"class_name": "RandomUniform", "config": {"minval": -0.5, "maxval": 0.5}}


def _rnn(cell: str, units: int, name: str) -> keras.layers.Layer:
    # Defaults keep the cuDNN kernels eligible on GPU (right padding, no recurrent dropout).
    return CELLS[cell](units, return_sequences=True, return_state=True, name=name)


def _state_count(cell: str) -> int:
    return 2 if cell == "lstm" else 1


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
        self.embedding = keras.layers.Embedding(
            vocabulary_size, embedding_dim, embeddings_initializer=self.embeddings_initializer, name="embedding"
        )
        self.rnns = []
        for i in range(num_layers):
            rnn = _rnn(cell, units, name=f"{cell}_{i}")
            self.rnns.append(keras.layers.Bidirectional(rnn, name=f"bidirectional_{cell}_{i}") if bidirectional else rnn)
        self.dropout_layer = keras.layers.Dropout(dropout)

    @property
    def memory_dim(self) -> int:
        return self.units * (2 if self.bidirectional else 1)

    @property
    def summary_dim(self) -> int:
        return self.memory_dim * _state_count(self.cell)

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

    Call arguments:
        decoder_input_ids: int `(batch, target_len)`: `[START]` and the target shifted right.
        memory, memory_mask, summary: the encoder's outputs.

    Returns:
        Next-token logits, float32 `(batch, target_len, vocabulary_size)`.

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
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocabulary_size = validate_positive_int("vocabulary_size", vocabulary_size)
        self.embedding_dim = validate_positive_int("embedding_dim", embedding_dim)
        self.units = validate_positive_int("units", units)
        self.num_layers = validate_positive_int("num_layers", num_layers)
        self.cell = validate_choice("cell", cell, CELLS)
        self.attention = validate_choice("attention", attention, ATTENTIONS)
        self.luong_score = validate_choice("luong_score", luong_score, LUONG_SCORES)
        self.attention_units = validate_positive_int("attention_units", attention_units)
        self.dropout = validate_fraction("dropout", dropout)
        self.tie_embeddings = bool(tie_embeddings)
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer or DEFAULT_EMBEDDINGS_INITIALIZER)

        self.embedding = keras.layers.Embedding(
            vocabulary_size, embedding_dim, embeddings_initializer=self.embeddings_initializer, name="embedding"
        )
        self.rnns = [_rnn(cell, units, name=f"{cell}_{i}") for i in range(num_layers)]
        # One tanh bridge per layer and state: encoder summary → decoder initial state.
        self.bridges = [
            [keras.layers.Dense(units, activation="tanh", name=f"bridge_{i}_{j}") for j in range(_state_count(cell))]
            for i in range(num_layers)
        ]
        if attention == "bahdanau":
            self.attention_layer = BahdanauAttention(attention_units, name="attention")
        elif attention == "luong":
            self.attention_layer = LuongAttention(luong_score, name="attention")
        else:
            self.attention_layer = None
        output_dim = embedding_dim if tie_embeddings else units
        self.combine = keras.layers.Dense(output_dim, activation="tanh", name="attentional_hidden")
        self.output_layer = None if tie_embeddings else keras.layers.Dense(vocabulary_size, name="output")
        self.dropout_layer = keras.layers.Dropout(dropout)

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

    def _logits(self, outputs, memory, memory_mask, training, keys=None):
        alignment = None
        if self.attention_layer is not None:
            context, alignment = self.attention_layer(outputs, memory, memory_mask, keys=keys)
            outputs = ops.concatenate([outputs, ops.cast(context, outputs.dtype)], axis=-1)
        hidden = self.dropout_layer(self.combine(outputs), training=training)
        if self.tie_embeddings:
            kernel = ops.cast(ops.transpose(self.embedding.embeddings), hidden.dtype)
            logits = ops.matmul(hidden, kernel) + ops.cast(self.output_bias, hidden.dtype)
        else:
            logits = self.output_layer(hidden)
        return ops.cast(logits, "float32"), alignment

    def call(self, decoder_input_ids, memory, memory_mask, summary, training=None):
        mask = ops.not_equal(decoder_input_ids, 0)
        x = self.dropout_layer(self.embedding(decoder_input_ids), training=training)
        for rnn, state in zip(self.rnns, self.initial_state(summary)):
            x = rnn(x, mask=mask, initial_state=state, training=training)[0]
            x = self.dropout_layer(x, training=training)
        return self._logits(x, memory, memory_mask, training)[0]

    def step(self, ids, states, memory, memory_mask, keys=None):
        """One decoding step: previous tokens `(n,)` and states → logits `(n, vocab)`, new states and
        the attention weights `(n, source_len)` (or `None`). `keys`: `attention_keys(memory)`, to
        avoid projecting the memory at every step."""
        x = self.embedding(ids)
        new_states = []
        for rnn, state in zip(self.rnns, states):
            x, state = rnn.cell(x, list(state), training=False)
            new_states.append(list(state) if isinstance(state, (list, tuple)) else [state])
        logits, alignment = self._logits(x, memory, memory_mask, training=False, keys=keys)
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
    name: str = "seq2seq",
) -> keras.Model:
    """The teacher-forced training model: `{"source_ids", "decoder_input_ids"}` → next-token logits.

    The encoder and decoder are the layers named `"encoder"` and `"decoder"`; decoding reuses them
    (`decode_ids`). `embeddings_initializer` defaults to `DEFAULT_EMBEDDINGS_INITIALIZER`.
    """
    encoder = Seq2SeqEncoder(
        source_vocabulary_size, embedding_dim, encoder_units, encoder_layers, cell, bidirectional, dropout,
        embeddings_initializer, name="encoder",
    )
    decoder = Seq2SeqDecoder(
        target_vocabulary_size, embedding_dim, decoder_units, decoder_layers, cell, attention, luong_score,
        attention_units, dropout, tie_embeddings, embeddings_initializer, name="decoder",
    )
    if attention == "luong" and luong_score == "dot" and decoder_units != encoder.memory_dim:
        raise ValueError(
            f"attention='luong' with luong_score='dot' needs decoder_units == encoder memory size "
            f"({encoder.memory_dim}); got decoder_units={decoder_units}. Use luong_score='general'."
        )
    source_ids = keras.Input((None,), dtype="int32", name="source_ids")
    decoder_input_ids = keras.Input((None,), dtype="int32", name="decoder_input_ids")
    memory, memory_mask, summary = encoder(source_ids)
    logits = decoder(decoder_input_ids, memory, memory_mask, summary)
    return keras.Model({"source_ids": source_ids, "decoder_input_ids": decoder_input_ids}, logits, name=name)


def build_translation_model(source_vocabulary_size: int, target_vocabulary_size: int, **kwargs) -> keras.Model:
    """A translation model: `build_seq2seq_model` with translation's name; see its arguments.

    Example:
    >>> model = build_translation_model(100, 80, embedding_dim=8, encoder_units=4, decoder_units=8)
    >>> model({"source_ids": np.array([[4, 5, 0]]), "decoder_input_ids": np.array([[2, 9]])}).shape
    TensorShape([1, 2, 80])
    """
    kwargs.setdefault("name", "translation")
    return build_seq2seq_model(source_vocabulary_size, target_vocabulary_size, **kwargs)


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
) -> DecodingResult:
    """Encodes `source_ids` and decodes with `strategy`, at most `ratio * longest source + offset` tokens.

    The encoder memory, its mask and its attention keys are the decoding `context` (one row per example,
    gathered for the hypotheses of each step); the decoder RNN states are the decoding `state`.
    """
    memory, memory_mask, summary = encoder(source_ids, training=False)

    never = tf.tensor_scatter_nd_update(
        tf.zeros([decoder.vocabulary_size]), [[0], [start_id]], tf.constant([-1e9, -1e9])
    )

    def step_fn(ids, step, rnn_states, context):
        memory, memory_mask, keys = context
        logits, rnn_states, alignment = decoder.step(ids, rnn_states, memory, memory_mask, keys)
        return logits + never, rnn_states, alignment  # padding and [START] are never outputs

    batch = tf.shape(source_ids)[0]
    source_length = tf.cast(tf.shape(source_ids)[1], tf.float32)
    max_length = tf.cast(tf.math.ceil(source_length * max_length_ratio), tf.int32) + max_length_offset
    return dynamic_decode(
        step_fn,
        tf.fill([batch], tf.cast(start_id, tf.int32)),
        end_id,
        decoder.initial_state(summary),
        context=(memory, memory_mask, decoder.attention_keys(memory)),
        max_length=max_length,
        min_length=min_length,
        strategy=strategy,
    )
