"""The interpolated Kneser–Ney baselines of the language model task: proper distributions, the same
scored positions as the RNN, hand-computed probabilities, exact top-k, learning and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from keras_rnn.tasks.language_model.baselines import NgramLanguageModel

V = 9  # ids 1..8 real; the small streams below leave some of them unseen


def random_stream(size: int, seed: int, high: int = 7) -> np.ndarray:
    # ids 1..high-1 only, so ids high..V-1 are never seen in training
    return np.random.default_rng(seed).integers(1, high, size=size)


def contexts_to_try(stream: np.ndarray, order: int, seed: int) -> list[tuple[int, ...]]:
    rng = np.random.default_rng(seed)
    out = [(), (1,), (V - 1,), (V - 1,) * 6, (1, V - 1, 2, 8)]  # empty, OOV and never-seen contexts
    for _ in range(40):
        start = int(rng.integers(0, stream.size - 6))
        out.append(tuple(int(x) for x in stream[start:start + int(rng.integers(0, order + 2))]))
    for _ in range(20):
        out.append(tuple(int(x) for x in rng.integers(1, V, size=int(rng.integers(1, order + 1)))))
    return out


def brute_top_k(p: np.ndarray, k: int) -> list[int]:
    ids = np.arange(p.size)
    return ids[np.lexsort((ids, -p))][:k].tolist()  # id 0 has p = 0 and sorts last


@pytest.mark.parametrize("order", [1, 2, 3, 4, 5])
def test_distributions_sum_to_one_and_exclude_padding(order):
    stream = random_stream(300, seed=order)
    lm = NgramLanguageModel(order, V).fit(stream)
    for context in contexts_to_try(stream, order, seed=10 + order):
        p = lm.probabilities(context)
        assert p.shape == (V,)
        assert p[0] == 0.0
        assert (p[1:] > 0).all(), context  # OOV and never-seen ids too
        assert p[1:].sum() == pytest.approx(1.0, abs=1e-12), context


def test_stream_shorter_than_order_still_gives_distributions():
    lm = NgramLanguageModel(5, V).fit([3, 4])
    for context in [(), (3,), (3, 4), (4, 3, 4, 3, 4)]:
        p = lm.probabilities(context)
        assert p[0] == 0.0 and p[1:].sum() == pytest.approx(1.0, abs=1e-12)
    assert np.isfinite(lm.log_probs([3, 4, 5, 3])).all()


@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_log_probs_match_probabilities_position_by_position(order):
    train, valid = random_stream(400, seed=1), random_stream(60, seed=2, high=V)
    lm = NgramLanguageModel(order, V).fit(train)
    got = lm.log_probs(valid)
    assert got.dtype == np.float64 and got.shape == (valid.size - 1,)
    for t in range(1, valid.size):  # the first positions have fewer than order-1 tokens before them
        context = valid[max(0, t - order + 1):t]
        assert got[t - 1] == pytest.approx(np.log(lm.probabilities(context)[valid[t]]), abs=1e-12), t


def test_orders_whose_base_v_keys_would_overflow_int64():
    vocab = 100_000  # vocab ** 5 > 2 ** 63
    stream = random_stream(500, seed=3, high=30)
    lm = NgramLanguageModel(5, vocab).fit(stream)
    got = lm.log_probs(stream[:40])
    for t in (1, 2, 3, 4, 20, 39):
        assert got[t - 1] == pytest.approx(np.log(lm.probabilities(stream[max(0, t - 4):t])[stream[t]]))
    assert lm.probabilities(stream[:10])[1:].sum() == pytest.approx(1.0, abs=1e-12)


def test_hand_computed_unigram_with_three_discounts():
    # counts: ids 1-4 once (n1 = 4), 5 and 6 twice (n2 = 2), 7 three times (n3 = 1), 8 four times (n4 = 1)
    stream = [1, 2, 3, 4, 5, 5, 6, 6, 7, 7, 7, 8, 8, 8, 8]
    lm = NgramLanguageModel(1, 10).fit(stream)
    y = 4 / (4 + 2 * 2)
    d1, d2, d3 = 1 - 2 * y * 2 / 4, 2 - 3 * y * 1 / 2, 3 - 4 * y * 1 / 1  # 0.5, 1.25, 1.0
    assert lm.discounts[1] == pytest.approx((d1, d2, d3))
    total = 15
    gamma = (d1 * 4 + d2 * 2 + d3 * 2) / total  # ids 7 and 8 both take D3+
    uniform = 1 / 9  # ids 1..9
    p = lm.probabilities()
    assert p[8] == pytest.approx((4 - d3) / total + gamma * uniform)
    assert p[5] == pytest.approx((2 - d2) / total + gamma * uniform)
    assert p[1] == pytest.approx((1 - d1) / total + gamma * uniform)
    assert p[9] == pytest.approx(gamma * uniform)  # never seen


def test_discount_fallbacks_and_bounds():
    def unigram_discounts(counts_by_id):
        stream = [i for i, c in counts_by_id.items() for _ in range(c)]
        return NgramLanguageModel(1, 10).fit(stream).discounts[1]

    # n1 = 1, n2 = 1, n3 = 5, n4 = 1: y = 1/3, D2 = 2 - 3 y 5 / 1 = -3 is raised to the floor 0.05
    y = 1 / (1 + 2)
    assert unigram_discounts({1: 1, 2: 2, 3: 3, 4: 3, 5: 3, 6: 3, 7: 3, 8: 4}) == pytest.approx(
        (1 - 2 * y * 1 / 1, 0.05, 3 - 4 * y * 1 / 5))
    # only singletons: Ney's n1 / (n1 + 0) = 1 for all, D1 capped at 1 - 0.05 so seen ids stay above unseen
    assert unigram_discounts({3: 1, 4: 1, 5: 1}) == pytest.approx((0.95, 1.0, 1.0))
    # neither singletons nor doubletons: the default 0.5
    assert unigram_discounts({3: 5, 4: 4}) == pytest.approx((0.5, 0.5, 0.5))


# bigrams: (3,4) 1, (4,5) 3, (5,4) 2, (5,3) 1, (3,5) 1
# unigram raw counts 3: 2, 4: 3, 5: 4, but continuation counts (distinct left neighbours)
# 3 <- {5}: 1, 4 <- {3, 5}: 2, 5 <- {4, 3}: 2
HAND = [3, 4, 5, 4, 5, 3, 5, 4, 5]


def hand_unigram():
    # continuation counts 1, 2, 2 (total 5): n1 = 1, n2 = 2, no n3 -> one discount n1 / (n1 + 2 n2)
    d = 1 / (1 + 2 * 2)
    gamma = d * 3 / 5
    uniform = 1 / 6  # ids 1..6
    p = {w: gamma * uniform for w in range(1, 7)}  # 0.02 for the unseen ids
    p[3] += (1 - d) / 5  # 0.18
    p[4] += (2 - d) / 5  # 0.38
    p[5] += (2 - d) / 5  # 0.38
    return p


def test_hand_computed_bigram_kneser_ney():
    lm = NgramLanguageModel(2, 7).fit(HAND)
    p1 = hand_unigram()
    # raw bigram counts: n1 = 3, n2 = 1, n3 = 1, n4 = 0 -> one discount 3 / (3 + 2 * 1)
    d = 3 / 5
    after_5 = lm.probabilities([5])  # (5,4) x2, (5,3) x1: 3 tokens, 2 distinct
    gamma_5 = d * 2 / 3
    assert after_5[4] == pytest.approx((2 - d) / 3 + gamma_5 * p1[4])
    assert after_5[3] == pytest.approx((1 - d) / 3 + gamma_5 * p1[3])
    assert after_5[5] == pytest.approx(gamma_5 * p1[5])
    assert after_5[1] == pytest.approx(gamma_5 * p1[1])
    assert lm.probabilities([4])[5] == pytest.approx((3 - d) / 3 + d * 1 / 3 * p1[5])
    assert lm.probabilities([3])[4] == pytest.approx((1 - d) / 2 + d * 2 / 2 * p1[4])
    # 6 never occurs, the empty context has none: both give the continuation-count unigram
    assert lm.probabilities([6])[3] == pytest.approx(p1[3])
    assert lm.probabilities([])[4] == pytest.approx(p1[4])


def test_hand_computed_trigram_kneser_ney_and_short_contexts():
    lm = NgramLanguageModel(3, 7).fit(HAND)
    p1 = hand_unigram()
    # trigrams (3,4,5) 1, (4,5,4) 1, (5,4,5) 2, (4,5,3) 1, (5,3,5) 1, (3,5,4) 1: n1 = 5, n2 = 1
    d3 = 5 / (5 + 2 * 1)
    # bigram continuation counts: (4,5) <- {3, 5}: 2, (5,4) <- {4, 3}: 2, (5,3): 1, (3,5): 1 and
    # (3,4): 0 (it only starts the stream): n1 = 2, n2 = 2
    d2 = 2 / (2 + 2 * 2)
    p2_5_after_4 = (2 - d2) / 2 + (d2 * 1 / 2) * p1[5]
    p2_3_after_5 = (1 - d2) / 3 + (d2 * 2 / 3) * p1[3]
    p2_4_after_3 = 0 + (d2 * 1 / 1) * p1[4]  # context 3: only (3,5) has a continuation count
    p3_3_after_45 = (1 - d3) / 2 + (d3 * 2 / 2) * p2_3_after_5
    p3_5_after_34 = (1 - d3) / 1 + (d3 * 1 / 1) * p2_5_after_4
    p3_5_after_54 = (2 - d3) / 2 + (d3 * 1 / 2) * p2_5_after_4
    assert lm.probabilities([4, 5])[3] == pytest.approx(p3_3_after_45)
    assert lm.probabilities([5, 4])[5] == pytest.approx(p3_5_after_54)
    assert lm.probabilities([6, 5, 4])[5] == pytest.approx(p3_5_after_54)  # only the last 2 tokens count
    assert lm.probabilities([6, 3])[4] == pytest.approx(p2_4_after_3)  # unseen (6,3): order 2 directly
    # position 1 has one token before it: the order-2 (continuation-count) distribution directly
    expected = np.log([p2_4_after_3, p3_5_after_34, p3_3_after_45])
    np.testing.assert_allclose(lm.log_probs([3, 4, 5, 3]), expected, rtol=1e-12)


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_top_k_is_exact(order):
    stream = random_stream(250, seed=20 + order)
    lm = NgramLanguageModel(order, V).fit(stream)
    for context in contexts_to_try(stream, order, seed=30 + order):
        p = lm.probabilities(context)
        for k in range(1, 6):
            assert lm.top_k(context, k).tolist() == brute_top_k(p, k), (context, k)
    assert lm.top_k((), 100).tolist() == brute_top_k(lm.probabilities(()), V - 1)  # k > V-1 is clipped


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_top_k_accuracy_matches_brute_force(order):
    lm = NgramLanguageModel(order, V).fit(random_stream(300, seed=40 + order))
    valid = random_stream(120, seed=50 + order, high=V)
    ks = (1, 2, 3, 5, 20)
    hits = {k: 0 for k in ks}
    for t in range(1, valid.size):
        ranking = brute_top_k(lm.probabilities(valid[max(0, t - order + 1):t]), V)
        for k in ks:
            hits[k] += int(valid[t]) in ranking[:k]
    expected = {k: hits[k] / (valid.size - 1) for k in ks}
    assert lm.top_k_accuracy(valid, ks) == pytest.approx(expected, abs=1e-15)
    assert lm.top_k_accuracy(valid, ks)[20] == 1.0


def test_evaluate_reports_the_same_figures():
    lm = NgramLanguageModel(3, V).fit(random_stream(300, seed=5))
    valid = random_stream(80, seed=6)
    report = lm.evaluate(valid)
    assert set(report) == {"tokens", "cross_entropy", "perplexity", "bits_per_token", "top_1_accuracy",
                           "top_3_accuracy"}
    cross_entropy = -lm.log_probs(valid).mean()
    assert report["tokens"] == valid.size - 1
    assert report["cross_entropy"] == pytest.approx(cross_entropy)
    assert report["perplexity"] == pytest.approx(np.exp(cross_entropy))
    assert report["bits_per_token"] == pytest.approx(cross_entropy / np.log(2))
    accuracy = lm.top_k_accuracy(valid)
    assert (report["top_1_accuracy"], report["top_3_accuracy"]) == (accuracy[1], accuracy[3])


def test_higher_order_learns_a_repeating_stream():
    stream = np.array([3, 4, 5] * 300)
    unigram = NgramLanguageModel(1, 10).fit(stream).evaluate(stream[:300])
    trigram = NgramLanguageModel(3, 10).fit(stream).evaluate(stream[:300])
    assert unigram["cross_entropy"] == pytest.approx(np.log(3), rel=0.02)
    assert trigram["cross_entropy"] < 0.02 < unigram["cross_entropy"] / 50
    assert trigram["top_1_accuracy"] == 1.0 and unigram["top_3_accuracy"] == 1.0


def test_unigram_perplexity_on_uniform_noise_is_close_to_vocabulary():
    vocab = 21  # 20 real ids
    rng = np.random.default_rng(7)
    lm = NgramLanguageModel(1, vocab).fit(rng.integers(1, vocab, size=20_000))
    report = lm.evaluate(rng.integers(1, vocab, size=5_000))
    assert report["perplexity"] == pytest.approx(vocab - 1, rel=0.02)


@pytest.mark.parametrize("order, vocab_size, named", [
    (0, 10, "order"), (-2, 10, "order"), (1.5, 10, "order"), (True, 10, "order"),
    (2, 1, "vocab_size"), (2, 0, "vocab_size"), (2, "9", "vocab_size"),
])
def test_bad_construction(order, vocab_size, named):
    with pytest.raises(ValueError, match=named) as info:
        NgramLanguageModel(order, vocab_size)
    assert repr(order if named == "order" else vocab_size) in str(info.value)


@pytest.mark.parametrize("stream, fragment", [
    ([3, 4, 9], "id 9 at position 2"),
    ([3, 0, 4], "id 0 at position 1"),
    ([-1], "id -1"),
    ([], "empty"),
    (np.zeros(0, dtype=np.int64), "empty"),
    ([[3, 4]], "1-D"),
    ([3.0, 4.0], "integer"),
])
def test_bad_streams(stream, fragment):
    with pytest.raises(ValueError, match=fragment):
        NgramLanguageModel(2, V).fit(stream)
    lm = NgramLanguageModel(2, V).fit([3, 4, 5])
    with pytest.raises(ValueError, match=fragment):
        lm.log_probs(stream)


def test_bad_scoring_calls():
    fresh = NgramLanguageModel(2, V)
    for call in (lambda: fresh.log_probs([3, 4]), lambda: fresh.probabilities([3]),
                 lambda: fresh.top_k([3], 1), lambda: fresh.top_k_accuracy([3, 4]),
                 lambda: fresh.evaluate([3, 4])):
        with pytest.raises(ValueError, match="before fit"):
            call()
    lm = NgramLanguageModel(2, V).fit([3, 4, 5])
    with pytest.raises(ValueError, match="id 9"):
        lm.probabilities([3, 9])
    with pytest.raises(ValueError, match="k must .* got 0"):
        lm.top_k([3], 0)
    with pytest.raises(ValueError, match="k must .* got 0"):
        lm.top_k_accuracy([3, 4], ks=(1, 0))
    with pytest.raises(ValueError, match="ks is empty"):
        lm.evaluate([3, 4], ks=())
    with pytest.raises(ValueError, match="1 token"):
        lm.evaluate([3])
    assert lm.log_probs([3]).shape == (0,)  # nothing to score, but not an error
