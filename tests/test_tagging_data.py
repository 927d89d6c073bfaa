"""The token-tagging data layer: CoNLL and JSON-lines readers, tag schemes, corpora, TFDS `conll2003`.

Every corpus here is synthetic, written to `tmp_path`; the real CoNLL-2003 files are read only by the
`data`-marked test at the end (skipped without them).
"""

from __future__ import annotations

import gzip
import json
import os
import re

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from keras_rnn.data.tagging import (
    ACCEPTED_TAGGING_SOURCES,
    TaggedSentence,
    carve_sentences,
    check_tags,
    convert_tags,
    detect_scheme,
    entity_spans,
    from_iobes,
    load_tagging_corpus,
    pad_sentences,
    read_conll,
    read_jsonl,
    read_tfds_tagging,
    split_sentence,
    tag_vocabulary,
    tagging_dataset,
    to_iob1,
    to_iob2,
    to_iobes,
)

# Line numbers:  1 docstart, 2 blank, 3-5 sentence, 6-7 blank, 8-9 sentence, 10 blank, 11 docstart,
# 12 blank, 13-16 sentence (no final newline).
CONLL = """-DOCSTART- -X- -X- O

Ann NNP B-NP B-PER
visits VBZ B-VP O
New-York NNP B-NP B-LOC


U.S. NNP B-NP B-ORG
( ( O O

-DOCSTART- -X- -X- O

Bob NNP B-NP B-PER
Lee NNP I-NP I-PER
of IN B-PP O
Acme NNP B-NP B-ORG"""


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


def conll_sentences(sentences):
    """CoNLL text, two columns, of [(tokens, tags), ...]."""
    return "\n\n".join("\n".join(f"{t} {g}" for t, g in zip(tokens, tags)) for tokens, tags in sentences) + "\n"


def write_jsonl(path, records):
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return str(path)


# --- CoNLL ------------------------------------------------------------------------------------------


def test_read_conll_documents_blank_lines_and_a_last_sentence_without_final_newline(tmp_path):
    split = read_conll(write(tmp_path / "train.txt", CONLL))
    assert [(s.tokens, s.tags, s.line) for s in split.sentences] == [
        (["Ann", "visits", "New-York"], ["B-PER", "O", "B-LOC"], 3),
        (["U.S.", "("], ["B-ORG", "O"], 8),
        (["Bob", "Lee", "of", "Acme"], ["B-PER", "I-PER", "O", "B-ORG"], 13),
    ]
    assert (len(split.sentences), split.num_tokens, split.documents, split.scheme) == (3, 9, 2, "IOB2")
    assert (split.long_dropped, split.long_split, split.empty) == (0, 0, 0)
    assert split.sentences[0].where.endswith("train.txt:3")
    assert split.describe().endswith("train.txt: 3 sentences, 9 tokens, 2 documents, read as IOB2")


def test_read_conll_gzip_reads_like_the_plain_file(tmp_path):
    path = tmp_path / "train.txt.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write(CONLL)
    plain = read_conll(write(tmp_path / "train.txt", CONLL))
    zipped = read_conll(str(path))
    assert [(s.tokens, s.tags, s.line) for s in zipped.sentences] == [(s.tokens, s.tags, s.line)
                                                                      for s in plain.sentences]
    assert zipped.documents == 2


def test_read_conll_columns_and_a_file_without_docstart(tmp_path):
    path = write(tmp_path / "train.txt", CONLL)
    chunks = read_conll(path, tag_column=2)  # the chunk column is IOB2 too
    assert chunks.sentences[2].tags == ["B-NP", "I-NP", "B-PP", "B-NP"]
    pos_as_tokens = read_conll(path, token_column=1)
    assert pos_as_tokens.sentences[0].tokens == ["NNP", "VBZ", "NNP"]
    bare = read_conll(write(tmp_path / "bare.conll", "a\tO\nb\tB-X\n"))
    assert (bare.documents, [s.tags for s in bare.sentences]) == (1, [["O", "B-X"]])


def test_a_line_with_another_column_count_names_file_line_and_counts(tmp_path):
    path = write(tmp_path / "bad.txt", "-DOCSTART- O\n\nAnn NNP B-NP B-PER\nvisits VBZ O\n")
    with pytest.raises(ValueError, match=r"bad\.txt:4: expected 4 columns \(as on line 3\), found 3: "
                                         r"'visits VBZ O'"):
        read_conll(path)


@pytest.mark.parametrize("options, message", [
    (dict(tag_column=4), r"cols\.txt:3: unknown tag column 4: its lines have 4 columns, so tag_column must be "
                         r"in -4\.\.3"),
    (dict(tag_column=-5), r"cols\.txt:3: unknown tag column -5"),
    (dict(token_column=7), r"cols\.txt:3: unknown token column 7"),
    (dict(token_column=3), r"token_column 3 and tag_column -1 are the same column of .*cols\.txt"),
    (dict(tag_column="ner"), r"argument `tag_column`: 'ner'\. Expected an integer"),
])
def test_column_out_of_range(tmp_path, options, message):
    path = write(tmp_path / "cols.txt", CONLL)
    with pytest.raises(ValueError, match=message):
        read_conll(path, **options)


@pytest.mark.parametrize("tag, scheme, message", [
    ("X-PER", "IOB2", r"bad\.txt:4: tag 'X-PER' is not an IOB2 tag; accepted: 'O', or B- or I- followed by an "
                      r"entity type \(e\.g\. 'B-PER'\)\."),
    ("B-", "IOB2", r"bad\.txt:4: tag 'B-' is not an IOB2 tag; accepted: 'O', or B- or I-"),
    ("PER", "IOB1", r"bad\.txt:4: tag 'PER' is not an IOB1 tag"),
    ("S-PER", "IOB2", r"bad\.txt:4: tag 'S-PER' is not an IOB2 tag; .*\(E- and S- are IOBES prefixes: pass "
                      r"scheme='IOBES' or 'auto'\)"),
    ("X-PER", "IOBES", r"bad\.txt:4: tag 'X-PER' is not an IOBES tag; accepted: 'O', or B-, I-, E- or S- followed"),
    ("o", "auto", r"bad\.txt:4: tag 'o' is not an IOB2 tag"),
])
def test_a_tag_outside_the_scheme_names_file_line_tag_and_what_is_accepted(tmp_path, tag, scheme, message):
    path = write(tmp_path / "bad.txt", f"-DOCSTART- O\n\nAnn O\nBob {tag}\n")
    with pytest.raises(ValueError, match=message):
        read_conll(path, scheme=scheme)


def test_iob1_tags_in_an_iob2_file_are_refused_with_a_hint_and_read_as_iob1_or_auto(tmp_path):
    iob1 = [(["Ann", "met", "Bob", "Lee", "Cy"], ["I-PER", "O", "I-PER", "I-PER", "B-PER"]),
            (["in", "Rome"], ["O", "I-LOC"])]
    path = write(tmp_path / "iob1.txt", conll_sentences(iob1))
    with pytest.raises(ValueError, match=r"iob1\.txt:1: tag 'I-PER' follows the sentence start: in IOB2 an entity "
                                         r"starts with B-PER .*pass scheme='IOB1' or 'auto'"):
        read_conll(path)
    expected = [["B-PER", "O", "B-PER", "I-PER", "B-PER"], ["O", "B-LOC"]]
    for scheme in ("IOB1", "auto"):
        split = read_conll(path, scheme=scheme)
        assert [s.tags for s in split.sentences] == expected and split.scheme == "IOB1"
    iob2_then_iob1 = [(iob1[0][0], expected[0]), iob1[1]]  # lines 1-5, blank, 7-8
    with pytest.raises(ValueError, match=r"iob1\.txt:8: tag 'I-LOC' follows 'O'"):
        read_conll(write(tmp_path / "iob1.txt", conll_sentences(iob2_then_iob1)))


def test_iobes_files_are_checked_and_converted_to_iob2(tmp_path):
    sentences = [(["Ann", "Lee", "saw", "Rome"], ["B-PER", "E-PER", "O", "S-LOC"])]
    split = read_conll(write(tmp_path / "iobes.txt", conll_sentences(sentences)), scheme="auto")
    assert split.scheme == "IOBES" and split.sentences[0].tags == ["B-PER", "I-PER", "O", "B-LOC"]
    bad = [(["Ann", "Lee", "saw"], ["B-PER", "O", "O"])]
    with pytest.raises(ValueError, match=r"iobes\.txt:2: tag 'O' follows 'B-PER': in IOBES 'B-PER' must be followed "
                                         r"by I-PER or E-PER"):
        read_conll(write(tmp_path / "iobes.txt", conll_sentences(bad)), scheme="IOBES")
    with pytest.raises(ValueError, match=r"iobes\.txt:2: the sentence ends on 'I-PER'"):
        read_conll(write(tmp_path / "iobes.txt", "Ann B-PER\nLee I-PER\n"), scheme="IOBES")


def test_sentences_over_max_length_raise_or_are_dropped_or_split_with_a_count(tmp_path):
    sentences = [(list("abcde"), ["O", "B-PER", "I-PER", "O", "O"]), (["x"], ["O"])]
    path = write(tmp_path / "long.txt", conll_sentences(sentences))
    with pytest.raises(ValueError, match=r"long\.txt:1: a sentence of 5 tokens is longer than max_length=3; pass "
                                         r"long_sentences='split' .* or 'drop'"):
        read_conll(path, max_length=3)
    dropped = read_conll(path, max_length=3, long_sentences="drop")
    assert [s.tokens for s in dropped.sentences] == [["x"]] and dropped.long_dropped == 1
    assert "1 long sentences dropped" in dropped.describe()
    cut = read_conll(path, max_length=2, long_sentences="split")
    assert [(s.tokens, s.tags, s.line) for s in cut.sentences] == [
        (["a"], ["O"], 1), (["b", "c"], ["B-PER", "I-PER"], 2), (["d", "e"], ["O", "O"], 4), (["x"], ["O"], 7)]
    assert (cut.long_split, cut.num_tokens) == (1, 6)
    with pytest.raises(ValueError, match=r"long_sentences.*'cut'"):
        read_conll(path, max_length=2, long_sentences="cut")
    with pytest.raises(ValueError, match=r"max_length.*Expected a positive integer"):
        read_conll(path, max_length=0)


def test_split_sentence_cuts_inside_an_entity_longer_than_max_length_and_restarts_it_with_b():
    sentence = TaggedSentence(list("abcd"), ["B-ORG", "I-ORG", "I-ORG", "O"], "x.jsonl", 3)
    pieces = split_sentence(sentence, 2, per_line=False)
    assert [(p.tags, p.line) for p in pieces] == [(["B-ORG", "I-ORG"], 3), (["B-ORG", "O"], 3)]


# --- JSON lines -------------------------------------------------------------------------------------


def test_read_jsonl_tags_ner_tags_docstart_blank_and_empty_lines(tmp_path):
    path = write_jsonl(tmp_path / "ner.jsonl", [
        {"tokens": ["-DOCSTART-"], "ner_tags": ["O"]},
        {"tokens": ["Ann", "sings"], "tags": ["B-PER", "O"]},
        "",
        {"tokens": ["in", "New York"], "ner_tags": ["O", "B-LOC"]},
        {"tokens": [], "tags": []},
    ])
    split = read_jsonl(path)
    assert [(s.tokens, s.tags, s.line) for s in split.sentences] == [
        (["Ann", "sings"], ["B-PER", "O"], 2), (["in", "New York"], ["O", "B-LOC"], 4)]
    assert (split.documents, split.empty) == (1, 1)
    ids = write_jsonl(tmp_path / "ids.jsonl", [{"tokens": ["Ann", "Lee"], "ner_tags": [1, 2]}])
    assert read_jsonl(ids, tag_names=["O", "B-PER", "I-PER"]).sentences[0].tags == ["B-PER", "I-PER"]
    zipped = tmp_path / "ner.jsonl.gz"
    zipped.write_bytes(gzip.compress((tmp_path / "ner.jsonl").read_bytes()))
    assert [s.tokens for s in read_jsonl(str(zipped)).sentences] == [s.tokens for s in split.sentences]


@pytest.mark.parametrize("line, message", [
    ('{"tokens": ["a"], "tags": ["O"]', r"bad\.jsonl:2: not valid JSON \(Expecting ',' delimiter, column \d+\)"),
    ('{"tokens": ["a", "b"], "tags": ["O"]}', r"bad\.jsonl:2: 2 tokens but 1 tags \('tags'\)"),
    ('{"words": ["a"], "tags": ["O"]}', r"bad\.jsonl:2: expected an object with a 'tokens' list and a 'tags' \(or "
                                        r"'ner_tags'\) list; got keys \['tags', 'words'\]"),
    ('[["a"], ["O"]]', r"bad\.jsonl:2: expected an object .*got list"),
    ('{"tokens": "a b", "tags": ["O", "O"]}', r"bad\.jsonl:2: 'tokens' must be a list of strings"),
    ('{"tokens": ["a"], "ner_tags": [3]}', r"bad\.jsonl:2: 'ner_tags' holds integer tag ids; pass tag_names"),
    ('{"tokens": ["a"], "tags": ["I-PER"]}', r"bad\.jsonl:2 \(token 1\): tag 'I-PER' follows the sentence start"),
])
def test_jsonl_errors_name_file_and_line(tmp_path, line, message):
    path = write_jsonl(tmp_path / "bad.jsonl", [{"tokens": ["ok"], "tags": ["O"]}, line])
    with pytest.raises(ValueError, match=message):
        read_jsonl(path)


# --- Schemes ----------------------------------------------------------------------------------------


def test_conversions_on_a_known_sequence():
    iob1 = ["I-PER", "I-PER", "B-PER", "O", "I-LOC", "I-ORG", "I-ORG"]
    iob2 = ["B-PER", "I-PER", "B-PER", "O", "B-LOC", "B-ORG", "I-ORG"]
    iobes = ["B-PER", "E-PER", "S-PER", "O", "S-LOC", "B-ORG", "E-ORG"]
    assert to_iob2(iob1) == iob2 and to_iob1(iob2) == iob1
    assert to_iobes(iob2) == to_iobes(iob1) == iobes and from_iobes(iobes) == iob2
    assert convert_tags(iobes, "IOBES", "IOB1") == iob1
    assert detect_scheme([iob1]) == "IOB1" and detect_scheme([iob2]) == "IOB2" and detect_scheme([iobes]) == "IOBES"
    assert entity_spans(iob1) == entity_spans(iob2) == [("PER", 0, 2), ("PER", 2, 3), ("LOC", 4, 5), ("ORG", 5, 7)]
    with pytest.raises(ValueError, match=r"Tag 'E-PER' is not an IOB1 tag"):
        to_iob2(["B-PER", "E-PER"])


TAGS = st.lists(st.sampled_from(["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]), max_size=12)


@settings(max_examples=150, deadline=None)
@given(TAGS)
def test_any_iob1_sequence_converts_to_valid_iob2_and_iobes_that_round_trip(tags):
    iob2 = to_iob2(tags)
    check_tags(iob2, "IOB2")
    assert to_iob2(iob2) == iob2  # IOB2 is left as it is
    assert to_iob2(to_iob1(iob2)) == iob2
    iobes = to_iobes(tags)
    check_tags(iobes, "IOBES")
    assert from_iobes(iobes) == iob2 and to_iobes(from_iobes(iobes)) == iobes
    assert entity_spans(tags) == entity_spans(iob2) == entity_spans(from_iobes(iobes))
    assert detect_scheme([iob2]) == "IOB2"


@settings(max_examples=100, deadline=None)
@given(TAGS)
def test_check_tags_accepts_exactly_the_sequences_to_iob2_leaves_alone(tags):
    try:
        check_tags(tags, "IOB2")
        valid = True
    except ValueError:
        valid = False
    assert valid == (to_iob2(tags) == tags)


# --- Corpora ----------------------------------------------------------------------------------------


def many_sentences(n):
    return [([f"w{i}", "x"], ["B-PER" if i % 2 else "B-LOC", "O"]) for i in range(n)]


def test_the_carve_is_seeded_disjoint_and_in_corpus_order(tmp_path):
    path = write(tmp_path / "all.conll", conll_sentences(many_sentences(40)))
    first = load_tagging_corpus(path, validation_fraction=0.25, seed=7)
    again = load_tagging_corpus(path, validation_fraction=0.25, seed=7)
    other = load_tagging_corpus(path, validation_fraction=0.25, seed=8)
    names = lambda sentences: [s.tokens[0] for s in sentences]  # noqa: E731
    assert (len(first.train), len(first.validation)) == (30, 10)
    assert names(first.validation) == names(again.validation) and names(first.train) == names(again.train)
    assert names(first.validation) != names(other.validation)
    assert not set(names(first.train)) & set(names(first.validation))
    assert sorted(names(first.train) + names(first.validation)) == sorted(f"w{i}" for i in range(40))
    assert names(first.validation) == sorted(names(first.validation), key=lambda w: int(w[1:]))
    assert first.validation_source == "carved: 0.25 of the sentences, seed 7"
    assert first.tags == ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
    with pytest.raises(ValueError, match=r"from 1 sentence\(s\)"):
        carve_sentences([TaggedSentence(["a"], ["O"])], 0.5, seed=0)


@pytest.mark.parametrize("validation_name", ["valid.txt", "validation.txt", "dev.txt"])
def test_a_folder_of_split_files_uses_its_validation_file_and_never_reads_test(tmp_path, validation_name):
    write(tmp_path / "train.txt", CONLL)
    write(tmp_path / validation_name, "-DOCSTART- -X- -X- O\n\nParis NNP B-NP S-LOC\n")
    write(tmp_path / "test.txt", "this line is not CoNLL at all B-\n")
    corpus = load_tagging_corpus(str(tmp_path))
    assert [s.tokens for s in corpus.validation] == [["Paris"]] and corpus.validation[0].tags == ["B-LOC"]
    assert len(corpus.train) == 3 and corpus.validation_source == f"corpus split {validation_name[:-4]}"
    assert [read.scheme for read in corpus.reads] == ["IOB2", "IOBES"]
    assert corpus.entity_types == ["LOC", "ORG", "PER"]
    with pytest.raises(ValueError, match=r"tag 'S-LOC' is not an IOB2 tag"):
        load_tagging_corpus(str(tmp_path), scheme="IOB2")


def test_validation_corpus_and_the_errors_for_unknown_sources(tmp_path):
    train = write(tmp_path / "train.conll", CONLL)
    dev = write_jsonl(tmp_path / "dev.jsonl", [{"tokens": ["Kim"], "tags": ["B-PER"]}])
    corpus = load_tagging_corpus(train, validation_corpus=dev)
    assert [s.tokens for s in corpus.validation] == [["Kim"]] and len(corpus.train) == 3
    assert corpus.validation_source == f"validation corpus {dev}"
    accepted = re.escape(ACCEPTED_TAGGING_SOURCES)
    with pytest.raises(FileNotFoundError, match=r"Tagging corpus .*missing\.txt' does not exist\. Accepted sources: "
                                                + accepted):
        load_tagging_corpus(str(tmp_path / "missing.txt"))
    with pytest.raises(ValueError, match=r"Unsupported tagging corpus file .*table\.csv'\. Accepted sources: "
                                         + accepted):
        load_tagging_corpus(write(tmp_path / "table.csv", "a,b\n"))
    (tmp_path / "lonely").mkdir()
    write(tmp_path / "lonely" / "train.txt", CONLL)
    with pytest.raises(ValueError, match=r"Folder .*lonely' holds no train file with a validation file beside it "
                                         r"\(found: \['train\.txt'\]\)"):
        load_tagging_corpus(str(tmp_path / "lonely"))
    with pytest.raises(ValueError, match=r"Unknown corpus 'no_such_tagging_corpus'.*Accepted sources: " + accepted):
        load_tagging_corpus("no_such_tagging_corpus")
    with pytest.raises(ValueError, match=r"argument `scheme`: 'BIO'"):
        load_tagging_corpus(train, scheme="BIO")


def test_vocabulary_padded_batches_and_a_dataset_a_keras_lookup_maps_over():
    sentences = [TaggedSentence(["Ann", "Lee", "sings"], ["B-PER", "I-PER", "O"]),
                 TaggedSentence(["in", "Rome"], ["O", "B-LOC"])]
    vocabulary = tag_vocabulary(sentences)
    assert vocabulary == ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
    assert tag_vocabulary(sentences, scheme="IOBES")[:5] == ["O", "B-LOC", "I-LOC", "E-LOC", "S-LOC"]
    batch = pad_sentences(sentences, vocabulary, length=4)
    assert batch["tag_ids"].tolist() == [[3, 4, 0, 0], [0, 1, 0, 0]]
    assert batch["mask"].sum(axis=1).tolist() == [3, 2] and batch["tokens"][1].tolist() == ["in", "Rome", "", ""]
    with pytest.raises(ValueError, match=r"<memory>:0: a sentence of 3 tokens does not fit length=2"):
        pad_sentences(sentences, vocabulary, length=2)
    with pytest.raises(ValueError, match=r"tag 'B-LOC' is not in the tag vocabulary"):
        pad_sentences(sentences, ["O", "B-PER", "I-PER"])
    lookup = keras.layers.StringLookup(vocabulary=vocabulary[1:], oov_token="O", num_oov_indices=1)
    dataset = tagging_dataset(sentences).map(lambda e: (e["tokens"], lookup(e["tags"]))).ragged_batch(2)
    tokens, ids = next(iter(dataset))
    assert ids.to_list() == [[3, 4, 0], [0, 1]] and tokens.to_list()[1] == [b"in", b"Rome"]
    assert int(tagging_dataset([]).cardinality()) == 0


# --- TFDS -------------------------------------------------------------------------------------------

NER_NAMES = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]


def test_tfds_conll2003_through_mock_data_trains_on_train_and_validates_on_dev():
    """The real loading code (`load_tfds`, the builder's ClassLabel names) on mocked examples: one
    sentence a split, told apart by its token; `dev` is the validation split, `test` is never read."""
    import tensorflow_datasets as tfds

    splits_read = []

    def as_dataset(self, split, **kwargs):
        splits_read.append(str(split))
        ids = {"train": [1, 2, 0, 5], "dev": [0, 3, 4, 0]}.get(str(split), [6, 6, 6, 6])  # IOB1 in test
        example = {"tokens": np.array([str(split), "b", "c", "d"], dtype=object), "ner": np.array(ids, np.int64),
                   "pos": np.zeros(4, np.int64), "chunks": np.zeros(4, np.int64)}
        return tf.data.Dataset.from_tensors(example).repeat(2)

    with tfds.testing.mock_data(as_dataset_fn=as_dataset):
        corpus = load_tagging_corpus("conll2003", max_length=3, long_sentences="split")
    assert splits_read == ["train", "dev"]
    assert corpus.validation_source == "corpus split dev"
    assert [read.long_split for read in corpus.reads] == [2, 2] and len(corpus.train) == 4
    with tfds.testing.mock_data(as_dataset_fn=as_dataset):
        corpus = load_tagging_corpus("conll2003")
    assert [(s.tokens, s.tags, s.where) for s in corpus.train] == [
        (["train", "b", "c", "d"], ["B-PER", "I-PER", "O", "B-LOC"], f"tfds:conll2003/train:{i}") for i in (1, 2)]
    assert corpus.validation[0].tags == ["O", "B-ORG", "I-ORG", "O"] and len(corpus.validation) == 2
    assert corpus.tags == ["O", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-PER", "I-PER"]
    assert corpus.reads[0].documents is None and "tfds:conll2003/train: 2 sentences" in corpus.describe()
    with tfds.testing.mock_data(as_dataset_fn=as_dataset):
        test = read_tfds_tagging("conll2003", "test", scheme="auto")
        assert test.scheme == "IOB1" and test.sentences[0].tags == ["B-LOC", "I-LOC", "I-LOC", "I-LOC"]
        with pytest.raises(ValueError, match=r"tfds:conll2003/test:1 \(token 1\): tag 'I-LOC' follows the sentence "
                                             r"start: in IOB2"):
            read_tfds_tagging("conll2003", "test", scheme="IOB2")


def test_tfds_conll2003_random_mock_examples_are_reported_not_misread():
    """TFDS's random mock examples give tokens and tags different lengths: an error naming the example."""
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=3):
        with pytest.raises(ValueError, match=r"tfds:conll2003/train:\d+: \d+ tokens but \d+ tags \('ner'\)"):
            load_tagging_corpus("conll2003")


# --- The real CoNLL-2003 copy -----------------------------------------------------------------------

DATA = os.environ.get("KERAS_RNN_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))


@pytest.mark.data
def test_real_conll2003_files_have_the_published_sizes_and_valid_iob2_tags():
    folder = os.path.join(DATA, "conll2003")
    if not os.path.exists(os.path.join(folder, "train.txt")):
        pytest.skip(f"{folder} not present")
    corpus = load_tagging_corpus(folder, scheme="IOB2")  # scheme="IOB2": every sequence is checked as IOB2
    assert (len(corpus.train), len(corpus.validation)) == (14041, 3250)
    assert corpus.entity_types == ["LOC", "MISC", "ORG", "PER"] and len(corpus.tags) == 9
    assert [read.scheme for read in corpus.reads] == ["IOB2", "IOB2"]
    assert [read.documents for read in corpus.reads] == [946, 216]
    assert all(to_iob2(s.tags) == s.tags for s in corpus.train + corpus.validation)
    assert corpus.train[0].tokens == ["EU", "rejects", "German", "call", "to", "boycott", "British", "lamb", "."]
