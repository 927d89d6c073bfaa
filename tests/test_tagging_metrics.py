"""Entity-level tagger evaluation (keras_rnn.tagging_metrics): hand-computed CoNLL figures, agreement with
seqeval's own functions on random tags, the conlleval / strict readings, error categories and errors."""

import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from seqeval import scheme as seqeval_schemes
from seqeval.metrics import classification_report, f1_score, precision_score, recall_score

from keras_rnn.data.tagging import TaggedSentence, entity_spans, to_iob1, to_iob2, to_iobes
from keras_rnn.tagging_metrics import _entities, entity_report, entity_type_confusion, format_entity_report

# Five sentences with every kind of CoNLL error, counted by hand:
# 0: PER and LOC right (2 TP).
# 1: ORG right (TP); PER predicted as ORG on the same span: a type confusion (FP ORG, FN PER).
# 2: LOC of two tokens predicted as one token: a boundary error (FP LOC, FN LOC).
# 3: MISC missed (FN); a PER where there is none (FP, spurious).
# 4: a LOC where there is none (FP, spurious).
GOLD = [
    ["B-PER", "I-PER", "O", "B-LOC", "O"],
    ["B-ORG", "I-ORG", "O", "B-PER"],
    ["O", "B-LOC", "I-LOC", "O"],
    ["B-MISC", "O", "O"],
    ["O", "O"],
]
PREDICTED = [
    ["B-PER", "I-PER", "O", "B-LOC", "O"],
    ["B-ORG", "I-ORG", "O", "B-ORG"],
    ["O", "B-LOC", "O", "O"],
    ["O", "O", "B-PER"],
    ["B-LOC", "O"],
]
# gold 6 (PER 2, LOC 2, ORG 1, MISC 1); predicted 7 (PER 2, LOC 3, ORG 2); TP 3 (PER, LOC, ORG).

TYPES = ["PER", "LOC", "ORG"]
IOB_TAGS = ["O"] + [f"{p}-{t}" for t in TYPES for p in "BI"]
IOBES_TAGS = ["O"] + [f"{p}-{t}" for t in TYPES for p in "BIES"]


def sentences_of(tags, max_sentences=6, max_length=8):
    """Pairs (gold, predicted) of sentence lists of equal shapes, tags drawn from `tags`."""
    lengths = st.lists(st.integers(0, max_length), min_size=1, max_size=max_sentences)

    def pair(sizes):
        sentence = lambda n: st.lists(st.sampled_from(tags), min_size=n, max_size=n)  # noqa: E731
        return st.tuples(st.tuples(*[sentence(n) for n in sizes]), st.tuples(*[sentence(n) for n in sizes]))

    return lengths.filter(lambda sizes: sum(sizes) > 0).flatmap(pair).map(
        lambda p: ([list(s) for s in p[0]], [list(s) for s in p[1]]))


def assert_agrees_with_seqeval(gold, predicted, report, **options):
    """The report's figures are seqeval's own (its scoring functions and its classification report)."""
    assert report["precision"] == pytest.approx(precision_score(gold, predicted, zero_division=0, **options))
    assert report["recall"] == pytest.approx(recall_score(gold, predicted, zero_division=0, **options))
    assert report["f1"] == pytest.approx(f1_score(gold, predicted, zero_division=0, **options))
    if not report["per_type"]:  # seqeval's macro avg over no type is nan (with a warning)
        return
    table = classification_report(gold, predicted, output_dict=True, zero_division=0, **options)
    types = sorted(k for k in table if not k.endswith(" avg"))
    assert types == sorted(report["per_type"])
    for kind in types:
        row = report["per_type"][kind]
        assert (row["precision"], row["recall"], row["f1"]) == pytest.approx(
            (table[kind]["precision"], table[kind]["recall"], table[kind]["f1-score"]))
        assert row["support"] == table[kind]["support"]
    assert report["macro_f1"] == pytest.approx(table["macro avg"]["f1-score"])
    assert report["f1"] == pytest.approx(table["micro avg"]["f1-score"])
    # The counts are those of the same entities.
    counts = report["counts"]
    assert counts["gold_entities"] == sum(row["support"] for row in report["per_type"].values())
    if counts["predicted_entities"]:
        assert report["precision"] == pytest.approx(counts["correct_entities"] / counts["predicted_entities"])


# --- Hand-computed figures ------------------------------------------------------------------------


def test_golden_scores():
    report = entity_report(GOLD, PREDICTED)
    assert report["precision"] == pytest.approx(3 / 7)
    assert report["recall"] == pytest.approx(3 / 6)
    assert report["f1"] == pytest.approx(6 / 13)  # 2 · (3/7 · 1/2) / (3/7 + 1/2)
    assert report["per_type"] == {
        "LOC": {"precision": pytest.approx(1 / 3), "recall": 0.5, "f1": pytest.approx(0.4), "support": 2,
                "predicted": 3, "correct": 1},
        "MISC": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1, "predicted": 0, "correct": 0},
        "ORG": {"precision": 0.5, "recall": 1.0, "f1": pytest.approx(2 / 3), "support": 1, "predicted": 2,
                "correct": 1},
        "PER": {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2, "predicted": 2, "correct": 1},
    }
    assert report["macro_f1"] == pytest.approx((0.4 + 0.0 + 2 / 3 + 0.5) / 4)
    assert report["token_accuracy"] == pytest.approx(13 / 18)
    assert report["counts"] == {"sentences": 5, "tokens": 18, "gold_entities": 6, "predicted_entities": 7,
                                "correct_entities": 3}
    assert (report["mode"], report["scheme"]) == ("conlleval", "IOB2")
    # Strict IOB2 reads these (valid IOB2) tags the same way.
    strict = entity_report(GOLD, PREDICTED, mode="strict")
    assert {k: strict[k] for k in ("precision", "recall", "f1", "counts")} == \
        {k: report[k] for k in ("precision", "recall", "f1", "counts")}


@pytest.mark.parametrize("gold, predicted", [
    # a type confusion on the right span: one FP (ORG) and one FN (PER)
    ([["B-PER", "O", "B-LOC"]], [["B-ORG", "O", "B-LOC"]]),
    # a boundary error: one FP (the short LOC) and one FN (the long one)
    ([["B-LOC", "I-LOC", "O", "B-PER"]], [["B-LOC", "O", "O", "B-PER"]]),
    # a boundary error on the other side: the predicted entity is too long
    ([["B-LOC", "O", "B-PER"]], [["B-LOC", "I-LOC", "B-PER"]]),
])
def test_type_confusion_and_boundary_error_count_as_one_fp_and_one_fn(gold, predicted):
    report = entity_report(gold, predicted)
    assert report["counts"]["gold_entities"] == report["counts"]["predicted_entities"] == 2
    assert report["counts"]["correct_entities"] == 1
    assert (report["precision"], report["recall"], report["f1"]) == (0.5, 0.5, 0.5)


def test_conlleval_and_strict_differ_on_an_iob1_style_start():
    gold = [["B-PER", "I-PER", "O", "B-LOC"]]
    predicted = [["I-PER", "I-PER", "O", "B-LOC"]]  # PER starts with I- (IOB1 style)
    lenient = entity_report(gold, predicted)  # conlleval: I-PER after O starts a PER entity
    assert (lenient["precision"], lenient["recall"], lenient["f1"]) == (1.0, 1.0, 1.0)
    strict = entity_report(gold, predicted, mode="strict")  # strict IOB2: no entity there at all
    assert strict["counts"]["predicted_entities"] == 1
    assert (strict["precision"], strict["recall"]) == (1.0, 0.5)
    assert strict["f1"] == pytest.approx(2 / 3)
    assert lenient["token_accuracy"] == strict["token_accuracy"] == 0.75
    # seqeval itself says the same
    assert f1_score(gold, predicted) == 1.0
    assert f1_score(gold, predicted, mode="strict", scheme=seqeval_schemes.IOB2) == pytest.approx(2 / 3)
    # and the strict miss is a missed PER, where conlleval sees it as correct
    assert entity_type_confusion(gold, predicted)["correct"]["PER"] == 1
    assert entity_type_confusion(gold, predicted, mode="strict")["missed"]["PER"] == 1


def test_conlleval_reads_iob1_gold_and_predictions_as_their_iob2_conversion():
    gold_iob1 = [to_iob1(tags) for tags in GOLD]
    predicted_iob1 = [to_iob1(tags) for tags in PREDICTED]
    assert gold_iob1[0][0] == "I-PER"  # really IOB1
    report = entity_report(gold_iob1, predicted_iob1, scheme="IOB1")
    expected = entity_report(GOLD, PREDICTED)
    assert {k: report[k] for k in ("precision", "recall", "f1", "per_type", "counts")} == \
        {k: expected[k] for k in ("precision", "recall", "f1", "per_type", "counts")}


def test_conlleval_and_strict_differ_on_an_unclosed_iobes_entity():
    gold = [["B-PER", "E-PER", "O", "S-LOC"]]
    predicted = [["B-PER", "I-PER", "O", "S-LOC"]]  # PER never closed with E-PER
    lenient = entity_report(gold, predicted, scheme="IOBES")
    assert lenient["f1"] == 1.0
    strict = entity_report(gold, predicted, scheme="IOBES", mode="strict")
    assert (strict["precision"], strict["recall"]) == (1.0, 0.5)


# --- Agreement with seqeval on random tags ----------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(sentences_of(IOB_TAGS))
def test_conlleval_mode_agrees_with_seqeval_on_arbitrary_iob_tags(pair):
    gold, predicted = pair  # any sequence: I- after O, after another type, ...
    assert_agrees_with_seqeval(gold, predicted, entity_report(gold, predicted))


@settings(max_examples=40, deadline=None)
@given(sentences_of(IOBES_TAGS))
def test_conlleval_mode_agrees_with_seqeval_on_arbitrary_iobes_tags(pair):
    gold, predicted = pair
    assert_agrees_with_seqeval(gold, predicted, entity_report(gold, predicted, scheme="IOBES"))


@settings(max_examples=60, deadline=None)
@given(sentences_of(IOB_TAGS))
def test_strict_mode_agrees_with_seqeval(pair):
    arbitrary_gold, predicted = pair
    gold = [to_iob2(tags) for tags in arbitrary_gold]  # strict needs valid gold; predictions stay arbitrary
    assert_agrees_with_seqeval(gold, predicted, entity_report(gold, predicted, mode="strict"),
                               mode="strict", scheme=seqeval_schemes.IOB2)
    gold_iobes = [to_iobes(tags) for tags in gold]
    predicted_iobes = [to_iobes(tags) for tags in predicted]
    report = entity_report(gold_iobes, predicted_iobes, mode="strict", scheme="IOBES")
    assert_agrees_with_seqeval(gold_iobes, predicted_iobes, report, mode="strict", scheme=seqeval_schemes.IOBES)


@settings(max_examples=60, deadline=None)
@given(sentences_of(IOB_TAGS))
def test_valid_iob2_spans_are_entity_spans_in_both_modes(pair):
    gold = [to_iob2(tags) for tags in pair[0]]
    expected = [entity_spans(tags) for tags in gold]
    assert _entities(gold, "conlleval", "IOB2") == expected
    assert _entities(gold, "strict", "IOB2") == expected


@settings(max_examples=60, deadline=None)
@given(sentences_of(IOB_TAGS), st.sampled_from(["conlleval", "strict"]))
def test_confusion_categories_add_up(pair, mode):
    gold, predicted = pair
    if mode == "strict":
        gold = [to_iob2(tags) for tags in gold]
    errors = entity_type_confusion(gold, predicted, mode=mode)
    report = entity_report(gold, predicted, mode=mode)
    for kind in errors["types"]:
        assert (errors["correct"][kind] + errors["type_errors"][kind] + errors["boundary_errors"][kind]
                + errors["missed"][kind]) == errors["gold"][kind]
        assert errors["correct"][kind] == errors["confusion"][kind][kind]
        assert errors["type_errors"][kind] == sum(errors["confusion"][kind].values()) - errors["correct"][kind]
        column = sum(errors["confusion"][g][kind] for g in errors["types"])
        assert column + errors["predicted_boundary_errors"][kind] + errors["spurious"][kind] == \
            errors["predicted"][kind]
    totals = errors["totals"]
    assert totals["gold"] == report["counts"]["gold_entities"]
    assert totals["predicted"] == report["counts"]["predicted_entities"]
    assert totals["correct"] == report["counts"]["correct_entities"]


# --- Limits: perfect, empty predictions ----------------------------------------------------------


@pytest.mark.parametrize("mode", ["conlleval", "strict"])
def test_perfect_prediction_scores_one_everywhere(mode):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = entity_report(GOLD, GOLD, mode=mode)
    assert report["precision"] == report["recall"] == report["f1"] == report["macro_f1"] == 1.0
    assert report["token_accuracy"] == 1.0
    assert all(row["precision"] == row["recall"] == row["f1"] == 1.0 for row in report["per_type"].values())
    assert sorted(report["per_type"]) == ["LOC", "MISC", "ORG", "PER"]


def test_no_predicted_entities_gives_zero_precision_without_warnings():
    predicted = [["O"] * len(tags) for tags in GOLD]
    # seqeval's default zero_division="warn" warns here; the report passes zero_division=0 (conlleval's 0).
    with pytest.warns(UserWarning):  # sklearn's UndefinedMetricWarning is a UserWarning
        precision_score(GOLD, predicted)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = entity_report(GOLD, predicted)
        errors = entity_type_confusion(GOLD, predicted)
        text = format_entity_report(report)
    assert report["precision"] == report["recall"] == report["f1"] == report["macro_f1"] == 0.0
    assert report["counts"]["predicted_entities"] == 0
    assert all(row["precision"] == 0.0 and row["predicted"] == 0 for row in report["per_type"].values())
    assert report["token_accuracy"] == 0.5  # 9 of the 18 gold tags are O
    assert errors["totals"]["missed"] == 6
    assert "0.00" in text


def test_no_entities_at_all_scores_zero_without_warnings():
    tags = [["O", "O"], ["O"]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = entity_report(tags, tags)
        errors = entity_type_confusion(tags, tags)
        format_entity_report(report)
    assert (report["precision"], report["recall"], report["f1"], report["macro_f1"]) == (0.0, 0.0, 0.0, 0.0)
    assert report["per_type"] == {} and report["token_accuracy"] == 1.0
    assert errors["types"] == [] and errors["totals"]["gold"] == 0


# --- Error categories -------------------------------------------------------------------------------


def test_confusion_counts_on_a_hand_example():
    errors = entity_type_confusion(GOLD, PREDICTED)
    assert errors["types"] == ["LOC", "MISC", "ORG", "PER"]
    assert errors["gold"] == {"LOC": 2, "MISC": 1, "ORG": 1, "PER": 2}
    assert errors["predicted"] == {"LOC": 3, "MISC": 0, "ORG": 2, "PER": 2}
    assert errors["correct"] == {"LOC": 1, "MISC": 0, "ORG": 1, "PER": 1}
    assert errors["confusion"]["PER"] == {"LOC": 0, "MISC": 0, "ORG": 1, "PER": 1}
    assert errors["type_errors"] == {"LOC": 0, "MISC": 0, "ORG": 0, "PER": 1}
    assert errors["boundary_errors"] == {"LOC": 1, "MISC": 0, "ORG": 0, "PER": 0}
    assert errors["missed"] == {"LOC": 0, "MISC": 1, "ORG": 0, "PER": 0}
    assert errors["predicted_boundary_errors"] == {"LOC": 1, "MISC": 0, "ORG": 0, "PER": 0}
    assert errors["spurious"] == {"LOC": 1, "MISC": 0, "ORG": 0, "PER": 1}
    totals = errors["totals"]
    assert totals["gold"] == 6
    assert totals["correct"] + totals["type_errors"] + totals["boundary_errors"] + totals["missed"] == 6
    # CoNLL: FP = predicted - correct; FN = gold - correct
    assert totals["type_errors"] + totals["predicted_boundary_errors"] + totals["spurious"] == 7 - 3
    assert totals["type_errors"] + totals["boundary_errors"] + totals["missed"] == 6 - 3


def test_boundary_error_of_another_type_is_a_boundary_error():
    errors = entity_type_confusion([["B-PER", "I-PER", "O"]], [["B-ORG", "I-ORG", "I-ORG"]])
    assert errors["boundary_errors"]["PER"] == 1 and errors["predicted_boundary_errors"]["ORG"] == 1
    assert errors["confusion"]["PER"]["ORG"] == 0


# --- Inputs and errors --------------------------------------------------------------------------------


def test_tagged_sentences_and_bytes_are_accepted():
    gold = [TaggedSentence(["Ann", "sang"], ["B-PER", "O"])]
    report = entity_report(gold, [[b"B-PER", b"O"]])
    assert report["f1"] == 1.0


@pytest.mark.parametrize("gold, predicted, kwargs, message", [
    ([["O"], ["O"]], [["O"]], {}, r"Got 2 gold sentences but 1 predicted"),
    ([["O"], ["O", "O"], ["O"]], [["O"], ["O"], ["O", "B-PER"]], {},
     r"Sentence 1 has 2 gold tags but 1 predicted tags"),
    ([], [], {}, r"No sentences to score"),
    ([[], []], [[], []], {}, r"No tokens to score: all 2 sentences are empty"),
    ([["O"]], [["O"]], {"mode": "lenient"},
     r"Received an invalid value for argument `mode`: 'lenient'. Accepted values: 'conlleval', 'strict'\."),
    ([["O"]], [["O"]], {"scheme": "BILOU"},
     r"Received an invalid value for argument `scheme`: 'BILOU'. Accepted values: 'IOB1', 'IOB2', 'IOBES'\."),
    ([["O"]], [["O"]], {"scheme": "IOB1", "mode": "strict"},
     r"argument `scheme`: 'IOB1'. Accepted values: 'IOB2', 'IOBES'\."),
    ([["O", "B-PER"]], [["O", "X-PER"]], {},
     r"Sentence 0, token 1, predicted tags: Tag 'X-PER' is not an IOB2 tag"),
    ([["S-PER"]], [["O"]], {}, r"Sentence 0, token 0, gold tags: Tag 'S-PER' is not an IOB2 tag"),
    ([["O"], ["O", "I-PER"]], [["O"], ["O", "O"]], {"mode": "strict"},
     r"Sentence 1, token 1, gold tags: tag 'I-PER' follows 'O'.*use mode='conlleval'"),
    (["B-PER", "O"], ["B-PER", "O"], {}, r"Gold sentence 0 is a string"),
    ([[1, 0]], [[1, 0]], {}, r"Gold sentence 0 holds the int 1; tags are strings"),
])
def test_errors_are_named(gold, predicted, kwargs, message):
    with pytest.raises(ValueError, match=message):
        entity_report(gold, predicted, **kwargs)
    with pytest.raises(ValueError, match=message):
        entity_type_confusion(gold, predicted, **kwargs)


# --- Text table ---------------------------------------------------------------------------------------


def test_format_entity_report_lists_each_type_and_the_overall_f1():
    report = entity_report(GOLD, PREDICTED)
    text = format_entity_report(report)
    lines = text.splitlines()
    for kind in ("LOC", "MISC", "ORG", "PER"):
        assert any(line.split()[0] == kind for line in lines if line.strip())
    overall = next(line for line in lines if line.startswith("micro (CoNLL)"))
    assert overall.split()[2:5] == ["42.86", "50.00", "46.15"]  # 3/7, 1/2, 6/13 in percent
    assert next(line for line in lines if line.startswith("LOC")).split()[1:] == ["33.33", "50.00", "40.00", "2", "3"]
    assert "macro" in text and f"{100 * (0.4 + 2 / 3 + 0.5) / 4:.2f}" in text
    assert "token accuracy      72.22" in text
    assert len({len(line) for line in lines[1:1 + len(report["per_type"])]}) == 1  # fixed width
    assert "46.154" in format_entity_report(report, digits=3)  # 6/13 rounded
