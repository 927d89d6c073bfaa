"""Entity-level evaluation of a sequence tagger (named-entity recognition), computed by `seqeval`.

CoNLL-2003 scores entities, not tokens: a predicted entity counts only when its type and both boundaries
match a gold entity, so a type confusion or a boundary error is one false positive *and* one false
negative. Precision, recall and F1 are micro-averaged over all entities, as the shared task reported them.

Two readings of the tags (`mode`), both seqeval's:
- `"conlleval"` (seqeval's default mode, what the `conlleval` Perl script does): lenient. Any `I-X` that
  does not continue an X entity starts a new one (an IOB1-style `I-PER` after `O` is a PER entity), and
  the `E-`/`S-` prefixes of IOBES are read as well.
- `"strict"` (seqeval's `mode="strict"` with a `scheme` class, IOB2 or IOBES): only well-formed entities
  of the scheme count. A run of tags that breaks it (an `I-PER` after `O` in IOB2; a `B-PER` that is not
  closed by `E-PER` in IOBES) is no entity at all: neither a true nor a false positive. The gold tags
  must then follow the scheme (checked here, since seqeval would silently drop gold entities too).

In both modes every tag must be `O` or one of the scheme's prefixes, a hyphen and a type: seqeval only
warns about other tags (or fails with a KeyError in strict mode), so they are refused here with the
sentence and token named.

Undefined ratios are 0 (seqeval's `zero_division=0`, which is also what conlleval prints): no predicted
entities gives precision 0, no gold entities gives recall 0, and F1 is 0 when both are 0. Passing 0
rather than seqeval's default `"warn"` also keeps its `UndefinedMetricWarning`s out of the logs.

Example:
```python
report = entity_report(gold_tags, predicted_tags)      # lists of sentences of IOB2 tags
print(format_entity_report(report))
errors = entity_type_confusion(gold_tags, predicted_tags)
errors["confusion"]["PER"]["ORG"]                      # PER entities predicted as ORG, same span
```
"""

from __future__ import annotations

from collections.abc import Sequence

from keras_rnn.data.tagging import OUTSIDE, TAG_SCHEMES, TaggedSentence, check_tags, split_tag
from keras_rnn.validation import validate_choice

ENTITY_MODES = ("conlleval", "strict")
# The schemes seqeval's strict mode reads as this repo does. Its IOB1 class refuses a B- that starts an
# entity not following one of the same type, which the readers accept: convert IOB1 with `to_iob2` first.
STRICT_SCHEMES = ("IOB2", "IOBES")

Span = tuple[str, int, int]  # (entity type, start, end), end exclusive


def _validate_options(mode: str, scheme: str) -> None:
    validate_choice("mode", mode, ENTITY_MODES)
    validate_choice("scheme", scheme, STRICT_SCHEMES if mode == "strict" else TAG_SCHEMES)


def _as_sentences(sequences, what: str) -> list[list[str]]:
    """Sentences as lists of `str` tags (what seqeval checks for); `TaggedSentence`s give their tags and
    bytes (from TensorFlow string tensors) are decoded."""
    if isinstance(sequences, (str, bytes)):
        raise ValueError(f"{what} tags must be a sequence of sentences, each a sequence of tags; got a string.")
    sentences = []
    for index, sentence in enumerate(sequences):
        if isinstance(sentence, TaggedSentence):
            sentence = sentence.tags
        if isinstance(sentence, (str, bytes)):
            raise ValueError(f"{what} sentence {index} is a string, expected a sequence of tags (pass [tags] "
                             "for a single sentence).")
        tags = []
        for tag in sentence:
            if isinstance(tag, bytes):
                tag = tag.decode("utf-8")
            if not isinstance(tag, str):
                raise ValueError(f"{what} sentence {index} holds the {type(tag).__name__} {tag!r}; tags are "
                                 "strings such as 'B-PER' (map tag ids to names first).")
            tags.append(tag)
        sentences.append(tags)
    return sentences


def _checked_pair(true_tags, predicted_tags, mode: str, scheme: str) -> tuple[list[list[str]], list[list[str]]]:
    """Both tag sets as lists of lists, after every check: same shape, well-formed tags, and gold tags
    that follow the scheme in strict mode."""
    _validate_options(mode, scheme)
    gold = _as_sentences(true_tags, "Gold")
    predicted = _as_sentences(predicted_tags, "Predicted")
    if len(gold) != len(predicted):
        raise ValueError(f"Got {len(gold)} gold sentences but {len(predicted)} predicted ones; they must pair up "
                         "one to one.")
    if not gold:
        raise ValueError("No sentences to score: the gold and predicted tags are empty.")
    for index, (g, p) in enumerate(zip(gold, predicted)):
        if len(g) != len(p):
            raise ValueError(f"Sentence {index} has {len(g)} gold tags but {len(p)} predicted tags; every "
                             "sentence needs one predicted tag per token.")
    if not any(gold):
        raise ValueError(f"No tokens to score: all {len(gold)} sentences are empty.")
    for sentences, what in ((gold, "gold"), (predicted, "predicted")):
        for index, tags in enumerate(sentences):
            for position, tag in enumerate(tags):
                if tag == OUTSIDE:
                    continue
                try:
                    split_tag(tag, scheme)  # the prefixes the scheme allows
                except ValueError as error:
                    raise ValueError(f"Sentence {index}, token {position}, {what} tags: {error}") from None
    if mode == "strict":
        for index, tags in enumerate(gold):
            try:
                check_tags(tags, scheme, locate=lambda i, index=index: f"Sentence {index}, token {i}, gold tags")
            except ValueError as error:
                raise ValueError(f"{error} mode='strict' scores only well-formed entities, so the gold tags must "
                                 "follow the scheme; use mode='conlleval' to read them leniently.") from None
    return gold, predicted


def _seqeval_scheme(scheme: str):
    from seqeval import scheme as schemes

    return {"IOB2": schemes.IOB2, "IOBES": schemes.IOBES}[scheme]


def _entities(sentences: list[list[str]], mode: str, scheme: str) -> list[list[Span]]:
    """The entities seqeval scores, per sentence, as `(type, start, end)` with `end` exclusive: seqeval's
    `get_entities` in conlleval mode (its ends are inclusive), `seqeval.scheme.Tokens` in strict mode."""
    if mode == "strict":
        from seqeval.scheme import Tokens

        token_class = _seqeval_scheme(scheme)
        return [[(e.tag, e.start, e.end) for e in Tokens(tags, token_class).entities] for tags in sentences]
    from seqeval.metrics.sequence_labeling import get_entities

    # One sentence at a time: given a list of lists, get_entities would number tokens across sentences.
    return [[(kind, start, end + 1) for kind, start, end in get_entities(tags)] for tags in sentences]


def _score(tp: int, predicted: int, gold: int) -> tuple[float, float, float]:
    precision = tp / predicted if predicted else 0.0
    recall = tp / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def entity_report(
    true_tags: Sequence[Sequence[str]], predicted_tags: Sequence[Sequence[str]], *, scheme: str = "IOB2",
    mode: str = "conlleval",
) -> dict:
    """Entity-level precision, recall and F1 (CoNLL-2003), overall and per entity type, computed by seqeval.

    Args:
        true_tags: the gold tags, one sequence of tags per sentence (or `TaggedSentence`s).
        predicted_tags: the tagger's tags, shaped like `true_tags`.
        scheme: the tag scheme, one of `TAG_SCHEMES` ("IOB1", "IOB2", "IOBES") in conlleval mode, where it
            only decides which prefixes a tag may carry; "IOB2" or "IOBES" (`STRICT_SCHEMES`) in strict mode,
            where it is seqeval's scheme class. Defaults to "IOB2".
        mode: "conlleval" (seqeval's default, lenient like the conlleval script) or "strict" (only
            well-formed entities of `scheme` count); see the module docstring. Defaults to "conlleval".

    Returns:
        A JSON-ready dict of floats in [0, 1] (unrounded) and ints:
        `precision`, `recall`, `f1` (micro: over all entities, as CoNLL-2003 reports them), `macro_f1`
        (mean of the per-type F1 over every type seen in gold or predicted tags, as seqeval's macro avg;
        0 when there is none), `token_accuracy` (tags equal to the gold tag, "O" included),
        `per_type` (type → `precision`, `recall`, `f1`, `support` (gold entities), `predicted`, `correct`),
        `counts` (`sentences`, `tokens`, `gold_entities`, `predicted_entities`, `correct_entities`), and
        the `mode` and `scheme` used. Undefined ratios are 0 (seqeval's `zero_division=0`).

    Raises:
        ValueError: the sentence counts differ or a sentence's lengths differ (naming the first such
            sentence and both lengths), no sentences or no tokens, a tag that is not "O" nor a prefix of
            `scheme` with a type, gold tags that break the scheme in strict mode, or an unknown mode or
            scheme (naming the accepted values).

    Example:
    >>> gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    >>> predicted = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "O"]]
    >>> report = entity_report(gold, predicted)
    >>> round(report["precision"], 4), round(report["recall"], 4), round(report["f1"], 4)
    (0.6667, 0.6667, 0.6667)
    >>> report["per_type"]["LOC"]
    {'precision': 0.0, 'recall': 0.0, 'f1': 0.0, 'support': 1, 'predicted': 0, 'correct': 0}
    >>> report["counts"]
    {'sentences': 2, 'tokens': 6, 'gold_entities': 3, 'predicted_entities': 3, 'correct_entities': 2}

    An IOB1-style entity start (`I-PER` after `O`) is an entity for conlleval, none in strict IOB2:
    >>> entity_report([["B-PER", "I-PER"]], [["I-PER", "I-PER"]])["f1"]
    1.0
    >>> entity_report([["B-PER", "I-PER"]], [["I-PER", "I-PER"]], mode="strict")["f1"]
    0.0
    """
    from seqeval.metrics import accuracy_score
    from seqeval.metrics.sequence_labeling import precision_recall_fscore_support as lenient_scores
    from seqeval.metrics.v1 import precision_recall_fscore_support as strict_scores

    gold, predicted = _checked_pair(true_tags, predicted_tags, mode, scheme)
    # zero_division=0: conlleval's convention, and no UndefinedMetricWarning.
    if mode == "strict":
        options = dict(zero_division=0, scheme=_seqeval_scheme(scheme))
        scores = strict_scores
    else:
        options = dict(zero_division=0)
        scores = lenient_scores
    precision, recall, f1, _ = scores(gold, predicted, average="micro", **options)

    # Counts per type from the same entity extraction seqeval scores with; the per-type figures are
    # seqeval's own (types in its order: sorted, gold and predicted together).
    gold_entities, predicted_entities = _entities(gold, mode, scheme), _entities(predicted, mode, scheme)
    gold_counts, predicted_counts, correct_counts = {}, {}, {}
    for g_spans, p_spans in zip(gold_entities, predicted_entities):
        for kind, *_ in g_spans:
            gold_counts[kind] = gold_counts.get(kind, 0) + 1
        for kind, *_ in p_spans:
            predicted_counts[kind] = predicted_counts.get(kind, 0) + 1
        for kind, *_ in set(g_spans) & set(p_spans):
            correct_counts[kind] = correct_counts.get(kind, 0) + 1
    types = sorted(set(gold_counts) | set(predicted_counts))
    per_type = {}
    if types:
        type_p, type_r, type_f, type_support = scores(gold, predicted, average=None, **options)
        for kind, p, r, f, support in zip(types, type_p, type_r, type_f, type_support):
            per_type[kind] = {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(support),
                              "predicted": predicted_counts.get(kind, 0), "correct": correct_counts.get(kind, 0)}
    # Not seqeval's average="macro" call: with no type at all it averages an empty array (nan, a warning).
    macro_f1 = sum(row["f1"] for row in per_type.values()) / len(per_type) if per_type else 0.0
    return {
        "mode": mode,
        "scheme": scheme,
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "macro_f1": float(macro_f1),
        "token_accuracy": float(accuracy_score(gold, predicted)),
        "per_type": per_type,
        "counts": {
            "sentences": len(gold),
            "tokens": sum(len(tags) for tags in gold),
            "gold_entities": sum(gold_counts.values()),
            "predicted_entities": sum(predicted_counts.values()),
            "correct_entities": sum(correct_counts.values()),
        },
    }


def label_report(true_tags: Sequence[Sequence[str]], predicted_tags: Sequence[Sequence[str]]) -> dict:
    """Token-level scores of plain labels (part-of-speech tags, say: `scheme="plain"`), shaped like
    `entity_report`'s dict so `format_entity_report` prints it: every token is one item, so the micro
    precision, recall and F1 all equal the token accuracy; per label, precision, recall and F1 of that
    label over tokens.

    Raises:
        ValueError: the sentence counts or a sentence's lengths differ, or there is no token.

    Example:
    >>> report = label_report([["NNP", "VBZ", "."]], [["NNP", "NN", "."]])
    >>> round(report["f1"], 4), report["per_type"]["VBZ"]["recall"], report["per_type"]["NN"]["precision"]
    (0.6667, 0.0, 0.0)
    """
    gold, predicted = _as_sentences(true_tags, "true_tags"), _as_sentences(predicted_tags, "predicted_tags")
    if len(gold) != len(predicted):
        raise ValueError(f"true_tags has {len(gold)} sentences but predicted_tags has {len(predicted)}.")
    for i, (g, p) in enumerate(zip(gold, predicted)):
        if len(g) != len(p):
            raise ValueError(f"Sentence {i} has {len(g)} gold tags but {len(p)} predicted tags.")
    pairs = [(g, p) for gs, ps in zip(gold, predicted) for g, p in zip(gs, ps)]
    if not pairs:
        raise ValueError("No tokens to score.")
    gold_counts: dict = {}
    predicted_counts: dict = {}
    correct_counts: dict = {}
    for g, p in pairs:
        gold_counts[g] = gold_counts.get(g, 0) + 1
        predicted_counts[p] = predicted_counts.get(p, 0) + 1
        if g == p:
            correct_counts[g] = correct_counts.get(g, 0) + 1
    per_label = {}
    for label in sorted(set(gold_counts) | set(predicted_counts)):
        correct = correct_counts.get(label, 0)
        precision, recall, f1 = _score(correct, predicted_counts.get(label, 0), gold_counts.get(label, 0))
        per_label[label] = {"precision": precision, "recall": recall, "f1": f1, "support": gold_counts.get(label, 0),
                            "predicted": predicted_counts.get(label, 0), "correct": correct}
    accuracy = sum(correct_counts.values()) / len(pairs)
    return {"mode": "tokens", "scheme": "plain", "precision": accuracy, "recall": accuracy, "f1": accuracy,
            "macro_f1": sum(row["f1"] for row in per_label.values()) / len(per_label), "token_accuracy": accuracy,
            "per_type": per_label,
            "counts": {"sentences": len(gold), "tokens": len(pairs), "gold_entities": len(pairs),
                       "predicted_entities": len(pairs), "correct_entities": sum(correct_counts.values())}}


def entity_type_confusion(
    true_tags: Sequence[Sequence[str]], predicted_tags: Sequence[Sequence[str]], *, scheme: str = "IOB2",
    mode: str = "conlleval",
) -> dict:
    """What the tagger did with each gold entity, and where its other predictions came from.

    Entities are those `entity_report` scores with the same `mode` and `scheme` (seqeval's `get_entities`
    in conlleval mode, `seqeval.scheme.Tokens` in strict mode; on valid IOB2 tags both are
    `keras_rnn.data.tagging.entity_spans`), so `correct` sums to the report's true positives.

    Each gold entity falls in exactly one category, tried in this order:
    - correct: a predicted entity with the same span and type;
    - type error: a predicted entity with the same span and another type (`confusion[gold][predicted]`);
    - boundary error: no predicted entity with the same span, but one overlapping it partly (of any type);
    - missed: no predicted entity overlaps it.
    Each predicted entity that is not correct nor a type error is a predicted boundary error (it overlaps
    a gold entity) or spurious (it overlaps none). In CoNLL scoring every type error and boundary error is
    both a false positive and a false negative.

    Args:
        true_tags, predicted_tags, scheme, mode: as for `entity_report` (with the same checks).

    Returns:
        A JSON-ready dict of counts, keyed by entity type so a notebook can plot it:
        `types` (sorted, gold and predicted), `gold` and `predicted` (entities per type),
        `confusion` (gold type → predicted type → entities with the same span: the diagonal is `correct`;
        every type in `types` as row and column), per gold type `correct`, `type_errors`,
        `boundary_errors` and `missed` (which add up to `gold`), per predicted type
        `predicted_boundary_errors` and `spurious`, and `totals` of each of these over all types.

    Example:
    >>> gold = [["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O", "B-ORG"]]
    >>> predicted = [["B-ORG", "I-ORG", "O", "B-LOC", "O", "B-MISC", "O"]]
    >>> errors = entity_type_confusion(gold, predicted)
    >>> errors["confusion"]["PER"]["ORG"], errors["boundary_errors"]["LOC"], errors["missed"]["ORG"]
    (1, 1, 1)
    >>> errors["totals"]
    {'gold': 3, 'predicted': 3, 'correct': 0, 'type_errors': 1, 'boundary_errors': 1, 'missed': 1, \
'predicted_boundary_errors': 1, 'spurious': 1}
    """
    gold, predicted = _checked_pair(true_tags, predicted_tags, mode, scheme)
    gold_entities, predicted_entities = _entities(gold, mode, scheme), _entities(predicted, mode, scheme)
    types = sorted({kind for spans in gold_entities + predicted_entities for kind, *_ in spans})
    per_type = lambda: {kind: 0 for kind in types}  # noqa: E731
    result = {"types": types, "gold": per_type(), "predicted": per_type(),
              "confusion": {kind: per_type() for kind in types}, "correct": per_type(), "type_errors": per_type(),
              "boundary_errors": per_type(), "missed": per_type(), "predicted_boundary_errors": per_type(),
              "spurious": per_type()}

    def overlaps(a: Span, b: Span) -> bool:
        return a[1] < b[2] and b[1] < a[2]

    for g_spans, p_spans in zip(gold_entities, predicted_entities):
        # Entities of one tag sequence never overlap, so a span has at most one exact match on the other side.
        predicted_by_span = {(start, end): kind for kind, start, end in p_spans}
        gold_by_span = {(start, end): kind for kind, start, end in g_spans}
        for g in g_spans:
            kind = g[0]
            result["gold"][kind] += 1
            match = predicted_by_span.get(g[1:])
            if match is not None:
                result["confusion"][kind][match] += 1
                result["correct" if match == kind else "type_errors"][kind] += 1
            elif any(overlaps(g, p) for p in p_spans):
                result["boundary_errors"][kind] += 1
            else:
                result["missed"][kind] += 1
        for p in p_spans:
            kind = p[0]
            result["predicted"][kind] += 1
            if p[1:] in gold_by_span:
                continue  # counted in `confusion` above
            if any(overlaps(p, g) for g in g_spans):
                result["predicted_boundary_errors"][kind] += 1
            else:
                result["spurious"][kind] += 1
    result["totals"] = {key: sum(result[key].values()) for key in (
        "gold", "predicted", "correct", "type_errors", "boundary_errors", "missed", "predicted_boundary_errors",
        "spurious")}
    return result


def format_entity_report(report: dict, *, digits: int = 2) -> str:
    """`entity_report`'s dict as a fixed-width table: one row per entity type, then the overall (micro)
    and macro figures, token accuracy and the counts. Scores are in percent with `digits` decimals, as
    conlleval prints them and CoNLL papers report them.

    Example:
    >>> report = entity_report([["B-PER", "I-PER", "O", "B-LOC"]], [["B-PER", "I-PER", "O", "O"]])
    >>> print(format_entity_report(report))
    entity-level scores (mode=conlleval, scheme=IOB2), percent
    type            precision    recall        f1   support  predicted
    LOC                  0.00      0.00      0.00         1          0
    PER                100.00    100.00    100.00         1          1
    <BLANKLINE>
    micro (CoNLL)      100.00     50.00     66.67         2          1
    macro                                   50.00
    token accuracy      75.00
    1 sentences, 4 tokens, 2 gold entities, 1 predicted, 1 correct
    """
    rows = report["per_type"]
    counts = report["counts"]
    width = max([len(name) for name in rows] + [len("token accuracy")]) + 1

    def percent(value: float) -> str:
        return f"{100.0 * value:>10.{digits}f}"

    level = "token-level scores of plain labels" if report["scheme"] == "plain" else "entity-level scores"
    lines = [f"{level} (mode={report['mode']}, scheme={report['scheme']}), percent",
             f"{'type':<{width}}" + "".join(f"{h:>10}" for h in ("precision", "recall", "f1", "support"))
             + f"{'predicted':>11}"]
    for name, row in rows.items():
        lines.append(f"{name:<{width}}{percent(row['precision'])}{percent(row['recall'])}{percent(row['f1'])}"
                     f"{row['support']:>10}{row['predicted']:>11}")
    lines += ["",
              f"{'micro (CoNLL)':<{width}}{percent(report['precision'])}{percent(report['recall'])}"
              f"{percent(report['f1'])}{counts['gold_entities']:>10}{counts['predicted_entities']:>11}",
              f"{'macro':<{width}}{'':>20}{percent(report['macro_f1'])}",
              f"{'token accuracy':<{width}}{percent(report['token_accuracy'])}",
              f"{counts['sentences']:,} sentences, {counts['tokens']:,} tokens, {counts['gold_entities']:,} gold "
              f"entities, {counts['predicted_entities']:,} predicted, {counts['correct_entities']:,} correct"]
    return "\n".join(lines)
