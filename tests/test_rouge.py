"""ROUGE through rouge-score (`keras_rnn.metrics.rouge`) and `keras-rnn evaluate` on files (no model)."""

import json

import pytest

from keras_rnn.cli import build_parser, main
from keras_rnn.metrics import bleu_and_chrf, rouge, rouge_f1_per_example


# --- the metric, on examples worked out by hand (F1 = 2·overlap / (hypothesis count + reference count)) ---

def test_stemming_makes_inflected_words_match():
    # Porter stems words longer than 3 characters: cats → cat, running → run, runs → run ("cat" is kept).
    assert rouge(["cats running"], ["cat runs"]) == {"rouge1": 100.0, "rouge2": 100.0, "rougeL": 100.0}
    assert rouge(["cats running"], ["cat runs"], use_stemmer=False) == {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}


def test_partial_overlap_with_and_without_stemming():
    hypothesis, reference = "The quick brown foxes jumped!", "a quick brown fox jumps over the dog"
    # stemmed: [the quick brown fox jump] vs [a quick brown fox jump over the dog]
    # unigrams: 5 shared of 5 / 8 → 2·5/13; bigrams: quick-brown, brown-fox, fox-jump of 4 / 7 → 2·3/11;
    # LCS: quick brown fox jump (4) → 2·4/13. Case and punctuation are dropped by the tokenizer.
    assert rouge([hypothesis], [reference]) == {"rouge1": 76.92, "rouge2": 54.55, "rougeL": 61.54}
    # unstemmed: the, quick, brown shared → 2·3/13; only quick-brown → 2·1/11
    assert rouge([hypothesis], [reference], rouge_types=["rouge1", "rouge2"], use_stemmer=False) == {
        "rouge1": 46.15, "rouge2": 18.18}


def test_mean_over_examples_of_f1():
    # example 1: 100; example 2: "the cat" vs "the dog" → rouge1 2·1/4 = 50, rouge2 0 → means 75 and 50
    assert rouge(["cats running", "the cat"], ["cat runs", "the dog"], rouge_types=["rouge1", "rouge2"]) == {
        "rouge1": 75.0, "rouge2": 50.0}


def test_best_reference_is_picked():
    one = rouge(["the cat sat"], ["a dog ran"])
    best = rouge(["the cat sat"], [["a dog ran", "the cat sat down"]])
    assert one == {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}
    # "the cat sat down": unigrams 3 of 3 / 4 → 6/7; bigrams 2 of 2 / 3 → 4/5; LCS 3 → 6/7
    assert best == {"rouge1": 85.71, "rouge2": 80.0, "rougeL": 85.71}
    assert rouge(["the cat sat"], [["the cat sat down", "a dog ran"]]) == best  # order does not matter


def test_best_reference_is_chosen_per_rouge_type():
    # "d c b a" has every unigram (rouge1 100) but no bigram; "a b x y z w" has 2 unigrams (2·2/10 = 40) and
    # a-b (2·1/8 = 25) and the LCS "a b" (40). Each type keeps its own best reference.
    assert rouge(["a b c d"], ["d c b a"]) == {"rouge1": 100.0, "rouge2": 0.0, "rougeL": 25.0}
    assert rouge(["a b c d"], ["a b x y z w"]) == {"rouge1": 40.0, "rouge2": 25.0, "rougeL": 40.0}
    assert rouge(["a b c d"], [["d c b a", "a b x y z w"]]) == {"rouge1": 100.0, "rouge2": 25.0, "rougeL": 40.0}


def test_rouge_lsum_scores_sentences_rouge_l_the_whole_text():
    # rougeL: LCS of [a b c d] and [c d a b] is 2 → 50; rougeLsum: each reference sentence finds itself → 100
    hypothesis, reference = ["a b", "c d"], ["c d", "a b"]
    types = ["rouge1", "rougeL", "rougeLsum"]
    expected = {"rouge1": 100.0, "rougeL": 50.0, "rougeLsum": 100.0}
    assert rouge([hypothesis], [reference], rouge_types=types, split_sentences=True) == expected
    assert rouge(["a b\nc d"], ["c d\na b"], rouge_types=types) == expected  # newline-separated strings
    # on one line the sentences are not seen: rougeLsum falls back to rougeL
    assert rouge(["a b c d"], ["c d a b"], rouge_types=types) == {"rouge1": 100.0, "rougeL": 50.0, "rougeLsum": 50.0}
    # several references, each a list of sentences
    assert rouge([hypothesis], [[["x y"], reference]], rouge_types=types, split_sentences=True) == expected


def test_per_example_scores_are_unrounded_fractions():
    scores = rouge_f1_per_example(["a b c", "x"], ["a b", "y"], rouge_types=["rouge1"])
    assert scores == {"rouge1": [pytest.approx(0.8), 0.0]}


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        ((["a", "b"], ["a"]), {}, "Got 2 hypotheses but 1 references"),
        ((["a"], ["a"]), {"rouge_types": ["rouge1", "rougeX"]}, "Unknown ROUGE type(s) ['rougeX']; accepted: 'rouge1'"),
        ((["a"], ["a"]), {"rouge_types": ["rouge0"]}, "'rougeL', 'rougeLsum'"),
        ((["a"], ["a"]), {"rouge_types": []}, "Unknown ROUGE type"),
        (([], []), {}, "No examples"),
        ((["a"], [[]]), {}, "Example 0 has no reference"),
        (([["a"]], [[]]), {"split_sentences": True}, "Example 0 has no reference"),
        ((["a b"], [["a b"]]), {"split_sentences": True}, "Hypothesis 0 is a string"),
        (([["a b"]], ["a b"]), {}, "Hypothesis 0 is a list"),
        (("abc", ["a", "b", "c"]), {}, "not a string"),
    ],
)
def test_errors(args, kwargs, message):
    with pytest.raises(ValueError) as error:
        rouge(*args, **kwargs)
    assert message in str(error.value)


# --- keras-rnn evaluate --hypotheses FILE --references FILE ... ---

def write(path, lines, end="\n"):
    path.write_text("".join(line + end for line in lines), encoding="utf-8")
    return str(path)


def last_json(capsys):
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_cli_rouge_best_over_reference_files_and_json(tmp_path, capsys):
    hypotheses = write(tmp_path / "hyp.txt", ["the cat sat", "cats running"])
    first = write(tmp_path / "ref1.txt", ["a dog ran", "cat runs"])
    second = write(tmp_path / "ref2.txt", ["the cat sat down", "nothing here"], end="\r\n")  # CRLF is fine
    out = tmp_path / "figures.json"
    assert main(["evaluate", "--hypotheses", hypotheses, "--references", first, second, "--json", str(out)]) == 0
    printed = last_json(capsys)
    # example 1: the second reference (85.71 / 80 / 85.71); example 2: the first (100)
    assert {k: printed[k] for k in ("rouge1", "rouge2", "rougeL")} == {"rouge1": 92.86, "rouge2": 90.0, "rougeL": 92.86}
    assert printed["metric"] == "rouge" and printed["examples"] == 2 and "rougeLsum" not in printed
    assert printed["references"] == [str(tmp_path / "ref1.txt"), str(tmp_path / "ref2.txt")]
    assert json.loads(out.read_text(encoding="utf-8")) == printed
    assert main(["evaluate", "--hypotheses", hypotheses, "--references", first, "--metric", "rouge"]) == 0
    assert last_json(capsys)["rouge1"] == 50.0  # the first reference alone: 0 and 100


def test_cli_rouge_sentence_separator_adds_rouge_lsum(tmp_path, capsys):
    hypotheses = write(tmp_path / "hyp.txt", ["a b<n>c d"])
    references = write(tmp_path / "ref.txt", ["c d <n> a b<n>"])
    assert main(["evaluate", "--hypotheses", hypotheses, "--references", references,
                 "--sentence-separator", "<n>"]) == 0
    figures = last_json(capsys)
    assert (figures["rougeL"], figures["rougeLsum"], figures["sentence_separator"]) == (50.0, 100.0, "<n>")


def test_cli_bleu_uses_every_reference_file(tmp_path, capsys):
    sentences = ["the quick brown fox jumps over the lazy dog", "a man is riding a bicycle down the street"]
    hypotheses = write(tmp_path / "hyp.txt", sentences)
    other = write(tmp_path / "ref1.txt", ["a fast brown fox leaps over a lazy dog", "someone rides a bike in town"])
    same = write(tmp_path / "ref2.txt", sentences)
    assert main(["evaluate", "--hypotheses", hypotheses, "--references", other, "--metric", "bleu"]) == 0
    single = last_json(capsys)
    assert single["bleu"] == bleu_and_chrf(sentences, (tmp_path / "ref1.txt").read_text().splitlines())["bleu"]
    assert 0 < single["bleu"] < 100 and "nrefs:1" in single["bleu_signature"]
    assert main(["evaluate", "--hypotheses", hypotheses, "--references", other, same, "--metric", "bleu"]) == 0
    both = last_json(capsys)
    assert (both["bleu"], both["chrf"], both["metric"]) == (100.0, 100.0, "bleu")
    assert "nrefs:2" in both["bleu_signature"] and "rouge1" not in both


def test_cli_line_count_mismatch_names_the_files_and_counts(tmp_path, capsys):
    hypotheses = write(tmp_path / "hyp.txt", ["a", "b", "c"])
    good = write(tmp_path / "good.txt", ["a", "b", "c"])
    short = write(tmp_path / "short.txt", ["a", "b"])
    assert main(["evaluate", "--hypotheses", hypotheses, "--references", good, short]) == 2
    err = capsys.readouterr().err
    assert "keras-rnn evaluate: error:" in err and "same number of lines" in err
    assert f"{hypotheses!r} has 3" in err and f"{good!r} has 3" in err and f"{short!r} has 2" in err


def test_cli_file_errors_exit_2(tmp_path, capsys):
    empty = write(tmp_path / "empty.txt", [])
    assert main(["evaluate", "--hypotheses", empty, "--references", empty]) == 2
    assert "is empty" in capsys.readouterr().err
    assert main(["evaluate", "--hypotheses", empty, "--references", str(tmp_path / "missing.txt")]) == 2
    assert "missing.txt" in capsys.readouterr().err
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("café\n".encode("latin-1"))
    assert main(["evaluate", "--hypotheses", str(latin1), "--references", str(latin1)]) == 2
    assert "is not valid UTF-8" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["evaluate"], "give a MODEL folder to evaluate, or --hypotheses"),
        (["evaluate", "--hypotheses", "h.txt"], "--hypotheses needs --references"),
        (["evaluate", "model", "--hypotheses", "h.txt", "--references", "r.txt"], "either MODEL ('model') or"),
        (["evaluate", "model", "--metric", "rouge"], "--metric only go with --hypotheses"),
        (["evaluate", "model", "--references", "r.txt"], "--references only go with --hypotheses"),
        (["evaluate", "--hypotheses", "h", "--references", "r", "--limit", "3"], "--limit only go with a MODEL"),
        (["evaluate", "--hypotheses", "h", "--references", "r", "--metric", "bleu", "--sentence-separator", "<n>"],
         "--sentence-separator only goes with --metric rouge"),
        (["evaluate", "--hypotheses", "h", "--references", "r", "--sentence-separator", ""], "must not be empty"),
        (["evaluate", "--hypotheses", "h", "--references", "r", "--metric", "meteor"], "invalid choice: 'meteor'"),
    ],
)
def test_cli_argument_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "usage: keras-rnn evaluate" in err and message in err


def test_evaluate_model_arguments_are_unchanged():
    args = build_parser().parse_args(["evaluate", "saved_models/x", "--split", "test", "--limit", "5"])
    assert (args.model, args.split, args.limit, args.hypotheses, args.references) == ("saved_models/x", "test", 5,
                                                                                      None, None)
