"""Decoding tested with no model: step functions that return chosen logits."""

import numpy as np
import pytest
import tensorflow as tf

from keras_rnn.decoding import (
    BeamSearch,
    GreedySearch,
    RandomSampling,
    block_repeated_ngrams,
    dynamic_decode,
    tile_for_beam,
    top_k,
)

END, START, VOCAB = 1, 2, 8


def scripted_step(targets):
    """Emits `targets[b, t]` at step t for row b (one-hot logits); state counts the steps."""
    targets = tf.constant(targets, tf.int32)

    def step_fn(ids, step, state, context):
        row, = state
        t = tf.minimum(step, tf.shape(targets)[1] - 1)
        wanted = tf.gather(targets, row)[:, t]
        logits = tf.one_hot(wanted, VOCAB, on_value=10.0, off_value=0.0)
        attention = tf.one_hot(tf.fill(tf.shape(ids), t % 3), 3)
        return logits, (row,), attention

    return step_fn


def decode(targets, **kwargs):
    batch = len(targets)
    return dynamic_decode(scripted_step(targets), tf.fill([batch], START), END,
                          (tf.range(batch),), **kwargs)


def test_greedy_follows_the_script_stops_at_end_and_pads():
    result = decode([[5, 6, END, 7, 7], [4, END, 7, 7, 7]], max_length=10)
    assert result.ids.numpy().tolist() == [[5, 6, END], [4, END, 0]]
    assert result.lengths.numpy().tolist() == [2, 1]
    assert result.attention.shape == (2, 3, 3)
    np.testing.assert_allclose(result.attention.numpy()[0, 2], [0, 0, 1])


def test_max_length_cuts_hypotheses_that_never_end():
    result = decode([[5, 6, 7, 5, 6, END]], max_length=3)
    assert result.ids.numpy().tolist() == [[5, 6, 7]] and result.lengths.numpy().tolist() == [3]


@pytest.mark.parametrize("strategy", [GreedySearch(), BeamSearch(3)], ids=["greedy", "beam"])
def test_min_length_forbids_an_early_end(strategy):
    result = decode([[END, END, END, 5]], max_length=6, min_length=2, strategy=strategy)
    ids = result.ids.numpy()[0].tolist()
    assert END not in ids[:2] and ids[2] == END and result.lengths.numpy()[0] == 2


def markov_step(transitions):
    """Next-token log-probabilities depend on the previous token only."""
    table = tf.math.log(tf.constant(transitions, tf.float32) + 1e-12)

    def step_fn(ids, step, state, context):
        return tf.gather(table, ids), state, None

    return step_fn


def trap_transitions():
    """Greedy takes 3 (p=.6) then ends with p=.3; the path through 4 (p=.4) ends with p=.99."""
    t = np.full((VOCAB, VOCAB), 1e-6)
    t[START, 3], t[START, 4] = 0.6, 0.4
    t[3, END], t[3, 5], t[3, 6], t[3, 7] = 0.3, 0.25, 0.25, 0.2
    t[4, END], t[4, 5] = 0.99, 0.01
    t[5:, END] = 1.0
    return (t / t.sum(axis=1, keepdims=True)).tolist()


def run_markov(strategy, batch=2, **kwargs):
    return dynamic_decode(markov_step(trap_transitions()), tf.fill([batch], START), END,
                          (tf.zeros([batch, 1]),), max_length=5, strategy=strategy, **kwargs)


def test_beam_finds_the_more_likely_sequence_greedy_misses():
    greedy, beam = run_markov(GreedySearch()), run_markov(BeamSearch(beam_width=3))
    assert greedy.ids.numpy().tolist()[0] == [3, END]
    assert beam.ids.numpy().tolist()[0] == [4, END]
    assert beam.log_probs.numpy()[0] > greedy.log_probs.numpy()[0]
    np.testing.assert_allclose(beam.log_probs.numpy()[0], np.log(0.4 * 0.99), rtol=1e-4)
    assert beam.attention is None


def test_beam_width_one_is_greedy_exactly():
    rng = np.random.default_rng(0)
    transitions = rng.dirichlet(np.ones(VOCAB) * 0.5, size=VOCAB).tolist()
    step_fn = markov_step(transitions)
    starts = tf.constant([START, 3, 4, 5], tf.int32)
    greedy = dynamic_decode(step_fn, starts, END, (), max_length=12)
    beam = dynamic_decode(step_fn, starts, END, (), max_length=12, strategy=BeamSearch(beam_width=1))
    assert beam.ids.numpy().tolist() == greedy.ids.numpy().tolist()
    assert beam.lengths.numpy().tolist() == greedy.lengths.numpy().tolist()
    np.testing.assert_allclose(beam.log_probs.numpy(), greedy.log_probs.numpy(), rtol=1e-5)


def test_beam_reorders_state_and_attention_with_its_hypotheses():
    result = decode([[5, 6, END], [4, 4, END]], max_length=6, strategy=BeamSearch(beam_width=4))
    assert result.ids.numpy().tolist() == [[5, 6, END], [4, 4, END]]
    assert result.attention.shape == (2, 3, 3)
    np.testing.assert_allclose(result.attention.numpy()[1, 1], [0, 1, 0])


def test_length_penalty_favours_longer_hypotheses():
    t = np.full((VOCAB, VOCAB), 1e-6)
    t[START, END], t[START, 3] = 0.5, 0.5   # end now (log .5) or continue ...
    t[3, 4], t[4, 5], t[5, END] = 1.0, 1.0, 0.9  # ... and end later (log .45)
    step_fn = markov_step((t / t.sum(axis=1, keepdims=True)).tolist())
    run = lambda alpha: dynamic_decode(step_fn, tf.constant([START]), END, (), max_length=8,  # noqa: E731
                                       strategy=BeamSearch(4, length_penalty=alpha)).lengths.numpy()[0]
    assert run(0.0) == 0 and run(2.0) == 3


def test_sampling_top_k_one_is_greedy_and_seeds_repeat():
    greedy = run_markov(GreedySearch(), batch=6)
    top1 = run_markov(RandomSampling(top_k=1, seed=3), batch=6)
    assert top1.ids.numpy().tolist() == greedy.ids.numpy().tolist()
    a = run_markov(RandomSampling(seed=7), batch=64).ids.numpy()
    b = run_markov(RandomSampling(seed=7), batch=64).ids.numpy()
    assert (a == b).all()


def test_sampling_follows_the_distribution():
    first_tokens = run_markov(RandomSampling(seed=11), batch=4000).ids.numpy()[:, 0]
    assert abs(np.mean(first_tokens == 3) - 0.6) < 0.03 and abs(np.mean(first_tokens == 4) - 0.4) < 0.03
    cold = run_markov(RandomSampling(temperature=0.05, seed=11), batch=500).ids.numpy()[:, 0]
    assert np.mean(cold == 3) > 0.99


def test_decoding_runs_inside_tf_function_with_a_tensor_max_length():
    step_fn = markov_step(trap_transitions())

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int32), tf.TensorSpec([], tf.int32)])
    def beam(starts, max_length):
        result = dynamic_decode(step_fn, starts, END, (), max_length=max_length, strategy=BeamSearch(3))
        return result.ids, result.lengths

    ids, lengths = beam(tf.constant([START, START]), tf.constant(4))
    assert ids.numpy().tolist() == [[4, END], [4, END]] and lengths.numpy().tolist() == [1, 1]


def test_tile_for_beam_and_argument_errors():
    tiled = tile_for_beam({"h": tf.constant([[1.0], [2.0]])}, 3)
    assert tiled["h"].numpy()[:, 0].tolist() == [1, 1, 1, 2, 2, 2]
    with pytest.raises(ValueError, match="`beam_width`: 0"):
        BeamSearch(beam_width=0)
    with pytest.raises(ValueError, match="`temperature`: 0"):
        RandomSampling(temperature=0)
    with pytest.raises(ValueError, match="`top_k`: -1"):
        RandomSampling(top_k=-1)
    with pytest.raises(ValueError, match="`length_penalty`: -0.5"):
        BeamSearch(length_penalty=-0.5)


PROBS = [0.5, 0.3, 0.15, 0.05]


def sample_counts(strategy, draws=20000, probs=PROBS, step=0):
    """How often `strategy` picks each token of one distribution over `draws` independent rows."""
    logits = tf.math.log(tf.constant([probs] * draws, tf.float32))
    tokens = strategy.select(logits, tf.constant(step)).numpy()
    return np.bincount(tokens, minlength=len(probs))


def assert_samples_follow(counts, probs):
    """Every token of nonzero `probs` occurs, no other does, and frequencies agree within five standard
    errors of the sample size."""
    draws, probs = counts.sum(), np.asarray(probs, np.float64) / np.sum(probs)
    assert set(np.flatnonzero(counts)) == set(np.flatnonzero(probs))
    tolerance = 5 * np.sqrt(probs * (1 - probs) / draws) + 1e-9
    np.testing.assert_array_less(np.abs(counts / draws - probs), tolerance)


def test_sampling_with_a_tiny_top_p_is_greedy():
    logits = tf.random.stateless_normal([300, 50], seed=[1, 2]) * 3
    for seed in (0, 1, 2):
        tokens = RandomSampling(top_p=1e-6, seed=seed).select(logits, tf.constant(seed))
        assert tokens.numpy().tolist() == tf.argmax(logits, axis=-1).numpy().tolist()
    greedy = run_markov(GreedySearch(), batch=16)
    nucleus = run_markov(RandomSampling(temperature=3.0, top_p=1e-3, seed=5), batch=16)
    assert nucleus.ids.numpy().tolist() == greedy.ids.numpy().tolist()


@pytest.mark.parametrize("probs, top_p, kept", [
    (PROBS, 0.8, [0.5, 0.3, 0, 0]), (PROBS, 0.81, [0.5, 0.3, 0.15, 0]), (PROBS, 0.5, [1, 0, 0, 0]),
    (PROBS, 0.96, PROBS), (PROBS, 1.0, PROBS),
    # In float32 .35 + .3 + .2 sum to 0.84999996 < 0.85: rounding must not add the fourth token.
    ([0.35, 0.3, 0.2, 0.15], 0.85, [0.35, 0.3, 0.2, 0]),
])
def test_nucleus_samples_the_smallest_set_reaching_top_p(probs, top_p, kept):
    """[.5, .3, .15, .05]: .5 + .3 reach .8 but not .81, so .8 keeps two tokens and .81 three."""
    assert_samples_follow(sample_counts(RandomSampling(top_p=top_p, seed=3), probs=probs), kept)


@pytest.mark.parametrize("k, top_p, kept", [
    (2, 0.99, [0.5, 0.3, 0, 0]),      # top-k is the tighter limit
    (3, 0.99, [0.5, 0.3, 0.15, 0]),   # top-p alone would keep all four
    (3, 0.5, [1, 0, 0, 0]),           # top-p is the tighter limit
    (3, 0.82, [0.5, 0.3, 0, 0]),      # top-p alone keeps three: the top 3 renormalised reach .82 with two
])
def test_top_k_and_top_p_together_sample_their_intersection(k, top_p, kept):
    assert_samples_follow(sample_counts(RandomSampling(top_k=k, top_p=top_p, seed=4)), kept)
    assert_samples_follow(sample_counts(RandomSampling(top_p=0.82, seed=4)), [0.5, 0.3, 0.15, 0])


def tensor_sampling(seed_dtype=tf.int32):
    """`RandomSampling.select` in a `tf.function` whose every knob is an input, and logits of dynamic
    shape: what a SavedModel export traces."""

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32), tf.TensorSpec([], tf.int32),
                                  tf.TensorSpec([], tf.float32), tf.TensorSpec([], tf.int32),
                                  tf.TensorSpec([], tf.float32), tf.TensorSpec([], seed_dtype)])
    def select(logits, step, temperature, k, top_p, seed):
        return RandomSampling(temperature, k, top_p=top_p, seed=seed).select(logits, step)

    return lambda logits, step, temperature, k, top_p, seed: select(
        logits, tf.constant(step), tf.constant(temperature), tf.constant(k), tf.constant(top_p),
        tf.constant(seed, seed_dtype)).numpy()


@pytest.mark.parametrize("temperature, k, top_p", [
    (1.0, 0, 1.0), (0.7, 5, 1.0), (1.3, 0, 0.9), (1.0, 20, 0.6), (0.5, 1, 0.3), (2.0, 0, 0.05)])
@pytest.mark.parametrize("vocab", [50, 6000])
def test_tensor_knobs_in_a_tf_function_sample_what_python_values_do(temperature, k, top_p, vocab):
    """The same samples for the same values and seed: tensor knobs take the graph-safe path (a full
    sort under `tf.cond`), Python ones the fast path (the top k only, blocked for a wide vocabulary)."""
    logits = tf.random.stateless_normal([200, vocab], seed=[vocab, k]) * 2
    select = tensor_sampling()
    for step, seed in ((0, 9), (3, 9), (3, 10)):
        want = RandomSampling(temperature, k, top_p=top_p, seed=seed).select(logits, tf.constant(step))
        got = select(logits, step, temperature, k, top_p, seed)
        assert got.tolist() == want.numpy().tolist()
    int64 = tensor_sampling(tf.int64)(logits, 3, temperature, k, top_p, 9)
    assert int64.tolist() == select(logits, 3, temperature, k, top_p, 9).tolist()


def test_tensor_top_k_zero_and_top_p_one_turn_the_limits_off():
    select = tensor_sampling()
    unlimited = lambda temperature, k, top_p: assert_samples_follow(  # noqa: E731
        np.bincount(select(tf.math.log(tf.constant([PROBS] * 20000)), 0, temperature, k, top_p, 6),
                    minlength=4), PROBS)
    unlimited(1.0, 0, 1.0)
    unlimited(1.0, 100, 1.0)  # more than the vocabulary: every token
    logits = tf.random.stateless_normal([100, 30], seed=[3, 4])
    want = RandomSampling(seed=6).select(logits, tf.constant(2)).numpy().tolist()
    assert select(logits, 2, 1.0, 0, 1.0, 6).tolist() == want
    assert select(logits, 2, 1.0, 30, 1.0, 6).tolist() == want


def test_default_sampling_sorts_nothing():
    """Python knobs with `top_p=1.0` keep the old fast path: no sort of the vocabulary per step."""

    def ops(strategy):
        select = tf.function(strategy.select,
                             input_signature=[tf.TensorSpec([None, 6000]), tf.TensorSpec([], tf.int32)])
        return {op.type for op in select.get_concrete_function().graph.get_operations()}

    assert not ops(RandomSampling(seed=1)) & {"TopKV2", "Sort", "Cumsum"}
    assert "Cumsum" not in ops(RandomSampling(top_k=5, seed=1))
    assert "Cumsum" in ops(RandomSampling(top_p=0.9, seed=1))


def test_nucleus_sampling_seeds_repeat_and_differ():
    a = run_markov(RandomSampling(top_p=0.9, seed=7), batch=64).ids.numpy()
    b = run_markov(RandomSampling(top_p=0.9, seed=7), batch=64).ids.numpy()
    c = run_markov(RandomSampling(top_p=0.9, seed=8), batch=64).ids.numpy()
    assert a.tolist() == b.tolist() and a.tolist() != c.tolist()
    # From START the nucleus of .9 is {3 (p=.6), 4 (p=.4)}; from 3 it is {END, 5, 6, 7} (.3, .25, .25, .2).
    assert set(a[:, 0].tolist()) == {3, 4}


def test_tensor_knobs_through_dynamic_decode_in_a_tf_function():
    step_fn = markov_step(trap_transitions())

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int32), tf.TensorSpec([], tf.float32),
                                  tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.float32),
                                  tf.TensorSpec([], tf.int64)])
    def sample(starts, temperature, k, top_p, seed):
        strategy = RandomSampling(temperature, k, top_p=top_p, seed=seed)
        return dynamic_decode(step_fn, starts, END, (), max_length=5, strategy=strategy).ids

    def run(temperature, k, top_p, seed):
        return sample(tf.fill([64], START), tf.constant(temperature), tf.constant(k), tf.constant(top_p),
                      tf.constant(seed, tf.int64)).numpy().tolist()

    for temperature, k, top_p in ((1.0, 0, 1.0), (1.5, 3, 1.0), (1.0, 0, 0.8), (0.8, 2, 0.9)):
        python = run_markov(RandomSampling(temperature, k, top_p=top_p, seed=7), batch=64)
        assert run(temperature, k, top_p, 7) == python.ids.numpy().tolist()
    assert run(1.0, 0, 0.9, 7) == run(1.0, 0, 0.9, 7) != run(1.0, 0, 0.9, 8)
    greedy = run_markov(GreedySearch(), batch=64).ids.numpy().tolist()
    assert run(1.0, 0, 1e-4, 7) == greedy == run(1.0, 1, 1.0, 8)


@pytest.mark.parametrize("kwargs, message", [
    ({"top_p": 0}, "`top_p`: 0"), ({"top_p": 0.0}, "`top_p`: 0.0"), ({"top_p": -0.1}, "`top_p`: -0.1"),
    ({"top_p": 1.5}, "`top_p`: 1.5"), ({"top_p": True}, "`top_p`: True"), ({"top_p": "0.9"}, "`top_p`: '0.9'"),
    ({"temperature": 0}, "`temperature`: 0"), ({"temperature": -1.0}, "`temperature`: -1.0"),
    ({"top_k": 2.0}, "`top_k`: 2.0"), ({"top_p": tf.constant([0.5, 0.9])}, "`top_p`: a tensor of shape"),
])
def test_sampling_rejects_bad_python_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RandomSampling(**kwargs)


@pytest.mark.parametrize("temperature, k, top_p, name", [
    (0.0, 0, 1.0, "temperature"), (-1.0, 0, 0.9, "temperature"), (1.0, 0, 0.0, "top_p"),
    (1.0, 0, -0.1, "top_p"), (1.0, 0, 1.5, "top_p"), (1.0, -1, 1.0, "top_k"),
])
def test_bad_tensor_knobs_raise_invalid_argument_naming_them(temperature, k, top_p, name):
    with pytest.raises(tf.errors.InvalidArgumentError, match=f"argument `{name}`"):
        tensor_sampling()(tf.zeros([4, 10]), 0, temperature, k, top_p, 1)
    with pytest.raises(tf.errors.InvalidArgumentError, match=f"argument `{name}`"):  # eager too
        RandomSampling(tf.constant(temperature), tf.constant(k), top_p=tf.constant(top_p)).select(
            tf.zeros([4, 10]), tf.constant(0))


@pytest.mark.parametrize("length_penalty", [0.0, 0.6])
def test_beam_search_stops_once_no_live_hypothesis_can_win_and_returns_the_same(length_penalty):
    """From every token: END with 0.9, else a token that loops forever. The best hypothesis ends at
    step 1; the looping beams never end, so without the early stop the loop would run to max_length."""
    transitions = np.zeros((VOCAB, VOCAB), np.float32)
    transitions[:, END] = 0.9
    transitions[:, 6] = 0.1
    steps = []
    table = tf.math.log(tf.constant(transitions) + 1e-12)

    def counting_step(ids, step, state, context):
        steps.append(int(step))
        return tf.gather(table, ids), state, None

    start = tf.fill([2], START)
    result = dynamic_decode(counting_step, start, END, (), max_length=50,
                            strategy=BeamSearch(3, length_penalty=length_penalty))
    assert result.ids.numpy().tolist() == [[END], [END]]
    np.testing.assert_allclose(result.log_probs.numpy(), np.log(0.9), rtol=1e-5)
    assert max(steps) < 10  # eager while_loop: one Python call per step


def context_scripted_step(calls):
    """Emits `context[t]` at step t: the script is per-example context, not state; `calls` records how
    many hypotheses each step computed (the eager while_loop calls Python once per step)."""

    def step_fn(ids, step, state, context):
        script, = context
        calls.append(int(tf.shape(ids)[0]))
        wanted = script[:, tf.minimum(step, tf.shape(script)[1] - 1)]
        return tf.one_hot(wanted, VOCAB, on_value=10.0, off_value=0.0), state, None

    return step_fn


@pytest.mark.parametrize("strategy", [GreedySearch(), BeamSearch(3)], ids=["greedy", "beam"])
def test_each_hypothesis_reads_its_own_examples_context(strategy):
    scripts = [[5, END, 0, 0, 0, 0], [4, 4, 4, 4, END, 0], [6, 6, END, 0, 0, 0]]
    calls = []
    result = dynamic_decode(context_scripted_step(calls), tf.fill([3], START), END,
                            (tf.zeros([3, 2]),), context=(tf.constant(scripts),), max_length=10, strategy=strategy)
    assert result.ids.numpy().tolist() == [[5, END, 0, 0, 0], [4, 4, 4, 4, END], [6, 6, END, 0, 0]]
    assert result.lengths.numpy().tolist() == [1, 4, 2]
    assert calls[0] == 3  # the first step: one hypothesis per example, even for beam search


def test_beam_steps_compute_only_running_hypotheses():
    scripts = [[5, END, 0, 0, 0, 0], [4, 4, 4, 4, END, 0], [6, 6, END, 0, 0, 0]]
    calls = []
    dynamic_decode(context_scripted_step(calls), tf.fill([3], START), END, (tf.zeros([3, 2]),),
                   context=(tf.constant(scripts),), max_length=10, strategy=BeamSearch(3))
    # Hypotheses that ended, then whole examples that settled, are left out: once examples 0 and 2 are
    # done only example 1's three hypotheses (at most) are computed.
    assert calls[1:] == sorted(calls[1:], reverse=True) and calls[1] < 9 and calls[-1] <= 3


@pytest.mark.parametrize("vocab, k", [(6000, 5), (6000, 1), (10007, 4), (4096, 64), (50, 3)])
def test_blocked_top_k_equals_tf_top_k(vocab, k):
    """Blocked where the vocabulary has a divisor near 64 (6000, 4096), plain `tf.math.top_k` otherwise
    (a prime, a small vocabulary); the same values and indices either way."""
    values = tf.random.stateless_normal([37, vocab], seed=[vocab, k])
    got_values, got_indices = tf.function(lambda v: top_k(v, k), input_signature=[
        tf.TensorSpec([None, vocab], tf.float32)])(values)
    want_values, want_indices = tf.math.top_k(values, k=k)
    np.testing.assert_array_equal(got_values.numpy(), want_values.numpy())
    np.testing.assert_array_equal(got_indices.numpy(), want_indices.numpy())


def looping_transitions():
    """From START: 4; then 4 → 5 → 4 → 5 ... (p=.9) or 6 (p=.1); 6 → END. Looping until max_length is the
    most likely output, for beam search too."""
    t = np.full((VOCAB, VOCAB), 1e-6)
    t[START, 4] = 1.0
    t[4, 5], t[4, 6] = 0.9, 0.1
    t[5, 4], t[5, 6] = 0.9, 0.1
    t[6, END] = 1.0
    return (t / t.sum(axis=1, keepdims=True)).tolist()


@pytest.mark.parametrize("strategy", [GreedySearch(), BeamSearch(3)], ids=["greedy", "beam"])
def test_no_repeat_ngram_size_blocks_repeated_ngrams(strategy):
    step_fn = markov_step(looping_transitions())
    run = lambda size: dynamic_decode(step_fn, tf.fill([2], START), END, (), max_length=9,  # noqa: E731
                                      strategy=strategy, no_repeat_ngram_size=size).ids.numpy()[0].tolist()
    assert run(0)[:6] == [4, 5, 4, 5, 4, 5]  # without blocking the loop goes on
    assert run(2) == [4, 5, 4, 6, END]       # "4 5" once; after "5 4", "4 5" again is blocked
    assert run(1) == [4, 5, 6, END]          # no token twice


def test_block_repeated_ngrams_and_its_errors():
    logits = block_repeated_ngrams(tf.zeros([2, 6]), tf.constant([[1, 2, 3, 1, 2], [5, 5, 5, 5, 5]]), 3)
    assert (logits.numpy() < 0).tolist() == [[False, False, False, True, False, False], [False] * 5 + [True]]
    assert (block_repeated_ngrams(tf.zeros([1, 4]), tf.zeros([1, 0], tf.int32), 2).numpy() == 0).all()
    with pytest.raises(ValueError, match="`no_repeat_ngram_size`: -1"):
        dynamic_decode(markov_step(looping_transitions()), tf.constant([START]), END, (), max_length=3,
                       no_repeat_ngram_size=-1)


# A reference: beam search and greedy search written out plainly in NumPy, over a step function whose
# logits and attention depend on the whole history of a hypothesis (through a running hash), so that a
# hypothesis credited with the wrong parent gets different tokens, log-probabilities or attention.

REF_VOCAB, REF_STATES, REF_SOURCE = 23, 97, 6


def reference_tables(seed):
    rng = np.random.default_rng(seed)
    logits = (rng.normal(size=(REF_STATES, REF_VOCAB)) * 2).astype(np.float32)
    logits[:, 0] -= 20.0  # padding is a token like any other to decoding, but rarely likely
    attention = rng.uniform(size=(REF_STATES, REF_SOURCE)).astype(np.float32)
    return logits, attention


def reference_context(batch, seed):
    """Per-example context: a bias on the end token (so examples end after different numbers of steps,
    some never) and a source mask of a different length for each example."""
    rng = np.random.default_rng(seed + 1)
    bias = np.zeros((batch, REF_VOCAB), np.float32)
    bias[:, END] = rng.uniform(-2.0, 4.0, size=batch).astype(np.float32)
    lengths = rng.integers(2, REF_SOURCE + 1, size=batch)
    mask = (np.arange(REF_SOURCE)[np.newaxis, :] < lengths[:, np.newaxis]).astype(np.float32)
    return bias, mask


def hashed_step(tables):
    """`step_fn` for `dynamic_decode`: state is each hypothesis's running hash of its tokens."""
    logits_table, attention_table = (tf.constant(t) for t in tables)

    def step_fn(ids, step, state, context):
        history_hash, = state
        bias, mask = context
        history_hash = (history_hash * 31 + ids + 7) % REF_STATES
        attention = tf.gather(attention_table, history_hash)[:, :tf.shape(mask)[1]] * mask
        return tf.gather(logits_table, history_hash) + bias, (history_hash,), attention

    return step_fn


def numpy_step(tables, token, history_hash, bias, mask):
    logits_table, attention_table = tables
    history_hash = (history_hash * 31 + token + 7) % REF_STATES
    attention = attention_table[history_hash][..., :mask.shape[-1]] * mask
    return logits_table[history_hash] + bias, history_hash, attention


def masked_log_softmax(logits, tokens, step, min_length, ngram):
    """Log-probabilities (float64) after the end token's suppression before `min_length` and n-gram
    blocking: a blocked token's logit becomes -1e9, as in `dynamic_decode`."""
    logits = logits.astype(np.float64)
    if step < min_length:
        logits[END] = -1e9
    if ngram and len(tokens) >= ngram - 1:
        prefix = tuple(tokens[len(tokens) - (ngram - 1):])
        for i in range(len(tokens) - ngram + 1):
            if tuple(tokens[i:i + ngram - 1]) == prefix:
                logits[tokens[i + ngram - 1]] = -1e9
    top = logits.max()
    return logits - (top + np.log(np.exp(logits - top).sum()))


def reference_beam(tables, starts, hashes, bias, mask, *, width, max_length, min_length, alpha, ngram):
    """Per example: `width` hypotheses; a finished one stays in the beam and continues with padding at
    no cost and no added length (attention zero); every live one is extended by every token; the `width`
    best candidates by GNMT-penalised score go on. Returns the best hypothesis of each example after
    `max_length` steps, the ids of all padded to the longest (end token included)."""
    def penalty(length):
        return ((5.0 + length) / 6.0) ** alpha

    results = []
    for b in range(len(starts)):
        # (tokens, total, finished, hash, attention rows)
        beam = [([], 0.0, False, int(hashes[b]), [])]
        for step in range(max_length):
            candidates = []
            for tokens, total, finished, history_hash, rows in beam:
                if finished:
                    candidates.append((tokens + [0], total, True, history_hash, rows + [np.zeros_like(mask[b])]))
                    continue
                previous = tokens[-1] if tokens else int(starts[b])
                logits, new_hash, attention = numpy_step(tables, previous, history_hash, bias[b], mask[b])
                log_p = masked_log_softmax(logits, tokens, step, min_length, ngram)
                for token in range(REF_VOCAB):
                    candidates.append((tokens + [token], total + log_p[token], token == END, int(new_hash),
                                       rows + [attention]))
            candidates.sort(key=lambda c: -c[1] / penalty(_emitted(c[0])))
            beam = candidates[:width]
        best = max(beam, key=lambda c: c[1] / penalty(_emitted(c[0])))
        results.append(best)
    steps = max(_emitted(tokens) for tokens, *_ in results)
    ids = np.array([tokens[:steps] for tokens, *_ in results], np.int32)
    attention = np.array([rows[:steps] for *_, rows in results], np.float32)
    lengths = [_emitted(tokens) - (END in tokens) for tokens, *_ in results]
    return ids, np.array(lengths), np.array([total for _, total, *_ in results]), attention


def _emitted(tokens):
    """Tokens up to and including the end token (what a hypothesis's length counts)."""
    return tokens.index(END) + 1 if END in tokens else len(tokens)


def reference_greedy(tables, starts, hashes, bias, mask, *, max_length, min_length, ngram):
    """Every row takes its most likely token; a finished row is fed padding and adds nothing, but its
    attention is still recorded; stops when every row has ended or after `max_length` steps."""
    batch = len(starts)
    tokens, hashes = [[] for _ in range(batch)], np.array(hashes)
    previous, finished = np.array(starts), np.zeros(batch, bool)
    totals, rows = np.zeros(batch), []
    for step in range(max_length):
        logits, hashes, attention = numpy_step(tables, previous, hashes, bias, mask)
        rows.append(attention)
        for b in range(batch):
            log_p = masked_log_softmax(logits[b], tokens[b], step, min_length, ngram)
            token = 0 if finished[b] else int(np.argmax(log_p))
            totals[b] += 0.0 if finished[b] else log_p[token]
            tokens[b].append(token)
            finished[b] |= token == END
        previous = np.array([t[-1] for t in tokens])
        if finished.all():
            break
    lengths = [_emitted(t) - (END in t) for t in tokens]
    return np.array(tokens, np.int32), np.array(lengths), totals, np.stack(rows, axis=1)


@pytest.mark.parametrize("width, max_length, min_length, alpha, ngram, batch", [
    (1, 9, 0, 0.0, 0, 5), (2, 12, 0, 0.0, 0, 6), (3, 10, 3, 0.6, 0, 7), (4, 14, 0, 1.0, 2, 5),
    (5, 8, 2, 0.6, 1, 4), (3, 11, 0, 0.0, 3, 6), (5, 15, 0, 2.0, 0, 3),
])
def test_beam_search_equals_a_plain_reference(width, max_length, min_length, alpha, ngram, batch):
    seed = width * 100 + max_length
    tables = reference_tables(seed)
    bias, mask = reference_context(batch, seed)
    starts = np.full(batch, START, np.int32)
    hashes = np.arange(batch, dtype=np.int32) * 11
    result = dynamic_decode(hashed_step(tables), tf.constant(starts), END, (tf.constant(hashes),),
                            context=(tf.constant(bias), tf.constant(mask)), max_length=max_length,
                            min_length=min_length, strategy=BeamSearch(width, length_penalty=alpha),
                            no_repeat_ngram_size=ngram)
    ids, lengths, log_probs, attention = reference_beam(
        tables, starts, hashes, bias, mask, width=width, max_length=max_length, min_length=min_length,
        alpha=alpha, ngram=ngram)
    assert result.ids.numpy().tolist() == ids.tolist()
    assert result.lengths.numpy().tolist() == lengths.tolist()
    np.testing.assert_allclose(result.log_probs.numpy(), log_probs, rtol=1e-5)
    np.testing.assert_array_equal(result.attention.numpy(), attention)
    # The cases are meant to cover examples that end at different steps and ones that never end.
    assert len(set(lengths.tolist())) > 1


@pytest.mark.parametrize("max_length, min_length, ngram", [(9, 0, 0), (12, 3, 2), (7, 0, 1)])
def test_greedy_search_equals_a_plain_reference(max_length, min_length, ngram):
    batch, seed = 6, max_length
    tables = reference_tables(seed)
    bias, mask = reference_context(batch, seed)
    starts = np.full(batch, START, np.int32)
    hashes = np.arange(batch, dtype=np.int32) * 5
    result = dynamic_decode(hashed_step(tables), tf.constant(starts), END, (tf.constant(hashes),),
                            context=(tf.constant(bias), tf.constant(mask)), max_length=max_length,
                            min_length=min_length, no_repeat_ngram_size=ngram)
    ids, lengths, log_probs, attention = reference_greedy(
        tables, starts, hashes, bias, mask, max_length=max_length, min_length=min_length, ngram=ngram)
    assert result.ids.numpy().tolist() == ids.tolist()
    assert result.lengths.numpy().tolist() == lengths.tolist()
    np.testing.assert_allclose(result.log_probs.numpy(), log_probs, rtol=1e-5)
    np.testing.assert_array_equal(result.attention.numpy(), attention)


@pytest.mark.parametrize("strategy, ngram", [
    (GreedySearch(), 0), (GreedySearch(), 2), (BeamSearch(3, 0.6), 0), (BeamSearch(4), 2),
], ids=["greedy", "greedy-ngram", "beam", "beam-ngram"])
def test_decoding_traces_with_unknown_batch_and_source_length(strategy, ngram):
    """One trace over unknown batch size, source length and maximum length (as an export traces it)
    gives what eager decoding gives, for batches of two shapes."""
    step_fn = hashed_step(reference_tables(3))

    def run(starts, hashes, bias, mask, max_length):
        result = dynamic_decode(step_fn, starts, END, (hashes,), context=(bias, mask), max_length=max_length,
                                min_length=2, strategy=strategy, no_repeat_ngram_size=ngram)
        return result.ids, result.lengths, result.log_probs, result.attention

    traced = tf.function(run, input_signature=[
        tf.TensorSpec([None], tf.int32), tf.TensorSpec([None], tf.int32), tf.TensorSpec([None, None], tf.float32),
        tf.TensorSpec([None, None], tf.float32), tf.TensorSpec([], tf.int32)])
    concrete = traced.get_concrete_function()
    assert concrete.structured_outputs[3].shape.as_list() == [None, None, None]
    for batch, source_length, max_length in ((5, REF_SOURCE, 10), (2, 4, 6)):
        bias, mask = reference_context(batch, batch)
        inputs = (tf.fill([batch], START), tf.range(batch) * 3, tf.constant(bias),
                  tf.constant(mask[:, :source_length]), tf.constant(max_length))
        want = run(*inputs)
        got = concrete(*inputs)
        for w, g in zip(want, got):
            np.testing.assert_array_equal(g.numpy(), w.numpy())
    assert traced.experimental_get_tracing_count() == 1
