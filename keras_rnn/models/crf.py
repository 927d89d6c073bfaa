"""A linear-chain conditional random field over per-token scores, for sequence taggers (BiLSTM-CRF).

A tagger scores every tag at every token (the *potentials*, or emission scores, `(batch, time,
num_tags)`, e.g. a `Dense` layer's output). The CRF adds a learnt score for each move from one tag to
the next, and for starting and ending a sentence on each tag, and so scores whole tag paths:

    score(y) = start[y_0] + Σ_t potentials[t, y_t] + Σ_{t>0} transitions[y_{t-1}, y_t] + end[y_last]

with `p(y | x) = exp(score(y)) / Z`; the partition function `Z` sums over every path (the forward
algorithm, in log space) and `decode` finds the best path (Viterbi). Moves can be forbidden (see
`iob_transition_constraints`): they score `forbidden_score`, so Viterbi never takes one and they add
nothing to `Z`.

A mask selects the real tokens of each row and a path runs over its True positions, in order (right
padding is the usual case). A row with no real token has one path, the empty one: score 0, `log Z = 0`,
log-likelihood 0, tags all 0.

Training with `fit`: the tagger is one functional model with two outputs, the potentials and the tags
the CRF decodes from them, and `CRFNegativeLogLikelihood(crf)` is the loss of the potentials. The loss
reads the CRF's weights; they are trained because the CRF is part of the model, and the tags output
needs no loss nor targets (Keras skips it). The loss takes its padding from the potentials' Keras mask
(`Embedding(mask_zero=True)` makes one and the layers after it pass it on). The model takes token ids
alone and returns plain tensors, so it exports like any functional model. Outside `fit`,
`crf.loss(potentials, tags, mask)` computes the same loss. A loss cannot save its layer: to train a model
loaded from a `.keras` file, compile it again with `CRFNegativeLogLikelihood(model.get_layer(...))`.

Example:
>>> keras.utils.set_random_seed(0)
>>> ids = keras.Input((None,), dtype="int32", name="ids")
>>> embedded = keras.layers.Embedding(10, 8, mask_zero=True)(ids)
>>> potentials = keras.layers.Dense(3, name="potentials")(embedded)
>>> crf = CRF(3, name="tags")
>>> model = keras.Model(ids, {"potentials": potentials, "tags": crf(potentials)})
>>> model.compile("adam", loss={"potentials": CRFNegativeLogLikelihood(crf)})
>>> x = np.array([[1, 2, 3, 0], [4, 5, 0, 0]])
>>> y = np.array([[1, 2, 2, 0], [1, 2, 0, 0]])
>>> losses = model.fit(x, {"potentials": y}, epochs=3, verbose=0).history["loss"]
>>> losses[-1] < losses[0]
True
>>> model.predict(x, verbose=0)["tags"].shape  # padding positions get tag 0
(2, 4)

Reference:
    Lafferty, McCallum, Pereira. Conditional Random Fields: Probabilistic Models for Segmenting and
    Labeling Sequence Data. ICML 2001.
    Huang, Xu, Yu. Bidirectional LSTM-CRF Models for Sequence Tagging. arXiv:1508.01991, 2015.
    Lample, Ballesteros, Subramanian, Kawakami, Dyer. Neural Architectures for Named Entity
    Recognition. NAACL 2016.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops
from keras.src.backend.common.masking import get_keras_mask
from keras.src.losses.loss import reduce_weighted_values

from keras_rnn.validation import validate_choice, validate_positive_int

IOB_SCHEMES = ("IOB2", "IOBES")


def forbidden_score(dtype: str = "float32") -> float:
    """The score of a forbidden move in `dtype`: minus the largest power of two whose square is finite.

    It outweighs any real path score (those stay far below it), and a sum of as many forbidden moves as
    its magnitude is still finite, so no `-inf` (and no NaN in gradients) even on a path of forbidden
    moves. A fixed `-1e9` would overflow float16, whose largest value is 65504.

    Example:
    >>> forbidden_score("float16"), forbidden_score("float32")
    (-128.0, -9.223372036854776e+18)
    """
    largest = tf.as_dtype(keras.backend.standardize_dtype(dtype)).max
    return -(2.0 ** ((math.frexp(largest)[1] - 1) // 2))


def _score_dtype(compute_dtype: str) -> str:
    # Log-space sums over a whole sentence lose too much in float16 (3 significant digits).
    return "float64" if compute_dtype == "float64" else "float32"


def _tag_matrix(value: Any, num_tags: int) -> np.ndarray | None:
    """`allowed_transitions` as a `(num_tags, num_tags)` bool matrix (None: every move allowed)."""
    if value is None:
        return None
    array = np.asarray(value)
    expected = (f"Expected a ({num_tags}, {num_tags}) boolean matrix or a list of (from_tag, to_tag) "
                f"pairs of ids in [0, {num_tags}).")
    if array.dtype == bool:
        if array.shape != (num_tags, num_tags):
            raise ValueError(f"Received an invalid value for argument `allowed_transitions`: {value!r} "
                             f"(shape {array.shape}). {expected}")
        return array.copy()
    if array.size == 0:
        return np.zeros((num_tags, num_tags), bool)
    if (array.ndim != 2 or array.shape[1] != 2 or not np.issubdtype(array.dtype, np.integer)
            or array.min() < 0 or array.max() >= num_tags):
        raise ValueError(f"Received an invalid value for argument `allowed_transitions`: {value!r}. {expected}")
    matrix = np.zeros((num_tags, num_tags), bool)
    matrix[array[:, 0], array[:, 1]] = True
    return matrix


def _tag_vector(name: str, value: Any, num_tags: int) -> np.ndarray | None:
    """`allowed_starts` / `allowed_ends` as a `(num_tags,)` bool vector (None: every tag allowed)."""
    if value is None:
        return None
    array = np.asarray(value)
    if array.dtype == bool and array.shape == (num_tags,):
        vector = array.copy()
    elif array.dtype != bool and array.ndim == 1 and (
            array.size == 0 or (np.issubdtype(array.dtype, np.integer) and array.min() >= 0
                                and array.max() < num_tags)):
        vector = np.zeros(num_tags, bool)
        vector[array.astype(int)] = True
    else:
        raise ValueError(f"Received an invalid value for argument `{name}`: {value!r}. Expected a ({num_tags},) "
                         f"boolean vector or a list of tag ids in [0, {num_tags}).")
    if not vector.any():
        raise ValueError(f"Received an invalid value for argument `{name}`: {value!r}. It allows no tag, so no "
                         "path would be allowed.")
    return vector


def _forward(potentials, mask, transitions, start, end, tags):
    """The forward algorithm: `(log Z, score of tags)`, both `(batch,)`. Time-major inputs."""
    batch = tf.shape(potentials)[1]

    def step(state, inputs):
        alpha, started, previous, gold = state
        x, m, y = inputs
        # alpha[b, j]: log of the summed exp-scores of every path over the real steps so far ending in j.
        moved = tf.reduce_logsumexp(alpha[:, :, None] + transitions[None], axis=1) + x
        new_alpha = tf.where(started[:, None], moved, alpha + x)  # alpha starts as `start`
        move = tf.where(started, tf.gather_nd(transitions, tf.stack([previous, y], axis=1)), tf.gather(start, y))
        gold = gold + tf.where(m, tf.gather(x, y, batch_dims=1) + move, tf.zeros_like(gold))
        return (tf.where(m[:, None], new_alpha, alpha), started | m, tf.where(m, y, previous), gold)

    initial = (tf.broadcast_to(start[None], tf.shape(potentials)[1:]), tf.zeros([batch], bool),
               tf.zeros([batch], tf.int32), tf.zeros([batch], potentials.dtype))
    # foldl, not scan: only the last state is needed, and it is `initial` for zero steps.
    alpha, started, last, gold = tf.foldl(step, (potentials, mask, tags), initializer=initial)
    zeros = tf.zeros_like(gold)
    log_z = tf.where(started, tf.reduce_logsumexp(alpha + end[None], axis=1), zeros)
    return log_z, gold + tf.where(started, tf.gather(end, last), zeros)


def _viterbi(potentials, mask, transitions, start, end):
    """The best path `(time, batch)` int32 (0 where masked) and its score `(batch,)`. Time-major inputs."""
    time, batch, num_tags = tf.unstack(tf.shape(potentials))
    # One masked step more, which changes nothing: `tf.scan` cannot stack zero steps of unknown batch.
    padded = tf.concat([potentials, tf.zeros([1, batch, num_tags], potentials.dtype)], axis=0)
    padded_mask = tf.concat([mask, tf.zeros([1, batch], bool)], axis=0)
    identity = tf.broadcast_to(tf.range(num_tags)[None], [batch, num_tags])

    def step(state, inputs):
        delta, started, _ = state
        x, m = inputs
        scores = delta[:, :, None] + transitions[None]  # (batch, from, to)
        moved = tf.reduce_max(scores, axis=1) + x
        new_delta = tf.where(started[:, None], moved, delta + x)  # delta starts as `start`
        # A skipped step (and the first real one) points back to the same tag, so backtracking crosses it.
        pointers = tf.where((started & m)[:, None], tf.argmax(scores, axis=1, output_type=tf.int32), identity)
        return tf.where(m[:, None], new_delta, delta), started | m, pointers

    initial = (tf.broadcast_to(start[None], [batch, num_tags]), tf.zeros([batch], bool), identity)
    deltas, started, pointers = tf.scan(step, (padded, padded_mask), initializer=initial)
    final, any_real = deltas[-1] + end[None], started[-1]
    last = tf.where(any_real, tf.argmax(final, axis=1, output_type=tf.int32), tf.zeros([batch], tf.int32))
    best = tf.where(any_real, tf.reduce_max(final, axis=1), tf.zeros([batch], final.dtype))
    # earlier[t] is the tag of the real step before step t, following the pointers back from `last`.
    earlier = tf.scan(lambda tag, back: tf.gather(back, tag, batch_dims=1), pointers, initializer=last, reverse=True)
    path = tf.concat([earlier, last[None]], axis=0)[1:time + 1]
    return tf.where(mask, path, tf.zeros_like(path)), best


@keras.saving.register_keras_serializable(package="keras_rnn")
class CRF(keras.layers.Layer):
    """Linear-chain CRF: Viterbi-decoded tags for emission scores, plus the likelihood to train it.

    Weights: `transitions` `(num_tags, num_tags)`, the score of moving from tag `i` (row) to tag `j`
    (column); `start_transitions` and `end_transitions` `(num_tags,)`, the scores of a path's first and
    last tags. All start at zero (the CRF then decodes each step's best tag). Forbidden moves, starts
    and ends score `forbidden_score` whatever their weight, and their weights get no gradient.

    Scores are computed in float32 whatever the dtype policy (float64 for a float64 layer), and the
    layer defaults to `autocast=False`: log-space sums over a sentence lose too much in float16.

    Args:
        num_tags: number of tags.
        allowed_transitions: the allowed moves: a `(num_tags, num_tags)` boolean matrix (`[i][j]`: may
            tag `j` follow tag `i`) or a list of `(i, j)` id pairs. Defaults to `None`: all allowed.
        allowed_starts: the tags a path may start with: a `(num_tags,)` boolean vector or a list of
            ids. Defaults to `None`: all.
        allowed_ends: the tags a path may end with, as `allowed_starts`. Defaults to `None`: all.
        **kwargs: `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        potentials: float `(batch, time, num_tags)`, the emission scores.
        mask: optional bool `(batch, time)`, True for real tokens (Keras passes the potentials' own).

    Returns:
        The best tag path, int32 `(batch, time)`, 0 at masked positions. The output keeps the mask.

    Example:
    >>> allowed = np.ones((3, 3), bool)
    >>> allowed[1, 0] = False  # tag 0 may not follow tag 1
    >>> crf = CRF(3, allowed_transitions=allowed)
    >>> crf(np.array([[[1.0, 2.0, 0.0], [3.0, 0.0, 0.0]]])).numpy()  # unconstrained, the best is [1, 0]
    array([[0, 0]], dtype=int32)

    Reference:
        Lafferty, McCallum, Pereira. Conditional Random Fields. ICML 2001.
    """

    def __init__(
        self,
        num_tags: int,
        allowed_transitions: Any = None,
        allowed_starts: Any = None,
        allowed_ends: Any = None,
        **kwargs,
    ):
        # The weights must be read in float32 under a float16 policy, not autocast (see the docstring).
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)
        self.num_tags = validate_positive_int("num_tags", num_tags)
        self._allowed = _tag_matrix(allowed_transitions, num_tags)
        self._allowed_starts = _tag_vector("allowed_starts", allowed_starts, num_tags)
        self._allowed_ends = _tag_vector("allowed_ends", allowed_ends, num_tags)
        self.supports_masking = True

    def build(self, potentials_shape, mask_shape=None):
        if potentials_shape[-1] != self.num_tags:
            raise ValueError(f"{self.name} has num_tags={self.num_tags} but received potentials of shape "
                             f"{tuple(potentials_shape)}; their last axis must be {self.num_tags}.")
        n = self.num_tags
        self.transitions = self.add_weight(shape=(n, n), initializer="zeros", name="transitions")
        self.start_transitions = self.add_weight(shape=(n,), initializer="zeros", name="start_transitions")
        self.end_transitions = self.add_weight(shape=(n,), initializer="zeros", name="end_transitions")
        self.built = True

    def constrained_weights(self, dtype: str = "float32") -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """`(transitions, start_transitions, end_transitions)` as scored, forbidden entries replaced."""
        forbidden = tf.constant(forbidden_score(dtype), dtype)

        def constrained(weight, allowed):
            weight = tf.cast(ops.convert_to_tensor(weight), dtype)
            return weight if allowed is None else tf.where(tf.constant(allowed), weight, forbidden)

        return (constrained(self.transitions, self._allowed),
                constrained(self.start_transitions, self._allowed_starts),
                constrained(self.end_transitions, self._allowed_ends))

    def _prepare(self, potentials, mask, tags=None):
        """Builds if needed; returns time-major potentials, mask (and tags, 0 where masked) and weights."""
        potentials = tf.convert_to_tensor(potentials)
        if not self.built:
            self.build(potentials.shape)
        dtype = _score_dtype(self.compute_dtype)
        potentials = tf.cast(potentials, dtype)
        mask = tf.ones(tf.shape(potentials)[:2], bool) if mask is None else tf.cast(mask, bool)
        time_major = [tf.transpose(potentials, [1, 0, 2]), tf.transpose(mask)]
        if tags is not None:
            # Padding tags may be anything (-1, say): they are never read.
            tags = tf.where(mask, tf.cast(tags, tf.int32), 0)
            time_major.append(tf.transpose(tags))
        return (*time_major, *self.constrained_weights(dtype))

    def log_partition(self, potentials, mask=None) -> tf.Tensor:
        """`log Z`, the log of the summed exp-scores of all allowed paths, `(batch,)` (0 for no real step).

        Example:
        >>> round(float(CRF(2).log_partition(np.zeros((1, 3, 2)))[0]), 4)  # 2**3 paths, each scoring 0
        2.0794
        """
        potentials, mask, transitions, start, end = self._prepare(potentials, mask)
        tags = tf.zeros(tf.shape(mask), tf.int32)
        return _forward(potentials, mask, transitions, start, end, tags)[0]

    def log_likelihood(self, potentials, tags, mask=None) -> tf.Tensor:
        """`log p(tags | potentials)` `(batch,)`: the path's score minus `log_partition`.

        Args:
            potentials: float `(batch, time, num_tags)`.
            tags: int `(batch, time)`, the gold path; values at masked positions are ignored.
            mask: optional bool `(batch, time)`.
        """
        potentials, mask, tags, transitions, start, end = self._prepare(potentials, mask, tags)
        log_z, score = _forward(potentials, mask, transitions, start, end, tags)
        return score - log_z

    def loss(self, potentials, tags, mask=None) -> tf.Tensor:
        """The mean negative log-likelihood over the batch, a scalar (what `CRFNegativeLogLikelihood` computes)."""
        return -tf.reduce_mean(self.log_likelihood(potentials, tags, mask))

    def decode(self, potentials, mask=None) -> tuple[tf.Tensor, tf.Tensor]:
        """Viterbi: the best allowed path, int32 `(batch, time)` (0 where masked), and its score `(batch,)`."""
        potentials, mask, transitions, start, end = self._prepare(potentials, mask)
        path, best = _viterbi(potentials, mask, transitions, start, end)
        return tf.transpose(path), best

    def call(self, potentials, mask=None):
        return self.decode(potentials, mask)[0]

    def compute_output_spec(self, potentials, mask=None):
        return keras.KerasTensor(potentials.shape[:-1], dtype="int32")

    def compute_mask(self, potentials, mask=None):
        return mask

    def get_config(self) -> dict:
        config = super().get_config()

        def listed(array):
            return None if array is None else array.tolist()

        config.update(num_tags=self.num_tags, allowed_transitions=listed(self._allowed),
                      allowed_starts=listed(self._allowed_starts), allowed_ends=listed(self._allowed_ends))
        return config


@keras.saving.register_keras_serializable(package="keras_rnn")
class CRFNegativeLogLikelihood(keras.losses.Loss):
    """The negative log-likelihood of the gold tags under a `CRF`, from its potentials.

    `y_true` are the gold tag ids `(batch, time)` and `y_pred` the potentials `(batch, time, num_tags)`;
    the potentials' Keras mask marks the padding (without one, every position is real). One value per
    sentence, averaged over the batch (`sample_weight`: one weight per sentence).

    A loss cannot save a layer: a model loaded by `keras.models.load_model` gets this loss without its
    CRF, and `fit` then asks to compile again with `CRFNegativeLogLikelihood(model.get_layer(...))`.

    Args:
        crf: the `CRF` layer of the model, whose weights score the paths.
        name: the loss name. Defaults to `"crf_negative_log_likelihood"`.
        reduction: as `keras.losses.Loss`. Defaults to `"sum_over_batch_size"`.

    Example:
    >>> crf = CRF(2)
    >>> loss = CRFNegativeLogLikelihood(crf)
    >>> round(float(loss(np.array([[1, 0]]), np.zeros((1, 2, 2)))), 4)  # 1 of 4 equal paths: log 4
    1.3863
    """

    def __init__(
        self,
        crf: CRF | None = None,
        name: str = "crf_negative_log_likelihood",
        reduction: str | None = "sum_over_batch_size",
        **kwargs,
    ):
        super().__init__(name=name, reduction=reduction, **kwargs)
        if crf is not None and not isinstance(crf, CRF):
            raise ValueError(f"Received an invalid value for argument `crf`: {crf!r}. Expected a `CRF` layer.")
        self.crf = crf

    def __call__(self, y_true, y_pred, sample_weight=None):
        # The mask is `(batch, time)` but the loss is one value per sentence: this loss applies the mask
        # itself, where `Loss.__call__` would weight the per-sentence values by it.
        mask = get_keras_mask(y_pred)
        return reduce_weighted_values(self.call(y_true, y_pred, mask), sample_weight=sample_weight,
                                      reduction=self.reduction, dtype=self.dtype)

    def call(self, y_true, y_pred, mask=None):
        if self.crf is None:
            raise ValueError(
                "This CRFNegativeLogLikelihood has no CRF layer (a loss cannot save one, so a model loaded "
                "from a file has none). Compile the model again with "
                "`CRFNegativeLogLikelihood(model.get_layer(<the CRF's name>))`.")
        return -self.crf.log_likelihood(y_pred, y_true, mask)


def _parse_tag(tag: str, scheme: str, prefixes: str) -> tuple[str, str | None]:
    """`(prefix, entity type)`: `("O", None)`, `("B", "PER")`, ..., or `("special", None)`."""
    if tag == "O":
        return "O", None
    if len(tag) >= 3 and tag[0] + tag[-1] in ("[]", "<>"):
        return "special", None
    prefix, dash, entity = tag.partition("-")
    if dash and prefix in prefixes and entity:
        return prefix, entity
    forms = ", ".join(f"'{p}-<type>'" for p in prefixes)
    raise ValueError(f"Received an invalid value for argument `tags`: {tag!r}. {scheme} tags are 'O', {forms}, "
                     "or special tags in brackets such as '[PAD]'.")


def iob_transition_constraints(tags: Sequence[str], scheme: str = "IOB2") -> dict[str, np.ndarray]:
    """The moves, starts and ends that an IOB2 or IOBES tagging allows, as `CRF` arguments.

    IOB2: `I-X` only after `B-X` or `I-X`, and no path starts with `I-X`. IOBES (also called BIOES):
    `I-X` and `E-X` only after `B-X` or `I-X`, after which only `I-X` or `E-X` may come; no path starts
    with `I-X`/`E-X` or ends with `B-X`/`I-X`. Everything else is allowed.

    Tags in square or angle brackets (`"[PAD]"`, `"<pad>"`) are special: no path may start, end, enter
    or leave one, so the CRF never puts one on a real token. A padding tag belongs there, at id 0, the
    tag that decoding writes at padding positions; gold tags at padding positions are never read.

    Gold paths must keep to the scheme (convert IOB1 data to IOB2 first): a forbidden move in a gold
    path costs about `-forbidden_score()`, finite but enormous.

    Args:
        tags: the tag names, in id order.
        scheme: `"IOB2"` or `"IOBES"`. Defaults to `"IOB2"`.

    Returns:
        `{"allowed_transitions": (n, n) bool, "allowed_starts": (n,) bool, "allowed_ends": (n,) bool}`,
        to pass as `CRF(len(tags), **constraints)`.

    Raises:
        ValueError: for an unknown scheme, a tag outside the scheme, or a repeated tag.

    Example:
    >>> allowed = iob_transition_constraints(["[PAD]", "O", "B-PER", "I-PER"])
    >>> allowed["allowed_transitions"].astype(int)  # rows: from, columns: to
    array([[0, 0, 0, 0],
           [0, 1, 1, 0],
           [0, 1, 1, 1],
           [0, 1, 1, 1]])
    >>> allowed["allowed_starts"]
    array([False,  True,  True, False])
    """
    validate_choice("scheme", scheme, IOB_SCHEMES)
    prefixes = "BI" if scheme == "IOB2" else "BIES"
    tags = list(tags)
    seen = set()
    for tag in tags:
        if not isinstance(tag, str):
            raise ValueError(f"Received an invalid value for argument `tags`: {tag!r}. Expected tag names (str).")
        if tag in seen:
            raise ValueError(f"Received an invalid value for argument `tags`: {tag!r} appears twice. "
                             "Tags must be unique.")
        seen.add(tag)
    parsed = [_parse_tag(tag, scheme, prefixes) for tag in tags]
    real = np.array([prefix != "special" for prefix, _ in parsed])
    # Inside a chunk: after these prefixes the chunk goes on, with the same type.
    opens = {"B", "I"}
    continues = {"I"} if scheme == "IOB2" else {"I", "E"}
    allowed = np.zeros((len(tags), len(tags)), bool)
    for i, (before, before_type) in enumerate(parsed):
        for j, (after, after_type) in enumerate(parsed):
            if not (real[i] and real[j]):
                continue
            if after in continues:
                allowed[i, j] = before in opens and before_type == after_type
            else:
                # IOBES: an open chunk must go on; IOB2: B-X and I-X may be followed by anything.
                allowed[i, j] = scheme == "IOB2" or before not in opens
    starts = real & np.array([prefix not in continues for prefix, _ in parsed])
    ends = real & np.array([scheme == "IOB2" or prefix not in opens for prefix, _ in parsed])
    return {"allowed_transitions": allowed, "allowed_starts": starts, "allowed_ends": ends}
