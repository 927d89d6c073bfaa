"""`validation_split`: the seeded random carve (default) and the chronological one, and the loaders passing it on."""

import json
import math

import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from conftest import synthetic_reviews, write_table
from keras_rnn.data.corpora import (
    VALIDATION_SPLITS,
    carve_validation,
    chronological_validation_size,
    load_text_classification,
)
from keras_rnn.data.parallel import load_parallel
from keras_rnn.data.summarization import load_summarization

BAD_VALUE = r"argument `validation_split`: 'time'. Accepted values: 'random', 'chronological'\."


def plain(value):
    return value.decode() if isinstance(value, bytes) else int(value)


def items(dataset):
    """A dataset's examples as Python values: ints, or tuples of strings and ints."""
    return [tuple(map(plain, example)) if isinstance(example, tuple) else plain(example)
            for example in dataset.as_numpy_iterator()]


def chronological(dataset, fraction, seed=0):
    train, validation = carve_validation(dataset, fraction, seed, validation_split="chronological")
    return items(train), items(validation)


def test_the_accepted_values():
    assert VALIDATION_SPLITS == ("random", "chronological")


# --- The carve ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("n, fraction, size", [
    (10, 0.2, 2),
    (10, 0.25, 3),  # 2.5: halves round up
    (50, 0.29, 15),  # 14.5 as written, though 0.29 * 50 is 14.499999999999998 in floating point
    (7, 0.3, 2),  # 2.1
    (7, 0.35, 2),  # 2.45
    (5000, 0.2, 1000),
    (9, 0.05, 1),  # 0.45 would be none: at least one validation example
    (3, 0.9, 2),  # 2.7 would be all three: at least one training example
    (2, 0.5, 1),
])
def test_chronological_validation_is_the_last_rounded_fraction_in_order(n, fraction, size):
    assert chronological_validation_size(n, fraction) == size
    train, validation = chronological(tf.data.Dataset.range(n), fraction)
    assert validation == list(range(n - size, n))
    assert train == list(range(n - size))


@pytest.mark.parametrize("fraction", [0.05, 0.1, 1 / 3, 0.5, 0.99])
def test_chronological_train_and_validation_partition_the_data_in_order(fraction):
    rows = [(f"text {i}", i % 3) for i in range(37)]
    dataset = tf.data.Dataset.from_tensor_slices(([t for t, _ in rows], [label for _, label in rows]))
    train, validation = chronological(dataset, fraction)
    assert train + validation == rows  # nothing lost, nothing twice, corpus order kept
    assert train and validation and not set(train) & set(validation)


def test_chronological_ignores_the_seed_and_is_the_same_every_time():
    dataset = tf.data.Dataset.range(50)
    assert chronological(dataset, 0.2, seed=1) == chronological(dataset, 0.2, seed=2) == chronological(dataset, 0.2)


def test_chronological_counts_a_dataset_of_unknown_size():
    dataset = tf.data.Dataset.range(40).filter(lambda x: x % 2 == 0)  # 20 examples, cardinality unknown
    assert int(dataset.cardinality()) == tf.data.UNKNOWN_CARDINALITY
    train, validation = chronological(dataset, 0.25)
    assert validation == [30, 32, 34, 36, 38] and train == list(range(0, 30, 2))


def test_chronological_size_is_the_random_carves_expected_size():
    n, fraction = 5000, 0.2
    size = chronological_validation_size(n, fraction)
    assert size == round(fraction * n)
    sigma = math.sqrt(n * fraction * (1 - fraction))
    for seed in range(3):
        _, random_validation = carve_validation(tf.data.Dataset.range(n), fraction, seed)
        assert abs(len(items(random_validation)) - size) < 4 * sigma


def test_random_is_the_default_and_unchanged():
    dataset = tf.data.Dataset.range(20)
    default = [items(d) for d in carve_validation(dataset, 0.3, 7)]
    assert [items(d) for d in carve_validation(dataset, 0.3, 7, validation_split="random")] == default
    # The examples the seeded carve picked before `validation_split` existed (existing runs keep them).
    assert default[1] == [1, 2, 8, 13, 14, 16]
    assert default[0] == [i for i in range(20) if i not in default[1]]


def test_bad_values_raise_naming_the_value_and_the_accepted_ones():
    dataset = tf.data.Dataset.range(10)
    with pytest.raises(ValueError, match=BAD_VALUE):
        carve_validation(dataset, 0.2, 0, validation_split="time")
    with pytest.raises(TypeError):
        carve_validation(dataset, 0.2, 0, "chronological")  # keyword only: never taken for another argument
    with pytest.raises(ValueError, match="from 1 example.*at least two"):
        carve_validation(tf.data.Dataset.range(1), 0.2, 0, validation_split="chronological")
    with pytest.raises(ValueError, match="infinite dataset"):
        carve_validation(tf.data.Dataset.range(3).repeat(), 0.2, 0, validation_split="chronological")
    with pytest.raises(ValueError, match="`fraction`: 0"):
        carve_validation(dataset, 0, 0, validation_split="chronological")


# --- The loaders pass it on ---------------------------------------------------------------------------


def test_text_classification_loader(tmp_path):
    rows = synthetic_reviews(40, seed=2)
    path = write_table(tmp_path / "reviews.tsv", rows)
    names = ["negative", "positive"]
    expected = [(text, names.index(label)) for text, label in rows]
    data = load_text_classification(path, validation_fraction=0.25, validation_split="chronological")
    assert items(data.validation) == expected[30:] and items(data.train) == expected[:30]
    default = load_text_classification(path, validation_fraction=0.25, seed=3)
    random = load_text_classification(path, validation_fraction=0.25, seed=3, validation_split="random")
    assert items(random.validation) == items(default.validation) != expected[30:]
    with pytest.raises(ValueError, match=BAD_VALUE):
        load_text_classification(path, validation_split="time")
    # The corpus's own validation split wins: nothing is carved.
    dev = write_table(tmp_path / "dev.tsv", rows[:5])
    data = load_text_classification(path, validation_corpus=dev, validation_split="chronological")
    assert items(data.validation) == expected[:5] and items(data.train) == expected


def test_text_classification_loader_on_tfds():
    with tfds.testing.mock_data(num_examples=20):
        data = load_text_classification("imdb_reviews", validation_fraction=0.25, validation_split="chronological")
        expected = [(ex["text"].decode(), int(ex["label"]))
                    for ex in tfds.as_numpy(tfds.load("imdb_reviews", split="train"))]
        assert items(data.validation) == expected[15:] and items(data.train) == expected[:15]


def test_parallel_loader(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("".join(f"e{i}\tf{i}\n" for i in range(20)))
    kwargs = dict(source="fr", target="en", tsv_columns=["en", "fr"], validation_fraction=0.1)
    expected = [(f"f{i}", f"e{i}") for i in range(20)]
    data = load_parallel(str(path), validation_split="chronological", **kwargs)
    assert items(data.validation) == expected[18:] and items(data.train) == expected[:18]
    default = load_parallel(str(path), seed=5, **kwargs)
    random = load_parallel(str(path), seed=5, validation_split="random", **kwargs)
    assert items(random.validation) == items(default.validation) != expected[18:]
    with pytest.raises(ValueError, match=BAD_VALUE):
        load_parallel(str(path), validation_split="time", **kwargs)
    # A folder with its own validation files: nothing is carved.
    folder = tmp_path / "aligned"
    folder.mkdir()
    (folder / "train.de").write_text("a\nb\nc\n")
    (folder / "train.en").write_text("A\nB\nC\n")
    (folder / "val.de").write_text("v\n")
    (folder / "val.en").write_text("V\n")
    data = load_parallel(str(folder), source="de", target="en", validation_split="chronological")
    assert items(data.train) == [("a", "A"), ("b", "B"), ("c", "C")] and items(data.validation) == [("v", "V")]


def test_parallel_loader_on_tfds():
    with tfds.testing.mock_data(num_examples=20):
        data = load_parallel("ted_hrlr_translate/pt_to_en", validation_fraction=0.25, validation_split="chronological")
        expected = [(ex["pt"].decode(), ex["en"].decode())
                    for ex in tfds.as_numpy(tfds.load("ted_hrlr_translate/pt_to_en", split="train"))]
        assert items(data.validation) == expected[15:] and items(data.train) == expected[:15]


def test_summarization_loader(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps({"document": f"d{i}", "summary": f"s{i}"}) + "\n" for i in range(30)))
    expected = [(f"d{i}", f"s{i}") for i in range(30)]
    data = load_summarization(str(path), validation_fraction=0.2, validation_split="chronological")
    assert items(data.validation) == expected[24:] and items(data.train) == expected[:24]
    assert data.validation_references is None
    default = load_summarization(str(path), validation_fraction=0.2, seed=1)
    random = load_summarization(str(path), validation_fraction=0.2, seed=1, validation_split="random")
    assert items(random.validation) == items(default.validation) != expected[24:]
    with pytest.raises(ValueError, match=BAD_VALUE):
        load_summarization(str(path), validation_split="time")
    dev = tmp_path / "dev.tsv"
    dev.write_text("dev doc\tdev sum\n")
    data = load_summarization(str(path), validation_corpus=str(dev), validation_split="chronological")
    assert items(data.train) == expected and items(data.validation) == [("dev doc", "dev sum")]


def test_summarization_loader_on_tfds():
    with tfds.testing.mock_data(num_examples=20):
        data = load_summarization("gigaword", validation_fraction=0.25, validation_split="chronological")
        expected = [(ex["document"].decode(), ex["summary"].decode())
                    for ex in tfds.as_numpy(tfds.load("gigaword", split="train"))]
        assert items(data.validation) == expected[15:] and items(data.train) == expected[:15]


def test_a_chronological_carve_that_leaves_a_class_out_of_validation_is_refused(tmp_path):
    from conftest import write_folder

    from keras_rnn.data.corpora import load_text_classification

    rows = [(f"review {i} good", "pos") for i in range(10)] + [(f"review {i} bad", "neg") for i in range(10)]
    root = tmp_path / "reviews"
    write_folder(root, rows)
    with pytest.raises(ValueError, match=r"validation_split='chronological' on .* only the classes \['pos'\]"):
        load_text_classification(str(root), validation_fraction=0.2, validation_split="chronological")
    data = load_text_classification(str(root), validation_fraction=0.2)  # the random carve is fine
    assert data.class_names == ["neg", "pos"]
