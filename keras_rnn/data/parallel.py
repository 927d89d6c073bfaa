"""Parallel corpora (source sentence, target sentence) for translation, from TFDS or local files.

Sources:
- a TFDS translation builder (`ted_hrlr_translate/pt_to_en`, `wmt14_translate/de-en`, ...: any builder
  whose features include the two languages);
- a tab-separated pair file, optionally gzipped, one pair a line, no header: the Anki / Tatoeba layout
  `english<TAB>foreign[<TAB>attribution...]` read by the TensorFlow NMT tutorial (extra columns ignored);
- a folder of line-aligned files `<split>.<language>` (gzip accepted: `train.de.gz`, `train.en.gz`),
  the validation split named `validation`, `valid`, `val` or `dev`.

Every source yields `(source_text, target_text)` pairs of scalar strings.
"""

from __future__ import annotations

import dataclasses
import gzip
import os
import re
from collections.abc import Sequence

import tensorflow as tf

from keras_rnn.data.corpora import VALIDATION_SPLITS, carve_validation
from keras_rnn.data.tfds_source import load_tfds, tfds_builder, tfds_splits
from keras_rnn.validation import validate_choice, validate_fraction

PAIR_SUFFIXES = (".tsv", ".tsv.gz", ".txt", ".txt.gz")
VALIDATION_SPLIT_NAMES = ("validation", "valid", "val", "dev")
ACCEPTED_PARALLEL_SOURCES = (
    "a TFDS translation builder such as 'ted_hrlr_translate/pt_to_en'; a tab-separated pair file "
    "(.tsv or .txt, gzip accepted) in the Anki layout 'english<TAB>foreign'; or a folder of line-aligned "
    "files '<split>.<language>' such as train.de.gz and train.en.gz"
)


@dataclasses.dataclass
class ParallelData:
    """Training and validation pairs of one parallel corpus.

    Attributes:
        train: dataset of `(source_text, target_text)` scalar strings.
        validation: same structure: the corpus's own validation split or one carved from train.
        source_language, target_language: the language codes read.
    """

    train: tf.data.Dataset
    validation: tf.data.Dataset
    source_language: str
    target_language: str


def _is_local(corpus: str) -> bool:
    return os.path.exists(corpus) or corpus.startswith((".", "/", "~")) or corpus.lower().endswith(PAIR_SUFFIXES)


def load_parallel(
    corpus: str,
    *,
    source: str | None = None,
    target: str | None = None,
    split: str = "train",
    validation_corpus: str | None = None,
    validation_fraction: float = 0.05,
    seed: int = 1337,
    validation_split: str = "random",
    tsv_columns: Sequence[str] | None = None,
    data_dir: str | None = None,
    download_and_prepare_kwargs: dict | None = None,
) -> ParallelData:
    """Loads train and validation pairs, translating `source` → `target` (language codes).

    Validation comes from `validation_corpus` when given, else the corpus's own validation split
    (TFDS `validation`, a folder's `valid`/`val`/`dev` files), else `validation_fraction` of the
    training pairs carved off by `carve_validation` (an Anki TSV file has no validation split): a seeded
    random share (`validation_split="random"`, the default) or the last pairs in corpus order
    (`"chronological"`). `validation_fraction`, `seed` and `validation_split` are ignored when nothing
    is carved.

    Example:
    ```python
    data = load_parallel("ted_hrlr_translate/pt_to_en")                       # TFDS, pt → en
    data = load_parallel("spa-eng.train.tsv.gz", source="es", target="en")    # Anki layout
    data = load_parallel("multi30k/", source="de", target="en")               # train.de.gz, val.de.gz, ...
    ```
    """
    train, source, target = read_parallel_split(
        corpus, split, source=source, target=target, tsv_columns=tsv_columns, data_dir=data_dir,
        download_and_prepare_kwargs=download_and_prepare_kwargs,
    )
    validation = None
    if validation_corpus is not None:
        # A folder given as the validation corpus contributes its validation split, else its train split.
        split_name = (os.path.isdir(validation_corpus) and _validation_name(validation_corpus)) or "train"
        validation, _, _ = read_parallel_split(
            validation_corpus, split_name, source=source, target=target, tsv_columns=tsv_columns, data_dir=data_dir,
        )
    elif _is_local(corpus) and os.path.isdir(corpus) and _validation_name(corpus):
        validation, _, _ = read_parallel_split(corpus, _validation_name(corpus), source=source, target=target)
    elif not _is_local(corpus) and "validation" in tfds_splits(corpus, data_dir, ACCEPTED_PARALLEL_SOURCES):
        validation, _, _ = read_parallel_split(
            corpus, "validation", source=source, target=target, data_dir=data_dir,
            download_and_prepare_kwargs=download_and_prepare_kwargs,
        )
    if validation is None:
        validate_fraction("validation_fraction", validation_fraction, allow_zero=False)
        validate_choice("validation_split", validation_split, VALIDATION_SPLITS)
        train, validation = carve_validation(train, validation_fraction, seed, validation_split=validation_split)
    return ParallelData(train, validation, source, target)


def decoded_pairs(dataset: tf.data.Dataset) -> list[tuple[str, str]]:
    """A dataset of `(source, target)` byte strings as Python string pairs (invalid UTF-8 replaced)."""
    return [(s.decode("utf-8", "replace"), t.decode("utf-8", "replace")) for s, t in dataset.as_numpy_iterator()]


def read_parallel_split(
    corpus: str,
    split: str = "train",
    *,
    source: str | None = None,
    target: str | None = None,
    tsv_columns: Sequence[str] | None = None,
    data_dir: str | None = None,
    download_and_prepare_kwargs: dict | None = None,
) -> tuple[tf.data.Dataset, str, str]:
    """One split of a parallel corpus as `(source_text, target_text)` pairs, with the languages used."""
    if _is_local(corpus):
        path = os.path.expanduser(corpus)
        if os.path.isdir(path):
            return _read_aligned_folder(path, split, source, target)
        if not os.path.exists(path):
            raise FileNotFoundError(f"Parallel corpus {corpus!r} does not exist. Accepted sources: {ACCEPTED_PARALLEL_SOURCES}.")
        return _read_pairs_file(path, source, target, tsv_columns)
    return _read_tfds(corpus, split, source, target, data_dir, download_and_prepare_kwargs)


def _pick_languages(where: str, languages: Sequence[str], source, target, default=None) -> tuple[str, str]:
    if source is None and target is None and default is not None:
        source, target = default
    if source is None or target is None:
        raise ValueError(
            f"{where} holds the languages {list(languages)}; choose the direction with source and target "
            "(--source and --target)."
        )
    for role, language in (("source", source), ("target", target)):
        if language not in languages:
            raise ValueError(f"{role.capitalize()} language {language!r} is not in {where}; it holds {list(languages)}.")
    if source == target:
        raise ValueError(f"Source and target are both {source!r}; they must differ.")
    return source, target


# --- TFDS ------------------------------------------------------------------------------------------


def _read_tfds(name, split, source, target, data_dir, download_and_prepare_kwargs):
    import tensorflow_datasets as tfds

    info = tfds_builder(name, data_dir, ACCEPTED_PARALLEL_SOURCES).info
    features = info.features
    if isinstance(features, tfds.features.Translation):
        languages = list(features.languages)
    else:
        languages = [key for key, feature in features.items() if isinstance(feature, tfds.features.Text)]
    default = tuple(info.supervised_keys) if info.supervised_keys and len(info.supervised_keys) == 2 else None
    source, target = _pick_languages(f"TFDS corpus {name!r}", languages, source, target, default)
    dataset = load_tfds(name, split, data_dir=data_dir, download_and_prepare_kwargs=download_and_prepare_kwargs,
                        accepted_sources=ACCEPTED_PARALLEL_SOURCES)
    return dataset.map(lambda ex: (ex[source], ex[target]), num_parallel_calls=tf.data.AUTOTUNE), source, target


# --- Local files -----------------------------------------------------------------------------------


def _open_text(path: str):
    opener = gzip.open if path.lower().endswith(".gz") else open
    return opener(path, "rt", encoding="utf-8", errors="replace", newline="\n")


def _read_pairs_file(path, source, target, tsv_columns):
    """Anki layout: English in column 1, the other language in column 2, attribution after."""
    with _open_text(path) as f:
        rows = [line.rstrip("\r\n").split("\t") for line in f]
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    for number, row in enumerate(rows, start=1):
        if len(row) < 2:
            raise ValueError(
                f"{path}: pair {number} has {len(row)} tab-separated column(s); expected at least two "
                f"(source and target): {row[0][:80]!r}."
            )
    if tsv_columns is None:
        if "en" not in (source, target) or None in (source, target):
            raise ValueError(
                f"{path}: name the languages of its two columns with tsv_columns (--tsv-columns en,es), or "
                "give source and target with one of them 'en' (the Anki layout puts English first)."
            )
        tsv_columns = ("en", target if source == "en" else source)
    columns = list(tsv_columns)
    if len(columns) != 2:
        raise ValueError(f"tsv_columns must name exactly two languages; got {columns!r}.")
    source, target = _pick_languages(path, columns, source, target, default=tuple(columns))
    i, j = columns.index(source), columns.index(target)
    if not rows:
        raise ValueError(f"{path} holds no sentence pairs.")
    dataset = tf.data.Dataset.from_tensor_slices(([row[i] for row in rows], [row[j] for row in rows]))
    return dataset, source, target


def _aligned_files(folder: str) -> dict[tuple[str, str], str]:
    """`{(split, language): path}` for files named `<split>.<language>[.gz]`."""
    found = {}
    for name in sorted(os.listdir(folder)):
        match = re.fullmatch(r"(.+?)\.([A-Za-z][A-Za-z_-]{0,15})(\.gz)?", name)
        if match and os.path.isfile(os.path.join(folder, name)):
            found[(match.group(1), match.group(2))] = os.path.join(folder, name)
    return found


def _validation_name(folder: str) -> str | None:
    """The folder's validation split name, if it has one."""
    splits = {split for split, _ in _aligned_files(folder)}
    return next((n for n in VALIDATION_SPLIT_NAMES if n in splits), None)


def _read_aligned_folder(folder, split, source, target):
    files = _aligned_files(folder)
    languages = sorted({language for s, language in files if s == split})
    if not languages:
        raise ValueError(
            f"Folder {folder!r} has no files for split {split!r} named '{split}.<language>[.gz]'; it holds "
            f"{sorted(os.path.basename(p) for p in files.values()) or 'no such files'}."
        )
    default = tuple(languages) if len(languages) == 2 else None
    source, target = _pick_languages(f"{folder!r} ({split})", languages, source, target, default)
    columns = []
    for language in (source, target):
        with _open_text(files[(split, language)]) as f:
            columns.append([line.rstrip("\r\n") for line in f])
    if len(columns[0]) != len(columns[1]):
        raise ValueError(
            f"{files[(split, source)]} has {len(columns[0])} lines but {files[(split, target)]} has "
            f"{len(columns[1])}; line-aligned files must have one line per sentence pair."
        )
    if not columns[0]:
        raise ValueError(f"{files[(split, source)]} is empty; expected one sentence a line.")
    return tf.data.Dataset.from_tensor_slices((columns[0], columns[1])), source, target
