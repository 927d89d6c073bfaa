"""Readers on the real corpora beside the repo (../shared/data or $KERAS_RNN_DATA); skipped without them."""

import os

import pytest

from keras_rnn.data.corpora import load_text_classification, read_classification_split

DATA = os.environ.get("KERAS_RNN_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
pytestmark = pytest.mark.data


def need(*parts):
    path = os.path.join(DATA, *parts)
    if not os.path.exists(path):
        pytest.skip(f"{path} not present")
    return path


def count(dataset):
    return sum(1 for _ in dataset)


def test_imdb_archive_has_25000_balanced_reviews_and_a_20_percent_validation_split():
    path = need("aclImdb_train.tar.xz")
    dataset, names = read_classification_split(path)
    labels = [int(label) for _, label in dataset.as_numpy_iterator()]
    assert names == ["neg", "pos"] and len(labels) == 25000 and sum(labels) == 12500
    data = load_text_classification(path, validation_fraction=0.2, seed=1337)
    validation = count(data.validation)
    assert 4800 < validation < 5200 and validation + count(data.train) == 25000


def test_sst2_tables():
    train, dev = need("sst2", "train.tsv"), need("sst2", "dev.tsv")
    data = load_text_classification(train, validation_corpus=dev, class_names=["negative", "positive"])
    assert (count(data.train), count(data.validation)) == (67349, 872)


def test_multi30k_folder_reads_29000_training_and_1014_validation_pairs():
    from keras_rnn.data.parallel import load_parallel

    data = load_parallel(need("multi30k"), source="de", target="en")
    assert (count(data.train), count(data.validation)) == (29000, 1014)
    source, target = next(data.validation.as_numpy_iterator())
    assert source.decode().startswith("Eine Gruppe von Männern") and target.decode().startswith("A group of men")


def test_anki_spanish_english_file_reads_every_pair_spanish_to_english():
    from keras_rnn.data.parallel import read_parallel_split

    dataset, source, target = read_parallel_split(need("spa-eng", "spa-eng.train.tsv.gz"), source="es", target="en")
    pairs = list(dataset.as_numpy_iterator())
    assert (source, target, len(pairs)) == ("es", "en", 113964)
    assert pairs[0] == ("Ve.".encode(), b"Go.")


def test_aeslc_archive_gives_14436_train_and_1960_dev_examples_with_three_references_each():
    from keras_rnn.data.parallel import decoded_pairs
    from keras_rnn.data.summarization import load_summarization

    data = load_summarization(need("aeslc_train_dev.tar.xz"))
    train, dev = decoded_pairs(data.train), decoded_pairs(data.validation)
    assert (len(train), len(dev), len(data.validation_references)) == (14436, 1960, 1960)
    assert all(len(references) == 3 for references in data.validation_references)
    # Files in name order; bodies keep their newlines, and dev subjects their final one, as in TFDS.
    assert train[0][0].startswith("Greg/Phillip,  Attached is the Grande Communications Service Agreement.\n")
    assert train[0][1] == "Service Agreement"
    assert dev[0] == (
        "Hi Phillip,  This message is to confirm our meeting with you on, Tuesday, October 30th from 9:00 am - "
        "10:00 am, the location will be EB 3267.\nAttendees will be Monica Brown and Sheri Righi.\nLet me know "
        "if you have any questions.\nI can be reached at 713-345-6687.\nThanks,\n",
        "Confirmation: Risk Management Simulation Meeting 10/30/01\n",
    )
    assert data.validation_references[0] == [
        "meeting confimation - tues, 8/10\n", "meeting confirmation\n", "meeting confirmed",
    ]


def test_aeslc_local_parsing_equals_tfds_parsing_of_the_same_files(tmp_path):
    import glob
    import tarfile

    from keras_rnn.data.summarization import read_summarization_split

    module = pytest.importorskip("tensorflow_datasets.datasets.aeslc.aeslc_dataset_builder")
    archive = need("aeslc_train_dev.tar.xz")
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path, filter="data")
    for split in ("train", "dev"):
        files = sorted(glob.glob(str(tmp_path / "enron_subject_line" / split / "*.subject")))
        theirs = [module._parse_email_file(name) for name in files]
        for corpus in (archive, str(tmp_path)):
            dataset, _ = read_summarization_split(corpus, split)
            ours = [(d.decode(), s.decode()) for d, s in dataset.as_numpy_iterator()]
            assert len(ours) == len(files) and ours == theirs


def test_gigaword_folder_gives_10000_train_and_1000_valid_pairs():
    from keras_rnn.data.parallel import decoded_pairs
    from keras_rnn.data.summarization import load_summarization

    data = load_summarization(need("gigaword"))
    train, valid = decoded_pairs(data.train), decoded_pairs(data.validation)
    assert (len(train), len(valid), data.validation_references) == (10000, 1000, None)
    assert train[0] == (
        "australia 's current account deficit shrunk by a record #.## billion dollars -lrb- #.## billion us -rrb- "
        "in the june quarter due to soaring commodity prices , figures released monday showed .",
        "australian current account deficit narrows sharply",
    )
    assert valid[0][1] == "injury leaves kwan 's olympic hopes in limbo"
    assert valid[0][0].startswith("five-time world champion michelle kwan withdrew from the #### us figure")


def test_cnn_dailymail_rouge_of_pointer_generator_coverage_on_the_first_200_articles():
    """ROUGE of See et al.'s pointer-generator + coverage outputs, first 200 test articles (the full set is
    checked against the published figures by benchmarks/rouge_cnndm.py). Expected: computed once with
    rouge-score 0.1.2 (stemming, sentences joined by newlines for rougeLsum)."""
    import json
    import lzma

    from keras_rnn.metrics import rouge

    path = need("cnn_dailymail_test_see2017", "cnndm_test_see2017.jsonl.xz")
    with lzma.open(path, "rt", encoding="utf-8") as lines:
        rows = [json.loads(line) for _, line in zip(range(200), lines)]
    assert [row["id"] for row in rows] == list(range(200))
    scores = rouge([row["pointer_gen_cov"] for row in rows], [row["highlights"] for row in rows],
                   rouge_types=("rouge1", "rouge2", "rougeL", "rougeLsum"), split_sentences=True)
    assert scores == {"rouge1": 29.29, "rouge2": 10.72, "rougeL": 20.56, "rougeLsum": 26.58}
