"""Sentiment / text-classification networks: Embedding → (Bi)RNN stack → pooling → Dense."""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_rnn.models.ngrams import HashedNgrams
from keras_rnn.models.pooling import MaskedSequencePooling
from keras_rnn.models.rnn_stack import CELLS, rnn_stack
from keras_rnn.validation import validate_choice, validate_count, validate_fraction, validate_positive_int

POOLINGS = ("last", "max", "mean", "max_mean")
APIS = ("functional", "sequential")


def classifier_layers(
    vocab_size: int,
    num_classes: int = 2,
    cell: str = "gru",
    units: int = 64,
    num_layers: int = 1,
    bidirectional: bool = True,
    embedding_dim: int = 128,
    dropout: float = 0.3,
    embedding_dropout: float = 0.0,
    pooling: str = "max_mean",
    logits: bool = False,
) -> list[keras.layers.Layer]:
    """The recurrent path of `build_sentiment_model`, in order, after validating every argument.

    With `logits=True` the last Dense layer has no activation (its logits are summed with another path).
    """
    validate_positive_int("vocab_size", vocab_size)
    validate_positive_int("num_classes", num_classes)
    if num_classes < 2:
        raise ValueError(f"Received an invalid value for argument `num_classes`: {num_classes}. Expected >= 2.")
    validate_choice("cell", cell, CELLS)
    validate_positive_int("units", units)
    validate_positive_int("num_layers", num_layers)
    validate_positive_int("embedding_dim", embedding_dim)
    validate_fraction("dropout", dropout)
    validate_fraction("embedding_dropout", embedding_dropout)
    validate_choice("pooling", pooling, POOLINGS)

    layers = [keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True, name="embedding")]
    if embedding_dropout:
        # Drops whole embedding channels, the same ones at every step (SpatialDropout1D).
        layers.append(keras.layers.SpatialDropout1D(embedding_dropout, name="embedding_dropout"))
    # Named `{cell}_{i}` (`bidirectional_{cell}_{i}` when wrapped), as saved models' configs and weight
    # paths have them. The builder's defaults keep the cuDNN kernel eligible on GPU (see `rnn_stack`).
    layers += rnn_stack(cell, units, num_layers, bidirectional=bidirectional, return_sequences=pooling != "last")
    if pooling != "last":
        layers.append(MaskedSequencePooling(pooling, name=f"{pooling}_pooling"))
    if dropout:
        layers.append(keras.layers.Dropout(dropout, name="dropout"))
    if logits:
        layers.append(keras.layers.Dense(_num_outputs(num_classes), name="rnn_logits"))
    else:
        layers.append(keras.layers.Dense(_num_outputs(num_classes), activation=_activation(num_classes), name="output"))
    return layers


def _num_outputs(num_classes: int) -> int:
    return 1 if num_classes == 2 else num_classes


def _activation(num_classes: int) -> str:
    return "sigmoid" if num_classes == 2 else "softmax"


def build_sentiment_model(
    vocab_size: int,
    num_classes: int = 2,
    cell: str = "gru",
    units: int = 64,
    num_layers: int = 1,
    bidirectional: bool = True,
    embedding_dim: int = 128,
    dropout: float = 0.3,
    embedding_dropout: float = 0.0,
    pooling: str = "max_mean",
    ngram_order: int = 0,
    ngram_bins: int = 2**20,
    api: str = "functional",
    name: str = "sentiment",
) -> keras.Model:
    """Builds an RNN text classifier over right-padded token ids (0 = padding).

    Embedding (`mask_zero=True`, so padding never changes a prediction) → `num_layers` stacked
    SimpleRNN / LSTM / GRU layers, optionally bidirectional → pooling of the sequence output →
    dropout → a sigmoid unit (two classes) or a softmax (more).

    Args:
        vocab_size: number of token ids, padding and OOV included.
        num_classes: number of labels; 2 gives one sigmoid output. Defaults to `2`.
        cell: `"simple_rnn"`, `"lstm"` or `"gru"`. Defaults to `"gru"`.
        units: units per direction of each recurrent layer. Defaults to `64`.
        num_layers: stacked recurrent layers. Defaults to `1`.
        bidirectional: read the text both ways. Defaults to `True`.
        embedding_dim: embedding size. Defaults to `128`.
        dropout: dropout rate before the output layer. Defaults to `0.3`.
        embedding_dropout: channel dropout rate on the embeddings. Defaults to `0.0`.
        pooling: `"last"` (final state), `"max"`, `"mean"` or `"max_mean"` over masked time steps.
            Defaults to `"max_mean"`.
        ngram_order: `0` for none, else also feed a bag of the text's 1..`ngram_order`-grams (hashed
            from the ids, `HashedNgrams`) through a linear layer whose logits add to the RNN's: a
            wide-and-deep classifier. Functional API only. Defaults to `0`.
        ngram_bins: hash bins of the n-gram bag. Defaults to `2**20`.
        api: `"functional"` (a `keras.Model`) or `"sequential"` (a `keras.Sequential`), same layers.
        name: model name.

    Returns:
        An uncompiled model: `(batch, time)` int ids → `(batch, 1)` probability of class 1, or
        `(batch, num_classes)` class probabilities.

    Example:
    >>> model = build_sentiment_model(vocab_size=100, cell="lstm", units=8, embedding_dim=8)
    >>> model(np.array([[5, 7, 0, 0]])).shape
    TensorShape([1, 1])
    """
    validate_choice("api", api, APIS)
    validate_count("ngram_order", ngram_order, "no n-gram bag")
    if ngram_order and api == "sequential":
        raise ValueError(f"`ngram_order={ngram_order}` adds a second path beside the RNN, which a "
                         "Sequential model cannot hold; use api='functional' or ngram_order=0.")
    layers = classifier_layers(
        vocab_size, num_classes, cell, units, num_layers, bidirectional, embedding_dim, dropout,
        embedding_dropout, pooling, logits=bool(ngram_order),
    )
    if api == "sequential":
        return keras.Sequential([keras.Input((None,), dtype="int64", name="token_ids"), *layers], name=name)
    inputs = keras.Input((None,), dtype="int64", name="token_ids")
    outputs = inputs
    for layer in layers:
        outputs = layer(outputs)
    if ngram_order:
        grams = HashedNgrams(ngram_order, ngram_bins, name="ngrams")(inputs)
        # A linear model over n-gram counts: one weight per hashed n-gram and class output, summed.
        # Zero-initialised, so training starts from the RNN's logits alone.
        weights = keras.layers.Embedding(ngram_bins, _num_outputs(num_classes), mask_zero=True,
                                         embeddings_initializer="zeros", name="ngram_weights")(grams)
        ngram_logits = MaskedSequencePooling("sum", name="ngram_logits")(weights)
        logits = keras.layers.Add(name="logits")([outputs, ngram_logits])
        outputs = keras.layers.Activation(_activation(num_classes), name="output")(logits)
    return keras.Model(inputs, outputs, name=name)


def article_example_model(
    vocab_size: int = 10000,
    num_classes: int = 2,
    embedding_dim: int = 32,
    units: int = 32,
    max_length: int = 200,
) -> keras.Sequential:
    """The article's example: Embedding → SimpleRNN(tanh) → Dense(softmax), Adam + categorical CE.

    Labels are one-hot (categorical cross-entropy), inputs padded to `max_length`, and the article
    trains with `validation_split=0.1`.

    Example:
    >>> model = article_example_model(vocab_size=50, num_classes=2, max_length=6)
    >>> x = np.random.randint(1, 50, size=(20, 6))
    >>> y = keras.utils.to_categorical(np.random.randint(0, 2, size=20), 2)
    >>> history = model.fit(x, y, epochs=1, batch_size=4, validation_split=0.1, verbose=0)
    >>> sorted(history.history)
    ['accuracy', 'loss', 'val_accuracy', 'val_loss']
    """
    for arg, value in (("vocab_size", vocab_size), ("num_classes", num_classes), ("embedding_dim", embedding_dim),
                       ("units", units), ("max_length", max_length)):
        validate_positive_int(arg, value)
    model = keras.Sequential(
        [
            keras.Input((max_length,), dtype="int32"),
            keras.layers.Embedding(vocab_size, embedding_dim),
            keras.layers.SimpleRNN(units, activation="tanh"),
            keras.layers.Dense(num_classes, activation="softmax"),
        ],
        name="article_example",
    )
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def class_probabilities(outputs):
    """Model outputs → `(batch, num_classes)` probabilities (a sigmoid unit becomes two columns)."""
    if outputs.shape[-1] == 1:
        return tf.concat([1.0 - outputs, outputs], axis=-1)
    return outputs
