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
