import gzip
from unittest import mock

import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from keras_rnn.data import parallel
from keras_rnn.data.parallel import load_parallel, read_parallel_split


def pairs(dataset):
    return [(s.decode(), t.decode()) for s, t in dataset.as_numpy_iterator()]


def write_lines(path, lines, compress=False):
    opener = gzip.open if compress else open
    with opener(path, "wt", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in lines))


def test_anki_tsv_english_first_extra_columns_ignored_either_direction(tmp_path):
    path = tmp_path / "spa-eng.tsv.gz"
    write_lines(path, ["Go.\tVe.\tCC-BY 2.0 (France) Attribution", "Hi.\tHola.", "", "Run!\t¡Corre!"], compress=True)
    dataset, source, target = read_parallel_split(str(path), source="es", target="en")
    assert (source, target) == ("es", "en")
    assert pairs(dataset) == [("Ve.", "Go."), ("Hola.", "Hi."), ("¡Corre!", "Run!")]
    dataset, _, _ = read_parallel_split(str(path), source="en", target="es")
    assert pairs(dataset)[0] == ("Go.", "Ve.")


def test_tsv_needs_languages_and_two_columns(tmp_path):
    path = tmp_path / "pairs.tsv"
    write_lines(path, ["a\tb"])
    with pytest.raises(ValueError, match="--tsv-columns"):
        read_parallel_split(str(path))
    dataset, source, target = read_parallel_split(str(path), tsv_columns=["fr", "de"])
    assert (source, target, pairs(dataset)) == ("fr", "de", [("a", "b")])
    with pytest.raises(ValueError, match="'it' is not in"):
        read_parallel_split(str(path), source="it", target="de", tsv_columns=["fr", "de"])
    write_lines(path, ["only one column"])
    with pytest.raises(ValueError, match="pair 1 has 1 tab-separated column"):
        read_parallel_split(str(path), source="es", target="en")


def test_line_aligned_folder_with_gzip_and_its_validation_split(tmp_path):
    write_lines(tmp_path / "train.de.gz", ["Ein Hund.", "Zwei Katzen."], compress=True)
    write_lines(tmp_path / "train.en.gz", ["A dog.", "Two cats."], compress=True)
    write_lines(tmp_path / "val.de", ["Ein Mann."])
    write_lines(tmp_path / "val.en", ["A man."])
    data = load_parallel(str(tmp_path), source="de", target="en")
    assert pairs(data.train) == [("Ein Hund.", "A dog."), ("Zwei Katzen.", "Two cats.")]
    assert pairs(data.validation) == [("Ein Mann.", "A man.")]
    reverse = load_parallel(str(tmp_path), source="en", target="de")
    assert pairs(reverse.validation) == [("A man.", "Ein Mann.")]


def test_folder_errors_name_the_files(tmp_path):
    write_lines(tmp_path / "train.de", ["a", "b"])
    write_lines(tmp_path / "train.en", ["a"])
    with pytest.raises(ValueError, match="has 2 lines but .*train.en has 1"):
        read_parallel_split(str(tmp_path), source="de", target="en")
    with pytest.raises(ValueError, match="no files for split 'test'"):
        read_parallel_split(str(tmp_path), "test", source="de", target="en")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_parallel_split(str(tmp_path / "missing.tsv"))


def test_validation_is_carved_when_the_corpus_has_none(tmp_path):
    path = tmp_path / "pairs.tsv"
    write_lines(path, [f"e{i}\tf{i}" for i in range(400)])
    data = load_parallel(str(path), source="fr", target="en", tsv_columns=["en", "fr"], validation_fraction=0.25, seed=1)
    train, validation = pairs(data.train), pairs(data.validation)
    assert len(train) + len(validation) == 400 and not set(train) & set(validation)
    assert 60 < len(validation) < 140
    again = load_parallel(str(path), source="fr", target="en", tsv_columns=["en", "fr"], validation_fraction=0.25, seed=1)
    assert pairs(again.validation) == validation


def test_tfds_translation_builder_direction_and_validation_split():
    with tfds.testing.mock_data(num_examples=6), \
            mock.patch.object(parallel, "tfds_splits", return_value={"train", "validation", "test"}):
        data = load_parallel("ted_hrlr_translate/pt_to_en")
        assert (data.source_language, data.target_language) == ("pt", "en")
        source, target = next(iter(data.train))
        assert source.dtype == tf.string and target.dtype == tf.string
        assert len(list(data.validation)) == 6  # the builder's own validation split
        reverse = load_parallel("ted_hrlr_translate/pt_to_en", source="en", target="pt")
        assert reverse.source_language == "en"
        with pytest.raises(ValueError, match="'de' is not in"):
            load_parallel("ted_hrlr_translate/pt_to_en", source="de", target="en")


def test_tfds_builder_without_known_splits_gets_a_carved_validation():
    with tfds.testing.mock_data(num_examples=40):
        data = load_parallel("ted_hrlr_translate/pt_to_en", validation_fraction=0.25)
        train, validation = pairs(data.train), pairs(data.validation)
    assert len(train) + len(validation) == 40 and validation
