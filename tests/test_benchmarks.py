"""Benchmark helpers: the reference runs benchmarks print the project's figures beside, and their flags."""

import pytest
import tensorflow as tf

from conftest import load_benchmark


class _Split:
    def __init__(self, train, validation):
        self.train, self.validation = train, validation


def test_keras_io_recipe_counts_only_the_review_tokens_inside_its_200_id_window():
    recipe = load_benchmark("sentiment_imdb").keras_io_recipe
    words = [f"w{i}" for i in range(300)]
    texts = [" ".join(words[:3]), " ".join(words[:250])] * 4  # 3 tokens and 250 (cut to 200)
    labels = [0, 1] * 4
    dataset = tf.data.Dataset.from_tensor_slices((texts, labels))
    figures = recipe(_Split(dataset, dataset.take(2)), epochs=1, verbose=0)
    assert figures["epochs"] == 1
    assert figures["train_padding_fraction"] == round(1 - (3 + 200) / 400, 4)
    assert figures["train_tokens_per_epoch"] == 4 * (3 + 200)
    assert 0.0 <= figures["val_accuracy"] <= 1.0


def test_set_flags_are_json_values_or_strings_and_a_bad_one_is_named():
    parse = load_benchmark("flags").parse_settings
    assert parse(["batch_size=64", "copy=false", "precision=mixed_bfloat16", "dropout=0.1"]) == {
        "batch_size": 64, "copy": False, "precision": "mixed_bfloat16", "dropout": 0.1}
    with pytest.raises(ValueError, match="'batch_size'.*FIELD=VALUE"):
        parse(["batch_size"])


def test_the_language_model_corpus_is_written_once_and_never_replaced_by_other_texts(tmp_path):
    write = load_benchmark("sentiment_pretrained").write_language_model_corpus
    texts = [f"review {i}\nwith a second line" for i in range(40)]
    folder = write(texts, str(tmp_path / "lm_corpus"), 0.1, seed=3)
    train = (tmp_path / "lm_corpus" / "train.txt").read_text(encoding="utf-8").splitlines()
    validation = (tmp_path / "lm_corpus" / "validation.txt").read_text(encoding="utf-8").splitlines()
    assert len(train) == 36 and len(validation) == 4 and "review 0 with a second line" in train + validation
    assert not set(train) & set(validation)
    assert write(texts, folder, 0.1, seed=3) == folder  # a resumed run: the same texts again
    with pytest.raises(ValueError, match="holds a language-model corpus of other texts"):
        write(texts + ["one more review"], folder, 0.1, seed=3)
    assert (tmp_path / "lm_corpus" / "train.txt").read_text(encoding="utf-8").splitlines() == train
