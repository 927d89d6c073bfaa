import gzip
import io
import json
import lzma
import tarfile
from unittest import mock

import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from keras_rnn.data import summarization
from keras_rnn.data.summarization import SummarizationData, load_summarization, read_summarization_split


def pairs(dataset):
    return [(d.decode(), s.decode()) for d, s in dataset.as_numpy_iterator()]


def write_bytes(path, data: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def write_lines(path, lines, opener=open):
    with opener(path, "wt", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in lines))


# Files in the AESLC layout: train files end right after the subject line; dev files carry references.
AESLC_FILES = {
    "train/b_inbox_2.subject": "Can we move the call to 3pm?\nThanks,\n\n@subject\nCall time",
    "train/a_sent_10.subject": "Please review the attached contract.\n\n@subject\nContract review\n",
    "dev/c_inbox_1.subject": (
        "The gas report for May is attached.\n\n@subject\nMay gas report\n\n"
        "@ann0\ngas report\n\n@ann1\nMay report\n\n@ann2\nreport for May"
    ),
    "dev/d_inbox_7.subject": "Lunch on Friday?\n\n@subject\nlunch\n",  # a dev file without references
}
AESLC_TRAIN = [
    ("Please review the attached contract.\n", "Contract review\n"),  # file name order: a_ before b_
    ("Can we move the call to 3pm?\nThanks,\n", "Call time"),
]
AESLC_DEV = [("The gas report for May is attached.\n", "May gas report\n"), ("Lunch on Friday?\n", "lunch\n")]
AESLC_DEV_REFERENCES = [["gas report\n", "May report\n", "report for May"], []]


def make_aeslc_folder(root, files=AESLC_FILES):
    for name, text in files.items():
        write_bytes(root / "enron_subject_line" / name, text.encode())
    return root


def make_aeslc_archive(path, files=AESLC_FILES, extra=None):
    with tarfile.open(path, "w:xz") as archive:
        members = {"README.md": "# AESLC", **{f"enron_subject_line/{n}": t for n, t in files.items()}, **(extra or {})}
        for name, text in members.items():
            data = text.encode() if isinstance(text, str) else text
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return str(path)


def tfds_parse_email_file():
    """TFDS's own AESLC parser, to check that local files give the examples TFDS gives."""
    module = pytest.importorskip("tensorflow_datasets.datasets.aeslc.aeslc_dataset_builder")
    return module._parse_email_file


# --- AESLC ------------------------------------------------------------------------------------------


def test_aeslc_folder_gives_train_dev_pairs_in_file_name_order_and_dev_references(tmp_path):
    for corpus in (tmp_path, tmp_path / "enron_subject_line"):  # the root above it or the folder itself
        make_aeslc_folder(tmp_path)
        data = load_summarization(str(corpus))
        assert isinstance(data, SummarizationData)
        assert pairs(data.train) == AESLC_TRAIN
        assert pairs(data.validation) == AESLC_DEV
        assert data.validation_references == AESLC_DEV_REFERENCES
    train, references = read_summarization_split(str(tmp_path), "train")
    assert pairs(train) == AESLC_TRAIN and references is None
    for alias in ("dev", "validation", "valid", "val"):
        dev, references = read_summarization_split(str(tmp_path), alias)
        assert pairs(dev) == AESLC_DEV and references == AESLC_DEV_REFERENCES


def test_aeslc_archive_is_read_in_place_and_equals_the_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_RNN_CACHE", str(tmp_path / "cache"))
    # A macOS resource fork beside a real file is not an email (TFDS would fail on it).
    archive = make_aeslc_archive(tmp_path / "aeslc_train_dev.tar.xz", extra={
        "enron_subject_line/train/._a_sent_10.subject": b"\x00\x05\x16\x07binary",
        "enron_subject_line/train/notes.txt": "not an email",
    })
    data = load_summarization(archive)
    assert pairs(data.train) == AESLC_TRAIN
    assert pairs(data.validation) == AESLC_DEV
    assert data.validation_references == AESLC_DEV_REFERENCES
    assert not (tmp_path / "cache").exists()  # nothing extracted to disk
    dev, references = read_summarization_split(archive, "validation")
    assert pairs(dev) == AESLC_DEV and references == AESLC_DEV_REFERENCES
    with pytest.raises(ValueError, match=r"no split 'test'; its splits are: dev, train"):
        read_summarization_split(archive, "test")


def test_aeslc_test_split_and_a_validation_corpus_carry_references(tmp_path):
    files = {**AESLC_FILES, "test/e_1.subject": "Budget is due.\n\n@subject\nbudget\n\n@ann0\nbudget due\n"}
    make_aeslc_folder(tmp_path / "aeslc", files)
    test, references = read_summarization_split(str(tmp_path / "aeslc"), "test")
    assert pairs(test) == [("Budget is due.\n", "budget\n")] and references == [["budget due\n"]]
    tsv = tmp_path / "train.tsv"
    write_lines(tsv, ["a long document\ta summary"])
    data = load_summarization(str(tsv), validation_corpus=str(tmp_path / "aeslc"))
    assert pairs(data.train) == [("a long document", "a summary")]
    assert pairs(data.validation) == AESLC_DEV and data.validation_references == AESLC_DEV_REFERENCES


# Edge cases of TFDS's parsing rules, each with what TFDS makes of it.
AESLC_EDGE_CASES = {
    # Windows and old-Mac line ends read as "\n" (text mode), so "\r\n" alone is the separator.
    "crlf": (b"Hello,\r\nsee below.\r\n\r\n@subject\r\nHello\r\n", ("Hello,\nsee below.\n", "Hello\n")),
    "cr": (b"One\rTwo\r\r@subject\rSubj", ("One\nTwo\n", "Subj")),
    # Only an exactly empty line ends a block: spaces make it part of the body.
    "spaces": (b"Para one\n   \nPara two\n\n@subject\nS\n", ("Para one\n   \nPara two\n", "S\n")),
    # The subject runs to the next empty line, several lines joined with their newlines.
    "multiline": (b"Body\n\n@subject\nfirst\nsecond\n\n@ann0\nref\n", ("Body\n", "first\nsecond\n")),
    # The line after the empty line is skipped whatever it says, so an empty line inside the body
    # ends the body there and the next paragraph's second line becomes the "subject".
    "paragraphs": (b"Hi all,\n\nThe plan:\nstep one\n\n@subject\nPlan\n", ("Hi all,\n", "step one\n")),
    # Unicode line separators are not line ends in a text file; nothing is stripped, BOM included.
    "unicode": (
        "\ufeffCaf\u00e9 \u2028menu\n\n@subject\n  Men\u00fc  \n".encode(),
        ("\ufeffCaf\u00e9 \u2028menu\n", "  Men\u00fc  \n"),
    ),
    # Nothing after "@subject": an empty subject.
    "no_subject": (b"Only a body\n\n@subject\n", ("Only a body\n", "")),
}


def test_aeslc_parsing_edge_cases_give_what_tfds_gives(tmp_path):
    parse_email_file = tfds_parse_email_file()
    files = {f"train/{name}.subject": data for name, (data, _) in AESLC_EDGE_CASES.items()}
    folder = tmp_path / "enron_subject_line"
    for name, data in files.items():
        write_bytes(folder / name, data)
    dataset, _ = read_summarization_split(str(tmp_path), "train")
    ours = pairs(dataset)
    names = sorted(AESLC_EDGE_CASES)
    assert ours == [AESLC_EDGE_CASES[name][1] for name in names]
    assert ours == [parse_email_file(str(folder / "train" / f"{name}.subject")) for name in names]
    # The archive reader decodes bytes itself; it must agree with the folder reader.
    archive = make_aeslc_archive(tmp_path / "edge.tar.xz", files={n: d for n, d in files.items()})
    assert pairs(read_summarization_split(archive)[0]) == ours


def test_aeslc_references_skip_extra_empty_lines_and_other_blocks(tmp_path):
    text = "Body\n\n@subject\nS\n\n\n@ann0\nfirst\nreference\n\n@note\nnot a reference\n\n@ann1\nsecond\n"
    make_aeslc_folder(tmp_path, {"train/a.subject": "x\n\n@subject\ny\n", "dev/a.subject": text})
    data = load_summarization(str(tmp_path))
    assert pairs(data.validation) == [("Body\n", "S\n")]
    assert data.validation_references == [["first\nreference\n", "second\n"]]


@pytest.mark.parametrize("text, message", [
    ("A body with no empty line\n@subject\nS\n", "no empty line after the email body"),
    ("A body\n\n", "ends after the email body"),
])
def test_malformed_aeslc_files_raise_naming_the_file(tmp_path, text, message):
    make_aeslc_folder(tmp_path, {"train/bad_1.subject": text})
    with pytest.raises(ValueError, match=f"bad_1.subject .*{message}"):
        read_summarization_split(str(tmp_path))


def test_aeslc_without_dev_gets_a_seeded_carved_validation_without_references(tmp_path):
    files = {f"train/m_{i:03d}.subject": f"body {i}\n\n@subject\nsubject {i}" for i in range(200)}
    make_aeslc_folder(tmp_path, files)
    data = load_summarization(str(tmp_path), validation_fraction=0.2, seed=3)
    train, validation = pairs(data.train), pairs(data.validation)
    assert data.validation_references is None
    assert sorted(train + validation) == sorted((f"body {i}\n", f"subject {i}") for i in range(200))
    assert 20 < len(validation) < 60
    assert pairs(load_summarization(str(tmp_path), validation_fraction=0.2, seed=3).validation) == validation
    assert pairs(load_summarization(str(tmp_path), validation_fraction=0.2, seed=4).validation) != validation
    with pytest.raises(ValueError, match="`validation_fraction`: 0"):
        load_summarization(str(tmp_path), validation_fraction=0)


def test_training_on_the_validation_split_carves_instead_of_reusing_it(tmp_path):
    make_aeslc_folder(tmp_path)
    data = load_summarization(str(tmp_path), split="dev", validation_fraction=0.5, seed=0)
    assert sorted(pairs(data.train) + pairs(data.validation)) == sorted(AESLC_DEV)
    assert data.validation_references is None


# --- Gigaword ---------------------------------------------------------------------------------------


def test_gigaword_folder_with_gzip_filtered_validation_stripped_lines_and_unk(tmp_path):
    write_lines(tmp_path / "train.article.txt.gz", ["  sri lanka 's <unk> rose #.# percent  ", "b article"], gzip.open)
    write_lines(tmp_path / "train.title.txt.gz", ["sri lanka <unk> up", "b title"], gzip.open)
    write_lines(tmp_path / "valid.article.filter.txt", ["v article"])
    write_lines(tmp_path / "valid.title.filter.txt", ["v title"])
    write_lines(tmp_path / "valid.article.txt", ["unfiltered article", "x"])  # the filtered files win
    write_lines(tmp_path / "valid.title.txt", ["unfiltered title", "y"])
    data = load_summarization(str(tmp_path))
    assert pairs(data.train) == [("sri lanka 's UNK rose #.# percent", "sri lanka UNK up"), ("b article", "b title")]
    assert pairs(data.validation) == [("v article", "v title")]
    assert data.validation_references is None
    dev, references = read_summarization_split(str(tmp_path), "dev")  # a validation alias
    assert pairs(dev) == [("v article", "v title")] and references is None


def test_gigaword_src_tgt_spelling_of_tfds_org_data(tmp_path):
    write_lines(tmp_path / "train.src.txt", ["doc one", "doc two"])
    write_lines(tmp_path / "train.tgt.txt", ["sum one", "sum two"])
    write_lines(tmp_path / "dev.src.txt", ["dev doc"])
    write_lines(tmp_path / "dev.tgt.txt", ["dev sum"])
    data = load_summarization(str(tmp_path))
    assert pairs(data.train) == [("doc one", "sum one"), ("doc two", "sum two")]
    assert pairs(data.validation) == [("dev doc", "dev sum")]


def test_gigaword_errors_name_the_files_and_their_line_counts(tmp_path):
    write_lines(tmp_path / "train.article.txt", ["a", "b", "c"])
    write_lines(tmp_path / "train.title.txt", ["a"])
    write_lines(tmp_path / "test.article.txt", ["a"])
    with pytest.raises(ValueError, match=r"train.article.txt has 3 lines but .*train.title.txt has 1"):
        read_summarization_split(str(tmp_path))
    with pytest.raises(ValueError, match=r"needs both test.article.txt\[.gz\] and test.title.txt"):
        read_summarization_split(str(tmp_path), "test")
    with pytest.raises(ValueError, match=r"no split 'valid'; its splits are: test, train"):
        read_summarization_split(str(tmp_path), "valid")


# --- TSV and JSONL ----------------------------------------------------------------------------------


def test_tsv_pairs_gzip_optional_header_and_named_columns(tmp_path):
    path = tmp_path / "pairs.tsv.gz"
    write_lines(path, ["document\tsummary", 'he said "fine" \'twice\'\tfine', "", "second doc\tsecond"], gzip.open)
    dataset, references = read_summarization_split(str(path))
    assert pairs(dataset) == [('he said "fine" \'twice\'', "fine"), ("second doc", "second")]
    assert references is None
    named = tmp_path / "named.tsv"
    write_lines(named, ["id\theadline\tbody", "1\tH1\tB1", "2\tH2\tB2"])
    dataset, _ = read_summarization_split(str(named), document_feature="body", summary_feature="headline")
    assert pairs(dataset) == [("B1", "H1"), ("B2", "H2")]
    with pytest.raises(ValueError, match=r"no summary column 'title' in its header row; the header is \['id'"):
        read_summarization_split(str(named), document_feature="body", summary_feature="title")


def test_tsv_rows_must_have_two_columns(tmp_path):
    path = tmp_path / "bad.tsv"
    write_lines(path, ["doc\tsum", "a document without its summary"])
    with pytest.raises(ValueError, match=r"line 2 has 1 tab-separated column\(s\)"):
        read_summarization_split(str(path))
    write_lines(path, ["doc\twith\ttabs"])
    with pytest.raises(ValueError, match=r"line 1 has 3 tab-separated column\(s\)"):
        read_summarization_split(str(path))


@pytest.mark.parametrize("suffix, opener", [(".jsonl", open), (".jsonl.gz", gzip.open), (".jsonl.xz", lzma.open)])
def test_jsonl_default_keys_and_compression(tmp_path, suffix, opener):
    path = tmp_path / f"pairs{suffix}"
    records = [{"document": "Doc\twith a tab.", "summary": "Sum", "id": 1}, {"document": "Zwei", "summary": "zwei"}]
    write_lines(path, [json.dumps(r, ensure_ascii=False) for r in records] + [""], opener)
    dataset, references = read_summarization_split(str(path))
    assert pairs(dataset) == [("Doc\twith a tab.", "Sum"), ("Zwei", "zwei")] and references is None


def test_jsonl_other_keys_sentence_lists_and_errors(tmp_path):
    path = tmp_path / "cnndm.jsonl"
    write_lines(path, [json.dumps({"article": "A text.", "highlights": ["one .", "two ."]})])
    dataset, _ = read_summarization_split(str(path), document_feature="article", summary_feature="highlights")
    assert pairs(dataset) == [("A text.", "one .\ntwo .")]
    with pytest.raises(ValueError, match=r"line 1 has no document key 'document'; its keys are \['article', 'high"):
        read_summarization_split(str(path))
    write_lines(path, [json.dumps({"document": "d", "summary": 3})])
    with pytest.raises(ValueError, match="line 1: 'summary' is int; expected a string or a list"):
        read_summarization_split(str(path))
    write_lines(path, ['{"document": "d", "summary": "s"}', "{not json"])
    with pytest.raises(ValueError, match="line 2 is not JSON"):
        read_summarization_split(str(path))
    write_lines(path, [])
    with pytest.raises(ValueError, match="holds no"):
        read_summarization_split(str(path))


def test_single_file_gets_a_carved_validation_or_a_validation_corpus(tmp_path):
    path = tmp_path / "train.jsonl"
    write_lines(path, [json.dumps({"document": f"d{i}", "summary": f"s{i}"}) for i in range(100)])
    data = load_summarization(str(path), validation_fraction=0.3, seed=1)
    train, validation = pairs(data.train), pairs(data.validation)
    assert sorted(train + validation) == sorted((f"d{i}", f"s{i}") for i in range(100)) and validation
    dev = tmp_path / "dev.tsv"
    write_lines(dev, ["dev doc\tdev sum"])
    data = load_summarization(str(path), validation_corpus=str(dev))
    assert len(pairs(data.train)) == 100 and pairs(data.validation) == [("dev doc", "dev sum")]


# --- Errors naming the value and what is accepted ----------------------------------------------------


def test_unknown_sources_raise_naming_what_is_accepted(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.jsonl' does not exist. Accepted sources: a TFDS"):
        load_summarization(str(tmp_path / "missing.jsonl"))
    (tmp_path / "pairs.csv").write_text("document,summary\n")
    with pytest.raises(ValueError, match="Unsupported summarization corpus file .*pairs.csv"):
        load_summarization(str(tmp_path / "pairs.csv"))
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match=r"neither an AESLC folder .* it holds \['notes.txt'\]"):
        load_summarization(str(tmp_path / "other"))
    with pytest.raises(ValueError, match="Unknown corpus 'no_such_summaries'.* Accepted sources: a TFDS summarization"):
        load_summarization("no_such_summaries")
    empty_archive = make_aeslc_archive(tmp_path / "empty.tar.xz", files={})
    with pytest.raises(ValueError, match="holds no AESLC files"):
        load_summarization(empty_archive)


# --- TFDS -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(summarization.TFDS_SUMMARIZATION_FEATURES))
def test_tfds_builders_read_their_default_document_and_summary_features(name):
    document, summary = summarization.TFDS_SUMMARIZATION_FEATURES[name]
    with tfds.testing.mock_data(num_examples=4):
        expected = [(ex[document].decode(), ex[summary].decode())
                    for ex in tfds.as_numpy(tfds.load(name, split="train"))]
        dataset, references = read_summarization_split(name)
        ours = pairs(dataset)
    assert ours == expected and references is None
    assert dataset.element_spec == (tf.TensorSpec([], tf.string), tf.TensorSpec([], tf.string))


def test_tfds_aeslc_uses_the_builder_validation_split():
    with tfds.testing.mock_data(num_examples=5), \
            mock.patch.object(summarization, "tfds_splits", return_value={"train", "validation", "test"}):
        data = load_summarization("aeslc")
        expected = [(ex["email_body"].decode(), ex["subject_line"].decode())
                    for ex in tfds.as_numpy(tfds.load("aeslc", split="validation"))]
        assert pairs(data.validation) == expected and len(pairs(data.train)) == 5
        assert data.validation_references is None


def test_tfds_builder_without_known_splits_gets_a_carved_validation():
    with tfds.testing.mock_data(num_examples=40):
        data = load_summarization("gigaword", validation_fraction=0.25)
        train, validation = pairs(data.train), pairs(data.validation)
    assert len(train) + len(validation) == 40 and validation and train


def test_other_tfds_builders_need_named_features():
    with tfds.testing.mock_data(num_examples=3):
        with pytest.raises(ValueError, match="'big_patent' is not one of the known .* are: description, abstract"):
            read_summarization_split("big_patent")
        dataset, _ = read_summarization_split("big_patent", document_feature="description", summary_feature="abstract")
        assert len(pairs(dataset)) == 3
        with pytest.raises(ValueError, match="no summary feature 'headline'; its features are: article, highlights"):
            read_summarization_split("cnn_dailymail", summary_feature="headline")
        with pytest.raises(ValueError, match="'label' of 'imdb_reviews' is not text"):
            read_summarization_split("imdb_reviews", document_feature="text", summary_feature="label")
