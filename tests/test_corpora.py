import gzip
import tarfile
from unittest import mock

import pytest
import tensorflow_datasets as tfds

from conftest import synthetic_reviews, write_folder, write_table
from keras_rnn.data import corpora
from keras_rnn.data.corpora import carve_validation, load_text_classification, read_classification_split


def examples(dataset):
    return [(text.decode("utf-8"), int(label)) for text, label in dataset.as_numpy_iterator()]


ROWS = synthetic_reviews(60, seed=1)


def test_folder_layout_reads_every_file_with_folder_labels(tmp_path):
    root = write_folder(tmp_path / "corpus", ROWS)
    dataset, names = read_classification_split(root)
    assert names == ["negative", "positive"]
    assert sorted(examples(dataset)) == sorted((t, names.index(lab)) for t, lab in ROWS)


def test_folder_with_split_subfolders_and_unlabelled_folder(tmp_path):
    root = tmp_path / "aclImdb"
    write_folder(root, ROWS, split="train")
    write_folder(root, ROWS[:10], split="test")
    (root / "train" / "unsup").mkdir()
    (root / "train" / "unsup" / "0_0.txt").write_text("no label")
    train, names = read_classification_split(str(root), "train")
    test, _ = read_classification_split(str(root), "test")
    assert names == ["negative", "positive"]
    assert (len(examples(train)), len(examples(test))) == (60, 10)


def test_archive_is_extracted_once_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_RNN_CACHE", str(tmp_path / "cache"))
    root = tmp_path / "src" / "aclImdb"
    write_folder(root, ROWS, split="train")
    archive = tmp_path / "imdb.tar.xz"
    with tarfile.open(archive, "w:xz") as tar:
        tar.add(root, arcname="aclImdb")
    dataset, names = read_classification_split(str(archive))
    assert names == ["negative", "positive"] and len(examples(dataset)) == 60
    extracted = list((tmp_path / "cache" / "extracted").iterdir())
    read_classification_split(str(archive))
    assert list((tmp_path / "cache" / "extracted").iterdir()) == extracted


def test_table_columns_labels_and_gzip(tmp_path):
    path = tmp_path / "sst.tsv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write('sentence\tlabel\nit \'s "fine"\t1\nno good\t0\n')
    dataset, names = read_classification_split(str(path), class_names=["negative", "positive"])
    assert names == ["negative", "positive"]
    assert examples(dataset) == [('it \'s "fine"', 1), ("no good", 0)]


def test_csv_with_named_columns_and_inferred_classes(tmp_path):
    path = write_table(tmp_path / "r.csv", [("x, quoted", "b"), ("y", "a")], header=("body", "tag"), delimiter=",")
    dataset, names = read_classification_split(path, text_column="body", label_column="tag")
    assert names == ["a", "b"] and examples(dataset) == [("x, quoted", 1), ("y", 0)]


def test_validation_corpus_and_carved_split(tmp_path):
    train = write_table(tmp_path / "train.tsv", ROWS)
    dev = write_table(tmp_path / "dev.tsv", ROWS[:7])
    data = load_text_classification(train, validation_corpus=dev)
    assert len(examples(data.validation)) == 7 and len(examples(data.train)) == 60
    carved = load_text_classification(train, validation_fraction=0.25, seed=3)
    again = load_text_classification(train, validation_fraction=0.25, seed=3)
    tr, va = examples(carved.train), examples(carved.validation)
    assert examples(again.validation) == va  # seeded: the same split every time
    assert len(tr) + len(va) == 60 and 5 <= len(va) <= 25


def test_carve_validation_fraction_and_disjointness():
    import tensorflow as tf

    dataset = tf.data.Dataset.range(5000)
    train, validation = carve_validation(dataset, 0.2, seed=7)
    train, validation = list(train.as_numpy_iterator()), list(validation.as_numpy_iterator())
    assert sorted(train + validation) == list(range(5000))
    assert 900 < len(validation) < 1100
    _, other_seed = carve_validation(dataset, 0.2, seed=8)
    assert list(other_seed.as_numpy_iterator()) != validation


def test_tfds_imdb_with_mock_data():
    with tfds.testing.mock_data(num_examples=40):
        data = load_text_classification("imdb_reviews", validation_fraction=0.25)
        train, validation = examples(data.train), examples(data.validation)
    assert data.class_names == ["neg", "pos"]
    assert len(train) + len(validation) == 40 and validation
    assert all(label in (0, 1) for _, label in train)


def test_tfds_arguments_pass_through():
    with tfds.testing.mock_data(num_examples=8):
        real_load = tfds.load
        with mock.patch.object(tfds, "load", wraps=real_load) as load:
            load_text_classification("imdb_reviews", split="train[:50%]", data_dir="/tmp/tfds_here",
                                     download_and_prepare_kwargs={"download_dir": "/tmp/dl"})
    kwargs = load.call_args.kwargs
    assert (load.call_args.args[0], kwargs["split"], kwargs["data_dir"]) == ("imdb_reviews", "train[:50%]", "/tmp/tfds_here")
    assert kwargs["download_and_prepare_kwargs"] == {"download_dir": "/tmp/dl"}


def test_tfds_uses_the_builders_validation_split_when_it_has_one():
    with tfds.testing.mock_data(num_examples=12), \
            mock.patch.object(corpora, "tfds_splits", return_value={"train", "validation", "test"}):
        data = load_text_classification("glue/sst2")
        assert (len(examples(data.train)), len(examples(data.validation))) == (12, 12)  # nothing carved
    assert data.class_names == ["negative", "positive"]


def test_tfds_feature_errors():
    with tfds.testing.mock_data(num_examples=4):
        with pytest.raises(ValueError, match="no text feature 'body'; its features are: text, label"):
            read_classification_split("imdb_reviews", text_column="body")


def test_unknown_tfds_name():
    with pytest.raises(ValueError, match="Unknown corpus 'no_such_corpus'.*Accepted sources: a TFDS"):
        read_classification_split("no_such_corpus")


def test_missing_path():
    with pytest.raises(FileNotFoundError, match="'./missing/folder' does not exist"):
        read_classification_split("./missing/folder")


def test_missing_column(tmp_path):
    path = write_table(tmp_path / "r.tsv", ROWS[:3], header=("review", "stars"))
    with pytest.raises(ValueError, match="no label column 'label'; its columns are: review, stars"):
        read_classification_split(path)


def test_label_outside_the_class_list(tmp_path):
    path = write_table(tmp_path / "r.tsv", [("a", "positive"), ("b", "meh")])
    with pytest.raises(ValueError, match=r"Label 'meh' at .*r.tsv:3 is not one of the classes \['negative', 'positive'\]"):
        read_classification_split(path, class_names=["negative", "positive"])


def test_folder_missing_requested_class(tmp_path):
    root = write_folder(tmp_path / "c", ROWS)
    with pytest.raises(ValueError, match=r"requested classes \['negative', 'neutral'\], found class folders"):
        read_classification_split(root, class_names=["negative", "neutral"])
