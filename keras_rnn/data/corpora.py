"""Corpus name or path → `tf.data` of `(text, label)`, the same pipeline whatever the source.

Sources:
- a TFDS name (`imdb_reviews`, `glue/sst2`, any builder with a `Text` and a `ClassLabel` feature);
- a folder laid out as `<root>/<class>/*.txt` (what `keras.utils.text_dataset_from_directory` reads),
  or a root holding such a folder per split (`aclImdb/` with `train/`), or a `.tar[.gz|.xz|.bz2]` of it;
- a `.tsv` / `.csv` file (optionally gzipped) with a header naming the text and label columns.
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import hashlib
import os
import shutil
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import tensorflow as tf

from keras_rnn.data.tfds_source import load_tfds, tfds_builder, tfds_splits
from keras_rnn.files import open_tar
from keras_rnn.validation import validate_choice, validate_fraction

ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2")
TABLE_SUFFIXES = (".tsv", ".csv", ".tsv.gz", ".csv.gz")
TEXT_COLUMN_GUESSES = ("text", "sentence", "review", "content", "document")
# aclImdb ships its unlabelled reviews beside the labelled ones; they are not a class.
UNLABELLED_FOLDERS = ("unsup",)
# How `carve_validation` picks validation examples when a corpus has no validation split: a seeded coin
# per example, or the last ones in corpus order (series and language-model windows, where examples
# interleaved with training ones would let validation see what training already saw next to them).
VALIDATION_SPLITS = ("random", "chronological")
ACCEPTED_SOURCES = (
    "a TFDS text-classification name such as 'imdb_reviews' or 'glue/sst2'; a folder laid out as "
    "<root>/<class>/*.txt (or with one such folder per split, like aclImdb/train); a .tar, .tar.gz or "
    ".tar.xz archive of such a folder; or a .tsv/.csv file (gzip accepted) with text and label columns"
)


@dataclasses.dataclass
class ClassificationData:
    """Training and validation examples of one text-classification corpus.

    Attributes:
        train: dataset of `(text, label)`: a scalar string and a scalar int64 class index.
        validation: same structure; the corpus's own validation split or one carved from train.
        class_names: label names, index = class id.
    """

    train: tf.data.Dataset
    validation: tf.data.Dataset
    class_names: list[str]


def cache_dir() -> str:
    """Where archives are extracted: `$KERAS_RNN_CACHE`, else `~/.cache/keras_rnn`."""
    return os.environ.get("KERAS_RNN_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "keras_rnn"))


def is_local_source(source: str) -> bool:
    """True when `source` names a file or folder rather than a TFDS builder."""
    return (
        os.path.exists(source)
        or source.startswith((".", "/", "~"))
        or source.lower().endswith(ARCHIVE_SUFFIXES + TABLE_SUFFIXES)
    )


def read_classification_split(
    source: str,
    split: str = "train",
    *,
    class_names: Sequence[str] | None = None,
    text_column: str | None = None,
    label_column: str = "label",
    data_dir: str | None = None,
    download_and_prepare_kwargs: dict | None = None,
) -> tuple[tf.data.Dataset, list[str]]:
    """Reads one split of a corpus as `(text, label)` examples, with its class names.

    Args:
        source: TFDS name or local path (see the module docstring for accepted layouts).
        split: TFDS split (slicing like `"train[:10%]"` works), or for a folder the split sub-folder
            when there is one (`aclImdb/train`). Ignored for table files.
        class_names: the classes, in id order. Folders: which sub-folders are classes (default: every
            sub-folder holding .txt files, `unsup` excepted). Tables: label values, or integer labels
            indexing this list (default: the sorted distinct labels).
        text_column: table column or TFDS feature holding the text (default: guessed, see
            `TEXT_COLUMN_GUESSES`).
        label_column: table column or TFDS feature holding the label. Defaults to `"label"`.
        data_dir, download_and_prepare_kwargs: passed to `tfds.load`.

    Returns:
        `(dataset, class_names)`.
    """
    if is_local_source(source):
        path = os.path.expanduser(source)
        if not os.path.exists(path):
            raise FileNotFoundError(f"Corpus path {source!r} does not exist. Accepted sources: {ACCEPTED_SOURCES}.")
        if os.path.isdir(path):
            return _read_folder(path, split, class_names)
        lower = path.lower()
        if lower.endswith(ARCHIVE_SUFFIXES):
            return _read_folder(_extract_archive(path), split, class_names)
        if lower.endswith(TABLE_SUFFIXES):
            return _read_table(path, text_column, label_column, class_names)
        raise ValueError(f"Unsupported corpus file {source!r}. Accepted sources: {ACCEPTED_SOURCES}.")
    return _read_tfds(source, split, text_column, label_column, data_dir, download_and_prepare_kwargs)


def load_text_classification(
    corpus: str,
    *,
    validation_corpus: str | None = None,
    validation_fraction: float = 0.2,
    seed: int = 1337,
    split: str = "train",
    validation_split: str = "random",
    **read_kwargs,
) -> ClassificationData:
    """Loads train and validation examples of a text-classification corpus.

    Training examples come from `split` (a TFDS split, slicing such as `"train[:50%]"` included, or a
    folder's split sub-folder). Validation comes from, in order: `validation_corpus` when given; the
    TFDS builder's `validation` split when it has one; else `validation_fraction` of the training
    examples carved off by `carve_validation` (IMDB has no validation split): a seeded random share
    (`validation_split="random"`, the default) or the last ones in corpus order (`"chronological"`).
    `validation_fraction`, `seed` and `validation_split` are ignored when nothing is carved.

    Example:
    ```python
    data = load_text_classification("imdb_reviews")           # TFDS, 20% of train carved off
    data = load_text_classification("aclImdb/")                # the same reviews from local folders
    data = load_text_classification("train.tsv", validation_corpus="dev.tsv", text_column="sentence")
    ```
    """
    train, class_names = read_classification_split(corpus, split, **read_kwargs)
    if validation_corpus is not None:
        read_kwargs["class_names"] = class_names
        validation, _ = read_classification_split(validation_corpus, "train", **read_kwargs)
    elif not is_local_source(corpus) and "validation" in tfds_splits(
            corpus, read_kwargs.get("data_dir"), ACCEPTED_SOURCES):
        validation, _ = read_classification_split(corpus, "validation", **read_kwargs)
    else:
        validate_fraction("validation_fraction", validation_fraction, allow_zero=False)
        validate_choice("validation_split", validation_split, VALIDATION_SPLITS)
        train, validation = carve_validation(train, validation_fraction, seed, validation_split=validation_split)
        if validation_split == "chronological":
            _check_every_class_validated(validation, class_names, corpus)
    return ClassificationData(train=train, validation=validation, class_names=class_names)


def _check_every_class_validated(validation: tf.data.Dataset, class_names: list[str], corpus: str) -> None:
    """A chronological carve of a corpus stored class by class (a folder or archive of class folders)
    would validate on the last class only: refused rather than scored on one class."""
    present = {int(label) for label in validation.map(lambda _text, label: label).as_numpy_iterator()}
    if len(present) < len(class_names):
        names = [class_names[i] for i in sorted(present)]
        raise ValueError(
            f"validation_split='chronological' on {corpus!r} gives a validation split with only the classes "
            f"{names} of {list(class_names)} (the corpus is stored class by class, or its last examples share a "
            "class); use validation_split='random' or give a validation corpus.")


def carve_validation(
    dataset: tf.data.Dataset, fraction: float, seed: int, *, validation_split: str = "random"
) -> tuple[tf.data.Dataset, tf.data.Dataset]:
    """Splits a dataset into (train, validation), `fraction` of it for validation.

    Args:
        dataset: the examples, in corpus order.
        fraction: share of the examples for validation, in (0, 1).
        seed: seed of the random carve; ignored by the chronological one.
        validation_split: one of `VALIDATION_SPLITS`:
            - `"random"` (default): a seeded coin per example index. Deterministic for a given order,
              seed and fraction, and streaming (no need to hold the corpus in memory, nor to know its
              size); the validation share is `fraction` in expectation.
            - `"chronological"`: the last `chronological_validation_size(n, fraction)` of the `n`
              examples are validation, the ones before them train, both in corpus order (nothing
              shuffled). `n` is the dataset's cardinality when known (local files, TFDS splits), else
              counted in one pass.

    Returns:
        `(train, validation)`, together every example exactly once.

    Example:
    >>> train, validation = carve_validation(tf.data.Dataset.range(10), 0.2, seed=0,
    ...                                      validation_split="chronological")
    >>> [int(x) for x in train], [int(x) for x in validation]
    ([0, 1, 2, 3, 4, 5, 6, 7], [8, 9])
    """
    validate_fraction("fraction", fraction, allow_zero=False)
    validate_choice("validation_split", validation_split, VALIDATION_SPLITS)
    if validation_split == "chronological":
        n = _count_examples(dataset)
        n_train = n - chronological_validation_size(n, fraction)
        return dataset.take(n_train), dataset.skip(n_train)

    def in_validation(index, _example):
        coin = tf.random.stateless_uniform([], seed=tf.stack([tf.constant(seed, tf.int64), index]))
        return coin < fraction

    indexed = dataset.enumerate()
    drop_index = lambda index, example: example  # noqa: E731
    train = indexed.filter(lambda i, e: tf.logical_not(in_validation(i, e))).map(drop_index)
    validation = indexed.filter(in_validation).map(drop_index)
    return train, validation


def random_carve(items: Sequence, size: int, seed: int) -> tuple[list, list]:
    """`(train, validation)` of a list held in memory: `size` items drawn at random with `seed` for
    validation, the rest for training, both in their original order.

    Example:
    >>> random_carve(list("abcdef"), 2, seed=0)[1] == random_carve(list("abcdef"), 2, seed=0)[1]
    True
    """
    chosen = np.zeros(len(items), bool)
    chosen[np.random.default_rng(seed).choice(len(items), size, replace=False)] = True
    return [item for item, c in zip(items, chosen) if not c], [item for item, c in zip(items, chosen) if c]


def chronological_validation_size(n: int, fraction: float) -> int:
    """How many of `n` examples a chronological carve of `fraction` puts in validation.

    `fraction * n` rounded to the nearest integer, halves up: the random carve's expected size, so both
    carves of one corpus are the same size up to the random one's sampling noise. Then at least one
    example on each side (an empty validation or training split would only fail later, in `fit`).

    Raises:
        ValueError: fewer than two examples, which cannot make both a training and a validation split.

    Example:
    >>> [chronological_validation_size(n, 0.25) for n in (2, 6, 10, 100)]
    [1, 2, 3, 25]
    """
    if n < 2:
        raise ValueError(
            f"Cannot carve a chronological validation split from {n} example(s); it needs at least two "
            "(one to train on, one to validate on). Give a validation corpus instead."
        )
    # Decimal of the fraction as written, so that 0.29 * 50 rounds up as 14.5 does (not as 14.4999...).
    size = int((Decimal(str(float(fraction))) * n).to_integral_value(rounding=ROUND_HALF_UP))
    return min(max(size, 1), n - 1)


def _count_examples(dataset: tf.data.Dataset) -> int:
    cardinality = int(dataset.cardinality())
    if cardinality == tf.data.INFINITE_CARDINALITY:
        raise ValueError("Cannot carve a chronological validation split from an infinite dataset.")
    if cardinality >= 0:
        return cardinality
    return int(dataset.reduce(tf.constant(0, tf.int64), lambda count, _: count + 1))  # unknown: count them


# --- TFDS ------------------------------------------------------------------------------------------


def _read_tfds(name, split, text_feature, label_feature, data_dir, download_and_prepare_kwargs):
    import tensorflow_datasets as tfds

    features = tfds_builder(name, data_dir, ACCEPTED_SOURCES).info.features
    text_feature = text_feature or _guess_text_feature(name, features)
    for feature, kind in ((text_feature, "text"), (label_feature, "label")):
        if feature not in features:
            raise ValueError(
                f"TFDS corpus {name!r} has no {kind} feature {feature!r}; its features are: "
                f"{', '.join(features.keys())}."
            )
    if not isinstance(features[label_feature], tfds.features.ClassLabel):
        raise ValueError(f"TFDS feature {label_feature!r} of {name!r} is not a ClassLabel.")
    dataset = load_tfds(name, split, data_dir=data_dir, download_and_prepare_kwargs=download_and_prepare_kwargs,
                        accepted_sources=ACCEPTED_SOURCES)
    dataset = dataset.map(
        lambda ex: (ex[text_feature], tf.cast(ex[label_feature], tf.int64)),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return dataset, list(features[label_feature].names)


def _guess_text_feature(name, features) -> str:
    import tensorflow_datasets as tfds

    texts = [key for key, feature in features.items() if isinstance(feature, tfds.features.Text)]
    if len(texts) != 1:
        raise ValueError(
            f"Cannot tell which feature of TFDS corpus {name!r} is the text (text features: {texts}); "
            "pass text_column (--text-column)."
        )
    return texts[0]


# --- Folders and archives --------------------------------------------------------------------------


def _class_folders(root: str) -> list[str]:
    return sorted(
        entry.name
        for entry in os.scandir(root)
        if entry.is_dir()
        and entry.name not in UNLABELLED_FOLDERS
        and any(name.endswith(".txt") for name in os.listdir(entry.path))
    )


def _read_folder(root: str, split: str, class_names):
    split_root = os.path.join(root, split)
    if os.path.isdir(split_root) and _class_folders(split_root):
        root = split_root
    else:
        nested = _find_split_root(root, split)
        root = nested or root
    found = _class_folders(root)
    if class_names is None:
        class_names = found
    missing = [name for name in class_names if name not in os.listdir(root)]
    if missing or len(class_names) < 2:
        raise ValueError(
            f"Folder {root!r} must hold one sub-folder of .txt files per class (at least two); "
            f"requested classes {list(class_names)}, found class folders {found}."
        )
    texts, labels = [], []
    for label, name in enumerate(class_names):
        folder = os.path.join(root, name)
        for filename in sorted(os.listdir(folder)):
            if filename.endswith(".txt"):
                with open(os.path.join(folder, filename), "rb") as f:
                    texts.append(f.read())
                labels.append(label)
    dataset = tf.data.Dataset.from_tensor_slices((np.array(texts, dtype=object), np.array(labels, np.int64)))
    return dataset, list(class_names)


def _find_split_root(root: str, split: str) -> str | None:
    """Finds `<dir>/<split>` with class folders a few levels down (an extracted archive's layout)."""
    for dirpath, dirnames, _ in os.walk(root):
        if dirpath[len(root) :].count(os.sep) > 2:
            dirnames[:] = []
            continue
        if split in dirnames and _class_folders(os.path.join(dirpath, split)):
            return os.path.join(dirpath, split)
        if _class_folders(dirpath):
            return dirpath
    return None


def _extract_archive(path: str) -> str:
    """Extracts once into the cache, keyed by the archive's name, size and modification time."""
    stat = os.stat(path)
    key = hashlib.sha1(f"{os.path.abspath(path)}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:12]
    target = os.path.join(cache_dir(), "extracted", f"{os.path.basename(path)}-{key}")
    if os.path.isdir(target):
        return target
    os.makedirs(os.path.dirname(target), exist_ok=True)
    partial = f"{target}.partial-{os.getpid()}"
    try:
        with open_tar(path) as archive:
            archive.extractall(partial, filter="data")
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    os.replace(partial, target)  # a killed extraction never looks complete
    return target


# --- Tables ----------------------------------------------------------------------------------------


def _read_table(path: str, text_column, label_column, class_names):
    opener = gzip.open if path.lower().endswith(".gz") else open
    delimiter = "\t" if ".tsv" in path.lower() else ","
    with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as f:
        # Tab-separated corpora like SST-2 contain bare quote characters inside sentences.
        quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
        reader = csv.DictReader(f, delimiter=delimiter, quoting=quoting)
        columns = reader.fieldnames or []
        if text_column is None:
            text_column = next((c for c in TEXT_COLUMN_GUESSES if c in columns), None)
        for column, kind in ((text_column, "text"), (label_column, "label")):
            if column not in columns:
                raise ValueError(
                    f"{path!r} has no {kind} column {column!r}; its columns are: {', '.join(columns)}. "
                    f"Name the column with --{kind}-column."
                )
        rows = [(row[text_column], row[label_column], line) for line, row in enumerate(reader, start=2)]
    raw_labels = [label for _, label, _ in rows]
    if class_names is None:
        distinct = set(raw_labels)
        numeric = all(label.lstrip("-").isdigit() for label in distinct)
        class_names = sorted(distinct, key=int if numeric else str)
    class_names = list(class_names)
    index = {name: i for i, name in enumerate(class_names)}
    labels = []
    for _, label, line in rows:
        if label in index:
            labels.append(index[label])
        elif label.isdigit() and int(label) < len(class_names):
            labels.append(int(label))
        else:
            raise ValueError(
                f"Label {label!r} at {path}:{line} is not one of the classes {class_names} "
                "(nor an index into them)."
            )
    texts = np.array([text for text, _, _ in rows], dtype=object)
    dataset = tf.data.Dataset.from_tensor_slices((texts, np.array(labels, np.int64)))
    return dataset, class_names
