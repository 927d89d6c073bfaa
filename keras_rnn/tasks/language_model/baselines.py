"""Smoothed n-gram baselines for the language model task: the figures an RNN language model must beat.

A recurrent language model earns its cost only if it predicts the next token better than counting does.
`NgramLanguageModel` is that counting baseline: interpolated Kneser–Ney over the same 1-D token stream
the RNN trains on (id 0 padding, 1 out-of-vocabulary, 2 `[END]`, 3.. the vocabulary), scored on exactly
the tokens the RNN is scored on (every token `t >= 1` of the validation stream, from the tokens before
it), so the benchmark can print its cross-entropy, perplexity, bits per token and top-k accuracy beside
the RNN's. Character models usually compare with orders 5–7, word models with orders 2–3.

Everything is counted and scored with numpy (no nltk, kenlm or dicts over millions of tuples): n-grams
get int64 keys, are counted with `np.unique` and looked up with `np.searchsorted`, and scoring is
vectorised over the whole stream.

Example:

>>> import numpy as np
>>> from keras_rnn.tasks.language_model.baselines import NgramLanguageModel
>>> train = np.array([3, 4, 5, 2] * 100)        # "a b c [END]" over and over
>>> lm = NgramLanguageModel(order=3, vocab_size=6).fit(train)
>>> report = lm.evaluate(np.array([3, 4, 5, 2, 3, 4, 5, 2]))
>>> report["tokens"], round(report["perplexity"], 2), report["top_1_accuracy"]
(7, 1.23, 1.0)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = ["NgramLanguageModel"]

# Discounts come from count-of-counts. On tiny or degenerate data some of those are missing: then one
# absolute discount per order is used (Ney's n1 / (n1 + 2 n2)). Every discount is kept in
# [_DISCOUNT_MARGIN, k - _DISCOUNT_MARGIN]: above 0 so that a seen context always leaves mass for unseen
# tokens, below k so that c - D(c) > 0 and a seen n-gram is never wholly discarded (Ney's estimate is 1
# when a stream has no doubletons, e.g. every continuation count of a deterministic stream).
_DEFAULT_DISCOUNT = 0.5
_DISCOUNT_MARGIN = 0.05
_INT64_MAX = np.iinfo(np.int64).max


def _modified_kn_discounts(counts: np.ndarray) -> tuple[float, float, float]:
    """(D1, D2, D3+) for one order from its n-gram counts (Chen & Goodman 1998, eq. 26)."""
    n1, n2, n3, n4 = (int(np.count_nonzero(counts == k)) for k in (1, 2, 3, 4))
    # Ney's leave-one-out estimate; only with neither singletons nor doubletons is it undefined.
    y = n1 / (n1 + 2 * n2) if n1 + 2 * n2 > 0 else _DEFAULT_DISCOUNT
    if min(n1, n2, n3, n4) > 0:
        raw = (1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2, 3 - 4 * y * n4 / n3)
    else:
        # Too few distinct counts to estimate three discounts: one absolute discount for all.
        raw = (y, y, y)
    return tuple(float(min(max(d, _DISCOUNT_MARGIN), k - _DISCOUNT_MARGIN)) for k, d in zip((1, 2, 3), raw))


def _check_positive_int(name: str, value: object, minimum: int, meaning: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum} ({meaning}), got {value!r}")
    return int(value)


class NgramLanguageModel:
    """Interpolated modified Kneser–Ney n-gram model over token ids 1..vocab_size-1.

    The highest order uses raw counts, the lower orders continuation counts (how many distinct tokens
    precede an n-gram), each order with its own three discounts D1, D2, D3+ estimated from its
    count-of-counts (`discounts`). Order 1 interpolates down to the uniform distribution over the
    `vocab_size - 1` real ids, so every distribution sums to 1 over ids 1..vocab_size-1, id 0 (padding)
    gets probability 0 and every other id, out-of-vocabulary included, a positive one. `order=1` is
    therefore absolute-discounted unigram counts interpolated with uniform (Kneser–Ney to uniform, not
    add-one). A context never seen, or shorter than `order - 1` at the start of a stream, falls back to
    the next lower order directly.

    Discounts follow Chen & Goodman's formulas where all of n1..n4 are positive (any real corpus); with
    fewer distinct counts one discount n1/(n1+2 n2) serves all (0.5 if that is undefined), and every
    discount D_k is kept in [0.05, k - 0.05]. Top-k ties go to the smaller id.

    Args:
        order: n-gram order, >= 1 (1 = unigram; 7 is typical for characters, 3 for words).
        vocab_size: number of ids including padding 0, >= 2; real tokens are 1..vocab_size-1.

    Attributes:
        discounts: after `fit`, order m -> (D1, D2, D3+) for m = 1..order.

    Example:

    >>> lm = NgramLanguageModel(order=2, vocab_size=5).fit([3, 4, 3, 4, 3, 4])
    >>> p = lm.probabilities([3])
    >>> float(p[0]), round(float(p[1:].sum()), 12), int(p.argmax())
    (0.0, 1.0, 4)
    >>> lm.top_k([3], 2).tolist()
    [4, 3]
    """

    def __init__(self, order: int, vocab_size: int) -> None:
        self.order = _check_positive_int("order", order, 1, "the n-gram order, 1 for a unigram model")
        self.vocab_size = _check_positive_int(
            "vocab_size", vocab_size, 2, "id 0 is padding, real token ids are 1..vocab_size-1")
        self.discounts: dict[int, tuple[float, float, float]] = {}
        self._fitted = False

    # ---------------------------------------------------------------- input checks
    def _check_ids(self, stream: Iterable[int], name: str, allow_empty: bool = False) -> np.ndarray:
        array = np.asarray(stream)
        if array.size == 0 and array.ndim <= 1:
            if allow_empty:
                return np.zeros(0, dtype=np.int64)
            raise ValueError(f"{name} is empty: need at least one token id")
        if array.ndim != 1:
            raise ValueError(f"{name} must be a 1-D sequence of token ids, got shape {array.shape}")
        if not np.issubdtype(array.dtype, np.integer):
            raise ValueError(f"{name} must hold integer token ids, got dtype {array.dtype}")
        bad = np.flatnonzero((array < 1) | (array >= self.vocab_size))
        if bad.size:
            raise ValueError(
                f"{name} contains id {int(array[bad[0]])} at position {int(bad[0])}: ids must lie in "
                f"[1, {self.vocab_size}) (0 is padding, ids >= vocab_size={self.vocab_size} are outside "
                "the vocabulary)")
        return array.astype(np.int64, copy=False)

    def _check_fitted(self, method: str) -> None:
        if not self._fitted:
            raise ValueError(f"NgramLanguageModel.{method} called before fit: call fit(stream) first")

    @staticmethod
    def _check_ks(ks: Iterable[int]) -> tuple[int, ...]:
        ks = tuple(ks)
        if not ks:
            raise ValueError("ks is empty: give at least one k, e.g. ks=(1, 3)")
        for k in ks:
            _check_positive_int("k", k, 1, "how many most likely tokens to accept")
        return tuple(int(k) for k in ks)

    # ---------------------------------------------------------------- fitting
    def fit(self, stream: Sequence[int] | np.ndarray) -> NgramLanguageModel:
        """Counts every n-gram of `stream` (1-D int ids in [1, vocab_size)) up to `order`; returns self.

        An m-gram's key is `id(its first m-1 tokens) * vocab_size + last token`, where `id` is the rank
        of that (m-1)-gram among the distinct (m-1)-grams of the stream. Keys are therefore bounded by
        len(stream) * vocab_size rather than vocab_size ** order, so any order fits in int64 (checked),
        and sorting keys groups every context's continuations together.

        >>> lm = NgramLanguageModel(order=2, vocab_size=6).fit([3, 4, 3, 4, 3, 5])
        >>> lm.discounts[2]          # one absolute discount n1/(n1+2 n2) = 1/5: too few counts for three
        (0.2, 0.2, 0.2)
        """
        s = self._check_ids(stream, "stream")
        n, v, size = self.order, self.vocab_size, s.size
        keys, raw_counts, suffix = [None] * (n + 1), [None] * (n + 1), [None] * (n + 1)
        num_grams = [1] + [0] * n  # level 0 holds the single empty gram, id 0
        prev_ids = np.zeros(size + 1, dtype=np.int64)  # id of the (m-1)-gram starting at each position
        for m in range(1, n + 1):
            length = size - m + 1  # how many m-grams the stream holds
            if length <= 0:
                keys[m] = raw_counts[m] = suffix[m] = np.zeros(0, dtype=np.int64)
                prev_ids = np.zeros(0, dtype=np.int64)
                continue
            if num_grams[m - 1] * v > _INT64_MAX:
                raise ValueError(
                    f"{num_grams[m - 1]} distinct {m - 1}-grams x vocab_size={v} overflows int64 keys")
            key = prev_ids[:length] * v + s[m - 1:]
            keys[m], ids, raw_counts[m] = np.unique(key, return_inverse=True, return_counts=True)
            # The id of each m-gram's suffix (its last m-1 tokens) at the next position: continuation
            # counts of the lower order count distinct m-grams per suffix.
            suffix[m] = np.empty(keys[m].size, dtype=np.int64)
            suffix[m][ids] = prev_ids[1:length + 1]
            num_grams[m] = keys[m].size
            prev_ids = ids.astype(np.int64, copy=False)

        self._keys, self._numer, self._total, self._gamma, self._starts = ([None] * (n + 1) for _ in range(5))
        self.discounts = {}
        for m in range(1, n + 1):
            if m == n:
                counts = raw_counts[m]
            else:
                counts = np.bincount(suffix[m + 1], minlength=num_grams[m]).astype(np.int64)
            self.discounts[m] = _modified_kn_discounts(counts)
            by_count = np.array((0.0,) + self.discounts[m])[np.minimum(counts, 3)]  # D(0) = 0
            context = keys[m] // v
            self._keys[m] = keys[m]
            self._numer[m] = counts - by_count  # > 0 for seen n-grams: D_k < k
            self._total[m] = np.bincount(context, weights=counts, minlength=num_grams[m - 1])
            self._gamma[m] = np.bincount(context, weights=by_count, minlength=num_grams[m - 1])
            self._starts[m] = np.searchsorted(context, np.arange(num_grams[m - 1] + 1))
        self._fitted = True
        # Level 1 has one context (the empty one), so its ranking is computed once, not per position.
        ids = np.arange(1, v, dtype=np.int64)
        p1 = self._interpolate(1, np.zeros_like(ids), ids, np.full(ids.size, 1.0 / (v - 1)))
        self._unigram_ranking = ids[np.lexsort((ids, -p1))]
        return self

    # ---------------------------------------------------------------- core arithmetic
    def _lookup(self, m: int, key: np.ndarray) -> np.ndarray:
        """Index of each key among order m's sorted keys, -1 where absent."""
        table = self._keys[m]
        if table.size == 0:
            return np.full(key.shape, -1, dtype=np.int64)
        index = np.minimum(np.searchsorted(table, key), table.size - 1)
        return np.where(table[index] == key, index, -1)

    def _gram_ids(self, s: np.ndarray, longest: int) -> list[np.ndarray]:
        """ids[j][i] = id of the j-gram s[i:i+j] among the training j-grams (-1 if never seen)."""
        ids = [np.zeros(s.size + 1, dtype=np.int64)]
        for j in range(1, longest + 1):
            length = max(s.size - j + 1, 0)
            prev = ids[j - 1][:length]
            found = self._lookup(j, np.maximum(prev, 0) * self.vocab_size + s[j - 1:j - 1 + length])
            ids.append(np.where(prev >= 0, found, -1))
        return ids

    def _valid(self, m: int, context: np.ndarray) -> np.ndarray:
        """Whether each context id was seen with at least one continuation at order m."""
        total = self._total[m]
        if total.size == 0:
            return np.zeros(context.shape, dtype=bool)
        return (context >= 0) & (total[np.clip(context, 0, total.size - 1)] > 0)

    def _interpolate(self, m: int, context: np.ndarray, tokens: np.ndarray, lower: np.ndarray) -> np.ndarray:
        """P_m(token | context) = (c - D(c) + gamma(context) * P_{m-1}(token)) / c(context).

        Unseen contexts keep the lower order's probability. Full distributions and single tokens go
        through this one function, so top-k candidates and `probabilities` agree to the last bit.
        """
        out = lower.copy()
        rows = np.flatnonzero(self._valid(m, context))
        if rows.size == 0:
            return out
        ctx = context[rows]
        index = self._lookup(m, ctx * self.vocab_size + tokens[rows])
        direct = np.where(index >= 0, self._numer[m][np.maximum(index, 0)], 0.0)
        out[rows] = (direct + self._gamma[m][ctx] * lower[rows]) / self._total[m][ctx]
        return out

    def _probabilities_of(self, contexts: list[np.ndarray], tokens: np.ndarray) -> np.ndarray:
        """P(tokens) given per-order context ids (contexts[m - 1] for order m)."""
        p = np.full(tokens.size, 1.0 / (self.vocab_size - 1))
        p[tokens == 0] = 0.0  # padding is no token
        for m, context in enumerate(contexts, start=1):
            p = self._interpolate(m, context, tokens, p)
        return p

    def _stream_contexts(self, s: np.ndarray) -> list[np.ndarray]:
        """Context id per order for every scored position t = 1..len(s)-1 (-1: shorter than needed)."""
        ids = self._gram_ids(s, self.order - 1)
        positions = s.size - 1
        contexts = []
        for m in range(1, self.order + 1):
            context = np.full(positions, -1, dtype=np.int64)
            first = max(1, m - 1)  # the first position with m-1 tokens before it
            if first < s.size:
                context[first - 1:] = ids[m - 1][first - m + 1:s.size - m + 1]
            contexts.append(context)
        return contexts

    def _context_ids(self, context: Sequence[int] | np.ndarray) -> list[np.ndarray]:
        """Per-order context ids (1-element arrays) for the last order-1 tokens of `context`."""
        c = self._check_ids(context, "context", allow_empty=True)
        c = c[c.size - min(c.size, self.order - 1):]  # only the last order-1 tokens matter
        ids = self._gram_ids(c, min(c.size, self.order - 1))
        out = []
        for m in range(1, self.order + 1):
            out.append(np.array([ids[m - 1][c.size - m + 1] if m - 1 <= c.size else -1], dtype=np.int64))
        return out

    def _top_lists(self, contexts: list[np.ndarray], k: int) -> np.ndarray:
        """(items, k) most likely ids per item, most likely first, ties by smaller id.

        A token with no count after an order-m context gets gamma * P_{m-1}, which is monotone in
        P_{m-1}, and a counted token gets at least that. So order m's top k lies among its counted
        continuations plus order m-1's top k: the lists are built order by order from the fixed
        unigram ranking, once per distinct context rather than once per position.
        """
        v = self.vocab_size
        items = contexts[0].size
        table = self._unigram_ranking[:k][None, :]
        rows = np.zeros(items, dtype=np.int64)  # each item's row in `table`
        result = np.repeat(table, items, axis=0)
        alive = np.ones(items, dtype=bool)
        for m in range(2, self.order + 1):
            alive &= self._valid(m, contexts[m - 1])  # a longer context is seen only if its suffix is
            positions = np.flatnonzero(alive)
            if positions.size == 0:
                break
            unique, first, inverse = np.unique(contexts[m - 1][positions], return_index=True,
                                               return_inverse=True)
            reps = positions[first]  # one item standing for each distinct context
            starts, ends = self._starts[m][unique], self._starts[m][unique + 1]
            lengths = ends - starts
            seen_rows = np.repeat(np.arange(unique.size), lengths)
            seen_index = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
            seen_tokens = self._keys[m][seen_index + np.repeat(starts, lengths)] % v
            lower = table[rows[reps]]
            lower_rows = np.repeat(np.arange(unique.size), lower.shape[1])
            key = np.unique(np.concatenate([seen_rows * v + seen_tokens, lower_rows * v + lower.ravel()]))
            cand_rows, cand_tokens = key // v, key % v
            p = self._probabilities_of([c[reps[cand_rows]] for c in contexts[:m]], cand_tokens)
            order = np.lexsort((cand_tokens, -p, cand_rows))
            sorted_rows = cand_rows[order]
            rank = np.arange(order.size) - np.searchsorted(sorted_rows, sorted_rows)
            keep = rank < k
            table = np.full((unique.size, k), -1, dtype=np.int64)
            table[sorted_rows[keep], rank[keep]] = cand_tokens[order][keep]
            rows = np.full(items, -1, dtype=np.int64)
            rows[positions] = inverse
            result[positions] = table[inverse]
        return result

    # ---------------------------------------------------------------- public scoring
    def log_probs(self, stream: Sequence[int] | np.ndarray) -> np.ndarray:
        """Natural-log probability of stream[t] given up to order-1 tokens before it, t = 1..len-1.

        Returns a float64 array of length len(stream) - 1 (the tokens the RNN is scored on).

        >>> lm = NgramLanguageModel(order=2, vocab_size=5).fit([3, 4] * 20)
        >>> lp = lm.log_probs([3, 4, 3])
        >>> lp.shape, bool((lp < 0).all())
        ((2,), True)
        """
        self._check_fitted("log_probs")
        s = self._check_ids(stream, "stream")
        return np.log(self._probabilities_of(self._stream_contexts(s), s[1:]))

    def probabilities(self, context: Sequence[int] | np.ndarray = ()) -> np.ndarray:
        """The full distribution (vocab_size,) after `context` (its last order-1 ids are used).

        >>> lm = NgramLanguageModel(order=1, vocab_size=4).fit([3, 3, 3, 2])
        >>> lm.probabilities().round(4).tolist()  # D1 = 0.95, D3+ = 1: id 3 gets 2/4 + (1.95/4) / 3
        [0.0, 0.1625, 0.175, 0.6625]
        """
        self._check_fitted("probabilities")
        contexts = self._context_ids(context)
        tokens = np.arange(self.vocab_size, dtype=np.int64)
        return self._probabilities_of([np.repeat(c, tokens.size) for c in contexts], tokens)

    def top_k(self, context: Sequence[int] | np.ndarray, k: int) -> np.ndarray:
        """The min(k, vocab_size-1) most likely next ids after `context`, most likely first.

        Exact (ties go to the smaller id) without scoring the whole vocabulary.

        >>> lm = NgramLanguageModel(order=2, vocab_size=6).fit([3, 4, 3, 5, 3, 4])
        >>> lm.top_k([3], 2).tolist()
        [4, 5]
        """
        self._check_fitted("top_k")
        k = _check_positive_int("k", k, 1, "how many most likely tokens to return")
        return self._top_lists(self._context_ids(context), min(k, self.vocab_size - 1))[0]

    def top_k_accuracy(self, stream: Sequence[int] | np.ndarray, ks: Iterable[int] = (1, 3)) -> dict[int, float]:
        """Fraction of positions t >= 1 whose true token is among the k most likely, for each k in ks.

        >>> lm = NgramLanguageModel(order=2, vocab_size=6).fit([3, 4, 5] * 10)
        >>> lm.top_k_accuracy([3, 4, 5, 3], ks=(1, 3))
        {1: 1.0, 3: 1.0}
        """
        self._check_fitted("top_k_accuracy")
        ks = self._check_ks(ks)
        s = self._check_ids(stream, "stream")
        if s.size < 2:
            raise ValueError(f"stream has {s.size} token: need at least 2 to score any position")
        widest = min(max(ks), self.vocab_size - 1)
        hits = self._top_lists(self._stream_contexts(s), widest) == s[1:, None]
        return {k: float(hits[:, :min(k, widest)].any(axis=1).mean()) for k in ks}

    def evaluate(self, stream: Sequence[int] | np.ndarray, ks: Iterable[int] = (1, 3)) -> dict[str, float]:
        """Scores every token t >= 1 of `stream`: the figures printed beside the RNN's.

        Keys: `tokens` (how many scored), `cross_entropy` (mean nats per token), `perplexity`,
        `bits_per_token` and `top_{k}_accuracy` for each k in ks.

        >>> lm = NgramLanguageModel(order=1, vocab_size=3).fit([1, 2, 1, 2])
        >>> report = lm.evaluate([1, 2, 1], ks=(1,))
        >>> sorted(report)
        ['bits_per_token', 'cross_entropy', 'perplexity', 'tokens', 'top_1_accuracy']
        >>> report["tokens"], report["perplexity"], report["bits_per_token"], report["top_1_accuracy"]
        (2, 2.0, 1.0, 0.5)
        """
        self._check_fitted("evaluate")
        ks = self._check_ks(ks)
        s = self._check_ids(stream, "stream")
        if s.size < 2:
            raise ValueError(f"stream has {s.size} token: need at least 2 to score any position")
        cross_entropy = float(-self.log_probs(s).mean())
        report: dict[str, float] = {
            "tokens": int(s.size - 1),
            "cross_entropy": cross_entropy,
            "perplexity": math.exp(cross_entropy),
            "bits_per_token": cross_entropy / math.log(2),
        }
        for k, accuracy in self.top_k_accuracy(s, ks).items():
            report[f"top_{k}_accuracy"] = accuracy
        return report
