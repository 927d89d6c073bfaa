"""The CRF against brute force over every tag path, plus masking, tracing, saving, training and float16."""

import itertools
import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras.src.backend.common.masking import set_keras_mask

from conftest import run_with_tensorflow_alone
from keras_rnn.models.crf import CRF, CRFNegativeLogLikelihood, forbidden_score, iob_transition_constraints


# ---------------------------------------------------------------------------------------------------------
# Brute force: every path of every row, scored in float64 NumPy.


def logsumexp(values):
    values = np.asarray(values, np.float64)
    top = values.max()
    return top + np.log(np.exp(values - top).sum())


def all_paths(potentials, mask, transitions, start, end, allowed=None, starts=None, ends=None):
    """Per row, {path over the real positions: score} for every allowed path (one empty path, score 0,
    for a row with no real position)."""
    num_tags = potentials.shape[-1]
    transitions, start, end = (np.asarray(w, np.float64) for w in (transitions, start, end))
    rows = []
    for x, m in zip(potentials.astype(np.float64), mask):
        steps = np.flatnonzero(m)
        scores = {}
        for path in itertools.product(range(num_tags), repeat=len(steps)):
            moves = list(zip(path, path[1:]))
            if path and ((starts is not None and not starts[path[0]]) or (ends is not None and not ends[path[-1]])
                         or (allowed is not None and not all(allowed[i, j] for i, j in moves))):
                continue
            score = sum(x[t, tag] for t, tag in zip(steps, path))
            score += sum(transitions[i, j] for i, j in moves)
            scores[path] = score + (start[path[0]] + end[path[-1]] if path else 0.0)
        rows.append(scores)
    return rows


def expand(path, mask_row):
    """A path over the real positions as a full `(time,)` row, 0 at padding."""
    row = np.zeros(len(mask_row), int)
    row[np.flatnonzero(mask_row)] = path
    return row


def random_case(rng, num_tags, time, batch):
    potentials = rng.normal(size=(batch, time, num_tags)).astype("float32")
    lengths = rng.integers(0, time + 1, size=batch)
    lengths[0] = time  # at least one full row
    mask = np.arange(time)[None] < lengths[:, None]
    weights = [rng.normal(size=(num_tags, num_tags)), rng.normal(size=num_tags), rng.normal(size=num_tags)]
    return potentials, mask, [w.astype("float32") for w in weights]


def random_constraints(rng, num_tags):
    """Random allowed moves, starts and ends; tag 0 may always start, repeat and end, so every length
    has an allowed path."""
    allowed = rng.random((num_tags, num_tags)) < 0.5
    starts, ends = rng.random(num_tags) < 0.5, rng.random(num_tags) < 0.5
    allowed[0, 0] = starts[0] = ends[0] = True
    return allowed, starts, ends


def crf_with(weights, dtype="float32", **constraints):
    crf = CRF(len(weights[1]), dtype=dtype, **constraints)
    crf.build((None, None, len(weights[1])))
    crf.set_weights(weights)
    return crf


TOLERANCE = {"float32": dict(rtol=1e-5, atol=1e-5), "float64": dict(rtol=1e-12, atol=1e-12)}


def check_against_brute_force(crf, potentials, mask, weights, dtype, constraints=None):
    constraints = constraints or {}
    rows = all_paths(potentials, mask, *weights, constraints.get("allowed_transitions"),
                     constraints.get("allowed_starts"), constraints.get("allowed_ends"))
    tolerance = TOLERANCE[dtype]
    log_z = np.array([logsumexp(list(scores.values())) for scores in rows])
    np.testing.assert_allclose(crf.log_partition(potentials, mask).numpy(), log_z, **tolerance)

    tags, best = crf.decode(potentials, mask)
    best_paths = [max(scores, key=scores.get) for scores in rows]
    np.testing.assert_array_equal(tags.numpy(), [expand(p, m) for p, m in zip(best_paths, mask)])
    np.testing.assert_allclose(best.numpy(), [s[p] for s, p in zip(rows, best_paths)], **tolerance)

    # the likelihood of an allowed gold path per row (the first, the best and a random one)
    rng = np.random.default_rng(len(rows))
    for pick in (lambda s: next(iter(s)), lambda s: max(s, key=s.get), lambda s: list(s)[rng.integers(len(s))]):
        gold = [pick(scores) for scores in rows]
        tags = np.array([expand(p, m) for p, m in zip(gold, mask)])
        tags[~mask] = -1  # padding tags are never read
        expected = [scores[p] - z for scores, p, z in zip(rows, gold, log_z)]
        np.testing.assert_allclose(crf.log_likelihood(potentials, tags, mask).numpy(), expected, **tolerance)


# ---------------------------------------------------------------------------------------------------------
# Golden values by brute force


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("num_tags,time", [(2, 1), (2, 4), (3, 3), (4, 2), (4, 4)])
def test_matches_brute_force_over_all_paths(num_tags, time, dtype):
    for seed in range(3):
        rng = np.random.default_rng(seed)
        potentials, mask, weights = random_case(rng, num_tags, time, batch=4)
        crf = crf_with(weights, dtype)
        check_against_brute_force(crf, potentials, mask, weights, dtype)


@pytest.mark.parametrize("num_tags,time", [(2, 3), (3, 4), (4, 3)])
def test_constrained_matches_brute_force_over_allowed_paths(num_tags, time):
    for seed in range(3):
        rng = np.random.default_rng(10 + seed)
        potentials, mask, weights = random_case(rng, num_tags, time, batch=4)
        allowed, starts, ends = random_constraints(rng, num_tags)
        # Forbidden entries score the forbidden constant whatever their weight: make them tempting.
        weights[0][~allowed] = 50.0
        weights[1][~starts] = 50.0
        weights[2][~ends] = 50.0
        constraints = dict(allowed_transitions=allowed, allowed_starts=starts, allowed_ends=ends)
        crf = crf_with(weights, **constraints)
        check_against_brute_force(crf, potentials, mask, weights, "float32", constraints)
        tags = crf.decode(potentials, mask)[0].numpy()
        for row, m in zip(tags, mask):
            path = row[m]
            if len(path):
                assert starts[path[0]] and ends[path[-1]]
                assert all(allowed[i, j] for i, j in zip(path, path[1:]))


def test_viterbi_avoids_a_forbidden_move_that_is_the_unconstrained_best():
    potentials = np.array([[[1.0, 5.0, 0.0], [0.0, 2.0, 5.0]]], "float32")
    free = CRF(3)
    np.testing.assert_array_equal(free(potentials).numpy(), [[1, 2]])
    allowed = np.ones((3, 3), bool)
    allowed[1, 2] = False  # the best path's move
    weights = [np.zeros((3, 3), "float32"), np.zeros(3, "float32"), np.zeros(3, "float32")]
    crf = crf_with(weights, allowed_transitions=allowed)
    tags, best = crf.decode(potentials)
    rows = all_paths(potentials, np.ones((1, 2), bool), *weights, allowed)
    expected = max(rows[0], key=rows[0].get)
    assert expected == (1, 1)  # 7, the best allowed; (1, 2) scores 10
    np.testing.assert_array_equal(tags.numpy(), [expected])
    np.testing.assert_allclose(best.numpy(), [7.0])
    # the constrained probabilities add up over the allowed paths only
    log_z = crf.log_partition(potentials).numpy()
    np.testing.assert_allclose(log_z, [logsumexp(list(rows[0].values()))], rtol=1e-6)


@pytest.mark.parametrize("constrained", [False, True])
def test_probabilities_of_all_paths_sum_to_one(constrained):
    rng = np.random.default_rng(3)
    num_tags, time = 3, 4
    potentials, _, weights = random_case(rng, num_tags, time, batch=1)
    constraints = {}
    if constrained:
        allowed, starts, ends = random_constraints(rng, num_tags)
        constraints = dict(allowed_transitions=allowed, allowed_starts=starts, allowed_ends=ends)
    crf = crf_with(weights, **constraints)
    paths = np.array(list(itertools.product(range(num_tags), repeat=time)))  # every path, forbidden ones too
    log_p = crf.log_likelihood(np.repeat(potentials, len(paths), axis=0), paths).numpy()
    assert np.all(np.isfinite(log_p))
    np.testing.assert_allclose(np.exp(log_p).sum(), 1.0, rtol=1e-5)
    if constrained:
        assert np.exp(log_p).min() == 0.0  # some paths are forbidden and get nothing


# ---------------------------------------------------------------------------------------------------------
# Masks, lengths 1 and 0


def test_padding_changes_nothing_and_decodes_to_zero():
    rng = np.random.default_rng(4)
    num_tags = 4
    weights = [rng.normal(size=(num_tags, num_tags)), rng.normal(size=num_tags), rng.normal(size=num_tags)]
    crf = crf_with([w.astype("float32") for w in weights])
    alone = rng.normal(size=(1, 3, num_tags)).astype("float32")
    tags = rng.integers(0, num_tags, size=(1, 3))
    other = rng.normal(size=(1, 6, num_tags)).astype("float32")
    padded = np.concatenate([np.concatenate([alone, 100 * rng.normal(size=(1, 3, num_tags))], 1), other])
    padded = padded.astype("float32")
    mask = np.array([[True] * 3 + [False] * 3, [True] * 6])
    padded_tags = np.concatenate([np.concatenate([tags, [[7, -3, 99]]], 1), np.zeros((1, 6), int)])

    got = crf.decode(padded, mask)
    np.testing.assert_array_equal(got[0].numpy()[0], np.concatenate([crf.decode(alone)[0].numpy()[0], [0, 0, 0]]))
    np.testing.assert_allclose(got[1].numpy()[0], crf.decode(alone)[1].numpy()[0], rtol=1e-6)
    np.testing.assert_allclose(crf.log_partition(padded, mask).numpy()[0], crf.log_partition(alone).numpy()[0],
                               rtol=1e-6)
    np.testing.assert_allclose(crf.log_likelihood(padded, padded_tags, mask).numpy()[0],
                               crf.log_likelihood(alone, tags).numpy()[0], rtol=1e-6)


def test_a_mask_with_holes_reads_the_real_positions_in_order():
    rng = np.random.default_rng(5)
    potentials, _, weights = random_case(rng, 3, 5, batch=1)
    crf = crf_with(weights)
    mask = np.array([[False, True, False, True, True]])  # left padding and a hole
    compact = potentials[:, [1, 3, 4]]
    tags = np.array([[0, 2, 0, 1, 1]])
    np.testing.assert_allclose(crf.log_partition(potentials, mask).numpy(), crf.log_partition(compact).numpy(),
                               rtol=1e-6)
    np.testing.assert_allclose(crf.log_likelihood(potentials, tags, mask).numpy(),
                               crf.log_likelihood(compact, tags[:, [1, 3, 4]]).numpy(), rtol=1e-6)
    decoded = crf.decode(potentials, mask)[0].numpy()
    np.testing.assert_array_equal(decoded[:, [1, 3, 4]], crf.decode(compact)[0].numpy())
    np.testing.assert_array_equal(decoded[:, [0, 2]], [[0, 0]])


def test_length_one_and_empty_rows():
    rng = np.random.default_rng(6)
    potentials, _, weights = random_case(rng, 3, 2, batch=3)
    crf = crf_with(weights)
    mask = np.array([[True, False], [False, False], [True, True]])
    transitions, start, end = weights
    first = potentials[0, 0] + start + end  # length 1: start, one emission, end
    log_z = crf.log_partition(potentials, mask).numpy()
    np.testing.assert_allclose(log_z[0], logsumexp(first), rtol=1e-6)
    assert log_z[1] == 0.0  # the one empty path
    tags, best = crf.decode(potentials, mask)
    np.testing.assert_array_equal(tags.numpy()[:2], [[np.argmax(first), 0], [0, 0]])
    np.testing.assert_allclose(best.numpy()[:2], [first.max(), 0.0], rtol=1e-6)
    gold = np.array([[2, 0], [1, 1], [0, 0]])
    likelihood = crf.log_likelihood(potentials, gold, mask).numpy()
    np.testing.assert_allclose(likelihood[0], first[2] - logsumexp(first), rtol=1e-6)
    assert likelihood[1] == 0.0
    # no NaN in the gradient either, and nothing flows to an empty row
    potentials = tf.constant(potentials)
    with tf.GradientTape() as tape:
        tape.watch(potentials)
        loss = crf.loss(potentials, gold, mask)
    gradient = tape.gradient(loss, potentials).numpy()
    assert np.all(np.isfinite(gradient)) and not gradient[1].any() and not gradient[0, 1].any()
    # no time steps at all
    empty = crf.decode(np.zeros((2, 0, 3), "float32"))
    assert empty[0].shape == (2, 0) and not empty[1].numpy().any()
    assert not crf.log_partition(np.zeros((2, 0, 3), "float32")).numpy().any()


# ---------------------------------------------------------------------------------------------------------
# Gradients


def test_gradients_are_marginals_minus_gold_counts():
    rng = np.random.default_rng(7)
    num_tags, time = 3, 4
    potentials, mask, weights = random_case(rng, num_tags, time, batch=3)
    mask[1] = [True, True, False, False]
    allowed, starts, ends = random_constraints(rng, num_tags)
    crf = crf_with([w.astype("float64") for w in weights], "float64", allowed_transitions=allowed,
                   allowed_starts=starts, allowed_ends=ends)
    rows = all_paths(potentials, mask, *weights, allowed, starts, ends)
    gold_paths = [max(scores, key=scores.get) for scores in rows]
    gold = np.array([expand(p, m) for p, m in zip(gold_paths, mask)])

    potentials = tf.constant(potentials.astype("float64"))
    with tf.GradientTape() as tape:
        tape.watch(potentials)
        nll = -tf.reduce_sum(crf.log_likelihood(potentials, gold, mask))
    by_potentials, by_transitions = tape.gradient(nll, [potentials, crf.transitions])

    marginals = np.zeros((len(rows), time, num_tags))
    expected_moves = np.zeros((num_tags, num_tags))
    gold_moves = np.zeros((num_tags, num_tags))
    for b, (scores, m, path) in enumerate(zip(rows, mask, gold_paths)):
        log_z = logsumexp(list(scores.values()))
        steps = np.flatnonzero(m)
        for candidate, score in scores.items():
            p = np.exp(score - log_z)
            marginals[b, steps, candidate] += p
            for i, j in zip(candidate, candidate[1:]):
                expected_moves[i, j] += p
        for i, j in zip(path, path[1:]):
            gold_moves[i, j] += 1
    one_hot = np.eye(num_tags)[gold] * mask[..., None]
    np.testing.assert_allclose(by_potentials.numpy(), marginals - one_hot, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(by_transitions.numpy(), expected_moves - gold_moves, rtol=1e-10, atol=1e-12)
    assert not by_transitions.numpy()[~allowed].any()  # forbidden moves learn nothing


# ---------------------------------------------------------------------------------------------------------
# Tracing, saving, export


def test_traced_with_unknown_batch_and_time_matches_eager():
    rng = np.random.default_rng(8)
    potentials, mask, weights = random_case(rng, 4, 5, batch=3)
    allowed, starts, ends = random_constraints(rng, 4)
    crf = crf_with(weights, allowed_transitions=allowed, allowed_starts=starts, allowed_ends=ends)
    tags = rng.integers(0, 4, size=(3, 5))

    @tf.function(input_signature=[tf.TensorSpec((None, None, 4), tf.float32), tf.TensorSpec((None, None), tf.bool),
                                  tf.TensorSpec((None, None), tf.int32)])
    def traced(potentials, mask, tags):
        decoded, best = crf.decode(potentials, mask)
        return crf(potentials, mask), decoded, best, crf.log_partition(potentials, mask), crf.log_likelihood(
            potentials, tags, mask)

    for p, m, t in [(potentials, mask, tags), (potentials[:1, :2], mask[:1, :2], tags[:1, :2]),
                    (potentials[:, :0], mask[:, :0], tags[:, :0])]:
        got = traced(p, m, t)
        eager = crf.decode(p, m)
        expected = (eager[0], eager[0], eager[1], crf.log_partition(p, m), crf.log_likelihood(p, t, m))
        for a, b in zip(got, expected):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert traced.experimental_get_tracing_count() == 1  # one graph for every batch and time


def test_config_round_trip_for_every_constraint_form():
    matrix = np.eye(3, dtype=bool)
    for kwargs in (dict(), dict(allowed_transitions=matrix, allowed_starts=[0, 2], allowed_ends=[True, False, True]),
                   dict(allowed_transitions=[(0, 0), (1, 1), (2, 2)], allowed_starts=np.array([True, False, True]))):
        crf = CRF(3, name="crf", **kwargs)
        config = crf.get_config()
        assert json.loads(json.dumps(config)) == config  # plain nested lists of bools
        again = CRF.from_config(config)
        assert again.get_config() == config
    assert config["allowed_transitions"] == matrix.tolist()
    assert config["allowed_starts"] == [True, False, True] and config["allowed_ends"] is None


def tagger(num_tags=4, **crf_kwargs):
    keras.utils.set_random_seed(1)
    ids = keras.Input((None,), dtype="int32", name="ids")
    embedded = keras.layers.Embedding(10, 6, mask_zero=True)(ids)
    potentials = keras.layers.Dense(num_tags, name="potentials")(embedded)
    return keras.Model(ids, CRF(num_tags, name="crf", **crf_kwargs)(potentials))


def test_keras_file_and_savedmodel_give_identical_tags(tmp_path):
    constraints = iob_transition_constraints(["[PAD]", "O", "B-X", "I-X"])
    model = tagger(**constraints)
    crf = model.get_layer("crf")
    rng = np.random.default_rng(9)
    crf.set_weights([rng.normal(size=w.shape).astype("float32") for w in crf.get_weights()])
    ids = np.array([[1, 2, 3, 4, 5], [6, 7, 0, 0, 0], [8, 0, 0, 0, 0]], "int32")
    expected = model(ids).numpy()
    assert not expected[ids == 0].any()

    model.save(tmp_path / "tagger.keras")
    loaded = keras.models.load_model(tmp_path / "tagger.keras")
    np.testing.assert_array_equal(loaded(ids).numpy(), expected)
    assert loaded.get_layer("crf").get_config() == crf.get_config()

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", lambda ids: model(ids, training=False),
                         input_signature=[tf.TensorSpec((None, None), tf.int32, name="ids")])
    archive.write_out(str(tmp_path / "export"), verbose=False)
    script = (
        "import json, sys, tensorflow as tf\n"
        f"loaded = tf.saved_model.load({str(tmp_path / 'export')!r})\n"
        f"print(json.dumps({{'tags': loaded.serve(tf.constant({ids.tolist()!r})).numpy().tolist(),\n"
        "                   'empty': loaded.serve(tf.zeros([2, 0], tf.int32)).shape.as_list(),\n"
        "                   'imported': sorted(m for m in sys.modules if m.startswith('keras_rnn'))}))\n"
    )
    served = run_with_tensorflow_alone(script)
    assert served["imported"] == []
    np.testing.assert_array_equal(served["tags"], expected)
    assert served["empty"] == [2, 0]


def test_loss_reads_the_keras_mask_and_needs_its_crf():
    rng = np.random.default_rng(10)
    potentials, mask, weights = random_case(rng, 3, 4, batch=3)
    crf = crf_with(weights)
    gold = rng.integers(0, 3, size=(3, 4))
    masked = tf.constant(potentials)
    set_keras_mask(masked, tf.constant(mask))
    loss = CRFNegativeLogLikelihood(crf)
    expected = -crf.log_likelihood(potentials, gold, mask).numpy()
    np.testing.assert_allclose(float(loss(gold, masked)), expected.mean(), rtol=1e-6)
    np.testing.assert_allclose(float(crf.loss(potentials, gold, mask)), expected.mean(), rtol=1e-6)
    weights_per_row = np.array([1.0, 0.0, 2.0], "float32")
    np.testing.assert_allclose(float(loss(gold, masked, sample_weight=weights_per_row)),
                               (expected * weights_per_row).mean(), rtol=1e-6)
    restored = CRFNegativeLogLikelihood.from_config(loss.get_config())
    with pytest.raises(ValueError, match=r"has no CRF layer .* `CRFNegativeLogLikelihood\(model\.get_layer"):
        restored(gold, masked)


# ---------------------------------------------------------------------------------------------------------
# Training in fit


def rule_data(rng, rows, time=8):
    """Tokens 1 (begin), 2 (word), 3 (break); tags 1 = B, 2 = I, 3 = O. A word is I inside a chunk (after a
    begin with no break since) and O outside: its tag follows the previous tag, not the token."""
    ids, tags = np.zeros((rows, time), "int32"), np.zeros((rows, time), "int32")
    for r in range(rows):
        inside = False
        for t in range(rng.integers(1, time + 1)):
            token = ids[r, t] = rng.choice([1, 2, 3], p=[0.2, 0.6, 0.2])
            inside = token == 1 or (token == 2 and inside)
            tags[r, t] = 1 if token == 1 else (2 if inside else 3)
    return ids, tags


def test_fit_learns_a_rule_that_needs_the_transitions():
    rng = np.random.default_rng(11)
    ids, tags = rule_data(rng, 256)
    real = ids > 0
    # the best any tagger that sees one token at a time could do
    per_token = sum(np.bincount(tags[real][ids[real] == t]).max() for t in (1, 2, 3)) / real.sum()
    assert per_token < 0.85

    keras.utils.set_random_seed(0)
    inputs = keras.Input((None,), dtype="int32")
    potentials = keras.layers.Dense(4, name="potentials")(keras.layers.Embedding(4, 8, mask_zero=True)(inputs))
    crf = CRF(4, name="tags")
    model = keras.Model(inputs, {"potentials": potentials, "tags": crf(potentials)})
    model.compile(keras.optimizers.Adam(0.05), loss={"potentials": CRFNegativeLogLikelihood(crf)})
    history = model.fit(ids, {"potentials": tags}, epochs=12, batch_size=32, verbose=0).history["loss"]
    assert history[-1] < 0.1 * history[0]
    predicted = model.predict(ids, verbose=0)
    decoded = predicted["tags"]
    assert (decoded[real] == tags[real]).mean() > 0.99
    assert not decoded[~real].any()
    # in fit and evaluate the loss takes its padding from the potentials' Keras mask
    evaluated = model.evaluate(ids, {"potentials": tags}, batch_size=len(ids), verbose=0)
    np.testing.assert_allclose(evaluated, float(crf.loss(predicted["potentials"], tags, real)), rtol=1e-5)
    assert evaluated < float(crf.loss(predicted["potentials"], tags))  # padding read as tags would cost more
    # the rule is in the transitions: inside a chunk a word goes on (B → I beats B → O), outside it does not
    # (only differences of transitions are identifiable: the emissions can shift a whole column)
    transitions = crf.transitions.numpy()
    after_o = transitions[3, 2] - transitions[3, 3]
    assert transitions[1, 2] - transitions[1, 3] > after_o and transitions[2, 2] - transitions[2, 3] > after_o


# ---------------------------------------------------------------------------------------------------------
# float16


def test_forbidden_score_is_finite_in_every_float_dtype():
    for dtype in ("float16", "bfloat16", "float32", "float64"):
        score = forbidden_score(dtype)
        total = tf.constant(score, dtype) * tf.constant(-score, dtype)  # that many forbidden moves
        assert np.isfinite(float(total)) and score <= -128
    assert forbidden_score("float32") < -1e18


# mixed_float16 keeps float32 weights, so only the float16 potentials differ from float32 (and they are
# cast exactly); float16 also rounds the weights to 11 significant bits.
@pytest.mark.parametrize("policy,rtol", [("mixed_float16", 1e-6), ("float16", 1e-3)])
def test_half_precision_policies_stay_finite(policy, rtol):
    rng = np.random.default_rng(12)
    constraints = iob_transition_constraints(["[PAD]", "O", "B-X", "I-X", "B-Y", "I-Y"])
    potentials, _, weights = random_case(rng, 6, 5, batch=3)
    mask = np.arange(5)[None] < np.array([[5], [3], [1]])
    reference = crf_with(weights, **constraints)
    crf = crf_with(weights, policy, **constraints)
    assert crf.dtype_policy.name == policy
    half = potentials.astype("float16")
    forbidden_gold = np.full((3, 5), 3)  # I-X everywhere: a forbidden start and forbidden moves
    log_z = crf.log_partition(half, mask).numpy()
    likelihood = crf.log_likelihood(half, forbidden_gold, mask).numpy()
    assert np.all(np.isfinite(log_z)) and np.all(np.isfinite(likelihood))
    assert likelihood.max() < -1e18  # forbidden, yet finite
    np.testing.assert_allclose(log_z, reference.log_partition(half.astype("float32"), mask).numpy(), rtol=rtol)
    np.testing.assert_array_equal(crf(half, mask).numpy(), reference(half.astype("float32"), mask).numpy())


# ---------------------------------------------------------------------------------------------------------
# IOB constraints and argument errors


def test_iob2_constraints():
    tags = ["[PAD]", "O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    allowed = iob_transition_constraints(tags, "IOB2")
    expected = np.array([
        # PAD O  B-P I-P B-L I-L   (to)
        [0, 0, 0, 0, 0, 0],  # from [PAD]
        [0, 1, 1, 0, 1, 0],  # O
        [0, 1, 1, 1, 1, 0],  # B-PER
        [0, 1, 1, 1, 1, 0],  # I-PER
        [0, 1, 1, 0, 1, 1],  # B-LOC
        [0, 1, 1, 0, 1, 1],  # I-LOC
    ], bool)
    np.testing.assert_array_equal(allowed["allowed_transitions"], expected)
    np.testing.assert_array_equal(allowed["allowed_starts"], [0, 1, 1, 0, 1, 0])
    np.testing.assert_array_equal(allowed["allowed_ends"], [0, 1, 1, 1, 1, 1])


def test_iobes_constraints():
    tags = ["O", "B-X", "I-X", "E-X", "S-X", "B-Y", "E-Y", "<pad>"]
    allowed = iob_transition_constraints(tags, "IOBES")
    expected = np.array([
        # O  B-X I-X E-X S-X B-Y E-Y pad   (to)
        [1, 1, 0, 0, 1, 1, 0, 0],  # from O
        [0, 0, 1, 1, 0, 0, 0, 0],  # B-X
        [0, 0, 1, 1, 0, 0, 0, 0],  # I-X
        [1, 1, 0, 0, 1, 1, 0, 0],  # E-X
        [1, 1, 0, 0, 1, 1, 0, 0],  # S-X
        [0, 0, 0, 0, 0, 0, 1, 0],  # B-Y
        [1, 1, 0, 0, 1, 1, 0, 0],  # E-Y
        [0, 0, 0, 0, 0, 0, 0, 0],  # <pad>
    ], bool)
    np.testing.assert_array_equal(allowed["allowed_transitions"], expected)
    np.testing.assert_array_equal(allowed["allowed_starts"], [1, 1, 0, 0, 1, 1, 0, 0])
    np.testing.assert_array_equal(allowed["allowed_ends"], [1, 0, 0, 1, 1, 0, 1, 0])


def test_iob_decoding_never_breaks_the_scheme():
    tags = ["[PAD]", "O", "B-X", "I-X", "E-X", "S-X"]
    crf = CRF(len(tags), **iob_transition_constraints(tags, "IOBES"))
    potentials = np.zeros((1, 4, len(tags)), "float32")
    potentials[0, :, 3] = 10.0  # I-X everywhere scores best, step by step
    potentials[0, :, 0] = 20.0  # and padding better still
    decoded = [tags[i] for i in crf(potentials).numpy()[0]]
    assert decoded == ["B-X", "I-X", "I-X", "E-X"]


@pytest.mark.parametrize("tags,scheme,message", [
    (["O", "B-PER"], "IOB1", r"`scheme`: 'IOB1'\. Accepted values: 'IOB2', 'IOBES'\."),
    (["O", "B_PER"], "IOB2", r"`tags`: 'B_PER'\. IOB2 tags are 'O', 'B-<type>', 'I-<type>', or special tags"),
    (["O", "E-PER"], "IOB2", r"`tags`: 'E-PER'\. IOB2 tags are"),
    (["O", "B-"], "IOBES", r"`tags`: 'B-'\. IOBES tags are 'O', 'B-<type>', 'I-<type>', 'E-<type>', 'S-<type>'"),
    (["PAD", "O"], "IOB2", r"`tags`: 'PAD'\."),
    (["O", "B-X", "O"], "IOB2", r"`tags`: 'O' appears twice"),
])
def test_iob_constraints_reject_bad_tags_and_schemes(tags, scheme, message):
    with pytest.raises(ValueError, match=message):
        iob_transition_constraints(tags, scheme)


@pytest.mark.parametrize("kwargs,message", [
    (dict(num_tags=0), r"`num_tags`: 0\. Expected a positive integer"),
    (dict(num_tags="3"), r"`num_tags`: '3'\. Expected a positive integer"),
    (dict(num_tags=3, allowed_transitions=np.ones((2, 2), bool)),
     r"(?s)`allowed_transitions`: .*\(shape \(2, 2\)\)\. Expected a \(3, 3\) boolean matrix or a list of \(from_tag"),
    (dict(num_tags=3, allowed_transitions=[(0, 3)]), r"`allowed_transitions`: \[\(0, 3\)\]\. Expected a \(3, 3\)"),
    (dict(num_tags=3, allowed_starts=[False, False, False]), r"`allowed_starts`: .* It allows no tag"),
    (dict(num_tags=3, allowed_ends=[5]), r"`allowed_ends`: \[5\]\. Expected a \(3,\) boolean vector or a list of"),
])
def test_crf_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CRF(**kwargs)


def test_potentials_must_match_num_tags():
    with pytest.raises(ValueError, match=r"num_tags=3 but received potentials of shape \(1, 2, 4\)"):
        CRF(3)(np.zeros((1, 2, 4), "float32"))
